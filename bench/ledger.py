"""Ledger benchmark: holds per second (1 and 8 connections), balance query and budget page latency.

Loads 1,000,000 ledger entries over 10,000 budgets into PostgreSQL with COPY (triggers off for
the load only: the data is generated balanced), then measures through the real services and the
Flask test client. WARNING: it empties the target database's public schema first.

    .venv/bin/python bench/ledger.py [--quick] [--database-url URL]

The full run (10,000 budgets, 2,000 holds per connection count) takes a few minutes on a quiet
2-core machine; --quick (500 budgets, 300 holds) under two minutes even on a loaded one.

Prints one figure a line as `name: value unit`.
"""

from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

# Run as `python bench/<name>.py`, bench/ comes first on the path, where bench/http.py would hide
# the standard library's `http` (which the Stripe SDK imports): take the folder off the path.
_sys.path[:] = [p for p in _sys.path if _Path(p or ".").resolve() != _Path(__file__).resolve().parent]
_sys.path.insert(0, str(_Path(__file__).resolve().parent.parent))


import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from bench._db import DEFAULT_URL, ensure_database  # noqa: E402

ENTRIES_PER_BUDGET = 100  # 1 allocation + 24 (hold, capture) pairs + 1 open hold, 2 legs each


def reset_and_migrate(url: str):
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    from flask_migrate import upgrade

    from app import create_app
    from app.config import Config

    instance = tempfile.mkdtemp(prefix="carefair-bench-")
    app = create_app(Config.from_env("test", SQLALCHEMY_DATABASE_URI=url, INSTANCE_DIR=instance,
                                     MAIL_OUTBOX_DIR=f"{instance}/outbox", WTF_CSRF_ENABLED=False,
                                     SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 12}))
    with app.app_context():
        upgrade()
    return app


