"""Card operations recorded by booking use cases, run against Stripe after their commit.

A booking use case never calls Stripe inside its transaction. It records what the card must
do (`record`: authorise, capture, cancel, refund) as a CardStep row in the same commit as the
ledger legs and the state change, with an idempotency key fixed at that moment. After the
commit, `run` executes the planned steps through card_payments and the gateway (which keep
their own per-call records, keyed, so a step run twice moves money once) and then applies the
answer to the booking in a transaction of its own (funding.card_authorised / card_refused).

A crash anywhere leaves planned steps behind: the next `run` (right after the next use case
on that booking, or `carefair payments reconcile`, cron-ready) finishes them. A step Stripe
refuses for good (a declined card at capture) is marked failed and audited, for a broker.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select

from app.domain.errors import InvariantBroken
from app.domain.payments import PaymentUnavailable
from app.errors import DomainError
from app.extensions import db
from app.models import Booking, BookingSession, CardStep, PoolParticipant, User
from app.services import audit

log = logging.getLogger(__name__)


def record(
    booking: Booking,
    kind: str,
    *,
    key: str,
    session: BookingSession | None = None,
    amount: int = 0,
    actor: User | None = None,
    reason: str | None = None,
    participant: PoolParticipant | None = None,
) -> CardStep | None:
    """Plan a card operation in the caller's transaction (nothing for a booking not paid by
    card). With `participant`, the operation is on that pool participant's share, paid by their
    own card (nothing if their budget is not paid by card). The same key planned twice is one
    step."""
    from app.services import card_payments

    if participant is not None:
        if not card_payments.share_uses_card(participant):
            return None
    elif not card_payments.uses_card(booking):
        return None
    existing = db.session.scalar(select(CardStep).where(CardStep.idempotency_key == key))
    if existing is not None:
        return existing
    step = CardStep(
        booking_id=booking.id,
        session_id=session.id if session is not None else None,
        participant_id=participant.id if participant is not None else None,
        kind=kind,
        amount_pence=amount,
        hold_round=booking.hold_round,
        idempotency_key=key,
        actor_id=actor.id if actor is not None else None,
        reason=reason,
    )
    db.session.add(step)
    return step


@dataclass
class RunReport:
    done: int = 0
    failed: int = 0
    waiting: int = 0  # still planned (Stripe unreachable): the next run retries
    errors: list[str] = field(default_factory=list)


def planned(*, booking_id: int | None = None, booking_ids: list[int] | None = None) -> list[int]:
    query = select(CardStep.id).where(CardStep.status == "planned").order_by(CardStep.id)
    if booking_id is not None:
        query = query.where(CardStep.booking_id == booking_id)
    if booking_ids is not None:
        query = query.where(CardStep.booking_id.in_(booking_ids))
    return list(db.session.scalars(query))


def run(*, booking_id: int | None = None, booking_ids: list[int] | None = None) -> RunReport:
    """Execute the planned steps (of one booking, some, or all), oldest first. Never raises for
    a card problem: the use case that planned them has committed."""
    report = RunReport()
    if booking_ids is not None and not booking_ids:
        return report
    db.session.rollback()  # start clean: the use case has committed
    for step_id in planned(booking_id=booking_id, booking_ids=booking_ids):
        try:
            _run_one(step_id, report)
        except Exception as err:  # a bug or the database: leave it planned for the next run
            db.session.rollback()
            log.exception("card step %s failed to run", step_id)
            report.errors.append(f"step {step_id}: {err}")
            report.waiting += 1
    return report


def finish(step_ids: list[int], status: str, error: str | None = None) -> None:
    """Mark steps done or failed in the caller's transaction (with the outcome it applies)."""
    for step_id in step_ids:
        step = db.session.get(CardStep, step_id)
        if step is None or step.status != "planned":
            continue
        step.status = status
        step.attempts += 1
        step.last_error = (error or None) and error[:300]
        step.done_at = datetime.now(UTC)


def _finish(step_ids: list[int], status: str, error: str | None = None) -> None:
    finish(step_ids, status, error)
    db.session.commit()


def _actor(step: CardStep) -> User | None:
    return db.session.get(User, step.actor_id) if step.actor_id else None


def _run_one(step_id: int, report: RunReport) -> None:
    step = db.session.get(CardStep, step_id)
    if step is None or step.status != "planned":
        return
    if step.kind == "authorise" and step.participant_id is not None:
        _run_share_authorise(step, report)
    elif step.kind == "authorise":
        _run_authorise(step, report)
    elif step.kind in ("capture", "cancel"):
        _run_take(step, report)
    elif step.kind == "refund":
        _run_refund(step, report)
    else:  # transfers and reversals run inside capture and refund steps
        _finish([step.id], "done")
        report.done += 1


