"""Ratings benchmark: aggregates, the public provider page and the review snapshot.

Loads 200 providers (one listing each, one category) and 20,000 reviews into PostgreSQL through
the ORM (bookings are free meet-and-greets so no budgets are needed; aggregates do not look at
the booking), then times the reads a provider page and a search reindex make. WARNING: it
empties the target database's public schema first.

    .venv/bin/python bench/ratings.py [--database-url URL] [--reviews N]

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
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text  # noqa: E402

from bench._db import DEFAULT_URL, ensure_database  # noqa: E402

PROVIDERS = 200


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
    app = create_app(
        Config.from_env(
            "test",
            SQLALCHEMY_DATABASE_URI=url,
            INSTANCE_DIR=instance,
            MAIL_OUTBOX_DIR=f"{instance}/outbox",
            WTF_CSRF_ENABLED=False,
            SERVER_NAME="carefair.localhost",
        )
    )
    with app.app_context():
        upgrade()
    return app


def _load(reviews: int) -> list[tuple[int, int]]:
    from app.extensions import db
    from app.models import Booking, Listing, ProviderProfile, Review, User

    rng = random.Random(7)
    holders = [
        User(email=f"h{i}@bench.example", name=f"Holder {i}", role="holder") for i in range(2000)
    ]
    providers = [
        User(email=f"p{i}@bench.example", name=f"Provider {i}", role="provider")
        for i in range(PROVIDERS)
    ]
    db.session.add_all(holders + providers)
    db.session.flush()
    profiles = [
        ProviderProfile(user_id=p.id, provider_type="self_employed_pa", display_name=p.name)
        for p in providers
    ]
    db.session.add_all(profiles)
    db.session.flush()
    listings = [
        Listing(
            profile_id=pp.id,
            category="personal_care",
            title="Care",
            price_pence=1650,
            price_unit="hour",
            funding_modes=["direct_payment"],
            is_live=True,
        )
        for pp in profiles
    ]
    db.session.add_all(listings)
    db.session.flush()
    now = datetime.now(UTC)
    pairs = [
        (listings[i % PROVIDERS], holders[rng.randrange(len(holders))]) for i in range(reviews)
    ]
    made = [
        Booking(
            holder_id=holder.id,
            listing_id=listing.id,
            provider_profile_id=listing.profile_id,
            kind="meet_and_greet",
            state="settled",
            total_pence=0,
            created_by_id=holder.id,
            cancellation_notice_hours=listing.cancellation_notice_hours,
            cancellation_charge_pence=listing.cancellation_charge_pence or 0,
        )
        for listing, holder in pairs
    ]
    db.session.add_all(made)
    db.session.flush()
    for (listing, holder), booking in zip(pairs, made, strict=True):
        s = [rng.choice((3, 4, 4, 5, 5)) for _ in range(5)]
        db.session.add(
            Review(
                booking_id=booking.id,
                period=f"booking:{booking.id}",
                provider_profile_id=listing.profile_id,
                listing_id=listing.id,
                holder_id=holder.id,
                author_id=holder.id,
                reliable=s[0],
                respect_dignity=s[1],
                listened=s[2],
                value=s[3],
                overall=s[4],
                comment="Fine.",
                created_at=now - timedelta(days=rng.randrange(170)),
            )
        )
    db.session.commit()
    return [(pp.id, li.id) for pp, li in zip(profiles, listings, strict=True)]


def _ms(fn, repeat: int = 50) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--reviews", type=int, default=20_000)
    args = parser.parse_args()
    ensure_database(args.database_url)
    app = _app(args.database_url)
    with app.app_context():
        start = time.perf_counter()
        pairs = _load(args.reviews)
        print(f"load_reviews: {time.perf_counter() - start:.1f} s")
    from app.services import ratings

    profile_id, listing_id = pairs[0]
    with app.test_request_context():
        print(f"provider_summary: {_ms(lambda: ratings.provider_summary(profile_id)):.2f} ms")
        print(f"rating_for_listing: {_ms(lambda: ratings.rating_for_listing(listing_id)):.2f} ms")
        start = time.perf_counter()
        for _, lid in pairs:
            ratings.search_rating_fields(lid)
        print(
            f"search_rating_fields_all_listings: {(time.perf_counter() - start) * 1000:.0f} ms "
            f"for {len(pairs)} listings"
        )
        ids = [lid for _, lid in pairs]
        print(
            f"ratings_for_listings_all: {_ms(lambda: ratings.ratings_for_listings(ids), 5):.0f} ms "
            f"for {len(ids)} listings"
        )
        now = datetime.now(UTC)
        print(
            f"review_snapshot_one_provider: "
            f"{_ms(lambda: ratings.review_snapshot(now, [profile_id]), 20):.2f} ms"
        )
    client = app.test_client()
    print(
        f"provider_page: {_ms(lambda: client.get(f'/providers/{profile_id}'), 10):.1f} ms "
        f"({args.reviews // PROVIDERS} reviews on the page)"
    )


if __name__ == "__main__":
    main()
