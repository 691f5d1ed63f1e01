"""Pooled (group) bookings: joining, each participant's hold, the deadline decision, capture and release.

Every helper here works on a booking row its caller has locked and adds to the caller's
transaction; `join_pool` and `decide_pool` are use cases of their own (one commit each).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.domain import bookings as rules
from app.domain.errors import InvariantBroken
from app.domain.notifications import Event as Notice
from app.domain.pooling import ShareState, move_share
from app.errors import Conflict, InvalidInput, NotFound
from app.extensions import db
from app.models import Booking, BookingSession, PoolParticipant, User
from app.services import audit, budgets, ledger, notify, transaction
from app.services.bookings._common import (
    OPEN_SESSION_STATES,
    S,
    _link,
    _lock_booking,
    _now,
    _plan_category,
    _starts,
)


def _join_pool_hold_pending(booking: Booking, holder: User) -> None:
    """The organiser's own place, held in the request's transaction (request_booking)."""
    budget = budgets.current_budget(holder.id)
    if not (budget is not None and booking.min_participants):
        raise InvariantBroken("expected: budget is not None and booking.min_participants")
    share = -(-booking.total_pence // booking.min_participants)
    part = PoolParticipant(holder_id=holder.id, budget_id=budget.id, held_pence=share)
    booking.participants.append(part)
    db.session.flush()
    _hold_pool_share(booking, part, holder)


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
    if not (
        booking.min_participants is not None
        and booking.max_participants is not None
        and booking.join_deadline is not None
    ):
        raise InvariantBroken(f"Pooled booking {booking.id} is missing its pool terms")
    return rules.PoolTerms(
        booking.total_pence,
        booking.min_participants,
        booking.max_participants,
        booking.join_deadline,
    )


def _hold_pool_share(booking: Booking, part: PoolParticipant, actor: User | None) -> None:
    """Hold one participant's share in the caller's transaction; a refusal propagates and the
    caller's whole use case rolls back (no place without its money)."""
    tx = ledger.hold(
        part.budget_id,
        part.held_pence,
        category=_plan_category(booking),
        idempotency_key=f"b{booking.id}-pool-h{part.holder_id}-hold",
        actor=actor,
        on_behalf_of=part.holder,
        reference=booking.reference,
    )
    part.hold_id = tx.id


def join_pool(
    actor: User, holder: User, booking_id: int, *, now: datetime | None = None
) -> PoolParticipant:
    """Join a pooled session: the most this holder could pay is held from their own budget.

    Raises Conflict (full, closed or decided, already in), InsufficientFunds, NeedsApproval,
    NotFound.
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
    if booking.pool_decided_at is not None:
        # Re-checked inside the lock: a join checked against a moment before the deadline can
        # reach the lock after the decision fixed everyone's share (issue 13's races).
        raise Conflict("Joining this group session has closed: its places were settled at the "
                       "deadline.", field="booking")
    terms = _pool_terms_of(booking)
    rules.check_can_join(terms, [p.holder_id for p in booking.participants], holder.id, now)
    budget = budgets.current_budget(holder.id)
    if budget is None:
        raise InvalidInput("There is no budget to pay from yet.", field="booking")
    part = PoolParticipant(
        holder_id=holder.id, budget_id=budget.id, held_pence=terms.hold_per_person_pence
    )
    booking.participants.append(part)
    db.session.flush()
    _hold_pool_share(booking, part, actor)
    audit.record(
        actor,
        "booking.pool_joined",
        "booking",
        booking.id,
        on_behalf_of=holder,
        details={"held_pence": terms.hold_per_person_pence},
        at=now,
    )
    transaction.commit()
    return part


def _release_pool(booking: Booking, actor: User | None) -> None:
    """Give every participant's hold back (the booking is locked by the caller)."""
    for part in booking.participants:
        if part.hold_id is not None and ledger.held_remaining(part.hold_id) > 0:
            ledger.release(
                part.hold_id,
                idempotency_key=f"b{booking.id}-pool-h{part.holder_id}-release",
                actor=actor,
                on_behalf_of=part.holder,
            )
        move_share(part, ShareState.RELEASED)


def _capture_pool(booking: Booking, s: BookingSession, actor: User | None) -> None:
    for part in booking.participants:
        if part.state != ShareState.JOINED or part.hold_id is None:
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
        move_share(part, ShareState.PAID)


def decide_pool(booking_id: int, *, now: datetime | None = None) -> bool | None:
    """At the deadline: run (final shares fixed) or release every hold. None if not yet due.
    One commit either way."""
    now = now or _now()
    booking = _lock_booking(booking_id)
    if booking.pool_decided_at is not None or booking.kind != "pooled":
        db.session.rollback()
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
            None, "booking.pool_runs", "booking", booking.id, details={"shares": decision.shares},
            at=now,
        )
        transaction.commit()
        return True
    audit.record(
        None, "booking.pool_released", "booking", booking.id, details={"reason": decision.reason},
        at=now,
    )
    _release_pool(booking, None)
    rules.move(booking, rules.Event.CANCEL, rules.ActorKind.SYSTEM)
    booking.cancel_reason = decision.reason
    for s in booking.sessions:
        if s.state in OPEN_SESSION_STATES:
            rules.move(s, rules.Event.CANCEL, rules.ActorKind.SYSTEM)
    for part in booking.participants:
        notify.send(
            Notice.MONEY_RELEASED,
            part.holder,
            about_holder=part.holder,
            link=_link(booking),
            context={"provider": booking.provider_profile.user, "starts": _starts(booking)},
        )
    transaction.commit()
    return False