def _run_authorise(step: CardStep, report: RunReport) -> None:
    from app.services import card_payments
    from app.services.bookings import funding
    from app.services.bookings._common import S

    booking = db.session.get(Booking, step.booking_id)
    if not (booking is not None):
        raise InvariantBroken("expected: booking is not None")
    round_ = step.hold_round
    steps = list(db.session.scalars(
        select(CardStep).where(CardStep.booking_id == booking.id, CardStep.kind == "authorise",
                               CardStep.hold_round == round_, CardStep.status == "planned")
        .order_by(CardStep.id)))
    ids = [s.id for s in steps]
    sessions = [s.session_id for s in steps if s.session_id is not None]
    accepted_by_id = step.actor_id if step.reason == "accept" else None
    tell_failure = step.reason != "retry"
    actor = _actor(step)
    if step.reason == "ahead":
        _run_authorise_ahead(booking, ids, sessions, actor, report)
        return
    if booking.state != S.ACCEPTED.value or booking.hold_round != round_:
        # Cancelled or paused before the card was asked: nothing to authorise.
        _finish(ids, "done", "The booking moved on before the card was asked.")
        report.done += len(ids)
        return
    try:
        card_payments.authorise_sessions(booking.id, sessions, actor)
    except DomainError as err:
        db.session.rollback()
        funding.card_refused(booking.id, round_, err, tell_failure=tell_failure, step_ids=ids)
        report.failed += len(ids)
        return
    report.done += len(ids)
    if not funding.card_authorised(booking.id, round_, accepted_by_id, ids):
        # The booking moved on while the card answered: run the cancel steps it planned.
        for new_id in planned(booking_id=step.booking_id):
            _run_one(new_id, report)


def _run_share_authorise(step: CardStep, report: RunReport) -> None:
    """A pool participant's share, held in the ledger when they joined: authorised on their own
    card; a refusal gives their place and its hold back (bookings.pools.share_card_answered),
    an outage leaves the step planned for the next run."""
    from app.domain.pooling import ShareState
    from app.services import card_payments
    from app.services.bookings import pools

    part = db.session.get(PoolParticipant, step.participant_id)
    if not (part is not None):
        raise InvariantBroken("card_steps.participant_id is a foreign key to pool_participants")
    if part.state != ShareState.JOINED:
        _finish([step.id], "done", "The place was given back before the card was asked.")
        report.done += 1
        return
    try:
        card_payments.authorise_share(step.booking_id, part.id, _actor(step))
    except DomainError as err:
        db.session.rollback()
        if isinstance(err, PaymentUnavailable):
            # Stripe down or slow: the place keeps its hold and the step waits for the next
            # run (the retry asks with the same key, so it never authorises twice).
            _failed(step, err, report)
            return
        pools.share_card_answered(step.booking_id, part.id, step.id, err)
        report.failed += 1
        return
    report.done += 1
    if pools.share_card_answered(step.booking_id, part.id, step.id, None):
        # The place was given back while the card answered: run the cancel step it planned.
        for new_id in planned(booking_id=step.booking_id):
            _run_one(new_id, report)


def _run_authorise_ahead(booking: Booking, ids: list[int], sessions: list[int], actor: User | None,
                         report: RunReport) -> None:
    """Sessions of a weekly series held by the daily job (issue 18's funding horizon)."""
    from app.services import card_payments
    from app.services.bookings import horizon
    from app.services.bookings._common import S

    if booking.state != S.FUNDS_HELD.value:
        _finish(ids, "done", "The booking moved on before the card was asked.")
        report.done += len(ids)
        return
    try:
        card_payments.authorise_sessions(booking.id, sessions, actor)
    except DomainError as err:
        db.session.rollback()
        horizon.card_ahead_answered(booking.id, sessions, ids, err)
        report.failed += len(ids)
        return
    horizon.card_ahead_answered(booking.id, sessions, ids, None)
    report.done += len(ids)


def _run_take(step: CardStep, report: RunReport) -> None:
    from app.services import card_payments

    if not (step.session_id is not None):

        raise InvariantBroken("expected: step.session_id is not None")
    actor = _actor(step)
    try:
        card_payments.take_for_session(step.session_id, step.amount_pence, actor,
                                       step.participant_id)
    except DomainError as err:
        db.session.rollback()
        _failed(step, err, report)
        return
    if step.amount_pence > 0:
        # Waits (visibly) without an account.
        card_payments.pay_provider(step.session_id, actor, step.participant_id)
    _finish([step.id], "done")
    report.done += 1


