"""Shared pieces of the booking pages: turning the booking form into a BookingInput."""

from __future__ import annotations

from datetime import timedelta

from app.domain.bookings import WeeklyPattern
from app.domain.schedule import minutes_between
from app.errors import InvalidInput
from app.services import bookings
from app.web.booking_forms import BookForm, parse_clock


def booking_input(form: BookForm, listing_id: int) -> bookings.BookingInput:
    """Raises InvalidInput naming the form field."""
    day = form.day.data
    start = parse_clock(form.start_time.data, "start_time")
    end = parse_clock(form.end_time.data, "end_time")
    starts, ends = bookings.local(day, start), bookings.local(day, end)
    if ends <= starts:
        raise InvalidInput("The end time must be after the start time", field="end_time")
    expected = None
    if form.confirm.data and (form.expected_total.data or "").isdigit():
        expected = int(form.expected_total.data)
    notes = form.notes.data or ""
    if form.kind.data == "recurring":
        if form.until.data is None and form.count.data is None:
            raise InvalidInput(
                "A weekly booking needs an end: a last date or a number of sessions", field="until"
            )
        pattern = WeeklyPattern(
            frozenset(int(d) for d in form.weekdays.data or [day.weekday()]),
            start,
            minutes_between(starts, ends),
            day,
            until=form.until.data,
            count=form.count.data,
        )
        return bookings.BookingInput(
            listing_id,
            kind="recurring",
            pattern=pattern,
            expected_total_pence=expected,
            notes=notes,
        )
    return bookings.BookingInput(
        listing_id,
        kind=form.kind.data,
        start=starts,
        end=ends,
        expected_total_pence=expected,
        notes=notes,
    )


FIELD_NAMES = {
    "start": "day",
    "end": "end_time",
    "weekdays": "weekdays",
    "until": "until",
    "count": "count",
    "duration_minutes": "end_time",
    "expected_total": "day",
    "listing_id": "day",
    "kind": "kind",
}


def on_form(err: InvalidInput) -> InvalidInput:
    """Service field names mapped onto the booking form's fields."""
    if err.field in FIELD_NAMES:
        err.field = FIELD_NAMES[err.field]
    return err


__all__ = ["booking_input", "on_form", "timedelta"]
