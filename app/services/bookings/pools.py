"""Pooled (group) bookings: joining, each participant's hold, the deadline decision, capture and release.

Every helper here works on a booking row its caller has locked and adds to the caller's
transaction; `join_pool` and `decide_pool` are use cases of their own (one commit each).

A participant whose budget pays by card (direct_payment) pays their share from their own card,
through the same recorded card steps as a one-to-one card booking: the share's `authorise` step
is recorded in the commit that holds it in the ledger (the request, for the organiser; the
join, for the others) and runs after that commit; `capture` (or `cancel`, when nothing is
charged) is recorded where the share is captured or released. A card that refuses the share
gives the place and its hold back (`share_card_answered`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.domain import bookings as rules
from app.domain.errors import InvariantBroken
from app.domain.notifications import Event as Notice
from app.domain.pooling import ShareState, move_share, split_shares
from app.errors import Conflict, DomainError, InvalidInput, NotFound
from app.extensions import db
from app.models import Booking, BookingSession, PoolParticipant, User
from app.services import audit, budgets, card_payments, card_steps, ledger, transaction
from app.services.bookings._common import (
    OPEN_SESSION_STATES,
    S,
    _lock_booking,
    _lock_holder,
    _now,
    _plan_category,
    _tell_holder_about_money,
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
    card_steps.record(booking, "authorise", session=booking.sessions[0], participant=part,
                      amount=part.held_pence, actor=actor,
                      key=f"b{booking.id}-pp{part.id}-step-authorise")


def _joined(booking: Booking) -> list[PoolParticipant]:
    """The places still taken: a place given back (its card refused) no longer counts."""
    return [p for p in booking.participants if p.state == ShareState.JOINED]


@transaction.use_case
def share_card_answered(booking_id: int, participant_id: int, step_id: int,
                        err: DomainError | None) -> bool:
    """The participant's card answered the authorisation of their share; one commit.

    Authorised: the step is done; if the place was given back meanwhile (the pool released or
    cancelled), a cancel step is planned for the new authorisation and True returned (the
    caller runs it). Refused before the pool was decided: the place and its ledger hold are
    given back and the participant told; if it was the organiser's own place, the request is
    called off (nobody else can have joined a request whose organiser never paid). Refused after
    the decision (a step left over by a crash): the place stays; its capture renews the
    authorisation, or fails for a broker."""
    booking = _lock_booking(booking_id)
    part = _participant_by_id(participant_id)
    card_steps.finish([step_id], "done" if err is None else "failed",
                      err.message if err is not None else None)
    if err is None:
        planned = False
        if part.state != ShareState.JOINED:
            planned = card_steps.record(
                booking, "cancel", session=booking.sessions[0], participant=part, amount=0,
                key=f"b{booking.id}-pp{part.id}-step-unauthorise") is not None
        transaction.commit()
        return planned
    audit.record(None, "booking.pool_card_refused", "booking", booking.id,
                 on_behalf_of=part.holder,
                 details={"participant": part.id, "reason": err.message, "code": err.code})
    if part.state == ShareState.JOINED and booking.pool_decided_at is None:
        organiser = part.holder_id == booking.holder_id
        if organiser and booking.state in (S.REQUESTED.value, S.AWAITING_APPROVAL.value):
            _release_pool(booking, None)
            rules.move(booking, rules.Event.CANCEL, rules.ActorKind.SYSTEM)
            booking.cancel_reason = err.message[:500]
            for s in booking.sessions:
                if s.state in OPEN_SESSION_STATES:
                    rules.move(s, rules.Event.CANCEL, rules.ActorKind.SYSTEM)
        else:
            _release_share(booking, part, None)
        _tell_holder_about_money(Notice.PAYMENT_FAILED, part.holder, booking)
    transaction.commit()
    return False


def _participant_by_id(participant_id: int) -> PoolParticipant:
    part = db.session.get(PoolParticipant, participant_id)
    if part is None:
        raise NotFound("We could not find that place in the group session.")
    return part


@transaction.use_case
def join_pool(
    actor: User, holder: User, booking_id: int, *, now: datetime | None = None
) -> PoolParticipant:
    """Join a pooled session: the most this holder could pay is held from their own budget.

    Raises Conflict (full, closed or decided, already in), InsufficientFunds, NeedsApproval,
    NotFound.
    """
    from app.services.bookings.pauses import current_pause  # (pauses imports this module)

    now = now or _now()
    # The holder first, then the booking (a pause's lock order): a pause in progress finishes
    # first, and a paused holder joins nothing, as they book nothing.
    _lock_holder(holder.id)
    if current_pause(holder.id) is not None:
        raise Conflict("Support is paused, so you cannot join a group session. Resume support "
                       "first.", field="booking")
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
    if any(p.holder_id == holder.id and p.state != ShareState.JOINED
           for p in booking.participants):
        raise Conflict("Your place in this group session was given back (the card payment did "
                       "not go through, or support was paused), so you cannot join it again. "
                       "Ask the organiser or a broker.",
                       field="booking")
    rules.check_can_join(terms, [p.holder_id for p in _joined(booking)], holder.id, now)
    budget = budgets.current_budget(holder.id)
    if budget is None:
        raise InvalidInput("There is no budget to pay from yet.", field="booking")
    if budget.funding_mode not in booking.listing.funding_modes:
        # As for the organiser's request: the provider is paid only from budgets they take.
        raise InvalidInput("This provider does not take payment from your kind of budget.",
                           field="booking")
    # A share paid by card needs the card now: a place whose card cannot be asked would only
    # be given back once it was.
    card_payments.check_can_pay(budget, kind="pooled", total_pence=terms.hold_per_person_pence)
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
    card_steps.run(booking_id=booking_id)  # authorise the share on their card, if it pays so
    db.session.refresh(part)
    return part


def _release_share(booking: Booking, part: PoolParticipant, actor: User | None) -> None:
    """Give one participant's hold back, and their card's authorisation after commit."""
    if part.state != ShareState.JOINED:
        return  # released or paid already: nothing held
    if part.hold_id is not None and ledger.held_remaining(part.hold_id) > 0:
        ledger.release(
            part.hold_id,
            idempotency_key=f"b{booking.id}-pool-h{part.holder_id}-release",
            actor=actor,
            on_behalf_of=part.holder,
        )
    card_steps.record(booking, "cancel", session=booking.sessions[0], participant=part,
                      amount=0, actor=actor, key=f"b{booking.id}-pp{part.id}-step-release")
    move_share(part, ShareState.RELEASED)


def _release_pool(booking: Booking, actor: User | None) -> None:
    """Give every participant's hold back (the booking is locked by the caller); their cards'
    authorisations are cancelled by card steps after the caller's commit."""
    for part in booking.participants:
        _release_share(booking, part, actor)