def _run_refund(step: CardStep, report: RunReport) -> None:
    from app.services import card_payments

    if not (step.session_id is not None):

        raise InvariantBroken("expected: step.session_id is not None")
    actor = _actor(step)
    payment = card_payments.session_payment(step.session_id, step.participant_id)
    if payment is None:
        _finish([step.id], "failed", "No card payment to refund.")
        report.failed += 1
        return
    try:
        card_payments.gateway().refund(
            payment_id=payment.id,
            amount_pence=step.amount_pence,
            reason="requested_by_customer",
            idempotency_key=step.idempotency_key,
            actor=actor,
        )
    except DomainError as err:
        db.session.rollback()
        _failed(step, err, report)
        return
    s = db.session.get(BookingSession, step.session_id)
    if not (s is not None):
        raise InvariantBroken("expected: s is not None")
    card_payments._audit_step(actor, s.booking, s, payment.id, "booking.card_refunded",
                              step.amount_pence, step.participant_id)
    card_payments.take_back_overpaid(step.session_id, step.participant_id, actor)
    _finish([step.id], "done")
    report.done += 1


def _failed(step: CardStep, err: DomainError, report: RunReport) -> None:
    """A refusal for good fails the step (audited, for a broker); anything else (Stripe down or
    slow) leaves it planned for the next run."""
    step = db.session.get(CardStep, step.id)  # type: ignore[assignment]
    if not isinstance(err, PaymentUnavailable):
        audit.record(None, "card_step.failed", "booking", step.booking_id,
                     details={"step": step.id, "kind": step.kind, "reason": err.message,
                              "code": err.code})
        _finish([step.id], "failed", err.message)
        report.failed += 1
        return
    step.attempts += 1
    step.last_error = err.message[:300]
    db.session.commit()
    report.waiting += 1
    report.errors.append(f"step {step.id}: {err.message}")


def waiting_steps() -> list[CardStep]:
    """Card steps not finished or failed for good: what a broker (or the reconcile job) sees."""
    return list(db.session.scalars(
        select(CardStep).where(CardStep.status != "done").order_by(CardStep.id)))


@dataclass
class ReconcileReport:
    steps: RunReport
    payouts_sent: int
    stray_released: int


def reconcile() -> ReconcileReport:
    """`carefair payments reconcile` (cron-ready, idempotent): finish every planned card step
    (a crash or an outage between a use case's commit and its card step), release card
    authorisations no booking needs any more, then retry waiting payouts and take-backs."""
    from app.services import card_payments

    steps = run()
    released = _release_strays()
    paid = card_payments.pay_waiting()
    return ReconcileReport(steps, paid, released)


def _release_strays() -> int:
    """Authorisations on sessions that no longer hold money (cancelled, paused, failed, or a
    funding round a crash interrupted): planned as cancel steps and run."""
    from app.domain import payments as payment_rules
    from app.models import Payment, SessionCardPayment
    from app.services.bookings._common import S

    live = (S.ACCEPTED.value, S.FUNDS_HELD.value, S.DELIVERED.value, S.DISPUTED.value,
            S.CONFIRMED.value)
    rows = db.session.execute(
        select(SessionCardPayment.session_id, SessionCardPayment.id)
        .join(Payment, Payment.id == SessionCardPayment.payment_id)
        .join(BookingSession, BookingSession.id == SessionCardPayment.session_id)
        .where(Payment.status == payment_rules.AUTHORISED, BookingSession.state.not_in(live),
               SessionCardPayment.participant_id.is_(None))
        .order_by(SessionCardPayment.id)
    ).all()
    # A pool participant's share is over when their place was given back (whatever the group
    # session's own state: the organiser's share is authorised while it is still requested).
    from app.domain.pooling import ShareState

    shares = db.session.execute(
        select(SessionCardPayment.session_id, SessionCardPayment.id, PoolParticipant.id)
        .join(Payment, Payment.id == SessionCardPayment.payment_id)
        .join(PoolParticipant, PoolParticipant.id == SessionCardPayment.participant_id)
        .where(Payment.status == payment_rules.AUTHORISED,
               PoolParticipant.state == ShareState.RELEASED)
        .order_by(SessionCardPayment.id)
    ).all()
    added = []
    for session_id, row_id, part_id in [(*r, None) for r in rows] + list(shares):
        s = db.session.get(BookingSession, session_id)
        if not (s is not None):
            raise InvariantBroken("expected: s is not None")
        part = db.session.get(PoolParticipant, part_id) if part_id is not None else None
        step = record(s.booking, "cancel", session=s, key=f"stray-{row_id}-release",
                      participant=part)
        if step is not None and step.status == "planned":
            added.append(step)
    db.session.commit()
    report = RunReport()
    for step in added:
        _run_one(step.id, report)
    return report.done