def bulk_load(url: str, budgets: int) -> int:
    """Write users, budgets, plans and the ledger with COPY. Returns the number of entries."""
    now = datetime.now(UTC)
    start = date.today() - timedelta(days=150)
    tx_id = entry_id = 0
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn, conn.cursor() as cur:
        cur.execute("SET session_replication_role = replica")  # no triggers or FK checks during the load
        with cur.copy("COPY users (id, email, name, role, active, at_risk, created_at) FROM STDIN") as cp:
            cp.write_row((1, "bench-admin@carefair.example", "Bench Admin", "council_admin", True, False, now))
            for b in range(1, budgets + 1):
                cp.write_row((b + 1, f"bench{b}@carefair.example", f"Holder {b}", "holder", True, False, now))
        with cur.copy("COPY budgets (id, holder_id, annual_pence, start_date, frequency, funding_mode, "
                      "contingency_weeks, created_by_id, created_at) FROM STDIN") as cp:
            for b in range(1, budgets + 1):
                cp.write_row((b, b + 1, 1_300_000, start, "four_weekly", "direct_payment", 0, 1, now))
        with cur.copy("COPY support_plan_versions (id, holder_id, version, what_matters, outcomes, "
                      "created_by_id, created_at) FROM STDIN") as cp:
            for b in range(1, budgets + 1):
                cp.write_row((b, b + 1, 1, "My own words", "Get out more", b + 1, now))
        with cur.copy("COPY plan_categories (id, plan_id, code, annual_pence) FROM STDIN") as cp:
            for b in range(1, budgets + 1):
                cp.write_row((2 * b - 1, b, "personal_assistant", 1_000_000))
                cp.write_row((2 * b, b, "transport", 300_000))
        tx_cols = ("COPY ledger_transactions (id, budget_id, operation, idempotency_key, amount_pence, "
                   "category, from_contingency, hold_id, occurred_on, actor_id, created_at) FROM STDIN")
        entry_cols = "COPY ledger_entries (id, transaction_id, budget_id, account, amount_pence, category) FROM STDIN"
        txs, entries = [], []
        for b in range(1, budgets + 1):
            tx_id += 1
            txs.append((tx_id, b, "allocate", f"bench-{tx_id}", 1_000_000, None, False, None, start, 1, now))
            entries += [(entry_id + 1, tx_id, b, "council", -1_000_000, None),
                        (entry_id + 2, tx_id, b, "available", 1_000_000, None)]
            entry_id += 2
            for i in range(25):
                day = start + timedelta(days=i * 5 + 1)
                pence = 2_000 + (b * 7 + i * 13) % 3_000
                tx_id += 1
                hold_id = tx_id
                txs.append((tx_id, b, "hold", f"bench-{tx_id}", pence, "personal_assistant", False, None,
                            day, b + 1, now))
                entries += [(entry_id + 1, tx_id, b, "available", -pence, "personal_assistant"),
                            (entry_id + 2, tx_id, b, "held", pence, "personal_assistant")]
                entry_id += 2
                if i == 24:
                    break  # the last hold stays open
                tx_id += 1
                txs.append((tx_id, b, "capture", f"bench-{tx_id}", pence, "personal_assistant", False,
                            hold_id, day + timedelta(days=2), b + 1, now))
                entries += [(entry_id + 1, tx_id, b, "held", -pence, "personal_assistant"),
                            (entry_id + 2, tx_id, b, "spent", pence, "personal_assistant")]
                entry_id += 2
        with cur.copy(tx_cols) as cp:
            for row in txs:
                cp.write_row(row)
        with cur.copy(entry_cols) as cp:
            for row in entries:
                cp.write_row(row)
        for table in ("users", "budgets", "support_plan_versions", "plan_categories",
                      "ledger_transactions", "ledger_entries"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
        conn.commit()
        conn.autocommit = True
        cur.execute("VACUUM ANALYZE")  # index-only scans need the visibility map
    return entry_id


def load_average() -> str:
    """The machine's load average, printed beside the figures it starves."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def holds_per_second(app, budgets: int, count: int, threads: int) -> float:
    from app.extensions import db
    from app.models import User
    from app.services import ledger

    per_thread = count // threads
    barrier = threading.Barrier(threads + 1)

    def worker(n: int) -> None:
        rng = random.Random(n)
        with app.app_context():
            actor = db.session.get(User, 1)
            barrier.wait()
            for i in range(per_thread):
                ledger.hold(rng.randint(1, budgets), 100, category="transport",
                            idempotency_key=f"bench-{threads}-{n}-{i}", actor=actor)
                db.session.commit()  # the ledger adds to the caller's transaction: one hold each
            db.session.remove()

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    barrier.wait()
    began = time.perf_counter()
    for t in pool:
        t.join()
    return per_thread * threads / (time.perf_counter() - began)


def invariants(url: str) -> str:
    """After the concurrent holds: every transaction balanced, no holder account below zero, and
    every hold's amount really held. 'ok', or what is broken."""
    broken = []
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        unbalanced = conn.execute(
            "SELECT count(*) FROM (SELECT transaction_id FROM ledger_entries "
            "GROUP BY transaction_id HAVING sum(amount_pence) != 0) t").fetchone()[0]
        negative = conn.execute(
            "SELECT count(*) FROM (SELECT budget_id, account FROM ledger_entries "
            "WHERE account != 'council' GROUP BY budget_id, account "
            "HAVING sum(amount_pence) < 0) t").fetchone()[0]
        held = conn.execute(
            "SELECT (SELECT COALESCE(sum(amount_pence), 0) FROM ledger_entries "
            "WHERE account = 'held'), (SELECT COALESCE(sum(e.amount_pence), 0) "
            "FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id "
            "WHERE e.account = 'held' AND t.operation = 'hold' AND NOT EXISTS "
            "(SELECT 1 FROM ledger_transactions c WHERE c.hold_id = t.id))").fetchone()
    if unbalanced:
        broken.append(f"{unbalanced} unbalanced transactions")
    if negative:
        broken.append(f"{negative} accounts below zero")
    if held[0] != held[1]:
        broken.append(f"held balance {held[0]} != open holds {held[1]}")
    return "ok" if not broken else "; ".join(broken)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--quick", action="store_true", help="a small version, under a minute")
    args = parser.parse_args()
    ensure_database(args.database_url)
    budgets = 500 if args.quick else 10_000
    holds = 300 if args.quick else 2_000
    samples = 100 if args.quick else 500

    app = reset_and_migrate(args.database_url)
    began = time.perf_counter()
    entries = bulk_load(args.database_url, budgets)
    print(f"load_average: {load_average()} (1, 5, 15 minutes; figures are starved when it passes the core count)")
    print(f"ledger_entries: {entries} entries")
    print(f"budgets: {budgets} budgets")
    print(f"bulk_load: {time.perf_counter() - began:.1f} s")

    print(f"holds_1_connection: {holds_per_second(app, budgets, holds, 1):.0f} holds/s")
    print(f"holds_8_connections: {holds_per_second(app, budgets, holds, 8):.0f} holds/s")
    print(f"invariants_after_holds: {invariants(args.database_url)}")

    from app.extensions import db
    from app.services import ledger

    target = budgets // 2
    with app.app_context():
        ledger.balances(target)
        timings = []
        for _ in range(samples):
            t0 = time.perf_counter()
            ledger.balances(target)
            timings.append((time.perf_counter() - t0) * 1000)
            db.session.rollback()
    print(f"balance_query_p50: {statistics.median(timings):.2f} ms")
    print(f"balance_query_p95: {percentile(timings, 95):.2f} ms")

    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = f"{target + 1}.0"  # holder ids are budget ids + 1; session generation 0
        session["_fresh"] = True
    response = client.get("/my/budget")
    assert response.status_code == 200 and b'id="available"' in response.data, response.status_code
    timings = []
    for _ in range(samples // 2):
        t0 = time.perf_counter()
        client.get("/my/budget")
        timings.append((time.perf_counter() - t0) * 1000)
    print(f"budget_page_p50: {statistics.median(timings):.1f} ms")
    print(f"budget_page_p95: {percentile(timings, 95):.1f} ms")
    with app.app_context():
        db.engine.dispose()


if __name__ == "__main__":
    main()
