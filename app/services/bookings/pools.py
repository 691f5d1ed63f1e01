"""Pooled (group) bookings: joining, each participant's hold, the deadline decision, capture and release."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.domain import bookings as rules
from app.domain.notifications import Event as Notice
from app.errors import (
    DomainError,
    InvalidInput,
    NotFound,
)
from app.extensions import db
from app.models import (
    Booking,
    BookingSession,
    PoolParticipant,
    User,
)
from app.services import audit, budgets, ledger, notify
from app.services.bookings._common import (
    OPEN_SESSION_STATES,
    S,
    _link,
    _lock_booking,
    _now,
    _plan_category,
    _starts,
    get_booking,
)


def _join_pool_hold_pending(booking: Booking, holder: User) -> None:
    budget = budgets.current_budget(holder.id)
    assert budget is not None and booking.min_participants
    share = -(-booking.total_pence // booking.min_participants)
    booking.participants.append(
        PoolParticipant(holder_id=holder.id, budget_id=budget.id, held_pence=share)
    )


def _participant(booking_id: int, holder_id: int) -> PoolParticipant:
    part = db.session.scalar(
        select(PoolParticipant).where(
            PoolParticipant.booking_id == booking_id, PoolParticipant.holder_id == holder_id
        )
    )
    if part is None:
        raise NotFound("We could not find that place in the group session.")
    return part


def _pool_terms_of(booking: Booking) -> rules.PoolTerms:
    """A pooled booking's terms, as request_booking stored them."""
    # request_booking stores all three for every pooled booking (quote_booking refuses a pool
    # without them); callers check the booking is pooled first.
    assert (
        booking.min_participants is not None
        and booking.max_participants is not None
        and booking.join_deadline is not None
    )
    return rules.PoolTerms(
        booking.total_pence,
        booking.min_participants,
        booking.max_participants,
        booking.join_deadline,
    )


def _hold_pool_share(booking_id: int, holder_id: int, actor: User | None) -> None:
    part = _participant(booking_id, holder_id)
    booking = part.booking
    try:
        tx = ledger.hold(
            part.budget_id,
            part.held_pence,
            category=_plan_category(booking),
            idempotency_key=f"b{booking_id}-pool-h{holder_id}-hold",
            actor=actor,
            on_behalf_of=part.holder,
            reference=booking.reference,
        )
    except DomainError:
        db.session.rollback()
        db.session.delete(_participant(booking_id, holder_id))
        if booking.holder_id == holder_id:
            booking.state = S.CANCELLED.value
            for s in booking.sessions:
                s.state = S.CANCELLED.value
        db.session.commit()
        raise
    _participant(booking_id, holder_id).hold_id = tx.id
    db.session.commit()


def join_pool(
    actor: User, holder: User, booking_id: int, *, now: datetime | None = None
) -> PoolParticipant:
    """Join a pooled session: the most this holder could pay is held from their own budget.

    Raises Conflict (full, closed, already in), InsufficientFunds, NeedsApproval, NotFound.
    """
    now = now or _now()
    booking = _lock_booking(booking_id)
    if booking.kind != "pooled" or booking.state in (
        S.CANCELLED.value,
        S.DECLINED.value,
        S.NOT_APPROVED.value,
        S.SETTLED.value,
    ):
        raise NotFound("We could not find that group session.")
    terms = _pool_terms_of(booking)
    rules.check_can_join(terms, [p.holder_id for p in booking.participants], holder.id, now)
    budget = budgets.current_budget(holder.id)
    if budget is None:
        raise InvalidInput("There is no budget to pay from yet.", field="booking")
    booking.participants.append(
        PoolParticipant(
            holder_id=holder.id, budget_id=budget.id, held_pence=terms.hold_per_person_pence
        )
    )
    audit.record(
        actor,
        "booking.pool_joined",
        "booking",
        booking.id,
        on_behalf_of=holder,
        details={"held_pence": terms.hold_per_person_pence},
    )
    db.session.commit()
    _hold_pool_share(booking_id, holder.id, actor)
    return _participant(booking_id, holder.id)


def _release_pool(booking_id: int, actor: User | None) -> None:
    booking = get_booking(booking_id)
    for part in booking.participants:
        if part.hold_id is not None and ledger.held_remaining(part.hold_id) > 0:
            ledger.release(
                part.hold_id,
                idempotency_key=f"b{booking_id}-pool-h{part.holder_id}-release",
                actor=actor,
                on_behalf_of=part.holder,
            )
    booking = get_booking(booking_id)
    for part in booking.participants:
        part.state = "released"
    db.session.commit()


def _capture_pool(booking: Booking, s: BookingSession, actor: User | None) -> None:
    for part in booking.participants:
        if part.state != "joined" or part.hold_id is None:
            continue
        share = part.share_pence if part.share_pence is not None else part.held_pence
        part.capture_id = ledger.capture(
            part.hold_id,
            share,
            idempotency_key=f"b{booking.id}-pool-h{part.holder_id}-capture",
            actor=actor,
            on_behalf_of=part.holder,
            reference=booking.reference,
        ).id
    for part in get_booking(booking.id).participants:
        if part.state == "joined":
            part.state = "paid"


def decide_pool(booking_id: int, *, now: datetime | None = None) -> bool | None:
    """At the deadline: run (final shares fixed) or release every hold. None if not yet due."""
    now = now or _now()
    booking = _lock_booking(booking_id)
    if booking.pool_decided_at is not None or booking.kind != "pooled":
        return None
    terms = _pool_terms_of(booking)
    decision = rules.decide_pool(terms, [p.holder_id for p in booking.participants], now)
    if decision is None:
        db.session.rollback()
        return None
    booking.pool_decided_at = now
    if decision.runs:
        for part in booking.participants:
            part.share_pence = decision.shares[part.holder_id]
        audit.record(
            None, "booking.pool_runs", "booking", booking.id, details={"shares": decision.shares}
        )
        db.session.commit()
        return True
    audit.record(
        None, "booking.pool_released", "booking", booking.id, details={"reason": decision.reason}
    )
    db.session.commit()
    _release_pool(booking_id, None)
    booking = _lock_booking(booking_id)
    booking.state = S.CANCELLED.value
    booking.cancel_reason = decision.reason
    for s in booking.sessions:
        if s.state in [x.value for x in OPEN_SESSION_STATES]:
            s.state = S.CANCELLED.value
    for part in booking.participants:
        notify.send(
            Notice.MONEY_RELEASED,
            part.holder,
            about_holder=part.holder,
            link=_link(booking),
            context={"provider": booking.provider_profile.user, "starts": _starts(booking)},
        )
    db.session.commit()
    return False
