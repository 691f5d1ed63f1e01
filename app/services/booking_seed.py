"""Demo bookings in different states for the demo holders with Maria Santos's listings (idempotent)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import select

from app.errors import NotFound
from app.extensions import db
from app.models import Booking, Listing, ProviderProfile, User
from app.services import accounts, bookings

MARIA = "provider@carefair.example"
BROKER = "broker@carefair.example"


def _tuesday(weeks: int) -> date:
    today = date.today()
    return today + timedelta(days=(1 - today.weekday()) % 7 + 7 * weeks)


def _book(
    holder: User,
    listing: Listing,
    day: date,
    *,
    now: datetime | None = None,
    kind: str = "one_off",
    count: int | None = None,
) -> Booking:
    start, end = bookings.local(day, time(10)), bookings.local(day, time(12))
    if kind == "recurring":
        data = bookings.BookingInput(
            listing.id,
            kind="recurring",
            pattern=bookings.rules.WeeklyPattern(frozenset({1}), time(10), 120, day, count=count),
        )
    else:
        data = bookings.BookingInput(listing.id, kind=kind, start=start, end=end)
    booking = bookings.request_booking(holder, holder, data, now=now)
    if booking.state == "awaiting_approval":
        booking = bookings.approve(_broker(), booking.id, note="Agreed at the support plan review.")
    return booking


def _broker() -> User:
    broker = accounts.find_by_email(BROKER)
    if broker is None:  # people.json has the broker, and load_people runs before this loader
        raise NotFound(f"The demo data needs the broker {BROKER}, who has not been loaded.")
    return broker


def load_bookings(seed_dir: Path) -> None:
    maria = accounts.find_by_email(MARIA)
    if maria is None:
        return
    profile = db.session.scalar(select(ProviderProfile).where(ProviderProfile.user_id == maria.id))
    listing = next((item for item in profile.listings if item.is_live), None) if profile else None
    if profile is None or listing is None:
        return
    joan = accounts.find_by_email("joan.holder@carefair.example")
    holder = accounts.find_by_email("holder@carefair.example")
    if joan is not None and not _has_booking(joan, profile):
        # Delivered and paid last week: shows in the council's remittance file and is ready to rate.
        last_week = _tuesday(-1)
        done = _book(
            joan,
            listing,
            last_week,
            now=datetime.combine(last_week - timedelta(days=3), time(9), tzinfo=UTC),
        )
        bookings.accept(maria, done.id)
        s = done.sessions[0]
        bookings.record_delivery(
            maria,
            s.id,
            actual_start=s.start_at,
            actual_end=s.end_at,
            notes="Helped with the garden and lunch.",
            now=s.end_at,
        )
        bookings.confirm_session(joan, joan, s.id)
        if joan.at_risk:  # a broker co-signs for a holder at risk
            bookings.confirm_session(_broker(), None, s.id)
        # Weekly support, accepted and funded.
        weekly = _book(joan, listing, _tuesday(1), kind="recurring", count=4)
        bookings.accept(maria, weekly.id)
    if holder is not None and not _has_booking(holder, profile):
        # A request Maria has not answered yet.
        _book(holder, listing, _tuesday(6))


def _has_booking(holder: User, profile: ProviderProfile) -> bool:
    return (
        db.session.scalar(
            select(Booking.id).where(
                Booking.provider_profile_id == profile.id, Booking.holder_id == holder.id
            )
        )
        is not None
    )
