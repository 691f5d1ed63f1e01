"""Loads the facts the ledger check compares (a few SQL aggregates, read-only) and runs it."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import aliased

from app.domain import ledger_check as rules
from app.domain import payments as payment_rules
from app.domain.ledger import Account, Operation
from app.extensions import db
from app.models import (
    Booking,
    BookingSession,
    CardStep,
    LedgerEntry,
    LedgerTransaction,
    Payment,
    PaymentOperation,
    PoolParticipant,
    SessionCardPayment,
)

# A Stripe call recorded but not answered, or not reached: the reconciliation job settles it.
_IN_FLIGHT_OPERATIONS = (payment_rules.OP_PENDING, payment_rules.OP_UNAVAILABLE)
_IN_FLIGHT_PAYMENTS = (payment_rules.PENDING,)


def _holds() -> tuple[list[rules.HoldFact], list[rules.CaptureFact]]:
    tx = LedgerTransaction
    entry = LedgerEntry
    hold_of = func.coalesce(tx.hold_id, tx.id)
    still_held = dict(db.session.execute(
        select(hold_of, func.sum(entry.amount_pence))
        .join(entry, entry.transaction_id == tx.id)
        .where(entry.account == Account.HELD.value,
               tx.operation.in_([Operation.HOLD.value, Operation.RELEASE.value,
                                 Operation.CAPTURE.value]))
        .group_by(hold_of)
    ).all())
    refunded = dict(db.session.execute(
        select(tx.refund_of_id, func.sum(tx.amount_pence))
        .where(tx.operation == Operation.REFUND.value, tx.refund_of_id.is_not(None))
        .group_by(tx.refund_of_id)
    ).all())
    captures = [
        rules.CaptureFact(capture_id, hold_id, int(spent or 0), int(refunded.get(capture_id, 0)))
        for capture_id, hold_id, spent in db.session.execute(
            select(tx.id, tx.hold_id, func.sum(entry.amount_pence))
            .join(entry, entry.transaction_id == tx.id)
            .where(tx.operation == Operation.CAPTURE.value, entry.account == Account.SPENT.value)
            .group_by(tx.id, tx.hold_id)
        )
    ]
    captured_of: dict[int, int] = defaultdict(int)
    refunded_of: dict[int, int] = defaultdict(int)
    for c in captures:
        if c.hold_id is not None:
            captured_of[c.hold_id] += c.captured_pence
            refunded_of[c.hold_id] += c.refunded_pence
    holds = [
        rules.HoldFact(hold_id, budget_id, amount, int(still_held.get(hold_id, 0)),
                       captured_of[hold_id], refunded_of[hold_id])
        for hold_id, budget_id, amount in db.session.execute(
            select(tx.id, tx.budget_id, tx.amount_pence)
            .where(tx.operation == Operation.HOLD.value)
            .order_by(tx.id)
        )
    ]
    return holds, captures


def _sessions() -> list[rules.SessionFact]:
    s, b = BookingSession, Booking
    return [
        rules.SessionFact(sid, bid, bstate, state, price, charge, hold_id, capture_id,
                          pooled=kind == "pooled")
        for sid, bid, bstate, state, price, charge, hold_id, capture_id, kind in db.session.execute(
            select(s.id, s.booking_id, b.state, s.state, s.price_pence, s.charge_pence,
                   s.hold_id, s.capture_id, b.kind)
            .join(b, b.id == s.booking_id)
            .order_by(s.id)
        )
    ]


def _shares() -> list[rules.ShareFact]:
    p, b = PoolParticipant, Booking
    return [
        rules.ShareFact(pid, bid, bstate, state, hold_id)
        for pid, bid, bstate, state, hold_id in db.session.execute(
            select(p.id, p.booking_id, b.state, p.state, p.hold_id)
            .join(b, b.id == p.booking_id)
            .order_by(p.id)
        )
    ]


def _cards() -> list[rules.CardFact]:
    row, pay = SessionCardPayment, Payment
    op = aliased(PaymentOperation)
    # A row is linked to its payment once the gateway answered; before that, through its key.
    payment_id = func.coalesce(row.payment_id, op.payment_id)
    in_flight_ops = set(db.session.scalars(
        select(PaymentOperation.payment_id)
        .where(PaymentOperation.status.in_(_IN_FLIGHT_OPERATIONS),
               PaymentOperation.payment_id.is_not(None))
        .distinct()
    ))
    rows = db.session.execute(
        select(row.session_id, row.booking_id, row.participant_id, pay.id, pay.status,
               case((pay.status == payment_rules.AUTHORISED, pay.authorised_pence), else_=0),
               pay.captured_pence, pay.refunded_pence)
        .outerjoin(op, op.idempotency_key == row.authorise_key)
        .join(pay, pay.id == payment_id)
        .distinct()
        .order_by(row.session_id)
    ).all()
    # Rows whose authorisation was recorded but never answered have no payment row at all.
    # (A session's card payments are the holder's; a pool participant's share has its own.)
    unanswered = db.session.execute(
        select(row.session_id, row.booking_id, row.participant_id)
        .outerjoin(op, op.idempotency_key == row.authorise_key)
        .where(row.payment_id.is_(None),
               or_(op.id.is_(None), op.status.in_(_IN_FLIGHT_OPERATIONS)))
    ).all()
    Owner = tuple[int, int, int]  # session, booking, participant (0: the booking's holder)
    sums: dict[Owner, list[int]] = {}
    flying: set[Owner] = set()
    seen: set[int] = set()
    for session_id, booking_id, participant_id in unanswered:
        owner = (session_id, booking_id, participant_id or 0)
        sums.setdefault(owner, [0, 0, 0])
        flying.add(owner)
    for session_id, booking_id, participant_id, pid, status, open_auth, captured, refunded in rows:
        if pid in seen:
            continue
        seen.add(pid)
        owner = (session_id, booking_id, participant_id or 0)
        total = sums.setdefault(owner, [0, 0, 0])
        total[0] += open_auth
        total[1] += captured
        total[2] += refunded
        if pid in in_flight_ops or status in _IN_FLIGHT_PAYMENTS:
            flying.add(owner)
    return [
        rules.CardFact(owner[0], owner[1], open_authorised_pence=totals[0],
                       captured_pence=totals[1], refunded_pence=totals[2],
                       in_flight=owner in flying, participant_id=owner[2] or None)
        for owner, totals in sorted(sums.items())
    ]


def _waiting_for_card() -> set[int]:
    """Sessions with a card step recorded and not yet run (a step for the whole booking counts
    for each of its sessions): their card and ledger are between a commit and Stripe."""
    step, s = CardStep, BookingSession
    direct = select(step.session_id).where(step.status == "planned", step.session_id.is_not(None),
                                           step.participant_id.is_(None))
    whole = (select(s.id).join(step, step.booking_id == s.booking_id)
             .where(step.status == "planned", step.session_id.is_(None),
                    step.participant_id.is_(None)))
    return set(db.session.scalars(direct.union(whole)))


def _shares_waiting_for_card() -> set[int]:
    """Pool participants whose share has a card step recorded and not yet run."""
    return set(db.session.scalars(select(CardStep.participant_id).where(
        CardStep.status == "planned", CardStep.participant_id.is_not(None))))


def facts() -> rules.Facts:
    holds, captures = _holds()
    return rules.Facts(holds=holds, captures=captures, sessions=_sessions(), shares=_shares(),
                       cards=_cards(), waiting=frozenset(_waiting_for_card()),
                       waiting_shares=frozenset(_shares_waiting_for_card()))


def run() -> rules.Report:
    """Check the whole ledger against the bookings and card payments (read-only)."""
    session = db.session()
    fresh = not session.in_transaction()
    if fresh and session.get_bind().dialect.name == "postgresql":
        # One snapshot for every query, so a booking moving while we read is not a disagreement.
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    try:
        return rules.check(facts())
    finally:
        if fresh:
            session.rollback()  # read-only: end the read transaction we began
