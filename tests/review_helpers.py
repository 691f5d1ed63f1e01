"""Builders for review tests: settled one-off and recurring bookings, delegates, a score sheet."""

from __future__ import annotations

from datetime import date, time, timedelta

from app.domain.access import DelegateKind, Role, Share
from app.domain.bookings import WeeklyPattern
from app.extensions import db
from app.models import Booking
from app.services import bookings, delegation
from tests.booking_helpers import at, next_weekday, one_off


def scores(overall: int = 4, **overrides: int) -> dict[str, int]:
    sheet = {"reliable": 4, "respect_dignity": 4, "listened": 4, "value": 4, "overall": overall}
    sheet.update(overrides)
    return sheet


def _settle_all(provider, holder, booking: Booking) -> Booking:
    for s in booking.sessions:
        bookings.record_delivery(
            provider,
            s.id,
            actual_start=s.start_at,
            actual_end=s.end_at,
            now=s.end_at + timedelta(minutes=5),
        )
        bookings.confirm_session(holder, holder, s.id)
    return db.session.get(Booking, booking.id)


def settled_one_off(
    provider, listing, holder, *, weeks_ago: int = 2, hour: int = 10, weekday: int = 1
) -> Booking:
    """A one-off booking in the past, delivered, confirmed and paid (state settled)."""
    day = next_weekday(weekday, -weeks_ago)
    data = one_off(listing, day=day, start=hour, end=hour + 2)
    booking = bookings.request_booking(holder, holder, data, now=at(day, hour) - timedelta(days=3))
    bookings.accept(provider, booking.id)
    return _settle_all(provider, holder, db.session.get(Booking, booking.id))


def month_crossing_tuesday(weeks_back: int = 6) -> date:
    """A Tuesday at least `weeks_back` weeks ago whose next Tuesday falls in the next month."""
    day = next_weekday(1, -weeks_back)
    while (day + timedelta(days=7)).month == day.month:
        day -= timedelta(days=7)
    return day


def settled_recurring(provider, listing, holder, first: date, count: int = 2) -> Booking:
    """Weekly support on Tuesdays from `first`, every session delivered, confirmed and paid."""
    data = bookings.BookingInput(
        listing.id,
        kind="recurring",
        pattern=WeeklyPattern(frozenset({1}), time(10), 120, first, count=count),
    )
    booking = bookings.request_booking(holder, holder, data, now=at(first, 10) - timedelta(days=3))
    bookings.accept(provider, booking.id)
    return _settle_all(provider, holder, db.session.get(Booking, booking.id))


def delegate_of(
    make_user,
    holder,
    kind: DelegateKind,
    shares=frozenset({Share.BOOKINGS}),
    role: Role = Role.SUPPORTER,
    user=None,
):
    """A person acting for the holder as a nominated person or circle member (accepted)."""
    person = user or make_user(role)
    _, token = delegation.invite(holder, holder.id, person.email, kind, set(shares))
    delegation.accept(person, token)
    return person
