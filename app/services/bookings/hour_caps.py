"""Weekly hour caps from the support plan: the check a booking must pass, and a broker's exception.

A plan category may set the most hours a week (PlanCategory.max_minutes_per_week). A booking
that would go past it in any week is refused with the hours left that week
(app.domain.hour_caps); a broker may agree extra hours for one week, which is audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from app.domain import hour_caps
from app.domain.access import Role
from app.domain.budget import CATEGORIES, category_label
from app.domain.free_slots import WeeklyRoom
from app.domain.schedule import Session
from app.errors import InvalidInput, NotFound, NotPermitted
from app.extensions import db
from app.models import Booking, BookingSession, HourCapException, SupportPlanVersion, User
from app.models.booking import NON_BLOCKING_STATES
from app.services import audit
from app.services.bookings._common import _now

# Sessions that did not take the holder's hours: never happened, or nobody turned up.
_NOT_COUNTED = (*NON_BLOCKING_STATES, "no_show")


class OverHourCap(InvalidInput):
    """The booking would go past the plan's weekly hours in a category."""

    code = "over_hour_cap"


def _week_bounds(sessions: Sequence[Session]) -> tuple[date, date]:
    weeks = [hour_caps.week_of(s.start) for s in sessions]
    return min(weeks), max(weeks) + timedelta(days=7)


def _booked(holder_id: int, code: str, first_week: date, after_last: date,
            exclude_booking: int | None = None) -> list[Session]:
    """The holder's sessions in `code` that still take hours, in the weeks given."""
    # A local week starts at most an hour either side of its UTC midnight: widen by a day.
    lo = datetime.combine(first_week - timedelta(days=1), time(0), tzinfo=UTC)
    hi = datetime.combine(after_last + timedelta(days=1), time(0), tzinfo=UTC)
    query = (select(BookingSession).join(Booking, Booking.id == BookingSession.booking_id)
             .where(Booking.holder_id == holder_id, Booking.plan_category == code,
                    BookingSession.state.not_in(_NOT_COUNTED),
                    BookingSession.start_at >= lo, BookingSession.start_at < hi))
    if exclude_booking is not None:
        query = query.where(Booking.id != exclude_booking)
    return [Session(s.start_at, s.end_at) for s in db.session.scalars(query)]


def _extras(holder_id: int, code: str, first_week: date, after_last: date) -> dict[date, int]:
    return {e.week_start: e.extra_minutes for e in db.session.scalars(
        select(HourCapException).where(
            HourCapException.holder_id == holder_id, HourCapException.code == code,
            HourCapException.week_start >= first_week, HourCapException.week_start < after_last))}


def weekly_room(holder_id: int, plan: SupportPlanVersion | None, code: str, first_day: date,
                last_day: date) -> WeeklyRoom | None:
    """What is left of the plan's weekly hours in `code`, week by week, for offering free
    slots (None when the plan sets no cap there). Reads only."""
    cap = None if plan is None else next(
        (c.max_minutes_per_week for c in plan.categories if c.code == code), None)
    if cap is None:
        return None
    first_week = first_day - timedelta(days=first_day.weekday())
    after_last = last_day - timedelta(days=last_day.weekday()) + timedelta(days=7)
    booked = hour_caps.minutes_by_week(_booked(holder_id, code, first_week, after_last))
    return WeeklyRoom(cap, booked, _extras(holder_id, code, first_week, after_last))


def check_hour_cap(holder_id: int, plan: SupportPlanVersion, code: str,
                   sessions: Sequence[Session], exclude_booking: int | None = None) -> None:
    """Raise OverHourCap when `sessions` would take `code` past the plan's weekly hours."""
    cap = next((c.max_minutes_per_week for c in plan.categories if c.code == code), None)
    if cap is None or not sessions:
        return
    first_week, after_last = _week_bounds(sessions)
    existing = _booked(holder_id, code, first_week, after_last, exclude_booking)
    extra = _extras(holder_id, code, first_week, after_last)
    found = hour_caps.breaches(existing, sessions, cap, extra)
    if found:
        raise OverHourCap(found[0].reason(category_label(code).lower()), field="start")


def agree_exception(broker: User, holder: User, code: str, week_of: date, extra_minutes: int,
                    reason: str) -> HourCapException:
    """A broker agrees more hours than the plan's cap for one week (replacing an earlier one).

    Raises NotPermitted (not a broker), NotFound (not a holder), InvalidInput (category, hours,
    reason).
    """
    if broker.role_enum is not Role.BROKER:
        raise NotPermitted("Only a broker can agree more hours than the plan allows.")
    if holder.role_enum is not Role.HOLDER:
        raise NotFound("We could not find that budget holder.", field="holder_id")
    if code not in CATEGORIES:
        raise InvalidInput("Choose a spending category from the list.", field="category")
    if not 0 < extra_minutes <= 7 * 24 * 60:
        raise InvalidInput("Enter the extra hours for that week, more than 0.", field="extra_hours")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say why more hours are needed that week.", field="reason")
    week_start = week_of - timedelta(days=week_of.weekday())
    row = db.session.scalar(select(HourCapException).where(
        HourCapException.holder_id == holder.id, HourCapException.code == code,
        HourCapException.week_start == week_start).with_for_update())
    before = row.extra_minutes if row is not None else None
    if row is None:
        row = HourCapException(holder_id=holder.id, code=code, week_start=week_start,
                               extra_minutes=extra_minutes, reason=reason[:500],
                               agreed_by_id=broker.id, created_at=_now())
        db.session.add(row)
    else:
        row.extra_minutes, row.reason, row.agreed_by_id = extra_minutes, reason[:500], broker.id
    db.session.flush()
    audit.record(broker, "hour_cap.exception_agreed", "user", holder.id, on_behalf_of=holder,
                 details={"category": code, "week_start": week_start.isoformat(),
                          "extra_minutes": extra_minutes, "before_minutes": before,
                          "reason": reason[:500]})
    db.session.commit()
    return row
