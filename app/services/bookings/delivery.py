"""After a session: recording delivery, confirming, co-signing, disputing and settling the money.

Each use case locks the session's booking and then the session (the order every booking use
case keeps), re-checks the transition inside the lock, and writes the ledger capture or
release, the new state, the audit and the notices in one commit. For a card booking the card
capture (or release) and the provider's payout are recorded card steps, run after the commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select

from app.domain import bookings as rules
from app.domain.bookings import ActorKind, Event
from app.domain.notifications import Event as Notice
from app.errors import (
    InvalidInput,
    NotPermitted,
)
from app.extensions import db
from app.models import (
    Booking,
    BookingSession,
    Delegation,
    ProviderProfile,
    User,
)
from app.models.delegation import STATUS_ACTIVE
from app.services import audit, card_steps, conflicts, ledger, notify, transaction
from app.services.bookings._common import (
    DISPUTE_OUTCOMES,
    S,
    _brokers,
    _kind_of,
    _link,
    _lock_session,
    _now,
    _pounds,
    _refuse_own_work,
    _require_broker,
    _require_holder_side,
    _require_provider,
    _session,
    _today,
    needs_cosign,
)
from app.services.bookings.pools import _capture_pool


@transaction.use_case
def record_delivery(
    provider: User,
    session_id: int,
    *,
    actual_start: datetime,
    actual_end: datetime,
    notes: str = "",
    now: datetime | None = None,
) -> BookingSession:
    """The provider records what happened. Raises InvalidInput (field), NotFound, IllegalTransition."""
    now = now or _now()
    s = _lock_session(session_id)
    booking = s.booking
    _require_provider(booking, provider)
    if actual_end <= actual_start:
        raise InvalidInput("The end time must be after the start time.", field="actual_end")
    if actual_start > now:
        raise InvalidInput("You can only record support that has started.", field="actual_start")
    if actual_end > now:
        # Hours not yet worked would be paid on the provider's word before they happen.
        raise InvalidInput("You can only record support once it has finished. The end time "
                           "is later than now.", field="actual_end")
    rules.move(s, Event.RECORD_DELIVERY, ActorKind.PROVIDER)
    s.actual_start_at, s.actual_end_at = actual_start, actual_end
    s.delivery_notes = (notes or "").strip()[:4000]
    s.delivered_at = now
    audit.record(
        provider,
        "booking.delivered",
        "booking_session",
        s.id,
        on_behalf_of=booking.holder,
        details={
            "booking_id": booking.id,
            "actual_start": actual_start.isoformat(),
            "actual_end": actual_end.isoformat(),
        },
        at=now,
    )
    notify.send(
        Notice.HOURS_TO_CONFIRM,
        booking.holder,
        about_holder=booking.holder,
        link=_link(booking),
        context={"provider": provider, "starts": s.start_at},
    )
    transaction.commit()
    return s


@transaction.use_case
def confirm_session(actor: User, holder: User | None, session_id: int) -> BookingSession:
    """The holder confirms delivered hours; a broker co-signs for a holder at risk.

    For a holder at risk the holder's own confirmation is recorded, and the money moves only
    when a broker co-signs. The booking's provider acting for the holder may not confirm
    their own hours. Raises NotFound, NotPermitted, IllegalTransition, NotYourMove.
    """
    s = _lock_session(session_id)
    booking = s.booking
    _refuse_own_work(booking, holder, actor, "confirm it")
    _require_holder_side(booking, holder, actor)
    kind = _kind_of(actor, booking.holder)
    rules.transition(s.state, Event.CONFIRM, kind)
    cosign = needs_cosign(booking)
    if cosign and kind is not ActorKind.BROKER:
        s.confirmed_by_id = actor.id
        audit.record(
            actor,
            "booking.confirmed_awaiting_cosign",
            "booking_session",
            s.id,
            on_behalf_of=booking.holder,
            details={"booking_id": booking.id},
        )
        transaction.commit()
        return s
    if kind is ActorKind.BROKER:
        if not cosign:
            raise NotPermitted("Only the holder (or someone acting for them) confirms these hours.")
        s.cosigned_by_id = actor.id
    else:
        s.confirmed_by_id = actor.id
    _settle(s, s.price_pence, actor, event=Event.CONFIRM, kind=kind)
    transaction.commit()
    return _after_settle(s.id)


def cosign_queue() -> list[BookingSession]:
    """Delivered hours waiting for a broker: holders at risk, and providers who act for the
    holder (see `needs_cosign`)."""
    provider_acts_for_holder = (
        select(Delegation.id)
        .join(ProviderProfile, ProviderProfile.user_id == Delegation.delegate_id)
        .where(Delegation.holder_id == Booking.holder_id,
               ProviderProfile.id == Booking.provider_profile_id,
               Delegation.status == STATUS_ACTIVE)
        .exists()
    )
    return list(
        db.session.scalars(
            select(BookingSession)
            .join(Booking)
            .join(User, User.id == Booking.holder_id)
            .where(BookingSession.state == S.DELIVERED.value,
                   or_(User.at_risk.is_(True), provider_acts_for_holder))
            .order_by(BookingSession.delivered_at)
        )
    )


@transaction.use_case
def dispute_session(
    actor: User, holder: User | None, session_id: int, *, reason: str
) -> BookingSession:
    """Raises InvalidInput (reason), NotFound, NotPermitted (the provider, acting for the
    holder), IllegalTransition."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say what is not right about the hours recorded.", field="reason")
    s = _lock_session(session_id)
    booking = s.booking
    _refuse_own_work(booking, holder, actor, "dispute the hours")
    _require_holder_side(booking, holder, actor)
    rules.move(s, Event.DISPUTE, _kind_of(actor, booking.holder))
    s.dispute_reason = reason[:1000]
    audit.record(
        actor,
        "booking.disputed",
        "booking_session",
        s.id,
        on_behalf_of=booking.holder,
        details={"booking_id": booking.id, "reason": s.dispute_reason},
    )
    for broker in _brokers():
        notify.send(
            Notice.BOOKING_DISPUTED,
            broker,
            link=_link(booking, "broker"),
            context={"client": booking.holder, "reference": booking.reference},
        )
    transaction.commit()
    return s


