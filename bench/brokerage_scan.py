"""Benchmark: the brokerage scan at a council's scale on PostgreSQL, and the market view pages.

    .venv/bin/python bench/brokerage_scan.py            # 20,000 providers, 50,000 holders,
                                                        # 1,000,000 booked sessions
    .venv/bin/python bench/brokerage_scan.py --quick    # a tenth of that, in a minute or two

PostgreSQL: BENCH_DATABASE_URL (or --database-url), by default the carefair_bench database on
127.0.0.1 (created if missing); its public schema is dropped and migrated afresh. The data is
made by SQL (generate_series) so the benchmark process holds only what the scan itself loads:
providers serve two districts each, holders live in one of 200 districts (2% have none), and
every booking is a weekly series of ten sessions with a provider serving the holder's district,
skewed so that some districts have a dominant provider; a tenth are arranged by one of twenty
brokers, one of whom sends most of their people to one provider. Sessions run over the last 26
weeks, each provider's at their own times of the week (the no-double-booking constraint holds).

Prints `sessions: N`, `snapshot: S s` (build_snapshot: everything the rules read, the markets
summed in SQL), `scan: S s` (brokerage.scan: snapshot, every rule, filing flags, storing the
market run), `peak_memory: M MB` (the process's peak resident set) and
`market_view_p95: X ms` (the market list, a market's page and the steering page, signed in as
a broker, through the app). Targets: scan at most 60 s and 1 GB; market view at most 200 ms.
"""

from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

# Run as `python bench/<name>.py`, bench/ comes first on the path, where bench/http.py would hide
# the standard library's `http` (which the Stripe SDK imports): take the folder off the path.
_sys.path[:] = [p for p in _sys.path if _Path(p or ".").resolve() != _Path(__file__).resolve().parent]
_sys.path.insert(0, str(_Path(__file__).resolve().parent.parent))


import argparse
import gc
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text  # noqa: E402

from bench._db import DEFAULT_URL, ensure_database  # noqa: E402

AREAS = ["LS", "SY", "TF", "BD", "HD", "WF", "YO", "M", "B", "S"]
DISTRICTS = [f"{a}{n}" for a in AREAS for n in range(1, 21)]  # 200 districts
CATEGORIES = ["personal_care", "help_at_home", "getting_out", "short_breaks", "peer_support"]
BROKERS = 20
SESSIONS_PER_BOOKING = 10


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
                                     SERVER_NAME="carefair.localhost"))
    with app.app_context():
        upgrade()
    return app


