"""Demo reviews of the demo's settled bookings (seed/reviews.json), through the services."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import select

from app.errors import DomainError
from app.extensions import db
from app.models import ProviderProfile, Review
from app.services import accounts, bookings, ratings
from app.services.booking_seed import BROKER, _tuesday

log = logging.getLogger(__name__)


def _past_settled_booking(provider, holder, listing, weeks_ago: int) -> None:
    """A one-off visit some weeks ago, delivered, confirmed and paid, so it can be reviewed."""
    day = _tuesday(-weeks_ago)
    start, end = bookings.local(day, time(10)), bookings.local(day, time(12))
    data = bookings.BookingInput(listing.id, start=start, end=end)
    now = datetime.combine(day - timedelta(days=3), time(9), tzinfo=UTC)
    booking = bookings.request_booking(holder, holder, data, now=now)
    broker = accounts.find_by_email(BROKER)
    if booking.state == "awaiting_approval" and broker is not None:
        booking = bookings.approve(broker, booking.id, note="Demo.")
    bookings.accept(provider, booking.id)
    s = booking.sessions[0]
    bookings.record_delivery(
        provider,
        s.id,
        actual_start=s.start_at,
        actual_end=s.end_at,
        notes="Shopping and a cup of tea.",
        now=s.end_at,
    )
    bookings.confirm_session(holder, holder, s.id)
    if holder.at_risk and broker is not None:  # a broker co-signs for a holder at risk
        bookings.confirm_session(broker, None, s.id)


def load_reviews(seed_dir: Path) -> None:
    path = seed_dir / "reviews.json"
    if not path.exists():
        return
    data = json.loads(path.read_text())
    provider = accounts.find_by_email(data["provider"])
    if provider is None:
        return
    profile = db.session.scalar(
        select(ProviderProfile).where(ProviderProfile.user_id == provider.id)
    )
    listing = next((item for item in profile.listings if item.is_live), None) if profile else None
    if profile is None or listing is None:
        return
    for row in data["reviews"]:
        holder = accounts.find_by_email(row["holder"])
        author = accounts.find_by_email(row["author"])
        if holder is None or author is None:
            continue
        already = db.session.scalar(
            select(Review.id).where(
                Review.holder_id == holder.id, Review.provider_profile_id == profile.id
            )
        )
        if already is not None:
            continue
        try:
            chances = [
                c for c in ratings.reviewable(holder) if c.booking.provider_profile_id == profile.id
            ]
            if not chances and row.get("book_weeks_ago"):
                _past_settled_booking(provider, holder, listing, row["book_weeks_ago"])
                chances = [
                    c
                    for c in ratings.reviewable(holder)
                    if c.booking.provider_profile_id == profile.id
                ]
            if not chances:
                continue
            chance = chances[-1]
            review = ratings.submit_review(
                author,
                holder,
                chance.booking.id,
                row["scores"],
                row.get("comment"),
                month=chance.month,
                easy_read=row.get("easy_read", False),
            )
            if row.get("reply"):
                ratings.reply(provider, review.id, row["reply"])
        except DomainError as err:
            # Demo data must never stop the demo starting: say what was skipped and go on.
            db.session.rollback()
            log.warning("Demo review for %s skipped: %s", row["holder"], err.message)
