"""PostgreSQL's own guarantees: no overspending when requests race, and no unbalanced commits."""

import os
import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DatabaseError

from app.domain.access import Role
from app.domain.ledger import Account
from app.errors import InsufficientFunds
from app.extensions import db
from app.models import User
from app.services import budgets, ledger, transaction

pytestmark = [pytest.mark.database, pytest.mark.postgres_only]

THREADS = 24
HOLD = 7_000  # pence; 24 x £70 wants £1,680 from the £1,000 available


def _cleanup(engine, user_ids):
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))  # past append-only triggers
        ids = {"u": list(user_ids)}
        budget_ids = "SELECT id FROM budgets WHERE holder_id = ANY(:u)"
        conn.execute(text(f"DELETE FROM ledger_entries WHERE budget_id IN ({budget_ids})"), ids)
        conn.execute(text(f"DELETE FROM ledger_transactions WHERE budget_id IN ({budget_ids})"), ids)
        conn.execute(text("DELETE FROM budgets WHERE holder_id = ANY(:u)"), ids)
        conn.execute(text("DELETE FROM plan_categories WHERE plan_id IN "
                          "(SELECT id FROM support_plan_versions WHERE holder_id = ANY(:u))"), ids)
        conn.execute(text("DELETE FROM support_plan_versions WHERE holder_id = ANY(:u)"), ids)
        conn.execute(text("DELETE FROM audit_events WHERE actor_id = ANY(:u) OR on_behalf_of_id = ANY(:u)"), ids)
        conn.execute(text("DELETE FROM users WHERE id = ANY(:u)"), ids)


@pytest.fixture
def race_app(app, tmp_path):
    """An app whose pool gives every racing thread its own connection at the same moment."""
    from app import create_app
    from app.config import Config

    racing = create_app(Config.from_env(
        "test", SQLALCHEMY_DATABASE_URI=os.environ["TEST_DATABASE_URL"], INSTANCE_DIR=str(tmp_path),
        MAIL_OUTBOX_DIR=str(tmp_path / "outbox"), SQLALCHEMY_ENGINE_OPTIONS={"pool_size": THREADS + 2}))
    yield racing
    with racing.app_context():
        db.engine.dispose()


def test_racing_holds_never_overspend_and_lose_nothing(race_app):
    app = race_app
    engine = create_engine(os.environ["TEST_DATABASE_URL"])
    with app.app_context():
        holder = User(email="race-holder@carefair.example", name="Race Holder", role=Role.HOLDER.value)
        admin = User(email="race-admin@carefair.example", name="Race Admin", role=Role.COUNCIL_ADMIN.value)
        db.session.add_all([holder, admin])
        db.session.commit()
        user_ids = [holder.id, admin.id]
    try:
        with app.app_context():
            holder, admin = db.session.get(User, user_ids[0]), db.session.get(User, user_ids[1])
            budgets.save_plan(holder.id, "x", "y", {"transport": 500_000}, actor=None)
            budget = budgets.create_budget(holder.id, 500_000, date.today() - timedelta(days=10),
                                           "monthly", "direct_payment", contingency_weeks=0, actor=admin)
            budgets.record_instalment(budget.id, 100_000, idempotency_key="race-alloc", actor=admin)
            budget_id = budget.id

        barrier = threading.Barrier(THREADS)
        outcomes: list[str] = []
        lock = threading.Lock()

        def attempt(n: int) -> None:
            with app.app_context():  # its own session, so its own connection
                actor = db.session.get(User, user_ids[0])
                barrier.wait()
                try:
                    ledger.hold(budget_id, HOLD, category="transport", idempotency_key=f"race-{n}",
                                actor=actor)
                    transaction.commit()  # the ledger never commits: this thread is the use case
                    result = "held"
                except InsufficientFunds:
                    result = "refused"
                finally:
                    db.session.remove()
                with lock:
                    outcomes.append(result)

        threads = [threading.Thread(target=attempt, args=(n,)) for n in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

        with engine.connect() as conn:
            held = conn.execute(text("SELECT COALESCE(SUM(amount_pence), 0) FROM ledger_entries "
                                     "WHERE budget_id = :b AND account = 'held'"), {"b": budget_id}).scalar()
            available = conn.execute(text("SELECT SUM(amount_pence) FROM ledger_entries "
                                          "WHERE budget_id = :b AND account = 'available'"),
                                     {"b": budget_id}).scalar()
            holds = conn.execute(text("SELECT COUNT(*) FROM ledger_transactions WHERE budget_id = :b "
                                      "AND operation = 'hold'"), {"b": budget_id}).scalar()
            entries = conn.execute(text("SELECT COUNT(*) FROM ledger_entries e JOIN ledger_transactions t "
                                        "ON t.id = e.transaction_id WHERE t.budget_id = :b AND "
                                        "t.operation = 'hold'"), {"b": budget_id}).scalar()
        assert len(outcomes) == THREADS
        assert outcomes.count("held") == 100_000 // HOLD == 14
        assert held == 14 * HOLD <= 100_000
        assert available == 100_000 - held >= 0
        assert holds == 14 and entries == 2 * 14  # nothing lost, nothing doubled
    finally:
        _cleanup(engine, user_ids)
        engine.dispose()


def test_database_rejects_an_unbalanced_transaction_at_commit(app_ctx, make_user, db_session):
    from tests.ledger_helpers import funded_budget

    _, _, budget = funded_budget(make_user)
    tx_id = db_session.execute(text(
        "INSERT INTO ledger_transactions (budget_id, operation, idempotency_key, amount_pence, "
        "from_contingency, occurred_on, created_at) VALUES (:b, 'adjust', 'raw-1', 5, false, "
        "CURRENT_DATE, now()) RETURNING id"), {"b": budget.id}).scalar()
    with pytest.raises(DatabaseError, match="unbalanced"), db_session.begin_nested():
        db_session.execute(text("INSERT INTO ledger_entries (transaction_id, budget_id, account, amount_pence) "
                                "VALUES (:t, :b, 'available', 5)"), {"t": tx_id, "b": budget.id})
        db_session.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))


def test_database_rejects_a_budget_account_below_zero(app_ctx, make_user, db_session):
    from tests.ledger_helpers import funded_budget

    _, _, budget = funded_budget(make_user)
    assert ledger.balances(budget.id)[Account.AVAILABLE] == 100_000
    tx_id = db_session.execute(text(
        "INSERT INTO ledger_transactions (budget_id, operation, idempotency_key, amount_pence, "
        "from_contingency, occurred_on, created_at) VALUES (:b, 'hold', 'raw-2', 100001, false, "
        "CURRENT_DATE, now()) RETURNING id"), {"b": budget.id}).scalar()
    with pytest.raises(DatabaseError, match="below zero"), db_session.begin_nested():
        db_session.execute(text(
            "INSERT INTO ledger_entries (transaction_id, budget_id, account, amount_pence) VALUES "
            "(:t, :b, 'available', -100001), (:t, :b, 'held', 100001)"), {"t": tx_id, "b": budget.id})
        db_session.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
