"""Cancelling a booking by either side, no-shows, and the money going back (or the charge taken)."""

from __future__ import annotations

from datetime import datetime

from app.domain import bookings as rules
from app.domain.access import Role
from app.domain.bookings import ActorKind, Event
from app.domain.notifications import Event as Notice
from app.errors import (
    InvalidInput,
)
from app.models import (
    Booking,
    BookingSession,
    Listing,
    User,
)
from app.services import audit, card_steps, ledger, notify, transaction
from app.services.bookings._common import (
    OPEN_SESSION_STATES,
    S,
    _kind_of,
    _link,
    _lock_booking,
    _lock_session,
    _now,
    _policy,
    _refuse_own_work,
    _require_holder_side,
    _require_provider,
    _starts,
)
from app.services.bookings.delivery import _close_if_done
from app.services.bookings.pools import _capture_pool, _release_pool


@transaction.use_case
def cancel_booking(
    actor: User,
    holder: User | None,
    booking_id: int,
    *,
    reason: str = "",
    now: datetime | None = None,
) -> Booking:
    """Either side cancels every session not yet delivered, under the policy booked under.

    The holder's side pays the charge booked under for late cancellations (unless paused); a
    provider's cancellation costs the holder nothing and offers the named back-ups first.
    Raises NotFound, NotPermitted (the provider, acting for the holder), IllegalTransition,
    NotYourMove.
    """
    now = now or _now()
    booking = _lock_booking(booking_id)
    # On the holder's side, a late cancellation charges the holder and pays the provider.
    _refuse_own_work(booking, holder, actor, "cancel it")
    if actor.role_enum is Role.PROVIDER:
        _require_provider(booking, actor)
    else:
        _require_holder_side(booking, holder, actor)
    kind = _kind_of(actor, booking.holder)
    rules.transition(booking.state, Event.CANCEL, kind)
    paused = booking.state == S.PAUSED.value
    outcomes: dict[int, int] = {}
    policy = _policy(booking)  # the one booked under, whatever the listing says now
    for s in booking.sessions:
        if s.state not in [x.value for x in OPEN_SESSION_STATES]:
            continue
        charge = 0
        if s.hold_id is not None and ledger.held_remaining(s.hold_id) > 0:
            out = rules.cancellation_charge(
                policy,
                s.price_pence,
                s.start_at,
                now,
                kind.value,
                holder_paused=paused,
            )
            charge = out.charge_pence
            s.outcome_note = out.reason
        outcomes[s.id] = charge
    for s in booking.sessions:
        if s.id in outcomes:
            _money_back(booking, s, outcomes[s.id], actor)
    if booking.kind == "pooled":
        _release_pool(booking, actor)
    rules.move(booking, Event.CANCEL, kind)
    booking.cancelled_by_id = actor.id
    booking.cancel_reason = (reason or "").strip()[:500] or None
    for s in booking.sessions:
        if s.id in outcomes:
            rules.move(s, Event.CANCEL, kind)
            s.charge_pence = outcomes[s.id]
    audit.record(
        actor,
        "booking.cancelled",
        "booking",
        booking.id,
        on_behalf_of=booking.holder,
        details={"by": kind.value, "charges": outcomes, "reason": booking.cancel_reason},
        at=now,
    )
    if kind is ActorKind.PROVIDER:
        # Issue 18: sessions cancelled at short notice get cover sought, in this transaction.
        from app.services import cover

        cover.open_for_cancellation(booking, [s for s in booking.sessions if s.id in outcomes], now)
    other = booking.provider_profile.user if kind is not ActorKind.PROVIDER else booking.holder
    notify.send(
        Notice.BOOKING_CANCELLED,
        other,
        about_holder=booking.holder if other is booking.holder else None,
        link=_link(booking, "holder" if other is booking.holder else "provider"),
        context={"by": actor, "starts": _starts(booking)},
    )
    transaction.commit()
    card_steps.run(booking_id=booking.id)
    return booking


def _money_back(booking: Booking, s: BookingSession, charge: int, actor: User | None) -> None:
    """Release the session's hold, or capture `charge` from it (a late cancellation, a holder's
    no-show), in the caller's transaction; the card follows after commit (a recorded step:
    capture and pay the provider, or release the authorisation, including one left over from
    a failed funding round, which has no ledger hold)."""
    card_steps.record(
        booking, "capture" if charge > 0 else "cancel", session=s, amount=charge, actor=actor,
        key=f"b{booking.id}-s{s.id}-r{booking.hold_round}-step-money-back",
    )
    if s.hold_id is None or ledger.held_remaining(s.hold_id) <= 0:
        return
    if charge > 0:
        s.capture_id = ledger.capture(
            s.hold_id,
            charge,
            idempotency_key=f"s{s.id}-cancel-charge",
            actor=actor,
            on_behalf_of=booking.holder,
            reference=booking.reference,
        ).id
    else:
        ledger.release(
            s.hold_id,
            idempotency_key=f"s{s.id}-r{booking.hold_round}-release",
            actor=actor,
            on_behalf_of=booking.holder,
        )


def backup_offers(booking: Booking) -> list[Listing]:
    """The named back-ups still offered, in the holder's order: shown first after a provider cancels."""
    return [b.listing for b in booking.backups if b.listing.is_live]


@transaction.use_case
def report_no_show(
    actor: User, holder: User | None, session_id: int, now: datetime | None = None
) -> BookingSession:
    """Either side reports the other did not turn up. A holder no-show is charged as a late
    cancellation; a provider no-show releases everything. Raises NotFound, IllegalTransition,
    InvalidInput (before the session started), NotPermitted (the provider, acting for the holder)."""
    now = now or _now()
    s = _lock_session(session_id)
    booking = s.booking
    _refuse_own_work(booking, holder, actor, "report a no-show")
    if actor.role_enum is Role.PROVIDER:
        _require_provider(booking, actor)
    else:
        _require_holder_side(booking, holder, actor)
    kind = _kind_of(actor, booking.holder)
    rules.transition(s.state, Event.REPORT_NO_SHOW, kind)
    if now < s.start_at:
        raise InvalidInput(
            "You can report a no-show only once the session should have started.", field="session"
        )
    if kind is ActorKind.PROVIDER:
        out = rules.cancellation_charge(
            _policy(booking), s.price_pence, s.start_at, s.start_at, ActorKind.HOLDER.value
        )
        charge, who = out.charge_pence, "holder"
    else:
        charge, who = 0, "provider"
    _money_back(booking, s, charge, actor)
    if booking.kind == "pooled":
        # A group session's money is in its participants' shares: the charge (if any) is
        # taken from them and the rest given back, as when it is settled.
        _capture_pool(booking, s, actor, charge)
    rules.move(s, Event.REPORT_NO_SHOW, kind)
    s.no_show_by, s.charge_pence = who, charge
    audit.record(
        actor,
        "booking.no_show",
        "booking_session",
        s.id,
        on_behalf_of=booking.holder,
        details={"booking_id": booking.id, "no_show_by": who, "charge_pence": charge},
        at=now,
    )
    _close_if_done(s.booking)
    transaction.commit()
    card_steps.run(booking_id=booking.id)
    return s
