"""Most hours a week in a support-plan category: hours used per week and the plain refusal.

A week is a local (Europe/London) Monday-to-Sunday week, the way people plan support. A
session counts towards the week it starts in, for its real length (a sleep-in across the
autumn clock change counts 9 hours). A broker can agree extra hours for one week (an
exception); the cap for that week is then the plan's cap plus the extra.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from app.domain.schedule import DEFAULT_TZ, Session


def week_of(moment: datetime, tz: str = DEFAULT_TZ) -> date:
    """The Monday of the local week a moment falls in."""
    local = (moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(
        ZoneInfo(tz))
    return local.date() - timedelta(days=local.weekday())


def minutes_by_week(sessions: Iterable[Session], tz: str = DEFAULT_TZ) -> dict[date, int]:
    totals: dict[date, int] = defaultdict(int)
    for s in sessions:
        totals[week_of(s.start, tz)] += s.minutes
    return dict(totals)


def hours_text(minutes: int) -> str:
    """'1 hour', '2 hours', '2 hours 30 minutes', 'no time'."""
    hours, rest = divmod(max(minutes, 0), 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if rest:
        parts.append(f"{rest} minute{'s' if rest != 1 else ''}")
    return " ".join(parts) or "no time"


@dataclass(frozen=True, slots=True)
class CapBreach:
    """One week where a booking would go past the plan's weekly hours."""

    week_start: date
    cap_minutes: int  # with any exception agreed for that week
    booked_minutes: int  # already booked that week, before this booking
    adding_minutes: int  # what this booking adds that week

    @property
    def left_minutes(self) -> int:
        return max(self.cap_minutes - self.booked_minutes, 0)

    def reason(self, category_label: str) -> str:
        return (f"Your support plan allows up to {hours_text(self.cap_minutes)} a week of "
                f"{category_label}. In the week beginning {self.week_start:%A} "
                f"{self.week_start.day} {self.week_start:%B %Y} you have "
                f"{hours_text(self.booked_minutes)} booked already, leaving "
                f"{hours_text(self.left_minutes)} that week, and this booking needs "
                f"{hours_text(self.adding_minutes)}. "
                "Choose shorter or fewer sessions, or ask your broker to agree more hours "
                "for that week.")


def breaches(existing: Iterable[Session], new: Iterable[Session], cap_minutes: int | None,
             extra_by_week: Mapping[date, int] | None = None,
             tz: str = DEFAULT_TZ) -> list[CapBreach]:
    """The weeks where `new` sessions would take the category past its weekly cap, in date order.

    `existing` are the holder's sessions already booked in that category (still going ahead);
    `extra_by_week` are the minutes a broker agreed beyond the cap for particular weeks.
    """
    if cap_minutes is None:
        return []
    extra = extra_by_week or {}
    booked = minutes_by_week(existing, tz)
    adding = minutes_by_week(new, tz)
    found = []
    for week in sorted(adding):
        cap = cap_minutes + extra.get(week, 0)
        if booked.get(week, 0) + adding[week] > cap:
            found.append(CapBreach(week, cap, booked.get(week, 0), adding[week]))
    return found
