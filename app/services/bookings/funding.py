"""The provider's answer (accept or decline) and holding the money for accepted sessions."""

from __future__ import annotations

from typing import TypedDict

from app.domain import bookings as rules
from app.domain.bookings import ActorKind, Event
from app.domain.notifications import Event as Notice
from app.errors import (
    DomainError,
    InsufficientFunds,
    NotFound,
)
from app.extensions import db
from app.models import (
    Booking,
    BookingSession,
    LedgerTransaction,
    User,
)
from app.services import audit, card_payments, ledger, notify
from app.services.bookings._common import (
    S,
    _link,
    _lock_booking,
    _plan_category,
    _require_holder_side,
    _require_provider,
    _starts,
    get_booking,
)
from app.services.bookings.pools import _release_pool


def accept(provider: User, booking_id: int) -> Booking:
    """The provider accepts; money is then held per session (see the module docstring).

    Returns the booking in funds_held, or payment_failed when the budget or the card could not
    cover it (the holder side gets one notice saying so, not "accepted"; the reason is
    `card_payments.funding_failure`). Raises NotFound, IllegalTransition, NotYourMove.
    """
    booking = _lock_booking(booking_id)
    _require_provider(booking, provider)
    state = rules.transition(booking.state, Event.ACCEPT, ActorKind.PROVIDER)
    booking.state = state.value
    for s in booking.sessions:
        if s.state == S.REQUESTED.value:
            s.state = state.value
    audit.record(provider, "booking.accepted", "booking", booking.id, on_behalf_of=booking.holder)
    db.session.commit()
    return _fund(booking.id, provider, accepted_by=provider)


def retry_funding(actor: User, holder: User | None, booking_id: int) -> Booking:
    """Try again to hold the money after it failed (e.g. the budget has been topped up)."""
    booking = _lock_booking(booking_id)
    _require_holder_side(booking, holder, actor)
    rules.transition(booking.state, Event.HOLD_FUNDS, ActorKind.SYSTEM)
    booking.hold_round += 1
    db.session.commit()
    # Whoever pressed retry sees the outcome on the page: no notice on failure.
    return _fund(booking_id, actor, tell_failure=False)


def _fund(
    booking_id: int,
    actor: User | None = None,
    *,
    accepted_by: User | None = None,
    tell_failure: bool = True,
) -> Booking:
    """Hold the money (ledger, then card). `accepted_by`: the provider who just accepted, named
    in the holder side's "accepted" notice when the money is held."""
    booking = db.session.get(Booking, booking_id)
    assert booking is not None
    if booking.kind == "meet_and_greet" or booking.kind == "pooled":
        # Free, or each participant's share was held when they joined.
        return _mark_funded(booking, {}, accepted_by)
    held: dict[int, int] = {}
    approver = booking.approved_by if booking.approval_reasons else None
    try:
        card_payments.check_ready(booking)  # before the ledger: no hold to undo
        for s in booking.sessions:
            if s.state not in (S.ACCEPTED.value, S.PAYMENT_FAILED.value) or s.price_pence == 0:
                continue
            held[s.id] = _hold_session(booking, s, approver).id
        # The card is authorised after the ledger holds: a refusal releases them below.
        card_payments.authorise_sessions(booking_id, list(held), actor)
    except DomainError as err:
        db.session.rollback()
        booking = get_booking(booking_id)
        for hold_id in held.values():
            if ledger.held_remaining(hold_id) > 0:
                ledger.release(
                    hold_id,
                    idempotency_key=f"b{booking_id}-r{booking.hold_round}-undo-{hold_id}",
                    actor=None,
                    on_behalf_of=booking.holder,
                )
        booking = _lock_booking(booking_id)
        state = (
            rules.transition(booking.state, Event.PAYMENT_FAILED, ActorKind.SYSTEM)
            if booking.state == S.ACCEPTED.value
            else S.PAYMENT_FAILED
        )
        booking.state = state.value
        for s in booking.sessions:
            if s.state == S.ACCEPTED.value:
                s.state = state.value
        audit.record(
            None,
            "booking.payment_failed",
            "booking",
            booking.id,
            on_behalf_of=booking.holder,
            details={"reason": err.message, "code": err.code},
        )
        if tell_failure:
            # One notice: the money was never really set aside, so no "released" or "accepted".
            notify.send(
                Notice.PAYMENT_FAILED,
                booking.holder,
                about_holder=booking.holder,
                link=_link(booking),
                context={"provider": booking.provider_profile.user, "starts": _starts(booking)},
            )
        db.session.commit()
        return booking
    return _mark_funded(booking, held, accepted_by)


