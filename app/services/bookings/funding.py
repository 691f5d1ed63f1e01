"""The provider's answer (accept or decline) and holding the money for accepted sessions.

Accepting is one transaction: the booking row is locked, the transition re-checked inside the
lock, every session's ledger hold written (the ledger locks the budget row after the booking:
bookings before budgets, everywhere) and the booking marked funded, then one commit. If a hold
is refused (not enough money, outside the plan) the holds of that round are undone inside a
savepoint and the booking is marked payment_failed in the same commit: never booked but not
funded, never funded but not booked.

A booking paid by card (direct_payment) also needs each session authorised on the holder's
card. Stripe is never called inside the transaction: the accept commit leaves the booking
`accepted` with its ledger holds and one recorded `authorise` card step per session; the card
step runs after the commit (card_steps.run) and then `card_authorised` or `card_refused`
finishes the booking in a transaction of its own, re-checking that it is still the same
funding round (a cancellation in between wins; its card steps cancel the authorisation).
"""

from __future__ import annotations

from typing import TypedDict

from app import clock
from app.domain import bookings as rules
from app.domain.bookings import ActorKind, Event
from app.domain.errors import InvariantBroken
from app.domain.notifications import Event as Notice
from app.errors import DomainError, InsufficientFunds, NotFound
from app.extensions import db
from app.models import Booking, BookingSession, LedgerTransaction, User
from app.services import audit, card_payments, card_steps, ledger, notify, transaction
from app.services.bookings._common import (
    S,
    _link,
    _lock_booking,
    _plan_category,
    _require_holder_side,
    _require_provider,
    _starts,
    _tell_holder_about_money,
    require_provider_not_suspended,
)
from app.services.bookings.horizon import is_deferred
from app.services.bookings.pools import _release_pool


@transaction.use_case
def accept(provider: User, booking_id: int) -> Booking:
    """The provider accepts; money is then held per session (see the module docstring).

    Returns the booking in funds_held, or payment_failed when the budget or the card could not
    cover it (the holder side gets one notice saying so, not "accepted"; the reason is
    `card_payments.funding_failure`). Raises NotFound, IllegalTransition, NotYourMove,
    NotPermitted (a suspended provider).
    """
    booking = _lock_booking(booking_id)
    _require_provider(booking, provider)
    require_provider_not_suspended(booking)
    rules.move(booking, Event.ACCEPT, ActorKind.PROVIDER)
    for s in booking.sessions:
        if s.state == S.REQUESTED:
            rules.move(s, Event.ACCEPT, ActorKind.PROVIDER)
    audit.record(provider, "booking.accepted", "booking", booking.id, on_behalf_of=booking.holder)
    _fund(booking, provider, accepted_by=provider)
    transaction.commit()
    return _after_commit(booking_id)


@transaction.use_case
def retry_funding(actor: User, holder: User | None, booking_id: int) -> Booking:
    """Try again to hold the money after it failed (e.g. the budget has been topped up)."""
    booking = _lock_booking(booking_id)
    _require_holder_side(booking, holder, actor)
    rules.transition(booking.state, Event.HOLD_FUNDS, ActorKind.SYSTEM)
    booking.hold_round += 1
    # Whoever pressed retry sees the outcome on the page: no notice on failure.
    _fund(booking, actor, tell_failure=False)
    transaction.commit()
    return _after_commit(booking_id)


def _after_commit(booking_id: int) -> Booking:
    """Run the card steps the commit recorded (outside any transaction of ours), then the
    booking as it now stands."""
    card_steps.run(booking_id=booking_id)
    booking = db.session.get(Booking, booking_id)
    if not (booking is not None):
        raise InvariantBroken("expected: booking is not None")
    db.session.refresh(booking)
    return booking


