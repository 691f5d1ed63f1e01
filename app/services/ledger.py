"""The money service: allocate, hold, release, capture, refund, clawback and adjust.

Each public function posts one balanced, append-only ledger transaction in integer pence,
audited, and idempotent: the same `idempotency_key` for the same operation returns the first
result (with `.replayed` set) and posts nothing. None of them commits: they add to the caller's
session, and the calling use case (a booking step, an admin's instalment in budgets.py) commits
once with everything else it changed, through `transaction.commit`. The budget row is locked
(SELECT ... FOR UPDATE on PostgreSQL) before balances are read and stays locked until that
commit, so concurrent requests on one budget queue up instead of both spending the same money;
the database's deferred constraint trigger re-checks at the caller's commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import cast

from sqlalchemy import Row, Table, bindparam, func, insert, or_, select

from app.domain import ledger as rules
from app.domain.access import Role
from app.domain.budget import CATEGORIES, category_label, contingency_share, contingency_target
from app.domain.errors import InvariantBroken
from app.domain.ledger import Account, Operation
from app.domain.money import MAX_PENCE, Money
from app.errors import (
    Conflict,
    InsufficientFunds,
    InvalidInput,
    NeedsApproval,
    NotFound,
    NotPermitted,
)
from app.extensions import db
from app.models import (
    Budget,
    LedgerEntry,
    LedgerTransaction,
    PlanCategory,
    PlanReview,
    SupportPlanVersion,
    User,
)
from app.models.budget import REVIEW_AGREED
from app.services import audit

MAX_KEY_LENGTH = 80


# ---------------------------------------------------------------- reading balances

def balances(budget_id: int) -> dict[Account, int]:
    """Every account's balance for one budget: sums of entries, answered from one index."""
    rows = db.session.execute(
        select(LedgerEntry.account, func.sum(LedgerEntry.amount_pence))
        .where(LedgerEntry.budget_id == budget_id)
        .group_by(LedgerEntry.account)
    ).all()
    result = {account: 0 for account in Account}
    for account, total in rows:
        result[Account(account)] = int(total or 0)
    return result


def held_remaining(hold_id: int) -> int:
    """What is still held for one hold (the hold less its releases and captures)."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_pence), 0))
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(LedgerEntry.account == Account.HELD.value,
               or_(LedgerTransaction.id == hold_id, LedgerTransaction.hold_id == hold_id))
    )
    return int(total or 0)


def refundable(capture_id: int) -> int:
    capture_tx = db.session.get(LedgerTransaction, capture_id)
    if capture_tx is None:
        return 0
    spent = sum(e.amount_pence for e in capture_tx.entries if e.account == Account.SPENT.value)
    refunded = db.session.scalar(
        select(func.coalesce(func.sum(LedgerTransaction.amount_pence), 0))
        .where(LedgerTransaction.refund_of_id == capture_id)
    )
    return spent - int(refunded or 0)


def _current_plan_id(holder_id: object):
    """The id of the holder's current agreed plan, as a scalar subquery (see current_plan)."""
    return (select(SupportPlanVersion.id)
            .outerjoin(PlanReview, PlanReview.plan_id == SupportPlanVersion.id)
            .where(SupportPlanVersion.holder_id == holder_id,
                   or_(PlanReview.id.is_(None), PlanReview.status == REVIEW_AGREED))
            .order_by(SupportPlanVersion.version.desc()).limit(1).scalar_subquery())


def current_plan(holder_id: int) -> SupportPlanVersion | None:
    """The latest *agreed* version of the holder's support plan: the one money decisions use.

    A version proposed from the holder's side that a broker has not agreed (waiting, declined
    or replaced) never counts, so editing the plan cannot widen what may be spent.
    """
    return db.session.scalar(
        select(SupportPlanVersion)
        .outerjoin(PlanReview, PlanReview.plan_id == SupportPlanVersion.id)
        .where(SupportPlanVersion.holder_id == holder_id,
               or_(PlanReview.id.is_(None), PlanReview.status == REVIEW_AGREED))
        .order_by(SupportPlanVersion.version.desc()).limit(1)
    )