def disputes() -> list[BookingSession]:
    return list(
        db.session.scalars(
            select(BookingSession)
            .where(BookingSession.state == S.DISPUTED.value)
            .order_by(BookingSession.delivered_at)
        )
    )


@transaction.use_case
def resolve_dispute(
    broker: User, session_id: int, *, outcome: str, refund_pence: int | None = None, note: str = ""
) -> BookingSession:
    """A broker settles: full refund (nothing paid), partial (price less refund), or no refund.

    Raises InvalidInput (outcome, refund), NotPermitted, NotFound, IllegalTransition.
    """
    _require_broker(broker)
    s = _lock_session(session_id)
    # Settling a dispute decides what the provider is paid: not for a broker conflicted with them.
    conflicts.refuse_if_conflicted(broker, s.provider_profile_id, "settle disputes about them")
    rules.transition(s.state, Event.RESOLVE_DISPUTE, ActorKind.BROKER)
    if outcome not in DISPUTE_OUTCOMES:
        raise InvalidInput("Choose how the dispute is settled.", field="outcome")
    if outcome == "full_refund":
        refund = s.price_pence
    elif outcome == "no_refund":
        refund = 0
    else:
        if refund_pence is None or not 0 < refund_pence < s.price_pence:
            raise InvalidInput(
                f"Enter a refund more than £0 and less than {_pounds(s.price_pence)}.",
                field="refund",
            )
        refund = refund_pence
    s.dispute_outcome, s.dispute_note, s.resolved_by_id = (
        outcome,
        (note or "").strip()[:1000],
        broker.id,
    )
    s.refund_pence = refund
    _settle(s, s.price_pence - refund, broker, event=Event.RESOLVE_DISPUTE, kind=ActorKind.BROKER)
    transaction.commit()
    return _after_settle(session_id)


def _settle(
    s: BookingSession, charge: int, actor: User | None, *, event: Event, kind: ActorKind
) -> None:
    """Capture `charge` from the session's hold (the rest goes back) and mark it settled, in the
    caller's transaction (the session and its booking are locked by the caller)."""
    booking = s.booking
    # Refuse before any money moves; the state itself changes below, with the money.
    if rules.transition(s.state, event, kind) is S.CONFIRMED:
        rules.transition(S.CONFIRMED, Event.SETTLE, ActorKind.SYSTEM)
    capture_id = None
    if s.hold_id is not None:
        if charge > 0:
            capture_id = ledger.capture(
                s.hold_id,
                charge,
                idempotency_key=f"s{s.id}-capture",
                actor=actor,
                on_behalf_of=booking.holder,
                reference=booking.reference,
            ).id
        elif ledger.held_remaining(s.hold_id) > 0:
            ledger.release(
                s.hold_id,
                idempotency_key=f"s{s.id}-settle-release",
                actor=actor,
                on_behalf_of=booking.holder,
            )
    elif booking.kind == "pooled":
        # Each participant pays their part of the charge (less than the price when a dispute
        # was settled with a refund), from their own budget and, if so paid, their own card.
        _capture_pool(booking, s, actor, charge)
    # The card follows the ledger after commit: capture what was charged (and pay the
    # provider), or release the authorisation when nothing is.
    card_steps.record(
        booking, "capture" if charge > 0 else "cancel", session=s, amount=charge, actor=actor,
        key=f"b{booking.id}-s{s.id}-step-settle",
    )
    if rules.move(s, event, kind) is S.CONFIRMED:
        rules.move(s, Event.SETTLE, ActorKind.SYSTEM)
    s.capture_id = capture_id
    s.charge_pence = charge
    s.confirmed_at = _now()
    s.settled_on = _today()
    audit.record(
        actor,
        "booking.settled",
        "booking_session",
        s.id,
        on_behalf_of=booking.holder,
        details={
            "booking_id": booking.id,
            "charge_pence": charge,
            "capture_id": capture_id,
            "how": event.value,
        },
    )
    _close_if_done(booking)
    if charge > 0:
        notify.send(
            Notice.PAYMENT_SENT,
            booking.provider_profile.user,
            link=_link(booking, "provider"),
            context={"reference": booking.reference},
        )


def _after_settle(session_id: int) -> BookingSession:
    """Run the card steps the settling commit recorded, then the session as it stands."""
    s = _session(session_id, lock=False)
    card_steps.run(booking_id=s.booking_id)
    s = _session(session_id, lock=False)
    db.session.refresh(s)
    return s


def _close_if_done(booking: Booking) -> None:
    """A booking whose every session is over is settled (ready to rate) if any was paid."""
    states = {s.state for s in booking.sessions}
    final = {S.SETTLED, S.CANCELLED, S.NO_SHOW}
    if states <= final and not S(booking.state).is_final:
        rules.move(booking, Event.FINISH if S.SETTLED in states else Event.FINISH_UNPAID,
                   ActorKind.SYSTEM)