def _fund(
    booking: Booking,
    actor: User | None = None,
    *,
    accepted_by: User | None = None,
    tell_failure: bool = True,
) -> None:
    """Hold the money in the caller's transaction (the booking row is locked by the caller).

    `accepted_by`: the provider who just accepted, named in the holder side's "accepted" notice
    when the money is held."""
    if booking.kind == "meet_and_greet" or booking.kind == "pooled":
        # Free, or each participant's share was held when they joined.
        _mark_funded(booking, {}, accepted_by)
        return
    held: dict[int, int] = {}
    approver = booking.approved_by if booking.approval_reasons else None
    # A weekly series holds only the sessions in the funding horizon; the daily hold-ahead job
    # holds the others as instalments arrive (app.services.bookings.horizon).
    now = clock.now()
    to_hold = [s for s in booking.sessions
               if s.state in (S.ACCEPTED.value, S.PAYMENT_FAILED.value) and s.price_pence > 0
               and not is_deferred(booking, s, now)]
    try:
        card_payments.check_ready(booking)  # before the ledger: no hold to undo
        if to_hold and booking.budget_id is not None:
            # Refuse before writing any hold: the budget is locked (after the booking) and every
            # session's hold checked together, so a refusal leaves no set-aside-and-given-back
            # pair on the statement. (No savepoint: it would look like a commit to the outbox.)
            ledger.lock_budget(booking.budget_id)
            ledger.check_can_hold(booking.budget_id, [s.price_pence for s in to_hold],
                                  contingency_allowed=approver is not None
                                  and booking.from_contingency)
        for s in to_hold:
            held[s.id] = _hold_session(booking, s, approver).id
    except DomainError as err:
        for hold_id in held.values():  # only if a hold refused after the checks: undo them
            ledger.release(hold_id, actor=None, on_behalf_of=booking.holder,
                           idempotency_key=f"b{booking.id}-r{booking.hold_round}-undo-{hold_id}")
        _mark_payment_failed(booking, err, tell_failure=tell_failure)
        return
    if card_payments.uses_card(booking) and held:
        # The card is authorised after commit; the booking stays accepted until it answers.
        for s in booking.sessions:
            if s.id in held:
                s.hold_id = held[s.id]
                card_steps.record(
                    booking, "authorise", session=s, amount=s.price_pence, actor=actor,
                    key=f"b{booking.id}-s{s.id}-r{booking.hold_round}-step-authorise",
                    # How the card's answer is told: "accept" names the provider in the
                    # accepted notice; "retry" shows a failure only to the one retrying.
                    reason="accept" if accepted_by is not None else (
                        None if tell_failure else "retry"),
                )
        if booking.state == S.PAYMENT_FAILED.value:
            # A retry: the sessions wait for the card as accepted ones do.
            rules.move(booking, Event.AWAIT_CARD, ActorKind.SYSTEM)
            for s in booking.sessions:
                if s.state == S.PAYMENT_FAILED:
                    rules.move(s, Event.AWAIT_CARD, ActorKind.SYSTEM)
        return
    _mark_funded(booking, held, accepted_by)


def _mark_payment_failed(booking: Booking, err: DomainError, *, tell_failure: bool) -> None:
    if booking.state == S.ACCEPTED:  # a retry that failed again is payment_failed already
        rules.move(booking, Event.PAYMENT_FAILED, ActorKind.SYSTEM)
    now = clock.now()
    for s in booking.sessions:
        # Sessions beyond the funding horizon were not tried: they stay accepted.
        if s.state == S.ACCEPTED and not is_deferred(booking, s, now):
            rules.move(s, Event.PAYMENT_FAILED, ActorKind.SYSTEM)
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
        _tell_holder_about_money(Notice.PAYMENT_FAILED, booking.holder, booking)