def _capture_pool(booking: Booking, s: BookingSession, actor: User | None,
                  charge: int | None = None) -> None:
    """Take `charge` for the group session from the participants still in it (default: the
    whole price, each their decided share); anything less (a dispute settled with a refund, a
    no-show charge) is split between them the way shares are. What is not taken goes back to
    each budget, and each card follows after commit (capture, or cancel when nothing is taken)."""
    joined = [p for p in _joined(booking) if p.hold_id is not None]
    if not joined:
        return
    full = {p.holder_id: p.share_pence if p.share_pence is not None else p.held_pence
            for p in joined}
    if charge is None or charge >= sum(full.values()):
        pieces = full
    else:
        pieces = split_shares(max(charge, 0), [p.holder_id for p in joined])
    for part in joined:
        piece = min(pieces[part.holder_id], part.held_pence)
        if piece <= 0 or part.hold_id is None:
            _release_share(booking, part, actor)
            continue
        part.capture_id = ledger.capture(
            part.hold_id,
            piece,
            idempotency_key=f"b{booking.id}-pool-h{part.holder_id}-capture",
            actor=actor,
            on_behalf_of=part.holder,
            reference=booking.reference,
        ).id
        card_steps.record(booking, "capture", session=s, participant=part, amount=piece,
                          actor=actor, key=f"b{booking.id}-pp{part.id}-step-capture")
        move_share(part, ShareState.PAID)


@transaction.use_case
def decide_pool(booking_id: int, *, now: datetime | None = None) -> bool | None:
    """At the deadline: run (final shares fixed) or release every hold. None if not yet due.
    One commit either way."""
    now = now or _now()
    booking = _lock_booking(booking_id)
    if booking.pool_decided_at is not None or booking.kind != "pooled":
        db.session.rollback()
        return None
    terms = _pool_terms_of(booking)
    decision = rules.decide_pool(terms, [p.holder_id for p in _joined(booking)], now)
    if decision is None:
        db.session.rollback()
        return None
    booking.pool_decided_at = now
    if decision.runs:
        for part in _joined(booking):
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
    still_in = _joined(booking)  # a place given back earlier was told then
    _release_pool(booking, None)
    rules.move(booking, rules.Event.CANCEL, rules.ActorKind.SYSTEM)
    booking.cancel_reason = decision.reason
    for s in booking.sessions:
        if s.state in OPEN_SESSION_STATES:
            rules.move(s, rules.Event.CANCEL, rules.ActorKind.SYSTEM)
    for part in still_in:
        _tell_holder_about_money(Notice.MONEY_RELEASED, part.holder, booking)
    transaction.commit()
    card_steps.run(booking_id=booking_id)  # cancel the shares' card authorisations
    return False
