"""When support happens: sessions, weekly repeating patterns, double-booking and availability.

Sessions are half-open intervals [start, end): a session ending at 10:00 does not overlap one
starting at 10:00. Comparisons and durations are done in UTC, so a session across the clocks
changing lasts as long as it really lasts; availability is judged on the local wall clock,
because that is how providers describe their week.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.domain.errors import InvalidInput

MINUTE = timedelta(minutes=1)
MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
DEFAULT_TZ = "Europe/London"
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _utc(moment: datetime) -> datetime:
    """Aware datetimes in UTC; naive ones are taken to be UTC already (as the models store them)."""
    return moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def minutes_between(start: datetime, end: datetime) -> int:
    """Whole minutes from start to end (seconds dropped), real elapsed time across clock changes."""
    if (start.tzinfo is None) != (end.tzinfo is None):
        raise InvalidInput("Start and end times must both carry a time zone, or neither.",
                           field="start")
    return (_utc(end) - _utc(start)) // MINUTE


@dataclass(frozen=True, slots=True)
class Session:
    """One visit or group session. Construction refuses an end that is not after the start."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if minutes_between(self.start, self.end) <= 0:
            raise InvalidInput("The end time must be after the start time.", field="end")

    @property
    def minutes(self) -> int:
        return minutes_between(self.start, self.end)

    def overlaps(self, other: Session) -> bool:
        return _utc(self.start) < _utc(other.end) and _utc(other.start) < _utc(self.end)

    def describe(self, tz: str = DEFAULT_TZ) -> str:
        start = self.start.astimezone(ZoneInfo(tz)) if self.start.tzinfo else self.start
        end = self.end.astimezone(ZoneInfo(tz)) if self.end.tzinfo else self.end
        return (f"{WEEKDAY_NAMES[start.weekday()]} {start.day} {start:%B %Y} "
                f"from {start:%H:%M} to {end:%H:%M}")


def _sorted(sessions: Iterable[Session]) -> list[Session]:
    return sorted(sessions, key=lambda s: (_utc(s.start), _utc(s.end)))


def overlaps(existing: Sequence[Session], new: Sequence[Session]) -> list[tuple[Session, Session]]:
    """Every (existing, new) pair that overlaps: empty means no double-booking."""
    ordered = _sorted(existing)
    starts = [_utc(s.start) for s in ordered]
    clashes: list[tuple[Session, Session]] = []
    for candidate in _sorted(new):
        # Only existing sessions starting before the candidate ends can overlap it.
        upto = bisect.bisect_left(starts, _utc(candidate.end))
        clashes.extend((held, candidate) for held in ordered[:upto]
                       if _utc(held.end) > _utc(candidate.start))
    return clashes


def validate_sessions(sessions: Sequence[Session], now: datetime) -> None:
    """Refuse sessions in the past or overlapping each other (a booking cannot clash itself)."""
    if not sessions:
        raise InvalidInput("Choose at least one session.", field="start")
    ordered = _sorted(sessions)
    if _utc(ordered[0].start) < _utc(now):
        raise InvalidInput(f"The session on {ordered[0].describe()} is in the past. "
                           "Choose a time from now on.", field="start")
    for earlier, later in zip(ordered, ordered[1:], strict=False):
        if earlier.overlaps(later):
            raise InvalidInput(f"The sessions on {earlier.describe()} and {later.describe()} "
                               "overlap. Change the times so they do not.", field="start")


@dataclass(frozen=True, slots=True)
class WeeklyPattern:
    """Support on some weekdays (0 is Monday) at a local time, until a date or for N sessions."""

    weekdays: frozenset[int]
    start_time: time
    duration_minutes: int
    first_date: date
    until: date | None = None
    count: int | None = None
    tz: str = DEFAULT_TZ
    # With an end time, each session ends at that local wall-clock time (the next day when it
    # is not after the start), so a sleep-in from 11pm to 7am lasts 7 or 9 real hours on the
    # nights the clocks change; without one, each lasts duration_minutes of real time.
    end_time: time | None = None


