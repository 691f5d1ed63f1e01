"""Budgets and support plans: creating them, and what holders and the council see of the money."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, case, func, select

from app.domain.access import Role
from app.domain.budget import (
    CATEGORIES,
    Forecast,
    category_label,
    contingency_target,
    current_period,
    forecast,
    instalment_amounts,
    instalment_dates,
    new_budget_refusals,
)
from app.domain.errors import InvariantBroken
from app.domain.ledger import Account, Operation
from app.domain.money import MAX_PENCE, Money
from app.domain.notifications import Event as Notice
from app.errors import Conflict, InvalidInput, NotFound, NotPermitted
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
from app.models.base import utcnow
from app.models.budget import REVIEW_AGREED, REVIEW_DECLINED, REVIEW_SUPERSEDED, REVIEW_WAITING
from app.services import audit, notify
from app.services.ledger import balances, current_plan

MAX_TEXT = 5000
MAX_REASON = 1000


# ---------------------------------------------------------------- budgets

def create_budget(holder_id: int, annual_pence: int, start_date: date | None, frequency: str,
                  funding_mode: str, *, contingency_weeks: int | None = None,
                  contingency_pence: int | None = None, actor: User | None) -> Budget:
    """A council admin sets up a holder's budget for one year from `start_date`.

    Raises InvalidInput (field named), NotFound (holder), NotPermitted, Conflict (overlap).
    """
    if actor is not None and actor.role_enum is not Role.COUNCIL_ADMIN:
        raise NotPermitted("Only council admins can set up budgets.")
    holder = db.session.get(User, holder_id)
    if holder is None or holder.role_enum is not Role.HOLDER:
        raise NotFound("There is no budget holder with that account.", field="holder")
    others = [(b.start_date, b.end_date)
              for b in db.session.scalars(select(Budget).where(Budget.holder_id == holder.id))]
    refusals = new_budget_refusals(annual_pence, start_date, frequency, funding_mode, contingency_weeks,
                                   contingency_pence, others=others, today=date.today(),
                                   holder_name=holder.name)
    if refusals:
        raise refusals[0]
    if not (start_date is not None):
        raise InvariantBroken("expected: a start date (new_budget_refusals refuses none)")
    budget = Budget(holder_id=holder.id, annual_pence=annual_pence, start_date=start_date,
                    frequency=frequency, funding_mode=funding_mode,
                    contingency_weeks=contingency_weeks, contingency_pence=contingency_pence,
                    created_by_id=actor.id if actor else None)
    db.session.add(budget)
    db.session.flush()
    audit.record(actor, "budget.created", "budget", budget.id, on_behalf_of=holder,
                 details={"annual_pence": annual_pence, "start_date": start_date.isoformat(),
                          "frequency": frequency, "funding_mode": funding_mode,
                          "contingency_weeks": contingency_weeks, "contingency_pence": contingency_pence})
    db.session.commit()
    return budget


def get_budget(budget_id: int) -> Budget:
    budget = db.session.get(Budget, budget_id)
    if budget is None:
        raise NotFound("There is no such budget.")
    return budget


def budgets_of(holder_id: int) -> list[Budget]:
    return list(db.session.scalars(select(Budget).where(Budget.holder_id == holder_id)
                                   .order_by(Budget.start_date.desc())))


def current_budget(holder_id: int, today: date | None = None) -> Budget | None:
    """The budget running today, or else the most recent one (or the next, if none has started)."""
    today = today or date.today()
    budgets = budgets_of(holder_id)
    started = [b for b in budgets if b.start_date <= today]
    if started:
        return started[0]
    return budgets[-1] if budgets else None


def all_budgets() -> list[Budget]:
    return list(db.session.scalars(select(Budget).join(User, User.id == Budget.holder_id)
                                   .order_by(User.name, Budget.start_date.desc())))


def next_instalment(budget: Budget) -> tuple[date, int]:
    """The instalment to record next: its due date and amount, for prefilling the form."""
    dates = instalment_dates(budget.start_date, budget.frequency_enum)
    amounts = instalment_amounts(budget.annual_pence, len(dates))
    received = db.session.scalar(select(func.count()).where(
        LedgerTransaction.budget_id == budget.id,
        LedgerTransaction.operation == Operation.ALLOCATE.value)) or 0
    index = min(received, len(dates) - 1)
    return dates[index], amounts[index]


# ---------------------------------------------------------------- support plans

def save_plan(holder_id: int, what_matters: str, outcomes: str, categories: dict[str, int], *,
              actor: User | None, on_behalf_of: User | None = None,
              change_note: str | None = None,
              weekly_minutes: dict[str, int] | None = None) -> SupportPlanVersion:
    """Add a new version of the holder's support plan (earlier versions are kept as they were).

    `weekly_minutes` sets the most support a week in some categories (app.domain.hour_caps).

    The council agrees a support plan, so a version from the holder's side (the holder or
    someone acting for them) whose spending categories or amounts differ from the agreed plan
    is a proposal: it waits for a broker and changes nothing that money decisions read until
    one agrees it. A text-only change, and any version a broker or the council (or Carefair
    itself, seeding) writes, is agreed at once. A new version replaces any proposal still
    waiting. Raises InvalidInput (field named), NotFound (holder).
    """
    holder = db.session.get(User, holder_id)
    if holder is None or holder.role_enum is not Role.HOLDER:
        raise NotFound("There is no such budget holder.")
    what_matters = (what_matters or "").strip()
    outcomes = (outcomes or "").strip()
    if not what_matters:
        raise InvalidInput("Say what matters to you, in your own words", field="what_matters")
    if not outcomes:
        raise InvalidInput("Say what you want your support to help with", field="outcomes")
    for name, text in (("what_matters", what_matters), ("outcomes", outcomes)):
        if len(text) > MAX_TEXT:
            raise InvalidInput(f"This must be {MAX_TEXT} characters or fewer", field=name)
    if not categories:
        raise InvalidInput("Agree at least one spending category with an amount", field="categories")
    for code, pence in categories.items():
        if code not in CATEGORIES:
            raise InvalidInput("Choose spending categories from the list", field="categories")
        if not isinstance(pence, int) or not 0 < pence <= MAX_PENCE:
            raise InvalidInput(f"Enter an amount for {category_label(code)} between £0.01 and "
                               f"{Money(MAX_PENCE)}", field=f"amount_{code}")
    caps = dict(weekly_minutes or {})
    for code, minutes in caps.items():
        if code not in categories:
            raise InvalidInput(f"Give {category_label(code)} a yearly amount, or leave its weekly "
                               "hours empty", field=f"hours_{code}")
        if not isinstance(minutes, int) or not 0 < minutes <= 7 * 24 * 60:
            raise InvalidInput(f"Enter the most hours a week for {category_label(code)} as a "
                               "number from 1 to 168", field=f"hours_{code}")
    agreed = current_plan(holder.id)
    council_side = actor is None or actor.role_enum in (Role.BROKER, Role.COUNCIL_ADMIN)
    agreed_caps = ({c.code: c.max_minutes_per_week for c in agreed.categories
                    if c.max_minutes_per_week is not None} if agreed else {})
    proposal = not council_side and (agreed is None or agreed.amounts != categories
                                     or agreed_caps != caps)
    latest = db.session.scalar(select(func.max(SupportPlanVersion.version))
                               .where(SupportPlanVersion.holder_id == holder.id)) or 0
    plan = SupportPlanVersion(
        holder_id=holder.id, version=latest + 1,
        what_matters=what_matters, outcomes=outcomes,
        change_note=(change_note or "").strip()[:500] or None, created_by_id=actor.id if actor else None,
        categories=[PlanCategory(code=code, annual_pence=pence, max_minutes_per_week=caps.get(code))
                    for code, pence in categories.items()],
    )
    db.session.add(plan)
    db.session.flush()
    for waiting in _waiting_reviews(holder.id):
        waiting.status = REVIEW_SUPERSEDED
        waiting.decided_by_id = actor.id if actor else None
        waiting.decided_at = utcnow()
        audit.record(actor, "plan.proposal_superseded", "support_plan", waiting.plan_id,
                     on_behalf_of=on_behalf_of or holder,
                     details={"version": waiting.plan.version, "replaced_by_version": plan.version})
    if proposal:
        db.session.add(PlanReview(plan_id=plan.id, holder_id=holder.id, status=REVIEW_WAITING))
        audit.record(actor, "plan.proposed", "support_plan", plan.id, on_behalf_of=on_behalf_of or holder,
                     details={"version": plan.version, "categories": categories,
                              "weekly_minutes": caps,
                              "agreed_version": agreed.version if agreed else None,
                              "agreed_categories": agreed.amounts if agreed else {}})
        # Every active broker hears that a proposal waits (the console also counts it), so a
        # holder's plan change never sits unseen.
        for broker in db.session.scalars(select(User).where(User.role == Role.BROKER.value,
                                                            User.active.is_(True)).order_by(User.id)):
            notify.send(Notice.PLAN_CHANGES_WAITING, broker,
                        link=f"/broker/plans/{plan.id}",
                        context={"client": holder, "by": actor or holder})
    else:
        audit.record(actor, "plan.saved", "support_plan", plan.id, on_behalf_of=on_behalf_of or holder,
                     details={"version": plan.version, "categories": categories,
                              "weekly_minutes": caps})
        if actor is not None and council_side:
            notify.send(Notice.PLAN_CHANGED, holder, about_holder=holder, link=PLAN_LINK,
                        context={"by": actor})
    db.session.commit()
    return plan


PLAN_LINK = "/my/plan"


def _waiting_reviews(holder_id: int, *, lock: bool = False) -> list[PlanReview]:
    query = select(PlanReview).where(PlanReview.holder_id == holder_id,
                                     PlanReview.status == REVIEW_WAITING)
    if lock:
        query = query.with_for_update()
    return list(db.session.scalars(query))


def waiting_proposal(holder_id: int) -> SupportPlanVersion | None:
    """The holder-side version whose spending is waiting for a broker, if there is one."""
    return db.session.scalar(
        select(SupportPlanVersion).join(PlanReview, PlanReview.plan_id == SupportPlanVersion.id)
        .where(SupportPlanVersion.holder_id == holder_id, PlanReview.status == REVIEW_WAITING)
        .order_by(SupportPlanVersion.version.desc()).limit(1))


def last_declined(holder_id: int) -> SupportPlanVersion | None:
    """The most recent proposal a broker declined, if nothing has been saved since."""
    latest = db.session.scalar(
        select(SupportPlanVersion).where(SupportPlanVersion.holder_id == holder_id)
        .order_by(SupportPlanVersion.version.desc()).limit(1))
    return latest if latest is not None and latest.status == REVIEW_DECLINED else None


@dataclass(frozen=True)
class PlanChange:
    code: str
    label: str
    agreed_pence: int | None  # None: not in the agreed plan
    proposed_pence: int | None  # None: taken out in the proposal

    @property
    def changed(self) -> bool:
        return self.agreed_pence != self.proposed_pence


@dataclass(frozen=True)
class Proposal:
    plan: SupportPlanVersion
    holder: User
    agreed: SupportPlanVersion | None
    changes: list[PlanChange]
    annual_pence: int | None  # the current budget's annual amount, if there is a budget

    @property
    def proposed_total(self) -> int:
        return self.plan.total_pence

    @property
    def agreed_total(self) -> int:
        return self.agreed.total_pence if self.agreed else 0

    @property
    def over_budget_by(self) -> int:
        """How far the proposed total is above the budget's annual amount (0 if within it)."""
        if self.annual_pence is None:
            return 0
        return max(0, self.proposed_total - self.annual_pence)


