"""Builders for booking tests: a live listing with weekly availability and a funded holder."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from app.domain.access import Role
from app.domain.listings import Slot
from app.services import bookings, budgets, providers
from tests.ledger_helpers import funded_budget, key
from tests.provider_helpers import verified_provider


def next_weekday(weekday: int, weeks_ahead: int = 1) -> date:
    today = date.today()
    return today + timedelta(days=(weekday - today.weekday()) % 7 + 7 * weeks_ahead)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return bookings.local(day, time(hour, minute))


def live_listing(
    make_user,
    broker=None,
    *,
    price="16.50",
    minimum_units=2,
    modes=("direct_payment", "council_managed"),
    charge="0",
    notice=24,
    slots=True,
):
    broker = broker or make_user(Role.BROKER)
    user, listing = verified_provider(
        make_user,
        broker,
        price=price,
        minimum_units=minimum_units,
        funding_modes=list(modes),
        cancellation_charge=charge,
        cancellation_notice_hours=notice,
    )
    if slots:
        providers.set_availability(user, [Slot(d, time(8, 0), time(18, 0)) for d in range(5)])
    return user, listing


def holder_with_budget(
    make_user, *, funded=100_000, mode="council_managed", at_risk=False, categories=None,
    contingency_weeks=0,
):
    holder, admin, budget = funded_budget(make_user, funded=0, categories=categories,
                                          contingency_weeks=contingency_weeks)
    if mode != "direct_payment":
        from app.extensions import db

        budget.funding_mode = mode
        db.session.commit()
    if funded:
        budgets.record_instalment(budget.id, funded, idempotency_key=key("alloc"), actor=admin)
    if at_risk:
        from app.extensions import db

        holder.at_risk = True
        db.session.commit()
    return holder, budget


def one_off(listing, day=None, start=10, end=12, **kw) -> bookings.BookingInput:
    day = day or next_weekday(1)
    return bookings.BookingInput(
        listing_id=listing.id,
        kind=kw.pop("kind", "one_off"),
        start=at(day, start),
        end=at(day, end),
        **kw,
    )


__all__ = ["at", "budgets", "holder_with_budget", "live_listing", "next_weekday", "one_off"]
