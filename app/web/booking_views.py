"""Shared pieces of the booking pages: the booking form as a BookingInput, reasons shown."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask import url_for
from flask_login import current_user
from markupsafe import Markup, escape

from app.domain.access import Role
from app.domain.approval import reasons_for
from app.domain.bookings import WeeklyPattern
from app.domain.schedule import minutes_between
from app.domain.wording import for_someone_acting, for_staff
from app.errors import InvalidInput
from app.services import bookings
from app.web.booking_forms import BookForm, parse_clock
from app.web.context import acting


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
            end_time=end,  # each session ends at this wall-clock time, also after clock changes
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


_FLAG_REFERENCE = re.compile(r"\bF-(\d+)\b")


def approval_reasons_for_viewer(item: Any) -> list[Markup]:
    """Why a booking waits for a broker, as the signed-in viewer may see it (template filter
    `approval_reasons`). A broker sees every reason with flag references linked to the flag;
    anyone else never sees a flag, a concern or a rule (domain.approval.reasons_for)."""
    broker = current_user.is_authenticated and current_user.role_enum is Role.BROKER
    # `item` is a booking or a quote: both carry the reasons and their codes. A bare list of
    # reasons has no codes, so anyone but a broker sees only the neutral line for it.
    if isinstance(item, list | tuple):
        reasons, codes = list(item), []
    else:
        reasons, codes = list(item.approval_reasons or []), list(item.approval_codes or [])
    shown = reasons_for(reasons, codes, broker=broker)
    if not broker:
        # The reasons are worded to the holder; someone acting for them reads them about the
        # holder ("their support plan").
        if acting().on_behalf:
            shown = [for_someone_acting(r) for r in shown]
        return [escape(r) for r in shown]

    def link(match: re.Match) -> str:
        href = url_for("broker.flag", flag_id=int(match.group(1)))
        return f'<a class="govuk-link" href="{escape(href)}">{match.group(0)}</a>'

    return [Markup(_FLAG_REFERENCE.sub(link, str(escape(for_staff(r))))) for r in shown]  # nosec B704
