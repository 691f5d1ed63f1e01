"""The money service on a real database: each operation posts one balanced, audited transaction."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.domain.access import Role
from app.domain.ledger import Account
from app.errors import Conflict, InsufficientFunds, InvalidInput, NeedsApproval, NotPermitted
from app.models import AuditEvent, LedgerEntry, LedgerTransaction
from app.models.audit import AppendOnlyError
from app.services import budgets, ledger
from tests.ledger_helpers import funded_budget, key

pytestmark = pytest.mark.database


def test_allocate_keeps_part_back_as_contingency(app_ctx, make_user):
    _, admin, budget = funded_budget(make_user, funded=0, contingency_weeks=4)
    ledger.allocate(budget.id, 100_000, idempotency_key=key(), actor=admin)
    balances = ledger.balances(budget.id)
    # 4 weeks of £13,000 a year is £1,000; one thirteenth of it comes from each £1,000 instalment.
    assert balances[Account.CONTINGENCY] == 7693
    assert balances[Account.AVAILABLE] == 100_000 - 7693
    assert balances[Account.COUNCIL] == -100_000


def test_hold_capture_releases_the_rest_in_one_transaction(app_ctx, make_user, db_session):
    holder, _, budget = funded_budget(make_user)
    held = ledger.hold(budget.id, 30_000, category="personal_assistant", idempotency_key=key(),
                       actor=holder)
    assert ledger.balances(budget.id)[Account.HELD] == 30_000
    paid = ledger.capture(held.id, 25_000, idempotency_key=key(), actor=holder)
    balances = ledger.balances(budget.id)
    assert (balances[Account.AVAILABLE], balances[Account.HELD], balances[Account.SPENT]) == (75_000, 0, 25_000)
    assert sum(e.amount_pence for e in paid.entries) == 0
    with pytest.raises(Conflict):
        ledger.release(held.id, idempotency_key=key(), actor=holder)
    refund = ledger.refund(paid.id, 5_000, idempotency_key=key(), actor=holder)
    assert refund.refund_of_id == paid.id
    with pytest.raises(InsufficientFunds):
        ledger.refund(paid.id, 20_001, idempotency_key=key(), actor=holder)
    assert ledger.balances(budget.id)[Account.AVAILABLE] == 80_000


def test_capture_cannot_take_more_than_was_held(app_ctx, make_user):
    holder, _, budget = funded_budget(make_user)
    held = ledger.hold(budget.id, 1_000, category="transport", idempotency_key=key(), actor=holder)
    with pytest.raises(InsufficientFunds) as err:
        ledger.capture(held.id, 1_001, idempotency_key=key(), actor=holder)
    assert err.value.field == "amount"


def test_release_gives_everything_back(app_ctx, make_user):
    holder, _, budget = funded_budget(make_user)
    held = ledger.hold(budget.id, 40_000, category="transport", idempotency_key=key(), actor=holder)
    ledger.release(held.id, idempotency_key=key(), actor=holder)
    assert ledger.balances(budget.id)[Account.AVAILABLE] == 100_000
    assert ledger.held_remaining(held.id) == 0


def test_holding_more_than_is_available_is_refused_and_posts_nothing(app_ctx, make_user, db_session):
    holder, _, budget = funded_budget(make_user)
    before = db_session.scalar(select(func.count()).select_from(LedgerEntry))
    with pytest.raises(InsufficientFunds) as err:
        ledger.hold(budget.id, 100_001, category="transport", idempotency_key=key(), actor=holder)
    assert "only £1,000.00 available" in err.value.message
    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(LedgerEntry)) == before


def test_spending_outside_the_plan_or_from_contingency_needs_a_broker(app_ctx, make_user):
    holder, admin, budget = funded_budget(make_user, contingency_weeks=8)
    with pytest.raises(NeedsApproval) as err:
        ledger.hold(budget.id, 1_000, category="respite", idempotency_key=key(), actor=holder)
    assert "not in the support plan" in err.value.message and err.value.field == "category"
    with pytest.raises(NeedsApproval):
        ledger.hold(budget.id, 1_000, category="transport", from_contingency=True,
                    idempotency_key=key(), actor=holder)
    with pytest.raises(NotPermitted):
        ledger.hold(budget.id, 1_000, category="respite", approved_by=admin, idempotency_key=key(),
                    actor=holder)
    broker = make_user(Role.BROKER)
    tx = ledger.hold(budget.id, 1_000, category="respite", approved_by=broker,
                     idempotency_key=key(), actor=holder)
    assert tx.approved_by_id == broker.id
    reserve = ledger.hold(budget.id, 500, category="transport", from_contingency=True,
                          approved_by=broker, idempotency_key=key(), actor=holder)
    ledger.release(reserve.id, idempotency_key=key(), actor=holder)
    assert ledger.balances(budget.id)[Account.CONTINGENCY] > 0


def test_unknown_category_is_bad_input(app_ctx, make_user):
    holder, _, budget = funded_budget(make_user)
    with pytest.raises(InvalidInput) as err:
        ledger.hold(budget.id, 100, category="casino", idempotency_key=key(), actor=holder)
    assert err.value.field == "category"


def test_replayed_key_returns_the_first_result_and_posts_nothing(app_ctx, make_user, db_session):
    holder, _, budget = funded_budget(make_user)
    first = ledger.hold(budget.id, 2_000, category="transport", idempotency_key="retry-me", actor=holder)
    again = ledger.hold(budget.id, 2_000, category="transport", idempotency_key="retry-me", actor=holder)
    assert again.id == first.id and again.replayed
    assert ledger.balances(budget.id)[Account.HELD] == 2_000
    with pytest.raises(Conflict):
        ledger.hold(budget.id, 3_000, category="transport", idempotency_key="retry-me", actor=holder)


def test_clawback_never_takes_held_money(app_ctx, make_user):
    holder, admin, budget = funded_budget(make_user)
    ledger.hold(budget.id, 60_000, category="transport", idempotency_key=key(), actor=holder)
    with pytest.raises(InsufficientFunds):
        ledger.clawback(budget.id, 40_001, idempotency_key=key(), actor=admin, reason="Year end")
    ledger.clawback(budget.id, 40_000, idempotency_key=key(), actor=admin, reason="Year end")
    balances = ledger.balances(budget.id)
    assert (balances[Account.AVAILABLE], balances[Account.HELD]) == (0, 60_000)
    with pytest.raises(NotPermitted):
        ledger.clawback(budget.id, 1, idempotency_key=key(), actor=holder, reason="Year end")


def test_adjust_needs_a_reason_and_staff_and_is_audited(app_ctx, make_user, db_session):
    holder, admin, budget = funded_budget(make_user)
    with pytest.raises(InvalidInput) as err:
        ledger.adjust(budget.id, 500, reason=" ", idempotency_key=key(), actor=admin)
    assert err.value.field == "reason"
    with pytest.raises(NotPermitted):
        ledger.adjust(budget.id, 500, reason="Because", idempotency_key=key(), actor=holder)
    with pytest.raises(InsufficientFunds):
        ledger.adjust(budget.id, -100_001, reason="Overpaid", idempotency_key=key(), actor=admin)
    tx = ledger.adjust(budget.id, -1_000, reason="Overpaid in May", idempotency_key=key(), actor=admin)
    assert ledger.balances(budget.id)[Account.AVAILABLE] == 99_000
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "ledger.adjust",
                                                       AuditEvent.subject_id == str(budget.id)))
    assert event.details["signed_pence"] == -1_000 and event.details["transaction_id"] == tx.id
    assert event.on_behalf_of_id == holder.id


def test_ledger_rows_cannot_be_edited_or_deleted(app_ctx, make_user, db_session):
    holder, _, budget = funded_budget(make_user)
    entry = db_session.scalars(select(LedgerEntry).where(LedgerEntry.budget_id == budget.id)).first()
    entry.amount_pence += 1
    with pytest.raises(AppendOnlyError):
        db_session.flush()
    db_session.rollback()
    tx = db_session.scalars(select(LedgerTransaction).where(LedgerTransaction.budget_id == budget.id)).first()
    db_session.delete(tx)
    with pytest.raises(AppendOnlyError):
        db_session.flush()
    db_session.rollback()


def test_database_refuses_updates_to_entries_even_without_the_orm(app_ctx, make_user, db_session):
    from sqlalchemy import text
    from sqlalchemy.exc import DatabaseError

    holder, _, budget = funded_budget(make_user)
    with pytest.raises(DatabaseError), db_session.begin_nested():
        db_session.execute(text("UPDATE ledger_entries SET amount_pence = 1 WHERE budget_id = :b"),
                           {"b": budget.id})


def test_instalment_dates_outside_the_budget_year_are_refused(app_ctx, make_user):
    holder, admin, budget = funded_budget(make_user, funded=0)
    for day in (budget.start_date - timedelta(days=1), date.today() + timedelta(days=1)):
        with pytest.raises(InvalidInput) as err:
            ledger.allocate(budget.id, 100, idempotency_key=key(), actor=admin, received_on=day)
        assert err.value.field == "received_on"


def test_budgets_cannot_overlap_and_need_sane_values(app_ctx, make_user):
    holder, admin, budget = funded_budget(make_user, funded=0)
    with pytest.raises(Conflict):
        budgets.create_budget(holder.id, 100, budget.start_date + timedelta(days=100), "monthly",
                              "direct_payment", contingency_weeks=4, actor=admin)
    with pytest.raises(InvalidInput) as err:
        budgets.create_budget(holder.id, 100, date(1990, 1, 1), "monthly", "direct_payment",
                              contingency_weeks=4, actor=admin)
    assert err.value.field == "start_date"
    with pytest.raises(InvalidInput) as err:
        budgets.create_budget(holder.id, 100, date.today() + timedelta(days=400), "monthly",
                              "direct_payment", contingency_pence=101, actor=admin)
    assert err.value.field in ("start_date", "contingency_amount")


def test_every_plan_change_is_a_new_version_and_old_ones_stay(app_ctx, make_user):
    holder, _, budget = funded_budget(make_user)
    broker = make_user(Role.BROKER)
    budgets.save_plan(holder.id, "Music and my bike", "Ride again", {"community_activities": 50_000},
                      actor=broker, change_note="Reviewed with Sam")
    versions = budgets.plan_versions(holder.id)
    assert [v.version for v in versions] == [2, 1]
    assert versions[1].what_matters == "Seeing my friends"
    assert ledger.current_plan(holder.id).amounts == {"community_activities": 50_000}


def test_summary_and_period_audit_agree_with_the_ledger(app_ctx, make_user):
    holder, admin, budget = funded_budget(make_user)
    held = ledger.hold(budget.id, 30_000, category="personal_assistant", idempotency_key=key(), actor=holder)
    ledger.capture(held.id, 20_000, idempotency_key=key(), actor=holder)
    ledger.hold(budget.id, 5_000, category="transport", idempotency_key=key(), actor=holder)
    ledger.clawback(budget.id, 1_000, idempotency_key=key(), actor=admin, reason="Year end")
    summary = budgets.summary(budget)
    assert (summary.available, summary.held, summary.spent, summary.received, summary.clawed_back) == (
        74_000, 5_000, 20_000, 100_000, 1_000)
    rows = {c.code: c for c in summary.categories}
    assert rows["personal_assistant"].spent == 20_000 and rows["transport"].held == 5_000
    audit_rows = [r for r in budgets.period_audit(budget.start_date, date.today()) if r.budget.id == budget.id]
    assert len(audit_rows) == 1
    row = audit_rows[0]
    assert (row.allocated, row.spent_by_category, row.held, row.unspent, row.clawed_back) == (
        100_000, {"personal_assistant": 20_000}, 5_000, 74_000, 1_000)


def test_a_hold_is_five_statements_however_its_people_were_loaded(app_ctx, make_user, db_session):
    """Holds are the hot path (bench/ledger.py): lock the budget, read what it decides on in one
    statement, write the transaction, its legs and the audit event. An actor expired by an
    earlier commit is not read again just for its id."""
    from sqlalchemy import event

    from app.extensions import db

    holder, _, budget = funded_budget(make_user)
    budget_id = budget.id
    db_session.commit()  # expires the holder and the budget, as a previous use case would
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        statements.append(statement.split()[0].upper())

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        held = ledger.hold(budget_id, 1_000, category="personal_assistant", idempotency_key=key(),
                           actor=holder)
        db_session.flush()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    work = [s for s in statements if s in ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")]
    assert work[:2] == ["SELECT", "SELECT"] and set(work[2:]) == {"INSERT"}, statements
    if db.engine.dialect.name == "postgresql":  # SQLite writes the two legs one at a time
        assert len(work) == 5, statements
    assert held.on_behalf_of_id is None  # the holder acting for themselves
    assert ledger.balances(budget_id)[Account.HELD] == 1_000