def _proposal(plan: SupportPlanVersion) -> Proposal:
    agreed = current_plan(plan.holder_id)
    before = agreed.amounts if agreed else {}
    after = plan.amounts
    codes = [c for c in CATEGORIES if c in before or c in after]
    budget = current_budget(plan.holder_id)
    holder = db.session.get(User, plan.holder_id)
    if not (holder is not None):
        raise InvariantBroken("a foreign key")
    return Proposal(plan, holder, agreed, [PlanChange(c, category_label(c), before.get(c), after.get(c))
                                   for c in codes],
                    budget.annual_pence if budget else None)


def proposals_waiting() -> list[Proposal]:
    """Every holder-side change to plan spending waiting for a broker, oldest first."""
    plans = db.session.scalars(
        select(SupportPlanVersion).join(PlanReview, PlanReview.plan_id == SupportPlanVersion.id)
        .where(PlanReview.status == REVIEW_WAITING).order_by(PlanReview.created_at, PlanReview.id))
    return [_proposal(p) for p in plans]


def proposal(plan_id: int) -> Proposal:
    """One proposal (waiting or decided), for the broker's page. Raises NotFound."""
    plan = db.session.get(SupportPlanVersion, plan_id)
    if plan is None or plan.review is None:
        raise NotFound("There is no such proposed change to a support plan.")
    return _proposal(plan)