def load(app, providers: int, holders: int, sessions: int) -> None:
    """Everything in SQL: users, profiles, districts, listings, budgets, bookings, sessions."""
    from app.extensions import db

    bookings = sessions // SESSIONS_PER_BOOKING
    d = len(DISTRICTS)
    districts_sql = "ARRAY[" + ",".join(f"'{x}'" for x in DISTRICTS) + "]"
    categories_sql = "ARRAY[" + ",".join(f"'{c}'" for c in CATEGORIES) + "]"
    p0, h0, b0 = 1, providers + 1, providers + holders + 1  # first user id of each role
    statements = [
        "SELECT setseed(0.15)",
        f"""INSERT INTO users (id, email, name, role, active, at_risk, created_at)
            SELECT i, 'p' || i || '@bench.example', 'Provider ' || i, 'provider', true, false, now()
            FROM generate_series({p0}, {providers}) i""",
        f"""INSERT INTO users (id, email, name, role, active, at_risk, created_at, home_district)
            SELECT i, 'h' || i || '@bench.example', 'Holder ' || i, 'holder', true,
                   (i % 10 = 0),  now(),
                   CASE WHEN i % 50 = 0 THEN NULL ELSE ({districts_sql})[1 + i % {d}] END
            FROM generate_series({h0}, {h0 + holders - 1}) i""",
        f"""INSERT INTO users (id, email, name, role, active, at_risk, created_at)
            SELECT i, 'b' || i || '@bench.example', 'Broker ' || i, 'broker', true, false, now()
            FROM generate_series({b0}, {b0 + BROKERS - 1}) i""",
        f"""INSERT INTO provider_profiles (id, user_id, provider_type, display_name, about,
                languages, specialisms, venue_accessibility, created_at, updated_at)
            SELECT i, i, CASE WHEN i % 5 = 0 THEN 'home_care_agency' ELSE 'self_employed_pa' END,
                   'Provider ' || i, '', '[]', '[]', '', now(), now()
            FROM generate_series(1, {providers}) i""",
        # Provider p serves district p % 200 (where its clients come from) and one more.
        f"""INSERT INTO provider_districts (profile_id, district)
            SELECT i, ({districts_sql})[1 + i % {d}] FROM generate_series(1, {providers}) i
            UNION
            SELECT i, ({districts_sql})[1 + (i * 7 + 3) % {d}]
            FROM generate_series(1, {providers}) i""",
        f"""INSERT INTO listings (id, profile_id, category, title, description, price_pence,
                price_unit, minimum_units, travel_charge_pence, cancellation_notice_hours,
                cancellation_charge_pence, funding_modes, published, is_live, created_at,
                updated_at, meets_on_bank_holidays)
            SELECT i, i, ({categories_sql})[1 + (i / {d}) % {len(CATEGORIES)}], 'Support', '',
                   1500 + (i * 37) % 1500, 'hour', 1, 0, 24, 0, '["council_managed"]', true,
                   true, now(), now(), true
            FROM generate_series(1, {providers}) i""",
        f"""INSERT INTO budgets (id, holder_id, annual_pence, start_date, frequency,
                funding_mode, contingency_weeks, created_at)
            SELECT i - {h0} + 1, i, 2000000, current_date - 200, 'monthly', 'council_managed',
                   0, now()
            FROM generate_series({h0}, {h0 + holders - 1}) i""",
        # Each booking: a holder, and a provider whose first district is the holder's (a
        # provider id congruent to the district's index). Skewed: in districts whose index is
        # a multiple of 10 the first provider takes about half; elsewhere spread out.
        f"""CREATE TEMP TABLE bench_bookings AS
            SELECT b AS id, h AS holder_id,
                   (h % {d}) + {d} * LEAST({providers // d - 1},
                     CASE WHEN (h % {d}) % 10 = 0 AND random() < 0.5 THEN 0
                          ELSE floor(random() * {providers // d})::int END) AS provider_id,
                   floor(random() * 17)::int AS week,
                   CASE WHEN random() < 0.1 THEN {b0} + floor(random() * {BROKERS})::int END
                     AS broker_id
            FROM (SELECT b, {h0} + (b * 7919) % {holders} AS h
                  FROM generate_series(1, {bookings}) b) x""",
        f"""UPDATE bench_bookings SET provider_id = (holder_id % {d})
            WHERE broker_id = {b0} AND random() < 0.8""",
        # Provider 0 of a district is id = district index (or 200 for index 0).
        "UPDATE bench_bookings SET provider_id = provider_id + " + str(d) +
        " WHERE provider_id = 0",
        """CREATE TEMP TABLE bench_slots AS
            SELECT id, row_number() OVER (PARTITION BY provider_id ORDER BY id) - 1 AS slot
            FROM bench_bookings""",
        # 336 half-hour slots a week per provider; a provider with more bookings than that
        # keeps the first 336 (no double booking).
        """DELETE FROM bench_bookings USING bench_slots
            WHERE bench_slots.id = bench_bookings.id AND bench_slots.slot >= 336""",
        f"""INSERT INTO bookings (id, holder_id, listing_id, provider_profile_id, budget_id,
                kind, state, total_pence, notes, created_by_id, approval_reasons,
                from_contingency, hold_round, options_offered, created_at, updated_at,
                arranged_by_id, alternatives_offered, approval_codes, cancellation_notice_hours,
                cancellation_charge_pence)
            SELECT bb.id, bb.holder_id, bb.provider_id, bb.provider_id, bb.holder_id - {h0} + 1,
                   'recurring', 'settled', l.price_pence * {SESSIONS_PER_BOOKING}, '',
                   COALESCE(bb.broker_id, bb.holder_id), '[]', false, 0, '[]', now(), now(),
                   bb.broker_id, '[]', '[]', l.cancellation_notice_hours,
                   COALESCE(l.cancellation_charge_pence, 0)
            FROM bench_bookings bb JOIN listings l ON l.id = bb.provider_id""",
        f"""INSERT INTO booking_sessions (booking_id, provider_profile_id, start_at, end_at,
                state, price_pence)
            SELECT bb.id, bb.provider_id, t.start_at, t.start_at + interval '30 minutes',
                   CASE WHEN t.start_at > now() THEN 'funds_held' ELSE 'settled' END,
                   l.price_pence
            FROM bench_bookings bb
            JOIN bench_slots s ON s.id = bb.id
            JOIN listings l ON l.id = bb.provider_id
            CROSS JOIN LATERAL (
                SELECT date_trunc('week', now()) - interval '26 weeks'
                       + (bb.week + n) * interval '7 days' + s.slot * interval '30 minutes'
                       AS start_at
                FROM generate_series(0, {SESSIONS_PER_BOOKING - 1}) n) t""",
        "ANALYZE",
    ]
    with app.app_context():
        conn = db.session.connection()
        for sql in statements:
            conn.execute(text(sql))
        db.session.commit()


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--quick", action="store_true", help="a tenth of the data")
    args = parser.parse_args()
    ensure_database(args.database_url)
    providers, holders, sessions = (2_000, 5_000, 100_000) if args.quick else \
        (20_000, 50_000, 1_000_000)

    app = reset_and_migrate(args.database_url)
    began = time.perf_counter()
    load(app, providers, holders, sessions)
    print(f"load: {time.perf_counter() - began:.1f} s")

    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import BookingSession, MarketFigureRecord, User
    from app.services import brokerage
    from app.services.market_snapshot import build_snapshot

    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(BookingSession))
        print(f"sessions: {count}")
        print(f"providers: {providers}")
        print(f"holders: {holders}")
        gc.disable()  # as brokerage.scan does while it builds (see _without_cyclic_gc)
        began, cpu = time.perf_counter(), time.process_time()
        snapshot = build_snapshot()
        print(f"snapshot: {time.perf_counter() - began:.1f} s "
              f"({len(snapshot.sessions)} sessions in the snapshot; this process's CPU "
              f"{time.process_time() - cpu:.1f} s)")
        del snapshot
        gc.enable()
        db.session.rollback()
    with app.app_context():
        # The first scan files every finding as new (a flag each, every broker told); a daily
        # scan afterwards files only what changed. Both are printed; `scan` is the daily one.
        began = time.perf_counter()
        result = brokerage.scan()
        print(f"scan_first: {time.perf_counter() - began:.1f} s ({result.findings} findings, "
              f"{result.filed} flags filed, each of {BROKERS} brokers told once)")
    with app.app_context():
        began, cpu = time.perf_counter(), time.process_time()
        result = brokerage.scan()
        print(f"scan: {time.perf_counter() - began:.1f} s ({result.findings} findings, "
              f"{result.filed} new flags, {result.already_on_file} already on file; this "
              f"process's CPU {time.process_time() - cpu:.1f} s)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    print(f"peak_memory: {peak:.0f} MB")

    with app.app_context():
        broker = db.session.scalar(select(User.id).where(User.role == "broker").limit(1))
        top = db.session.execute(
            select(MarketFigureRecord.district, MarketFigureRecord.category)
            .where(MarketFigureRecord.run_id == result.market_run_id)
            .order_by(MarketFigureRecord.hhi.desc()).limit(1)).one()
        markets = db.session.scalar(select(func.count()).select_from(MarketFigureRecord).where(
            MarketFigureRecord.run_id == result.market_run_id))
        print(f"markets: {markets}")
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = f"{broker}.0"  # id.session generation (app.models.user.get_id)
        session["_fresh"] = True
    pages = ["/markets/", f"/markets/{top[0]}/{top[1]}", "/markets/steering",
             "/markets/?only=concentrated"]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, (page, response.status_code)
    timings = []
    for _ in range(10 if args.quick else 25):
        for page in pages:
            t0 = time.perf_counter()
            client.get(page)
            timings.append((time.perf_counter() - t0) * 1000)
    print(f"market_view_p50: {statistics.median(timings):.1f} ms")
    print(f"market_view_p95: {percentile(timings, 95):.1f} ms")
    # The machine is shared: the figures mean little without how busy it was.
    print("load_average: " + " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" ({os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
