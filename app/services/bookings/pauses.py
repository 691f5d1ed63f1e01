"""Pausing a holder's support (holds released, no charges) and resuming it with the same providers.

A pause is one transaction: the holder's row is locked (new requests queue behind it), then
each booking it covers in id order (bookings before budgets, as everywhere), every hold
released and the pause recorded, then one commit. Anything refused (a reason the database
cannot store, a booking that moved on) rolls all of it back: no hold is released without
the pause that explains it. Resuming is the same shape and holds the money again.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from app.domain import bookings as rules
from app.domain.bookings import ActorKind, Event
from app.domain.notifications import Event as Notice
from app.domain.pooling import ShareState
from app.errors import Conflict, InvalidInput
from app.extensions import db
from app.models import Booking, HolderPause, PoolParticipant, User
from app.services import audit, card_steps, notify, transaction
from app.services.bookings._common import (
    S,
    _kind_of,
    _link,
    _lock_booking,
    _lock_holder,
    _now,
    _today,
)
from app.services.bookings.cancelling import _money_back
from app.services.bookings.funding import _fund
from app.services.bookings.pools import _release_share

# What a pause covers: requests still waiting (for the provider or a broker) and everything
# the provider has agreed to. Delivered sessions stay as they are: the work was done.
PAUSABLE = (S.REQUESTED, S.AWAITING_APPROVAL, S.ACCEPTED, S.FUNDS_HELD, S.PAYMENT_FAILED)


def current_pause(holder_id: int) -> HolderPause | None:
    return db.session.scalar(
        select(HolderPause).where(
            HolderPause.holder_id == holder_id, HolderPause.resumed_at.is_(None)
        )
    )


def _clean_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(
            "Say why support is paused (only brokers and the provider see that it "
            "is paused, not why).",
            field="reason",
        )
    # A NUL or other control character cannot be stored (PostgreSQL refuses NUL in text): say
    # so beside the field rather than fail half-way.
    if any(ord(c) < 32 and c not in "\n\r\t" for c in reason):
        raise InvalidInput(
            "The reason contains a character that cannot be saved. Type it again without "
            "pasting.",
            field="reason",
        )
    return reason[:500]


@transaction.use_case
def pause(actor: User, holder: User, *, reason: str, until: date | None = None) -> HolderPause:
    """Pause every booking (crisis, hospital): requests wait, holds released, no charges,
    providers told; places in other people's group sessions are given back. New bookings (and
    joining a group) are refused until support resumes.

    Raises InvalidInput (reason, until), Conflict (already paused), NotYourMove.
    """
    reason = _clean_reason(reason)
    if until is not None and until < _today():
        raise InvalidInput("The date must be today or later.", field="until")
    _lock_holder(holder.id)
    if current_pause(holder.id) is not None:
        raise Conflict("Support is already paused.", field="reason")
    kind = _kind_of(actor, holder)
    pausable = [s.value for s in PAUSABLE]
    booking_ids = list(
        db.session.scalars(
            select(Booking.id)
            .where(Booking.holder_id == holder.id, Booking.state.in_(pausable))
            .order_by(Booking.id)
        )
    )
    # Places the holder took in other people's group sessions: their shares are held too.
    share_booking_ids = list(
        db.session.scalars(
            select(PoolParticipant.booking_id)
            .join(Booking, Booking.id == PoolParticipant.booking_id)
            .where(PoolParticipant.holder_id == holder.id,
                   PoolParticipant.state == ShareState.JOINED,
                   Booking.holder_id != holder.id, Booking.state.in_(pausable))
        )
    )
    paused: list[int] = []
    shares_given_back: list[int] = []
    # One pass in booking id order over both kinds, the lock order used everywhere.
    for booking_id in sorted(set(booking_ids) | set(share_booking_ids)):
        booking = _lock_booking(booking_id)  # re-read inside the lock: it may have moved on
        if booking.state not in pausable:
            continue
        if booking.holder_id != holder.id:
            # Someone else's group session goes ahead without them: the place and its hold
            # are given back (as for a refused card), so nothing of theirs is held while
            # paused and the others' shares are worked out without them.
            for part in booking.participants:
                if part.holder_id == holder.id and part.state == ShareState.JOINED:
                    _release_share(booking, part, actor)
                    shares_given_back.append(booking.id)
            continue
        booking.paused_from = S(booking.state).value
        rules.move(booking, Event.PAUSE, kind)
        for s in booking.sessions:
            if s.state in PAUSABLE:
                _money_back(booking, s, 0, actor)  # the policy waives charges while paused
                rules.move(s, Event.PAUSE, kind)
                s.hold_id = None
        notify.send(
            Notice.BOOKING_PAUSED,
            booking.provider_profile.user,
            link=_link(booking, "provider"),
            context={"by": actor, "reference": booking.reference},
        )
        paused.append(booking.id)
    record = HolderPause(
        holder_id=holder.id,
        reason=reason,
        until=until,
        paused_by_id=actor.id,
        booking_ids=paused,
    )
    db.session.add(record)
    audit.record(
        actor,
        "booking.paused",
        "holder",
        holder.id,
        on_behalf_of=holder,
        details={"bookings": paused, "group_places_given_back": shares_given_back,
                 "until": until.isoformat() if until else None},
    )
    transaction.commit()
    # Release the card authorisations the pause recorded (own bookings and group shares).
    card_steps.run(booking_ids=paused + shares_given_back)
    return record


@transaction.use_case
def resume(actor: User, holder: User, *, now: datetime | None = None) -> list[Booking]:
    """Restart paused bookings with the same providers; sessions whose time passed are dropped
    free of charge and money is held again for the rest; requests go back to the provider (or
    the broker). Raises Conflict (not paused)."""
    now = now or _now()
    _lock_holder(holder.id)
    record = current_pause(holder.id)
    if record is None:
        raise Conflict("Support is not paused.")
    kind = _kind_of(actor, holder)
    record.resumed_at, record.resumed_by_id = now, actor.id
    resumed: list[Booking] = []
    for booking_id in sorted(record.booking_ids):
        booking = _lock_booking(booking_id)
        if booking.state != S.PAUSED.value:
            continue
        was = booking.paused_from or S.ACCEPTED.value
        booking.paused_from = None
        # What resuming does, event by event, to the booking and each paused visit ahead.
        steps: list[tuple[Event, ActorKind]]
        if was in (S.REQUESTED.value, S.AWAITING_APPROVAL.value):
            steps = [(Event.RESUME_REQUEST, kind)]
            if was == S.AWAITING_APPROVAL.value:
                steps.append((Event.HOLD_FOR_APPROVAL, ActorKind.SYSTEM))
        else:
            steps = [(Event.RESUME, kind)]
            booking.hold_round += 1
        for event, by in steps:
            state = rules.move(booking, event, by)
        for s in booking.sessions:
            if s.state == S.PAUSED:
                if s.start_at <= now:
                    rules.move(s, Event.CANCEL, ActorKind.SYSTEM)
                    s.charge_pence = 0
                    s.outcome_note = "Missed while support was paused: nothing to pay."
                else:
                    for event, by in steps:
                        rules.move(s, event, by)
        notify.send(
            Notice.BOOKING_RESUMED,
            booking.provider_profile.user,
            link=_link(booking, "provider"),
            context={"by": actor, "reference": booking.reference},
        )
        if state is S.ACCEPTED:
            _fund(booking, actor)
        resumed.append(booking)
    audit.record(
        actor,
        "booking.resumed",
        "holder",
        holder.id,
        on_behalf_of=holder,
        details={"bookings": [b.id for b in resumed]},
        at=now,
    )
    transaction.commit()
    card_steps.run(booking_ids=[b.id for b in resumed])
    for booking in resumed:
        db.session.refresh(booking)
    return resumed