def _review_to_decide(plan_id: int, actor: User) -> PlanReview:
    if actor.role_enum is not Role.BROKER:
        raise NotPermitted("Only a broker can agree or decline changes to a support plan.")
    review = db.session.scalar(select(PlanReview).where(PlanReview.plan_id == plan_id)
                               .with_for_update().execution_options(populate_existing=True))
    if review is None:
        raise NotFound("There is no such proposed change to a support plan.")
    if review.status != REVIEW_WAITING:
        word = {REVIEW_AGREED: "already been agreed", REVIEW_DECLINED: "already been declined",
                REVIEW_SUPERSEDED: "been replaced by a newer version"}[review.status]
        raise Conflict(f"This change to the plan has {word}, so there is nothing to decide.")
    return review


def agree_proposal(plan_id: int, *, actor: User) -> SupportPlanVersion:
    """A broker agrees a proposed change: from now it is the plan money decisions read.

    Raises NotPermitted (not a broker), NotFound, Conflict (already decided or replaced).
    """
    review = _review_to_decide(plan_id, actor)
    review.status = REVIEW_AGREED
    review.decided_by_id = actor.id
    review.decided_at = utcnow()
    plan, holder = review.plan, review.holder
    found = _proposal(plan)
    audit.record(actor, "plan.proposal_agreed", "support_plan", plan.id, on_behalf_of=holder,
                 details={"version": plan.version, "categories": plan.amounts,
                          "total_pence": plan.total_pence, "annual_pence": found.annual_pence,
                          "over_budget_pence": found.over_budget_by})
    notify.send(Notice.PLAN_CHANGES_AGREED, holder, about_holder=holder, link=PLAN_LINK,
                context={"by": actor})
    db.session.commit()
    return plan


