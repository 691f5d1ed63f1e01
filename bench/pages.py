"""Journey pages on the demo database: p95 response time per page (ms), through the real app.

    .venv/bin/python -m bench.pages [--database-url URL] [--repeat 30]

Without --database-url it builds a fresh demo (SQLite, migrated and seeded, as `carefair demo`).
Each page is requested `repeat` times by a signed-in demo user through Flask's test client (the
whole request: routing, services, queries, templates, after-request hooks); no network.
"""

from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

# Run as `python bench/<name>.py`, bench/ comes first on the path, where bench/http.py would hide
# the standard library's `http` (which the Stripe SDK imports): take the folder off the path.
_sys.path[:] = [p for p in _sys.path if _Path(p or ".").resolve() != _Path(__file__).resolve().parent]
_sys.path.insert(0, str(_Path(__file__).resolve().parent.parent))


import argparse
import statistics
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from app import create_app
from app.config import Config

PAGES = [
    ("holder@carefair.example", ["/my/", "/my/budget", "/my/bookings", "/search", "/listings/1",
                                 "/my/book/1/how-often",
                                 "/my/book/1/when?often=weekly&weeks=4&minutes=120",
                                 "CHECK", "/my/book/GROUP/how-often",
                                 "/my/book/GROUP/when?often=group&fewest=2&most=8&minutes=120",
                                 "/my/people", "/my/address", "/my/reviews"]),
    ("provider@carefair.example", ["/provider/", "/provider/bookings", "/provider/availability"]),
    ("broker@carefair.example", ["/broker/", "/broker/bookings", "/broker/flags",
                                 "/broker/holders/1"]),
    ("admin@carefair.example", ["/admin/", "/admin/audit"]),
]


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(round(0.95 * len(ordered))) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    instance = Path(tempfile.mkdtemp(prefix="carefair-bench-pages-"))
    url = args.database_url or f"sqlite:///{instance / 'carefair.db'}"
    app = create_app(Config.from_env("demo", SQLALCHEMY_DATABASE_URI=url,
                                     INSTANCE_DIR=str(instance),
                                     MAIL_OUTBOX_DIR=str(instance / "outbox")))
    with app.app_context():
        from flask_migrate import upgrade
        from sqlalchemy import select

        from app.domain.vetting import ProviderType
        from app.extensions import db
        from app.models import Listing, ProviderProfile
        from app.services import accounts, demo_seed, free_time, listings

        if args.database_url is None:
            print("Building the demo database (migrate and seed) ...")
            upgrade()
            demo_seed.seed_all()
        first = free_time.next_free(listings.public_listing(1), minutes=120, limit=1, weeks=4)
        check = ("/my/book/1/check?often=weekly&weeks=4&minutes=120"
                 + (f"&start={quote(first[0].start.isoformat())}" if first else ""))
        group = db.session.scalar(
            select(Listing.id).join(ProviderProfile).where(
                Listing.is_live.is_(True),
                ProviderProfile.provider_type == ProviderType.GROUP_ACTIVITY.value)
            .order_by(Listing.id))
        # The session ids, read while the rows are attached (get_id reads the user row).
        users: dict[str, str] = {email: accounts.find_by_email(email).get_id()
                                 for email, _ in PAGES}
    print(f"{'page':58} {'p95 ms':>8} {'median':>8}")
    for email, paths in PAGES:
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = users[email]
            session["_fresh"] = True
        for path in paths:
            path = check if path == "CHECK" else path.replace("GROUP", str(group))
            client.get(path)  # warm up (template compile, first query plans)
            samples = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                response = client.get(path)
                samples.append((time.perf_counter() - started) * 1000)
                if response.status_code >= 400:
                    raise SystemExit(f"{path} answered {response.status_code} for {email}")
            label = f"{email.split('@')[0]:9} {path}"[:58]
            print(f"{label:58} {_p95(samples):8.1f} {statistics.median(samples):8.1f}")


if __name__ == "__main__":
    main()
