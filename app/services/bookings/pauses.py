"""Pausing a holder's support (holds released, no charges) and resuming it with the same providers."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from app.domain import bookings as rules
from app.domain.bookings import Event
from app.domain.notifications import Event as Notice
from app.errors import (
    Conflict,
    InvalidInput,
)
from app.extensions import db
from app.models import (
    Booking,
    HolderPause,
    User,
)
from app.services import audit, notify
from app.services.bookings._common import (
    S,
    _kind_of,
    _link,
    _lock_booking,
    _now,
)
from app.services.bookings.cancelling import _money_back
from app.services.bookings.funding import _fund


def current_pause(holder_id: int) -> HolderPause | None:
    return db.session.scalar(
        select(HolderPause).where(
            HolderPause.holder_id == holder_id, HolderPause.resumed_at.is_(None)
        )
    )


def pause(actor: User, holder: User, *, reason: str, until: date | None = None) -> HolderPause:
    """Pause every booking (crisis, hospital): holds released, no charges, providers told.

    Raises InvalidInput (reason, until), Conflict (already paused).
    """
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(
            "Say why support is paused (only brokers and the provider see that it "
            "is paused, not why).",
            field="reason",
        )
    if until is not None and until < date.today():
        raise InvalidInput("The date must be today or later.", field="until")
    if current_pause(holder.id) is not None:
        raise Conflict("Support is already paused.", field="reason")
    kind = _kind_of(actor, holder)
    candidates = list(
        db.session.scalars(
            select(Booking).where(
                Booking.holder_id == holder.id,
                Booking.state.in_([S.ACCEPTED.value, S.FUNDS_HELD.value, S.PAYMENT_FAILED.value]),
            )
        )
    )
    releases = []
    for booking in candidates:
        rules.transition(booking.state, Event.PAUSE, kind)
        for s in booking.sessions:
            if s.state in (S.FUNDS_HELD.value, S.ACCEPTED.value, S.PAYMENT_FAILED.value):
                releases.append(s.id)
    db.session.commit()
    for sid in releases:
        _money_back(sid, 0, actor)  # the policy waives charges while paused
    record = HolderPause(
        holder_id=holder.id,
        reason=reason[:500],
        until=until,
        paused_by_id=actor.id,
        booking_ids=[b.id for b in candidates],
    )
    db.session.add(record)
    for booking in candidates:
        booking = _lock_booking(booking.id)
        booking.state = S.PAUSED.value
        for s in booking.sessions:
            if s.id in releases:
                s.state = S.PAUSED.value
                s.hold_id = None
        notify.send(
            Notice.BOOKING_PAUSED,
            booking.provider_profile.user,
            link=_link(booking, "provider"),
            context={"by": actor, "reference": booking.reference},
        )
    audit.record(
        actor,
        "booking.paused",
        "holder",
        holder.id,
        on_behalf_of=holder,
        details={
            "bookings": [b.id for b in candidates],
            "until": until.isoformat() if until else None,
        },
    )
    db.session.commit()
    return record


def resume(actor: User, holder: User, *, now: datetime | None = None) -> list[Booking]:
    """Restart paused bookings with the same providers; sessions whose time passed are dropped
    free of charge and money is held again for the rest. Raises Conflict (not paused)."""
    now = now or _now()
    record = current_pause(holder.id)
    if record is None:
        raise Conflict("Support is not paused.")
    kind = _kind_of(actor, holder)
    record.resumed_at, record.resumed_by_id = now, actor.id
    resumed = []
    for booking_id in record.booking_ids:
        booking = _lock_booking(booking_id)
        if booking.state != S.PAUSED.value:
            continue
        booking.state = rules.transition(booking.state, Event.RESUME, kind).value
        booking.hold_round += 1
        for s in booking.sessions:
            if s.state == S.PAUSED.value:
                s.state = S.CANCELLED.value if s.start_at <= now else S.ACCEPTED.value
                if s.state == S.CANCELLED.value:
                    s.charge_pence, s.outcome_note = (
                        0,
                        "Missed while support was paused: nothing to pay.",
                    )
        notify.send(
            Notice.BOOKING_RESUMED,
            booking.provider_profile.user,
            link=_link(booking, "provider"),
            context={"by": actor, "reference": booking.reference},
        )
        resumed.append(booking.id)
    audit.record(
        actor,
        "booking.resumed",
        "holder",
        holder.id,
        on_behalf_of=holder,
        details={"bookings": resumed},
    )
    db.session.commit()
    return [_fund(booking_id, actor) for booking_id in resumed]