def decline_proposal(plan_id: int, reason: str, *, actor: User) -> SupportPlanVersion:
    """A broker declines a proposed change, with a reason the holder's side sees on the plan.

    Raises InvalidInput (reason), NotPermitted (not a broker), NotFound, Conflict.
    """
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say why the change is not agreed, so the person can see it",
                           field="reason")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"The reason must be {MAX_REASON} characters or fewer", field="reason")
    review = _review_to_decide(plan_id, actor)
    review.status = REVIEW_DECLINED
    review.reason = reason
    review.decided_by_id = actor.id
    review.decided_at = utcnow()
    plan, holder = review.plan, review.holder
    audit.record(actor, "plan.proposal_declined", "support_plan", plan.id, on_behalf_of=holder,
                 details={"version": plan.version, "reason": reason})
    notify.send(Notice.PLAN_CHANGES_DECLINED, holder, about_holder=holder, link=PLAN_LINK,
                context={"by": actor})
    db.session.commit()
    return plan


def plan_versions(holder_id: int) -> list[SupportPlanVersion]:
    return list(db.session.scalars(select(SupportPlanVersion)
                                   .where(SupportPlanVersion.holder_id == holder_id)
                                   .order_by(SupportPlanVersion.version.desc())))


def plan_version(holder_id: int, version: int) -> SupportPlanVersion:
    plan = db.session.scalar(select(SupportPlanVersion).where(
        SupportPlanVersion.holder_id == holder_id, SupportPlanVersion.version == version))
    if plan is None:
        raise NotFound("There is no such version of the support plan.")
    return plan


# ---------------------------------------------------------------- what people see

@dataclass(frozen=True)
class CategoryRow:
    code: str
    label: str
    planned: int
    spent: int
    held: int
    in_plan: bool

    @property
    def used_percent(self) -> int:
        return (self.spent + self.held) * 100 // self.planned if self.planned else 0


@dataclass
class BudgetSummary:
    budget: Budget
    balances: dict[Account, int]
    received: int
    clawed_back: int
    period_start: date
    period_end: date
    period_share: int
    used_this_period: int
    categories: list[CategoryRow]
    forecast: Forecast
    contingency_target: int
    spend_by_day: list[tuple[date, int]] = field(default_factory=list)  # cumulative, pence

    @property
    def available(self) -> int:
        return self.balances[Account.AVAILABLE]

    @property
    def held(self) -> int:
        return self.balances[Account.HELD]

    @property
    def spent(self) -> int:
        return self.balances[Account.SPENT]

    @property
    def contingency(self) -> int:
        return self.balances[Account.CONTINGENCY]

    @property
    def left_this_period(self) -> int:
        return self.period_share - self.used_this_period