class _HoldArgs(TypedDict):
    """The ledger.hold arguments both attempts of _hold_session share."""

    category: str
    idempotency_key: str
    actor: User | None
    on_behalf_of: User | None
    approved_by: User | None
    reference: str


def _hold_session(booking: Booking, s: BookingSession, approver: User | None) -> LedgerTransaction:
    if booking.budget_id is None:
        # Only a free meet-and-greet has no budget (the budget_unless_free check) and _fund skips
        # those; refuse as ledger.hold would, so _fund still marks the payment failed.
        raise NotFound("There is no such budget.", field="budget")
    key = f"b{booking.id}-s{s.id}-r{booking.hold_round}-hold"
    common = _HoldArgs(
        category=_plan_category(booking),
        idempotency_key=key,
        actor=None,
        on_behalf_of=booking.holder,
        approved_by=approver,
        reference=f"{booking.reference} session {s.id}",
    )
    try:
        return ledger.hold(booking.budget_id, s.price_pence, **common)
    except InsufficientFunds:
        if approver is None or not booking.from_contingency:
            raise
        return ledger.hold(booking.budget_id, s.price_pence, from_contingency=True, **common)


def _mark_funded(
    booking: Booking, held: dict[int, int], accepted_by: User | None = None
) -> Booking:
    booking = _lock_booking(booking.id)
    if accepted_by is not None:
        notify.send(
            Notice.BOOKING_ACCEPTED,
            booking.holder,
            about_holder=booking.holder,
            link=_link(booking),
            context={"provider": accepted_by, "starts": _starts(booking)},
        )
    state = rules.transition(booking.state, Event.HOLD_FUNDS, ActorKind.SYSTEM)
    booking.state = state.value
    for s in booking.sessions:
        if s.state in (S.ACCEPTED.value, S.PAYMENT_FAILED.value):
            s.state = state.value
            s.hold_id = held.get(s.id, s.hold_id)
    audit.record(
        None,
        "booking.funds_held",
        "booking",
        booking.id,
        on_behalf_of=booking.holder,
        details={"holds": held},
    )
    if held:
        notify.send(
            Notice.MONEY_HELD,
            booking.holder,
            about_holder=booking.holder,
            link=_link(booking),
            context={"provider": booking.provider_profile.user, "starts": _starts(booking)},
        )
    db.session.commit()
    return booking


def decline(provider: User, booking_id: int, *, reason: str = "") -> Booking:
    """Raises NotFound, IllegalTransition."""
    booking = _lock_booking(booking_id)
    _require_provider(booking, provider)
    state = rules.transition(booking.state, Event.DECLINE, ActorKind.PROVIDER)
    booking.state = state.value
    booking.cancel_reason = (reason or "").strip()[:500] or None
    for s in booking.sessions:
        s.state = state.value
    audit.record(
        provider,
        "booking.declined",
        "booking",
        booking.id,
        on_behalf_of=booking.holder,
        details={"reason": booking.cancel_reason},
    )
    notify.send(
        Notice.BOOKING_DECLINED,
        booking.holder,
        about_holder=booking.holder,
        link=_link(booking),
        context={"provider": provider, "starts": _starts(booking)},
    )
    db.session.commit()
    if booking.kind == "pooled":
        _release_pool(booking.id, None)
    return booking
