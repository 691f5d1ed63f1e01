"""Builders for market tests: providers serving districts, holders living in them, and booked
sessions written straight to the tables (the market figures read only what was booked)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import insert, select

from app import clock
from app.domain.access import Role
from app.extensions import db
from app.models import Booking, BookingSession, Budget
from app.services import providers
from tests.provider_helpers import profile_input, verified_provider

_slots: Counter[int] = Counter()


def market_provider(make_user, broker, name: str, *, districts: str = "LS6",
                    price: str = "20.00"):
    """A vetted provider with a live personal care listing, serving these districts."""
    user, listing = verified_provider(make_user, broker, price=price,
                                      funding_modes=["direct_payment", "council_managed"])
    providers.save_profile(user, profile_input(display_name=name, districts=districts))
    return listing


def holders_in(make_user, district: str, count: int, *, at_risk: bool = False):
    people = [make_user(Role.HOLDER, home_district=district, at_risk=at_risk)
              for _ in range(count)]
    return people


def book(listing, holder, *, days_ago: float = 10, price: int = 4000, sessions: int = 1,
         arranged_by=None, state: str = "settled") -> int:
    """A booking with weekly sessions ending `days_ago`, settled at `price` each."""
    # Each of a provider's bookings at its own time of the week (three hours apart, then a day
    # apart): a provider is never in two places.
    n = _slots[listing.profile_id]
    _slots[listing.profile_id] += 1
    now = clock.now().replace(minute=0, second=0, microsecond=0) - timedelta(
        hours=3 * (n % 8), days=(n // 8) % 7)
    budget_id = db.session.scalar(select(Budget.id).where(Budget.holder_id == holder.id).limit(1))
    if budget_id is None:
        budget_id = db.session.execute(insert(Budget).returning(Budget.id), [{
            "holder_id": holder.id, "annual_pence": 2_000_000,
            "start_date": (now - timedelta(days=200)).date(), "frequency": "monthly",
            "funding_mode": "council_managed", "contingency_weeks": 0}]).scalar_one()
    result = db.session.execute(insert(Booking).returning(Booking.id), [{
        "budget_id": budget_id,
        "holder_id": holder.id, "listing_id": listing.id,
        "provider_profile_id": listing.profile_id, "kind": "one_off" if sessions == 1
        else "recurring", "state": state, "total_pence": price * sessions,
        "created_by_id": (arranged_by or holder).id,
        # The terms a booking carries (booked_policy): the listing's, as when it is requested.
        "cancellation_notice_hours": listing.cancellation_notice_hours,
        "cancellation_charge_pence": listing.cancellation_charge_pence or 0,
        "arranged_by_id": arranged_by.id if arranged_by is not None else None}])
    booking_id = result.scalar_one()
    db.session.execute(insert(BookingSession), [{
        "booking_id": booking_id, "provider_profile_id": listing.profile_id,
        "start_at": now - timedelta(days=days_ago + 7 * i),
        "end_at": now - timedelta(days=days_ago + 7 * i) + timedelta(hours=2),
        "state": state, "price_pence": price} for i in range(sessions)])
    db.session.commit()
    return booking_id


def concentrated_district(make_user, broker, district: str = "LS6"):
    """A district where one agency has 70% of personal care spending, five people each with
    the big provider, one each with two small ones: (big listing, small listings, holders)."""
    big = market_provider(make_user, broker, "Big Care Ltd", districts=district)
    small = [market_provider(make_user, broker, f"Small Care {n}", districts=district)
             for n in (1, 2)]
    people = holders_in(make_user, district, 7)
    for person in people[:5]:
        book(big, person, sessions=7)  # 5 x 7 x £40 = £1,400
    for listing, person in zip(small, people[5:], strict=True):
        book(listing, person, sessions=7)  # 2 x 7 x £40 = £560 between them
    return big, small, people