def summary(budget: Budget, today: date | None = None) -> BudgetSummary:
    today = today or date.today()
    totals = balances(budget.id)
    # Per category and per operation, in one pass over this budget's entries.
    rows = db.session.execute(
        select(LedgerEntry.account, LedgerEntry.category, LedgerTransaction.operation,
               func.sum(LedgerEntry.amount_pence))
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(LedgerEntry.budget_id == budget.id)
        .group_by(LedgerEntry.account, LedgerEntry.category, LedgerTransaction.operation)
    ).all()
    spent_by: dict[str, int] = defaultdict(int)
    held_by: dict[str, int] = defaultdict(int)
    received = clawed = 0
    for account, category, operation, total in rows:
        total = int(total)
        if account == Account.SPENT.value:
            spent_by[category or "other"] += total
        elif account == Account.HELD.value:
            held_by[category or "other"] += total
        elif account == Account.COUNCIL.value and operation == Operation.ALLOCATE.value:
            received -= total
        elif account == Account.COUNCIL.value and operation == Operation.CLAWBACK.value:
            clawed += total
    plan = current_plan(budget.holder_id)
    planned = plan.amounts if plan else {}
    codes = list(planned) + sorted(c for c in set(spent_by) | set(held_by) if c not in planned
                                   and (spent_by[c] or held_by[c]))
    categories = [CategoryRow(c, category_label(c), planned.get(c, 0), spent_by[c], held_by[c],
                              c in planned) for c in codes]

    period_start, period_end = current_period(budget.start_date, budget.frequency_enum, today)
    count = len(instalment_dates(budget.start_date, budget.frequency_enum))
    spent_in_period = db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_pence), 0))
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(LedgerEntry.budget_id == budget.id, LedgerEntry.account == Account.SPENT.value,
               LedgerTransaction.occurred_on >= period_start,
               LedgerTransaction.occurred_on <= period_end)
    ) or 0
    daily = db.session.execute(
        select(LedgerTransaction.occurred_on, func.sum(LedgerEntry.amount_pence))
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(LedgerEntry.budget_id == budget.id, LedgerEntry.account == Account.SPENT.value)
        .group_by(LedgerTransaction.occurred_on).order_by(LedgerTransaction.occurred_on)
    ).all()
    running, series = 0, []
    for day, total in daily:
        running += int(total)
        series.append((day, running))
    return BudgetSummary(
        budget=budget, balances=totals, received=received, clawed_back=clawed,
        period_start=period_start, period_end=period_end,
        period_share=budget.annual_pence // count,
        used_this_period=int(spent_in_period) + totals[Account.HELD],
        categories=categories,
        forecast=forecast(annual_pence=budget.annual_pence, start=budget.start_date, today=today,
                          used_pence=totals[Account.SPENT] + totals[Account.HELD]),
        contingency_target=contingency_target(budget.annual_pence, budget.contingency_weeks,
                                              budget.contingency_pence),
        spend_by_day=series,
    )


_DESCRIPTIONS = {
    Operation.ALLOCATE: "Instalment received from the council",
    Operation.HOLD: "Money set aside for a booking",
    Operation.RELEASE: "Booking cancelled: money given back",
    Operation.CAPTURE: "Paid for support received",
    Operation.REFUND: "Refund from a provider",
    Operation.CLAWBACK: "Unspent money taken back by the council",
    Operation.ADJUST: "Adjustment",
}

ACCOUNT_LABELS = {
    Account.COUNCIL: "Council",
    Account.AVAILABLE: "Available",
    Account.CONTINGENCY: "Contingency reserve",
    Account.HELD: "Held for bookings",
    Account.SPENT: "Spent",
}


@dataclass(frozen=True)
class StatementLine:
    entry_id: int
    transaction_id: int
    occurred_on: date
    operation: str
    description: str
    account: str
    category: str
    amount_pence: int
    reference: str


