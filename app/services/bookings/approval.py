"""A broker's approval or refusal of a booking held for them, and the queue waiting for it."""

from __future__ import annotations

from sqlalchemy import select

from app.domain import bookings as rules
from app.domain.bookings import ActorKind, Event
from app.domain.notifications import Event as Notice
from app.errors import (
    InvalidInput,
)
from app.extensions import db
from app.models import (
    Booking,
    User,
)
from app.services import audit, conflicts, notify, transaction
from app.services.bookings._common import (
    S,
    _link,
    _lock_booking,
    _now,
    _require_broker,
    _starts,
)


def approval_queue() -> list[Booking]:
    return list(
        db.session.scalars(
            select(Booking)
            .where(Booking.state == S.AWAITING_APPROVAL.value)
            .order_by(Booking.created_at)
        )
    )


def approve(broker: User, booking_id: int, *, note: str = "") -> Booking:
    """Raises NotPermitted, NotFound, IllegalTransition."""
    return _decide_approval(broker, booking_id, Event.APPROVE, note)


def refuse_approval(broker: User, booking_id: int, *, note: str) -> Booking:
    """Raises InvalidInput (note), NotPermitted, NotFound, IllegalTransition."""
    if not (note or "").strip():
        raise InvalidInput(
            "Say why the booking is not approved: the holder will see it.", field="note"
        )
    return _decide_approval(broker, booking_id, Event.REFUSE_APPROVAL, note)


@transaction.use_case
def _decide_approval(broker: User, booking_id: int, event: Event, note: str) -> Booking:
    _require_broker(broker)
    booking = _lock_booking(booking_id)
    # A declared conflict of interest takes the decision out of this broker's hands.
    conflicts.refuse_if_conflicted(broker, booking.provider_profile_id,
                                   "decide on this booking")
    _apply_decision(broker, booking, event, note)
    transaction.commit()
    return booking


def _apply_decision(broker: User, booking: Booking, event: Event, note: str) -> None:
    """The decision on a booking the caller has locked, in the caller's transaction."""
    state = rules.move(booking, event, ActorKind.BROKER)
    booking.approved_by_id = broker.id
    booking.approval_note = (note or "").strip()[:500] or None
    if state is S.REQUESTED:
        # The provider's time to answer starts now, not when the broker's queue began.
        booking.waiting_since = _now()
    for s in booking.sessions:
        if s.state == S.AWAITING_APPROVAL:
            rules.move(s, event, ActorKind.BROKER)
    audit.record(
        broker,
        f"booking.{event.value}",
        "booking",
        booking.id,
        on_behalf_of=booking.holder,
        details={"note": booking.approval_note, "reasons": booking.approval_reasons},
    )
    if state is S.REQUESTED:
        notify.send(
            Notice.BOOKING_REQUESTED,
            booking.provider_profile.user,
            link=_link(booking, "provider"),
            context={"client": booking.holder, "starts": _starts(booking)},
        )
    else:
        notify.send(
            Notice.BOOKING_CANCELLED,
            booking.holder,
            about_holder=booking.holder,
            link=_link(booking),
            context={"by": broker, "starts": _starts(booking)},
        )
