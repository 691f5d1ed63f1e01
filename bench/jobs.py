"""Benchmark: matching one job post against 20,000 providers on PostgreSQL (issue 18).

Prints `name: value unit` lines, at least `job_match_p95: X ms` (target at most 100 ms): the
SQL that narrows live hourly listings by category, district and rate, with each provider's last
notice time, then the domain's language and gender tests and the fair turn order. Also the
whole `post` use case (matching, notices, inbox items, audit, one commit).

Uses BENCH_DATABASE_URL, else a PostgreSQL database `carefair_bench_jobs` (created if missing,
emptied first). `--quick` uses 2,000 providers for a smoke run.
"""

from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

# Run as `python bench/<name>.py`, bench/ comes first on the path, where bench/http.py would hide
# the standard library's `http` (which the Stripe SDK imports): take the folder off the path.
_sys.path[:] = [p for p in _sys.path if _Path(p or ".").resolve() != _Path(__file__).resolve().parent]
_sys.path.insert(0, str(_Path(__file__).resolve().parent.parent))


import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.domain.districts import uk_districts  # noqa: E402
from app.domain.listings import district_area  # noqa: E402
from bench._db import ensure_database  # noqa: E402

QUICK = "--quick" in sys.argv
PROVIDERS = 2_000 if QUICK else 20_000
HOLDERS = 200
MATCHES = 200
POSTS = 30
AREAS = ["LS", "BD", "HX", "WF", "HD", "YO"]
# 120 real districts of West Yorkshire and York: a job post must name a district in use.
DISTRICTS = sorted((d for d in uk_districts() if district_area(d) in AREAS),
                   key=lambda d: (AREAS.index(district_area(d)), len(d), d))[:120]
CATEGORIES = ["personal_care", "help_at_home", "getting_out", "short_breaks"]
LANGUAGES = ["English", "Urdu", "Punjabi", "Polish", "Arabic", "BSL", "Bengali"]


def _reset(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    url = ensure_database(os.environ.get("BENCH_DATABASE_URL")
                          or "postgresql+psycopg://postgres@127.0.0.1:5432/carefair_bench_jobs")
    _reset(url)
    tmp = Path(tempfile.mkdtemp(prefix="carefair-bench-jobs-"))
    from app import create_app
    from app.config import Config

    app = create_app(Config.from_env("test", SQLALCHEMY_DATABASE_URI=url, INSTANCE_DIR=str(tmp),
                                     MAIL_OUTBOX_DIR=str(tmp / "outbox"), MAIL_SEND_AFTER_COMMIT=False))
    from flask_migrate import upgrade
    from sqlalchemy import insert

    from app.extensions import db
    from app.models import Listing, ProviderDistrict, ProviderProfile, User
    from app.services import jobs

    rng = random.Random(18)
    now = datetime.now(UTC)
    with app.app_context():
        upgrade()
        start = time.perf_counter()
        db.session.execute(insert(User), [
            {"id": i + 1, "email": f"p{i}@example.org", "name": f"Provider {i}", "role": "provider",
             "active": True, "at_risk": False, "created_at": now} for i in range(PROVIDERS)] + [
            {"id": PROVIDERS + i + 1, "email": f"h{i}@example.org", "name": f"Holder {i}", "role": "holder",
             "active": True, "at_risk": False, "created_at": now, "home_district": rng.choice(DISTRICTS)}
            for i in range(HOLDERS)])
        db.session.execute(insert(ProviderProfile), [
            {"id": i + 1, "user_id": i + 1, "provider_type": "self_employed_pa", "display_name": f"Provider {i}",
             "about": "", "languages": rng.sample(LANGUAGES, rng.randint(1, 3)),
             "specialisms": [], "gender": rng.choice(["Woman", "Man", None]), "venue_accessibility": "",
             "created_at": now, "updated_at": now} for i in range(PROVIDERS)])
        db.session.execute(insert(ProviderDistrict), [
            {"profile_id": i + 1, "district": d} for i in range(PROVIDERS)
            for d in rng.sample(DISTRICTS[(i % 5) * 24:(i % 5) * 24 + 24], 4)])
        db.session.execute(insert(Listing), [
            {"profile_id": i + 1, "category": CATEGORIES[(i + k) % len(CATEGORIES)], "title": "Support",
             "description": "", "price_pence": rng.randint(1300, 2600), "price_unit": "hour",
             "minimum_units": 1, "travel_charge_pence": 0, "cancellation_notice_hours": 24,
             "cancellation_charge_pence": 0, "funding_modes": ["council_managed"], "published": True,
             "is_live": True, "created_at": now, "updated_at": now}
            for i in range(PROVIDERS) for k in range(2)])
        db.session.commit()
        # Production tables are analysed by autovacuum; a freshly loaded bench table is not.
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("ANALYZE")
        print(f"providers: {PROVIDERS}")
        print(f"listings: {PROVIDERS * 2}")
        print(f"load: {time.perf_counter() - start:.1f} s")

        holders = [db.session.get(User, PROVIDERS + i + 1) for i in range(HOLDERS)]
        post_times: list[float] = []
        for n in range(POSTS):  # the whole use case, which also builds notice history
            holder = holders[n % HOLDERS]
            data = jobs.JobInput(category=rng.choice(CATEGORIES), district=holder.home_district,
                                 title="Support needed", when="Weekday mornings", hours_per_week=6,
                                 max_rate_pence=rng.randint(1600, 2600),
                                 languages=tuple(rng.sample(LANGUAGES, 1)) if n % 3 == 0 else ())
            t0 = time.perf_counter()
            jobs.post(holder, holder, data)
            post_times.append(time.perf_counter() - t0)

        match_times: list[float] = []
        found: list[int] = []
        from app.domain.jobs import JobCriteria, next_turn

        for n in range(MATCHES):
            criteria = JobCriteria(category=rng.choice(CATEGORIES), district=rng.choice(DISTRICTS),
                                   max_rate_pence=rng.randint(1600, 2600),
                                   languages=tuple(rng.sample(LANGUAGES, 1)) if n % 3 == 0 else (),
                                   preferred_gender="Woman" if n % 5 == 0 else None)
            t0 = time.perf_counter()
            matched = jobs.candidates(criteria)
            next_turn(n, matched, [], app.config["COUNCIL"].job_notice_batch)
            match_times.append(time.perf_counter() - t0)
            found.append(len(matched))
            db.session.rollback()
        print(f"job_match_p50: {_ms(match_times, 0.5):.1f} ms")
        print(f"job_match_p95: {_ms(match_times, 0.95):.1f} ms")
        print(f"matching_providers_median: {statistics.median(found):.0f}")
        print(f"job_post_p50: {_ms(post_times, 0.5):.1f} ms")
        print(f"job_post_p95: {_ms(post_times, 0.95):.1f} ms")


if __name__ == "__main__":
    main()