def statement(budget_id: int) -> list[StatementLine]:
    """Every ledger entry of one budget, oldest first (the council's side left out: it mirrors)."""
    rows = db.session.execute(
        select(LedgerEntry, LedgerTransaction)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(LedgerEntry.budget_id == budget_id)
        .order_by(LedgerTransaction.occurred_on, LedgerEntry.id)
    ).all()
    lines = []
    for entry, tx in rows:
        description = _DESCRIPTIONS[Operation(tx.operation)]
        if tx.reason:
            description += f": {tx.reason}"
        lines.append(StatementLine(entry.id, tx.id, tx.occurred_on, tx.operation, description,
                                   ACCOUNT_LABELS[Account(entry.account)], category_label(entry.category),
                                   entry.amount_pence, tx.reference or ""))
    return lines


@dataclass(frozen=True)
class AuditRow:
    budget: Budget
    allocated: int
    spent_by_category: dict[str, int]
    held: int
    unspent: int
    clawed_back: int

    @property
    def spent(self) -> int:
        return sum(self.spent_by_category.values())


def period_audit(first: date, last: date) -> list[AuditRow]:
    """For every budget: money in during the period, spent per category, and where it stood at
    the end (held, unspent), plus what was clawed back. One grouped query over the ledger."""
    if last < first:
        raise InvalidInput("The end date must be on or after the start date", field="last")
    in_period = and_(LedgerTransaction.occurred_on >= first, LedgerTransaction.occurred_on <= last)
    rows = db.session.execute(
        select(LedgerEntry.budget_id, LedgerEntry.account, LedgerEntry.category,
               LedgerTransaction.operation,
               func.sum(case((in_period, LedgerEntry.amount_pence), else_=0)),
               func.sum(LedgerEntry.amount_pence))
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(LedgerTransaction.occurred_on <= last)
        .group_by(LedgerEntry.budget_id, LedgerEntry.account, LedgerEntry.category,
                  LedgerTransaction.operation)
    ).all()
    acc: dict[int, dict] = defaultdict(lambda: {"allocated": 0, "spent": defaultdict(int), "held": 0,
                                                "unspent": 0, "clawed": 0})
    for budget_id, account, category, operation, during, to_date in rows:
        a = acc[budget_id]
        during, to_date = int(during), int(to_date)
        if account == Account.COUNCIL.value and operation in (Operation.ALLOCATE.value,
                                                                Operation.ADJUST.value):
            a["allocated"] -= during
        elif account == Account.COUNCIL.value and operation == Operation.CLAWBACK.value:
            a["clawed"] += during
        elif account == Account.SPENT.value:
            a["spent"][category or "other"] += during
        elif account == Account.HELD.value:
            a["held"] += to_date
        elif account in (Account.AVAILABLE.value, Account.CONTINGENCY.value):
            a["unspent"] += to_date
    budgets = [b for b in all_budgets() if b.start_date <= last and b.end_date >= first]
    return [AuditRow(b, acc[b.id]["allocated"], dict(acc[b.id]["spent"]), acc[b.id]["held"],
                     acc[b.id]["unspent"], acc[b.id]["clawed"]) for b in budgets]


# ---------------------------------------------------------------- the council's money in and out
# Use cases around the ledger's primitives (which never commit): one commit each.


def record_instalment(budget_id: int, amount_pence: int, *, idempotency_key: str, actor: User | None,
                      received_on: date | None = None, reference: str | None = None):
    """A council admin records an instalment received. Raises what ledger.allocate raises."""
    from app.services import ledger, transaction

    tx = ledger.allocate(budget_id, amount_pence, idempotency_key=idempotency_key, actor=actor,
                         received_on=received_on, reference=reference)
    transaction.commit()
    return tx


def adjust_budget(budget_id: int, amount_pence: int, *, reason: str, idempotency_key: str,
                  actor: User | None):
    """A broker's or council admin's correction. Raises what ledger.adjust raises."""
    from app.services import ledger, transaction

    tx = ledger.adjust(budget_id, amount_pence, reason=reason, idempotency_key=idempotency_key,
                       actor=actor)
    transaction.commit()
    return tx


def claw_back(budget_id: int, amount_pence: int, *, idempotency_key: str, actor: User | None,
              reason: str):
    """The council takes unspent money back. Raises what ledger.clawback raises."""
    from app.services import ledger, transaction

    tx = ledger.clawback(budget_id, amount_pence, idempotency_key=idempotency_key, actor=actor,
                         reason=reason)
    transaction.commit()
    return tx