# ---------------------------------------------------------------- checks

def _lock_budget(budget_id: int) -> Budget:
    budget = db.session.scalar(
        # FOR NO KEY UPDATE: spenders queue here, while rows that merely refer to the budget
        # (a new booking request) can still be written without waiting.
        select(Budget).where(Budget.id == budget_id).with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    if budget is None:
        raise NotFound("There is no such budget.", field="budget")
    return budget


def lock_budget(budget_id: int) -> Budget:
    """Lock a budget row for the caller's transaction (after any booking rows it locks)."""
    return _lock_budget(budget_id)


def check_can_hold(budget_id: int, amounts: Sequence[int], *, contingency_allowed: bool) -> None:
    """Whether holds of `amounts` (in order) can all be made now, each from what is available
    or, when a broker approved it, from the contingency: so a use case holding several
    sessions refuses before it writes any. Raises InsufficientFunds as hold() would."""
    have = balances(budget_id)
    available, contingency = have[Account.AVAILABLE], have[Account.CONTINGENCY]
    for amount in amounts:
        if amount <= available:
            available -= amount
        elif contingency_allowed and amount <= contingency:
            contingency -= amount
        else:
            raise InsufficientFunds(f"There is only {Money(available)} available, not enough for "
                                    f"{Money(amount)}.", field="amount")


def _lock_transaction(tx_id: int, operation: Operation, what: str) -> tuple[LedgerTransaction, Budget]:
    tx = db.session.get(LedgerTransaction, tx_id)
    if tx is None or tx.operation != operation.value:
        raise NotFound(f"There is no such {what}.", field=None)
    return tx, _lock_budget(tx.budget_id)


def _category(tx: LedgerTransaction) -> str:
    """The spending category of a hold or capture, which release, capture and refund post under."""
    # Holds are only made by hold(), which refuses a missing category; captures copy their hold's.
    if not (tx.category is not None):
        raise InvariantBroken("expected: tx.category is not None")
    return tx.category


def _check_amount(pence: int, field: str = "amount") -> None:
    if not isinstance(pence, int) or isinstance(pence, bool):
        raise InvalidInput("Amounts are whole pence.", field=field)
    if pence <= 0:
        raise InvalidInput("Enter an amount more than £0", field=field)
    if pence > MAX_PENCE:
        raise InvalidInput(f"Enter an amount no more than {Money(MAX_PENCE)}. Check for a typo",
                           field=field)


def _check_key(key: str) -> str:
    key = (key or "").strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput("This form has expired. Go back and try again.", field="idempotency_key")
    return key


def _check_date(budget: Budget | Row, occurred_on: date | None, *, field: str = "occurred_on",
                within_year: bool = False) -> date:
    today = date.today()
    day = occurred_on or today
    if day > today:
        raise InvalidInput("The date must be today or in the past", field=field)
    if day < budget.start_date:
        raise InvalidInput(f"The date must be on or after the budget started, {budget.start_date:%-d %B %Y}",
                           field=field)
    if within_year and day > budget.end_date:
        raise InvalidInput(f"The date must be before the budget year ended, {budget.end_date:%-d %B %Y}",
                           field=field)
    return day


def _require_role(actor: User | None, roles: Sequence[Role], doing: str) -> None:
    if actor is None:
        return  # Carefair itself (demo data, scheduled jobs)
    if actor.role_enum not in roles:
        raise NotPermitted(f"Only {' or '.join(r.label.lower() + 's' for r in roles)} can {doing}.")


def _replayed(operation: Operation, key: str, budget_id: int, amount: int) -> LedgerTransaction | None:
    tx = db.session.scalar(select(LedgerTransaction).where(
        LedgerTransaction.operation == operation.value, LedgerTransaction.idempotency_key == key))
    if tx is None:
        return None
    if tx.budget_id != budget_id or tx.amount_pence != amount:
        raise Conflict("This request was already used for a different amount. Go back and start again.",
                       field="idempotency_key")
    tx.replayed = True
    return tx


_INSERT_ENTRIES = insert(cast(Table, LedgerEntry.__table__))


def _post(budget_id: int, operation: Operation, key: str, legs: list[rules.Leg], *, amount: int,
          actor: User | None, on_behalf_of: User | int | None, occurred_on: date,
          audit_details: dict | None = None, **fields) -> LedgerTransaction:
    legs = rules.check_balanced(legs)
    actor_id, behalf_id = audit.user_id(actor), audit.user_id(on_behalf_of)
    # The transaction is an ORM object flushed here (as every write a use case makes, so flush
    # listeners and the fault and commit-count harnesses see the ledger write), but its legs and
    # the audit event are Core inserts in the same transaction: holds are the hot path
    # (bench/ledger.py), and building and flushing those objects cost more Python than the
    # inserts themselves. No savepoint: the budget row is locked, so an identical retry waits for
    # this one's commit and then finds it (_replayed). A savepoint would also look like a commit
    # to after_commit listeners (the email outbox) before the use case has really committed.
    tx = LedgerTransaction(
        budget_id=budget_id, operation=operation.value, idempotency_key=key, amount_pence=amount,
        occurred_on=occurred_on, actor_id=actor_id,
        on_behalf_of_id=behalf_id if behalf_id is not None and behalf_id != actor_id else None,
        **fields,
    )
    session = db.session()
    session.add(tx)
    session.flush()
    tx_id = tx.id
    conn = session.connection()
    conn.execute(_INSERT_ENTRIES, [
        {"transaction_id": tx_id, "budget_id": budget_id, "account": leg.account.value,
         "amount_pence": leg.pence, "category": leg.category} for leg in legs])
    details = {"amount_pence": amount, "transaction_id": tx_id, "occurred_on": occurred_on.isoformat()}
    details.update(audit_details or {})
    audit.write(actor_id, f"ledger.{operation.value}", "budget", budget_id,
                on_behalf_of=behalf_id, details=details)
    return tx


# ---------------------------------------------------------------- operations

def allocate(budget_id: int, amount_pence: int, *, idempotency_key: str, actor: User | None,
             received_on: date | None = None, reference: str | None = None) -> LedgerTransaction:
    """Record an instalment received from the council; part tops up the contingency reserve.

    Raises InvalidInput (amount, received_on), NotFound, NotPermitted, Conflict (key reused).
    """
    _check_amount(amount_pence)
    key = _check_key(idempotency_key)
    _require_role(actor, [Role.COUNCIL_ADMIN], "record instalments")
    budget = _lock_budget(budget_id)
    if (earlier := _replayed(Operation.ALLOCATE, key, budget.id, amount_pence)) is not None:
        return earlier
    day = _check_date(budget, received_on, field="received_on", within_year=True)
    now = balances(budget.id)
    target = contingency_target(budget.annual_pence, budget.contingency_weeks, budget.contingency_pence)
    to_reserve = contingency_share(amount_pence, budget.annual_pence, target, now[Account.CONTINGENCY])
    return _post(budget.id, Operation.ALLOCATE, key, rules.allocate(amount_pence, to_reserve),
                 amount=amount_pence, actor=actor, on_behalf_of=budget.holder_id, occurred_on=day,
                 reference=reference, audit_details={"to_contingency_pence": to_reserve})


# Holds are the hot path (bench/ledger.py): their two reads are built once, so each call only
# binds values (no statement building, no cache-key walk), and run on the session's connection.
# FOR NO KEY UPDATE, as _lock_budget; only the columns hold uses.
_BUDGETS = cast(Table, Budget.__table__)
_LOCK_FOR_HOLD = (select(_BUDGETS.c.id, _BUDGETS.c.holder_id, _BUDGETS.c.start_date)
                  .where(_BUDGETS.c.id == bindparam("budget_id")).with_for_update(key_share=True))
# Everything hold decides on, read in one statement once the budget is locked: an earlier hold
# with this key, what the source account has, and whether the category is in the agreed plan.
_HOLD_FACTS = select(
    select(LedgerTransaction.id).where(LedgerTransaction.operation == Operation.HOLD.value,
                                       LedgerTransaction.idempotency_key == bindparam("key"))
    .scalar_subquery(),
    select(func.coalesce(func.sum(LedgerEntry.amount_pence), 0))
    .where(LedgerEntry.budget_id == bindparam("budget_id"), LedgerEntry.account == bindparam("source"))
    .scalar_subquery(),
    select(PlanCategory.id).where(PlanCategory.plan_id == _current_plan_id(bindparam("holder_id")),
                                  PlanCategory.code == bindparam("category")).exists(),
)


def hold(budget_id: int, amount_pence: int, *, category: str, idempotency_key: str,
         actor: User | None, on_behalf_of: User | None = None, approved_by: User | None = None,
         from_contingency: bool = False, reference: str | None = None,
         occurred_on: date | None = None) -> LedgerTransaction:
    """Set money aside for a booking. Returns the hold's transaction (its id is the hold id).

    Raises InvalidInput (amount, category), NeedsApproval (outside the plan or from the
    contingency without a broker's approval), NotPermitted (approver not a broker),
    InsufficientFunds (amount), NotFound, Conflict (key reused for something else).
    """
    _check_amount(amount_pence)
    key = _check_key(idempotency_key)
    if category not in CATEGORIES:
        raise InvalidInput("Choose a spending category from the list", field="category")
    if approved_by is not None and approved_by.role_enum is not Role.BROKER:
        raise NotPermitted("Only a broker can approve spending outside the plan.", field="approved_by")
    session = db.session()
    if session.autoflush:
        session.flush()  # as the ORM lock query did before: earlier writes go first
    conn = session.connection()
    budget = conn.execute(_LOCK_FOR_HOLD, {"budget_id": budget_id}).one_or_none()
    if budget is None:
        raise NotFound("There is no such budget.", field="budget")
    source = Account.CONTINGENCY if from_contingency else Account.AVAILABLE
    replay_id, have, in_plan = conn.execute(_HOLD_FACTS, {
        "key": key, "budget_id": budget.id, "source": source.value, "holder_id": budget.holder_id,
        "category": category}).one()
    if replay_id is not None:
        earlier = _replayed(Operation.HOLD, key, budget.id, amount_pence)
        if earlier is not None:
            return earlier
    day = _check_date(budget, occurred_on)
    if approved_by is None:
        if from_contingency:
            raise NeedsApproval("Spending from the contingency reserve needs a broker's approval.",
                                field="category")
        if not in_plan:
            raise NeedsApproval(f"{category_label(category)} is not in the support plan, so a broker "
                                "needs to approve this spending.", field="category")
    if amount_pence > have:
        where = "in the contingency reserve" if from_contingency else "available"
        raise InsufficientFunds(f"There is only {Money(have)} {where}, not enough for "
                                f"{Money(amount_pence)}.", field="amount")
    return _post(budget.id, Operation.HOLD, key,
                 rules.hold(amount_pence, category=category, from_contingency=from_contingency),
                 amount=amount_pence, actor=actor, on_behalf_of=on_behalf_of or budget.holder_id,
                 occurred_on=day, category=category, from_contingency=from_contingency,
                 approved_by_id=approved_by.id if approved_by else None, reference=reference,
                 audit_details={"category": category, "from_contingency": from_contingency,
                                "approved_by_id": approved_by.id if approved_by else None})


def release(hold_id: int, *, idempotency_key: str, actor: User | None,
            on_behalf_of: User | None = None, occurred_on: date | None = None) -> LedgerTransaction:
    """Give back everything still held for a booking (on cancellation).

    Raises NotFound, Conflict (nothing left to release, or key reused).
    """
    key = _check_key(idempotency_key)
    the_hold, budget = _lock_transaction(hold_id, Operation.HOLD, "hold")
    existing = db.session.scalar(select(LedgerTransaction).where(
        LedgerTransaction.operation == Operation.RELEASE.value, LedgerTransaction.idempotency_key == key))
    if existing is not None:
        if existing.hold_id != hold_id:
            raise Conflict("This request was already used for a different booking.", field="idempotency_key")
        existing.replayed = True
        return existing
    still = held_remaining(hold_id)
    if still <= 0:
        raise Conflict("This booking's money has already been released or spent.")
    day = _check_date(budget, occurred_on)
    return _post(budget.id, Operation.RELEASE, key,
                 rules.release(still, category=_category(the_hold), from_contingency=the_hold.from_contingency),
                 amount=still, actor=actor, on_behalf_of=on_behalf_of or budget.holder_id, occurred_on=day,
                 category=the_hold.category, from_contingency=the_hold.from_contingency, hold_id=hold_id,
                 audit_details={"hold_id": hold_id})


def capture(hold_id: int, amount_pence: int, *, idempotency_key: str, actor: User | None,
            on_behalf_of: User | None = None, occurred_on: date | None = None,
            reference: str | None = None) -> LedgerTransaction:
    """Spend up to what is held for a booking (on confirmed delivery); the rest is released.

    Raises InvalidInput (amount), InsufficientFunds (more than held), NotFound, Conflict.
    """
    _check_amount(amount_pence)
    key = _check_key(idempotency_key)
    the_hold, budget = _lock_transaction(hold_id, Operation.HOLD, "hold")
    if (earlier := _replayed(Operation.CAPTURE, key, budget.id, amount_pence)) is not None:
        if earlier.hold_id != hold_id:
            raise Conflict("This request was already used for a different booking.", field="idempotency_key")
        return earlier
    still = held_remaining(hold_id)
    if still <= 0:
        raise Conflict("This booking's money has already been released or spent.")
    if amount_pence > still:
        raise InsufficientFunds(f"Only {Money(still)} is held for this booking, so no more than that "
                                "can be paid.", field="amount")
    day = _check_date(budget, occurred_on)
    return _post(budget.id, Operation.CAPTURE, key,
                 rules.capture(amount_pence, still, category=_category(the_hold),
                               from_contingency=the_hold.from_contingency),
                 amount=amount_pence, actor=actor, on_behalf_of=on_behalf_of or budget.holder_id,
                 occurred_on=day, category=the_hold.category, from_contingency=the_hold.from_contingency,
                 hold_id=hold_id, reference=reference,
                 audit_details={"hold_id": hold_id, "released_pence": still - amount_pence})


def refund(capture_id: int, amount_pence: int, *, idempotency_key: str, actor: User | None,
           on_behalf_of: User | None = None, occurred_on: date | None = None,
           reason: str | None = None) -> LedgerTransaction:
    """Put money a provider pays back into the budget. Never more than was captured.

    Raises InvalidInput (amount), InsufficientFunds (more than was paid), NotFound, Conflict.
    """
    _check_amount(amount_pence)
    key = _check_key(idempotency_key)
    the_capture, budget = _lock_transaction(capture_id, Operation.CAPTURE, "payment")
    if (earlier := _replayed(Operation.REFUND, key, budget.id, amount_pence)) is not None:
        return earlier
    left = refundable(capture_id)
    if amount_pence > left:
        raise InsufficientFunds(f"Only {Money(left)} of this payment can still be refunded.", field="amount")
    day = _check_date(budget, occurred_on)
    return _post(budget.id, Operation.REFUND, key,
                 rules.refund(amount_pence, category=_category(the_capture),
                              from_contingency=the_capture.from_contingency),
                 amount=amount_pence, actor=actor, on_behalf_of=on_behalf_of or budget.holder_id,
                 occurred_on=day, category=the_capture.category,
                 from_contingency=the_capture.from_contingency, refund_of_id=capture_id, reason=reason,
                 audit_details={"capture_id": capture_id})


def _clawback_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Enter the reason for taking the money back", field="reason")
    if len(reason) > 500:
        raise InvalidInput("The reason must be 500 characters or fewer", field="reason")
    return reason


@dataclass(frozen=True)
class ClawbackPreview:
    """What a clawback would do, for the council admin to confirm before any money moves."""

    budget: Budget
    amount_pence: int
    reason: str
    unspent_pence: int

    @property
    def leaving_pence(self) -> int:
        return self.unspent_pence - self.amount_pence


def preview_clawback(budget_id: int, amount_pence: int, *, reason: str | None,
                     actor: User | None) -> ClawbackPreview:
    """Check a clawback as `clawback` would, and say what it would leave. Posts nothing.

    Raises InvalidInput (amount, reason), InsufficientFunds (amount), NotPermitted, NotFound.
    """
    _check_amount(amount_pence)
    reason = _clawback_reason(reason)
    _require_role(actor, [Role.COUNCIL_ADMIN], "claw back money")
    budget = db.session.get(Budget, budget_id)
    if budget is None:
        raise NotFound("There is no such budget.", field="budget")
    unspent = _unspent(budget.id)
    if amount_pence > unspent:
        raise _too_much(unspent)
    return ClawbackPreview(budget, amount_pence, reason, unspent)


def _unspent(budget_id: int) -> int:
    now = balances(budget_id)
    return now[Account.AVAILABLE] + now[Account.CONTINGENCY]


def _too_much(unspent: int) -> InsufficientFunds:
    return InsufficientFunds(f"Only {Money(unspent)} is unspent and not held for bookings, so no "
                             "more than that can be taken back.", field="amount")


def clawback(budget_id: int, amount_pence: int, *, idempotency_key: str, actor: User | None,
             reason: str, occurred_on: date | None = None) -> LedgerTransaction:
    """The council recovers unspent money: available first, then contingency, never held money.

    A reason is required, as for adjustments: taking money back must be explained.
    Raises InvalidInput (amount, reason), InsufficientFunds (more than is unspent), NotPermitted,
    NotFound, Conflict.
    """
    _check_amount(amount_pence)
    reason = _clawback_reason(reason)
    key = _check_key(idempotency_key)
    _require_role(actor, [Role.COUNCIL_ADMIN], "claw back money")
    budget = _lock_budget(budget_id)
    if (earlier := _replayed(Operation.CLAWBACK, key, budget.id, amount_pence)) is not None:
        return earlier
    now = balances(budget.id)
    unspent = now[Account.AVAILABLE] + now[Account.CONTINGENCY]
    if amount_pence > unspent:
        raise _too_much(unspent)
    day = _check_date(budget, occurred_on)
    return _post(budget.id, Operation.CLAWBACK, key,
                 rules.clawback(amount_pence, now[Account.AVAILABLE], now[Account.CONTINGENCY]),
                 amount=amount_pence, actor=actor, on_behalf_of=budget.holder_id, occurred_on=day,
                 reason=reason, audit_details={"reason": reason})


def adjust(budget_id: int, amount_pence: int, *, reason: str, idempotency_key: str,
           actor: User | None, occurred_on: date | None = None) -> LedgerTransaction:
    """A correction by a broker or council admin: positive adds money, negative removes it.

    Raises InvalidInput (amount, reason), InsufficientFunds, NotPermitted, NotFound, Conflict.
    """
    if not isinstance(amount_pence, int) or isinstance(amount_pence, bool) or amount_pence == 0:
        raise InvalidInput("Enter an amount more than £0", field="amount")
    _check_amount(abs(amount_pence))
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Enter the reason for the adjustment", field="reason")
    if len(reason) > 500:
        raise InvalidInput("The reason must be 500 characters or fewer", field="reason")
    key = _check_key(idempotency_key)
    _require_role(actor, [Role.BROKER, Role.COUNCIL_ADMIN], "adjust budgets")
    budget = _lock_budget(budget_id)
    if (earlier := _replayed(Operation.ADJUST, key, budget.id, abs(amount_pence))) is not None:
        return earlier
    have = balances(budget.id)[Account.AVAILABLE]
    if amount_pence < 0 and -amount_pence > have:
        raise InsufficientFunds(f"Only {Money(have)} is available, so no more than that can be taken "
                                "off.", field="amount")
    day = _check_date(budget, occurred_on)
    return _post(budget.id, Operation.ADJUST, key, rules.adjust(amount_pence), amount=abs(amount_pence),
                 actor=actor, on_behalf_of=budget.holder_id, occurred_on=day, reason=reason,
                 audit_details={"signed_pence": amount_pence, "reason": reason})
