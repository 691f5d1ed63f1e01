"""Bulk import benchmark: providers, holders, budgets and historical bookings from CSV into PostgreSQL.

Writes the files (20,000 providers, 50,000 holders, a budget each, 1,000,000 historical
bookings by default) and imports them through app.services.imports, exactly as
`carefair import` does (a checking pass, then the writing pass). Targets: at most 10 minutes
in all and 500 MB of memory. WARNING: it empties the target database's public schema first.

    .venv/bin/python bench/import.py [--database-url URL] [--quick | --scale F]

--quick imports 200 providers, 500 holders and 10,000 bookings; --scale 0.1 a tenth of the
full run. Prints one figure a line: `<file>: N rows, R rows/s` (with the time of its checking
and writing passes), `bookings: N`, `total: S s`,
`peak_memory: M MB` (the process's peak resident memory, app included) and the load average.
The full run's time depends on the machine's load: see the load average printed beside it.
"""

from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

# Run as `python bench/<name>.py`, bench/ comes first on the path, where bench/http.py would hide
# the standard library's `http` (which the Stripe SDK imports): take the folder off the path.
_sys.path[:] = [p for p in _sys.path if _Path(p or ".").resolve() != _Path(__file__).resolve().parent]
_sys.path.insert(0, str(_Path(__file__).resolve().parent.parent))


import argparse
import csv
import random
import resource
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text  # noqa: E402

from bench._db import ensure_database  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/carefair_bench_import"
FULL = {"providers": 20_000, "holders": 50_000, "bookings": 1_000_000}
QUICK = {"providers": 200, "holders": 500, "bookings": 10_000}
DISTRICTS = [f"LS{i}" for i in range(1, 30)]
CATEGORIES = ["personal_care", "help_at_home", "getting_out", "wellbeing"]


def _app(url: str):
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
                                     MAIL_OUTBOX_DIR=f"{instance}/outbox", SERVER_NAME="carefair.localhost"))
    with app.app_context():
        upgrade()
    return app


def _write_files(folder: Path, n: dict[str, int]) -> dict[str, Path]:
    """The council's files, written row by row (the generator holds nothing but counters)."""
    rng = random.Random(19)
    year_start = date(date.today().year - 1, 4, 1)
    paths = {k: folder / f"{k}.csv" for k in ("providers", "holders", "budgets", "bookings")}
    with open(paths["providers"], "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["reference", "email", "name", "provider_type", "districts", "listing_category",
                    "listing_title", "listing_price", "listing_unit"])
        for i in range(n["providers"]):
            w.writerow([f"P{i}", f"p{i}@bench.example", f"Provider {i}", "self_employed_pa",
                        " ".join(rng.sample(DISTRICTS, 3)), CATEGORIES[i % len(CATEGORIES)],
                        "Support at home", f"{rng.randint(14, 22)}.00", "hour"])
    with open(paths["holders"], "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["reference", "email", "name", "home_district", "at_risk"])
        for i in range(n["holders"]):
            w.writerow([f"H{i}", f"h{i}@bench.example", f"Holder {i}", rng.choice(DISTRICTS), "no"])
    with open(paths["budgets"], "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["reference", "holder_reference", "annual_amount", "start_date", "frequency", "funding_mode"])
        for i in range(n["holders"]):
            w.writerow([f"B{i}", f"H{i}", f"{rng.randint(8, 30) * 1000}.00", year_start.isoformat(),
                        "four_weekly", rng.choice(["council_managed", "direct_payment"])])
    # Provider i's k-th booking starts k x 6 hours after the year began: no provider is double
    # booked, and every session is in the past and inside its holder's budget year.
    with open(paths["bookings"], "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["reference", "holder_reference", "provider_reference", "start", "end", "amount"])
        first = datetime.combine(year_start, datetime.min.time()).replace(hour=8)
        for i in range(n["bookings"]):
            start = first + timedelta(hours=6 * (i // n["providers"]))
            hours = rng.choice((1, 2, 3))
            w.writerow([f"X{i}", f"H{rng.randrange(n['holders'])}", f"P{i % n['providers']}",
                        start.isoformat(timespec="minutes"),
                        (start + timedelta(hours=hours)).isoformat(timespec="minutes"), f"{16 * hours}.00"])
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--progress", action="store_true", help="show the progress bars on stderr")
    args = parser.parse_args()
    sizes = QUICK if args.quick else {k: max(1, int(v * args.scale)) for k, v in FULL.items()}
    url = ensure_database(args.database_url)
    app = _app(url)
    folder = Path(tempfile.mkdtemp(prefix="carefair-import-bench-"))
    paths = _write_files(folder, sizes)
    print(f"scale: {'quick' if args.quick else args.scale}")
    print(f"load_average: {Path('/proc/loadavg').read_text().split()[0]} (1 min, at the start)")

    from app.cli_council import _Progress
    from app.domain.access import Role
    from app.extensions import db
    from app.models import Booking
    from app.services import accounts, imports

    total = 0.0
    with app.test_request_context():
        admin = accounts.create_staff("admin@bench.example", "Bench Admin", Role.COUNCIL_ADMIN, None, actor=None)
        for kind in ("providers", "holders", "budgets", "bookings"):
            started = time.perf_counter()
            bar = _Progress() if args.progress else None
            phases: dict[str, float] = {}

            def progress(phase: str, done: int, rows: int | None, bar=bar, phases=phases) -> None:
                phases[phase] = time.perf_counter()  # the last call of "checking" ends that pass
                if bar:
                    bar(phase, done, rows)

            report = imports.run(kind, paths[kind], actor=admin, dry_run=False, progress=progress)
            if bar:
                bar.close()
            took = time.perf_counter() - started
            total += took
            assert report.error_count == 0, report.errors[:5]
            # The checking pass reads the whole file before the writing pass starts.
            checking = phases.get("checking", started + took) - started
            print(f"{kind}: {report.imported} rows in {took:.1f} s, {report.imported / took:,.0f} rows/s "
                  f"(checking {checking:.1f} s, writing {took - checking:.1f} s)", flush=True)
        bookings = db.session.scalar(text("SELECT count(*) FROM bookings")) if Booking else 0
    print(f"bookings: {bookings}")
    print(f"total: {total:.1f} s")
    print(f"peak_memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    # The machine is shared: figures taken under load are starved, so say what the load was.
    print(f"load_average: {Path('/proc/loadavg').read_text().split()[0]} (1 min, at the end)")


if __name__ == "__main__":
    main()