def card_authorised(booking_id: int, hold_round: int, accepted_by_id: int | None,
                    step_ids: list[int]) -> bool:
    """The card step authorised every session of this round: the booking is funded and the
    steps marked done, in one commit (a crash before it leaves the steps planned, and the
    rerun reuses the authorisations). False if the booking moved on meanwhile (cancelled,
    paused): then the authorisations are given back by cancel steps planned in that commit."""
    booking = _lock_booking(booking_id)
    card_steps.finish(step_ids, "done")
    if booking.state != S.ACCEPTED.value or booking.hold_round != hold_round:
        for s in booking.sessions:
            card_steps.record(booking, "cancel", session=s, actor=None,
                              key=f"b{booking.id}-s{s.id}-r{hold_round}-step-unauthorise")
        transaction.commit()
        return False
    held = {s.id: s.hold_id for s in booking.sessions
            if s.state == S.ACCEPTED.value and s.hold_id is not None}
    accepted_by = db.session.get(User, accepted_by_id) if accepted_by_id else None
    audit.record(None, "booking.card_authorised", "booking", booking.id,
                 on_behalf_of=booking.holder, details={"sessions": sorted(held)})
    _mark_funded(booking, held, accepted_by)
    transaction.commit()
    return True


def card_refused(booking_id: int, hold_round: int, err: DomainError, *, tell_failure: bool,
                 step_ids: list[int]) -> bool:
    """The card refused (or could not be reached for) this round: release the round's ledger
    holds, mark the booking payment_failed and the steps failed, in one commit. False if the
    booking moved on (the steps are still marked failed)."""
    booking = _lock_booking(booking_id)
    card_steps.finish(step_ids, "failed", err.message)
    if booking.state != S.ACCEPTED.value or booking.hold_round != hold_round:
        transaction.commit()
        return False
    for s in booking.sessions:
        if s.state == S.ACCEPTED.value and s.hold_id is not None:
            if ledger.held_remaining(s.hold_id) > 0:
                ledger.release(
                    s.hold_id,
                    idempotency_key=f"b{booking.id}-r{booking.hold_round}-undo-{s.hold_id}",
                    actor=None,
                    on_behalf_of=booking.holder,
                )
            s.hold_id = None
    _mark_payment_failed(booking, err, tell_failure=tell_failure)
    transaction.commit()
    return True


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
) -> None:
    if accepted_by is not None:
        notify.send(
            Notice.BOOKING_ACCEPTED,
            booking.holder,
            about_holder=booking.holder,
            link=_link(booking),
            context={"provider": accepted_by, "starts": _starts(booking)},
        )
    rules.move(booking, Event.HOLD_FUNDS, ActorKind.SYSTEM)
    for s in booking.sessions:
        if s.state in (S.ACCEPTED, S.PAYMENT_FAILED):
            s.hold_id = held.get(s.id, s.hold_id)
            if booking.kind == "recurring" and s.price_pence > 0 and s.hold_id is None:
                continue  # beyond the funding horizon: accepted, held as money arrives
            rules.move(s, Event.HOLD_FUNDS, ActorKind.SYSTEM)
    audit.record(
        None,
        "booking.funds_held",
        "booking",
        booking.id,
        on_behalf_of=booking.holder,
        details={"holds": held},
    )
    if held:
        _tell_holder_about_money(Notice.MONEY_HELD, booking.holder, booking)


@transaction.use_case
def decline(provider: User, booking_id: int, *, reason: str = "") -> Booking:
    """Raises NotFound, IllegalTransition."""
    booking = _lock_booking(booking_id)
    _require_provider(booking, provider)
    rules.move(booking, Event.DECLINE, ActorKind.PROVIDER)
    booking.cancel_reason = (reason or "").strip()[:500] or None
    for s in booking.sessions:
        if s.state == S.REQUESTED:  # (a visit cancelled before keeps its own state)
            rules.move(s, Event.DECLINE, ActorKind.PROVIDER)
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
    if booking.kind == "pooled":
        _release_pool(booking, None)
    transaction.commit()
    card_steps.run(booking_id=booking.id)  # cancel the pool shares' card authorisations
    return booking
