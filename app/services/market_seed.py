"""The market demo (seed/markets/): a district with a dominant agency and a broker who steers
people to it, loaded through the services, then measured by one brokerage scan (idempotent)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import select

from app import clock
from app.extensions import db
from app.models import Booking, ProviderProfile
from app.services import accounts, bookings, brokerage
from app.services.home_district import set_home_district

# One weekday and time per person (an agency is still one provider: no two visits at once).
_TIMES = [(d, h) for h in (8, 10, 12, 14, 16) for d in range(5)]


def load_markets(seed_dir: Path) -> None:
    here = seed_dir / "markets"
    data_path = here / "markets.json"
    if not data_path.exists():
        return
    from app.services.budget_seed import load_budgets
    from app.services.demo_seed import load_people
    from app.services.provider_seed import load_providers

    load_people(here)
    load_providers(here)
    load_budgets(here)
    data = json.loads(data_path.read_text())
    broker = accounts.find_by_email(data["broker"])
    if broker is None:
        return
    for email, district in data["districts"].items():
        holder = accounts.find_by_email(email)
        if holder is not None and not holder.home_district:
            set_home_district(broker, holder.id, district)
    booked_any = False
    for n, row in enumerate(data["bookings"]):
        holder = accounts.find_by_email(row["holder"])
        provider = accounts.find_by_email(row["provider"])
        profile = db.session.scalar(select(ProviderProfile).where(
            ProviderProfile.user_id == provider.id)) if provider else None
        listing = next((x for x in profile.listings if x.is_live), None) if profile else None
        if holder is None or provider is None or profile is None or listing is None:
            continue
        if db.session.scalar(select(Booking.id).where(
                Booking.holder_id == holder.id,
                Booking.provider_profile_id == profile.id)) is not None:
            continue
        weekday, hour = _TIMES[n % len(_TIMES)]
        today = clock.now().date()
        first = today - timedelta(weeks=row["weeks_ago"], days=today.weekday() - weekday)
        data_in = bookings.BookingInput(
            listing.id, kind="recurring",
            pattern=bookings.rules.WeeklyPattern(frozenset({weekday}), time(hour), 120, first,
                                                 count=4))
        asked = datetime.combine(first - timedelta(days=3), time(9), tzinfo=UTC)
        arranged = broker if row["arranged"] else None
        booking = bookings.request_booking(
            broker if arranged else holder, holder, data_in, now=asked, arranged_by=arranged,
            options_offered=[] if arranged else (),
            options_note="Talked through the agencies and PAs in SY3." if arranged else None)
        if booking.state == "awaiting_approval":
            booking = bookings.approve(broker, booking.id, note="Agreed at the plan review.")
        bookings.accept(provider, booking.id)
        booked_any = True
    if booked_any:
        brokerage.scan()  # the market view and the flags have something to show at once