def expand_weekly(pattern: WeeklyPattern, now: datetime, *, max_sessions: int,
                  max_weeks: int, skip_days: Collection[date] = frozenset()) -> list[Session]:
    """The sessions of a repeating booking, or InvalidInput naming what is wrong.

    A pattern must end (a last date or a number of sessions, not both) within `max_weeks`
    and `max_sessions` (council settings): an endless booking would hold money forever.
    Each session starts at the pattern's local wall-clock time on its own date (10am stays
    10am after the clocks change) and ends at its end time on the wall clock, or lasts its
    duration in real time when it has none. `skip_days` are local
    dates with no session (a group that does not meet on bank holidays); a count still counts
    sessions that happen.
    """
    if pattern.until is None and pattern.count is None:
        raise InvalidInput("A repeating booking needs an end: a last date or a number of sessions.",
                           field="until")
    if pattern.until is not None and pattern.count is not None:
        raise InvalidInput("Give a last date or a number of sessions, not both.", field="count")
    if not pattern.weekdays or not all(0 <= d <= 6 for d in pattern.weekdays):
        raise InvalidInput("Choose at least one day of the week.", field="weekdays")
    if not 0 < pattern.duration_minutes <= MINUTES_PER_DAY:
        raise InvalidInput("Each session must last between 1 minute and 24 hours.",
                           field="duration_minutes")
    if pattern.count is not None and not 0 < pattern.count <= max_sessions:
        raise InvalidInput(f"A repeating booking can have from 1 to {max_sessions} sessions.",
                           field="count")
    last_allowed = pattern.first_date + timedelta(weeks=max_weeks)
    if pattern.until is not None:
        if pattern.until < pattern.first_date:
            raise InvalidInput("The last date must be on or after the first date.", field="until")
        if pattern.until > last_allowed:
            raise InvalidInput(f"A repeating booking can last at most {max_weeks} weeks. "
                               f"Choose a last date up to {last_allowed:%d %B %Y}.", field="until")
    zone = ZoneInfo(pattern.tz)
    sessions: list[Session] = []
    day = pattern.first_date
    while day <= (pattern.until or last_allowed):
        if pattern.count is not None and len(sessions) == pattern.count:
            break
        if day.weekday() in pattern.weekdays and day not in skip_days:
            # Times are turned into UTC so lengths are real elapsed time across clock changes.
            # fold=0 whatever the caller's time carries: a time the spring change skips moves an
            # hour later and an autumn time that happens twice is the first, every week alike.
            start = datetime.combine(day, pattern.start_time.replace(fold=0),
                                     tzinfo=zone).astimezone(UTC)
            if pattern.end_time is not None:
                end_day = day if pattern.end_time > pattern.start_time else day + timedelta(days=1)
                end = datetime.combine(end_day, pattern.end_time.replace(fold=0),
                                       tzinfo=zone).astimezone(UTC)
            else:
                end = start + timedelta(minutes=pattern.duration_minutes)
            sessions.append(Session(start.astimezone(zone), end.astimezone(zone)))
            if len(sessions) > max_sessions:
                raise InvalidInput(f"That pattern makes more than {max_sessions} sessions. "
                                   "Choose an earlier last date.", field="until")
        day += timedelta(days=1)
    if pattern.count is not None and len(sessions) < pattern.count:
        raise InvalidInput(f"{pattern.count} sessions would run beyond {max_weeks} weeks.",
                           field="count")
    if not sessions:
        raise InvalidInput("No session falls between those dates on the days chosen.",
                           field="weekdays")
    validate_sessions(sessions, now)
    return sessions


@dataclass(frozen=True, slots=True)
class WeeklySlot:
    """Available on `weekday` (0 is Monday) from `start_minute` to `end_minute` past midnight."""

    weekday: int
    start_minute: int
    end_minute: int

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise InvalidInput("Choose a day of the week.", field="weekday")
        if not 0 <= self.start_minute < self.end_minute <= MINUTES_PER_DAY:
            raise InvalidInput("The available time must end after it starts, within the day.",
                               field="end_minute")


@dataclass(frozen=True, slots=True)
class DatesOff:
    """Days (inclusive) when a provider is away whatever the weekly slots say."""

    first_day: date
    last_day: date


@dataclass(frozen=True, slots=True)
class Unavailability:
    session: Session
    reason: str


def _merged_week(slots: Iterable[WeeklySlot]) -> list[tuple[int, int]]:
    """Slots as merged minute-of-week intervals, so 9-12 and 12-17 cover 11-13."""
    intervals = sorted((s.weekday * MINUTES_PER_DAY + s.start_minute,
                        s.weekday * MINUTES_PER_DAY + s.end_minute) for s in slots)
    merged: list[tuple[int, int]] = []
    for lo, hi in intervals:
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _covered(week: list[tuple[int, int]], lo: int, length: int) -> bool:
    if length > MINUTES_PER_WEEK:
        return week == [(0, MINUTES_PER_WEEK)]
    # Split a session running past Sunday midnight into two pieces of the week.
    pieces = [(lo, min(lo + length, MINUTES_PER_WEEK))]
    if lo + length > MINUTES_PER_WEEK:
        pieces.append((0, lo + length - MINUTES_PER_WEEK))
    return all(any(a <= p_lo and p_hi <= b for a, b in week) for p_lo, p_hi in pieces)


def unavailable_sessions(sessions: Sequence[Session], slots: Sequence[WeeklySlot],
                         dates_off: Sequence[DatesOff] = (),
                         tz: str = DEFAULT_TZ) -> list[Unavailability]:
    """The sessions that fall outside the provider's weekly slots or on their dates off."""
    zone = ZoneInfo(tz)
    week = _merged_week(slots)
    problems = []
    for session in sessions:
        local_start = _utc(session.start).astimezone(zone)
        local_end = _utc(session.end).astimezone(zone)
        last_day = (local_end - MINUTE).date()
        away = next((off for off in dates_off
                     if off.first_day <= last_day and local_start.date() <= off.last_day), None)
        if away is not None:
            problems.append(Unavailability(session, (
                f"The provider is away from {away.first_day:%d %B} to {away.last_day:%d %B %Y}.")))
            continue
        start_of_week = local_start.weekday() * MINUTES_PER_DAY + local_start.hour * 60 \
            + local_start.minute
        # Wall-clock length: availability is described in local time.
        wall = (local_end.replace(tzinfo=None) - local_start.replace(tzinfo=None)) // MINUTE
        if not _covered(week, start_of_week, wall):
            problems.append(Unavailability(session, (
                f"The provider is not usually available on {session.describe(tz)}.")))
    return problems
