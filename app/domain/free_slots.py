"""Free time to book: a provider's weekly availability, less dates away and booked visits
(widened by travel time), from the minimum notice up to a furthest day, as bookable starts.

Candidates are laid on the local wall clock (how providers describe their week) and then
checked with schedule.py's own availability test, so clock-change days are judged there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.domain.hour_caps import week_of
from app.domain.schedule import (
    DEFAULT_TZ,
    DatesOff,
    Session,
    WeeklySlot,
    overlaps,
    unavailable_sessions,
)


@dataclass(frozen=True, slots=True)
class SlotRules:
    """How slots are offered (council settings, plus the listing's length of visit)."""

    duration_minutes: int
    min_notice: timedelta
    days_ahead: int
    travel_buffer_minutes: int = 0
    step_minutes: int = 30
    tz: str = DEFAULT_TZ


@dataclass(frozen=True, slots=True)
class WeeklyRoom:
    """The holder's support-plan cap on hours a week in the listing's category: a slot in a
    week already full counts as busy (design.md, "caps count as busy once reached")."""

    cap_minutes: int
    booked_by_week: Mapping[date, int] = field(default_factory=dict)
    extra_by_week: Mapping[date, int] = field(default_factory=dict)

    def fits(self, session: Session, tz: str = DEFAULT_TZ) -> bool:
        week = week_of(session.start, tz)
        room = self.cap_minutes + self.extra_by_week.get(week, 0) - self.booked_by_week.get(week, 0)
        return session.minutes <= room


def _candidates(slots: Sequence[WeeklySlot], first_day, last_day, rules: SlotRules):
    zone = ZoneInfo(rules.tz)
    day = first_day
    while day <= last_day:
        for slot in sorted((s for s in slots if s.weekday == day.weekday()),
                           key=lambda s: s.start_minute):
            minute = slot.start_minute
            while minute + rules.duration_minutes <= slot.end_minute:
                local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)
                start = local.astimezone(UTC)
                yield Session(start, start + timedelta(minutes=rules.duration_minutes))
                minute += rules.step_minutes
        day += timedelta(days=1)


def free_slots(slots: Sequence[WeeklySlot], dates_off: Sequence[DatesOff],
               busy: Sequence[Session], now: datetime, rules: SlotRules, *,
               limit: int = 12, room: WeeklyRoom | None = None) -> list[Session]:
    """The first `limit` free starts, earliest first, each `rules.duration_minutes` long.

    A start must be at least `min_notice` from now, inside the weekly availability, not on a
    date away (bank holidays are passed as dates away where the provider does not work them),
    clear of every busy visit by the travel buffer on both sides, and, given `room`, in a week
    with enough of the holder's weekly hours left for it.
    """
    if not slots or rules.duration_minutes <= 0:
        return []
    zone = ZoneInfo(rules.tz)
    earliest = now.astimezone(UTC) + rules.min_notice
    first_day = earliest.astimezone(zone).date()
    last_day = now.astimezone(zone).date() + timedelta(days=rules.days_ahead)
    pad = timedelta(minutes=rules.travel_buffer_minutes)
    widened = [Session(b.start - pad, b.end + pad) for b in busy]
    found: list[Session] = []
    for candidate in _candidates(slots, first_day, last_day, rules):
        if candidate.start < earliest:
            continue
        if unavailable_sessions([candidate], slots, dates_off, rules.tz):
            continue
        if overlaps(widened, [candidate]):
            continue
        if room is not None and not room.fits(candidate, rules.tz):
            continue
        found.append(candidate)
        if len(found) == limit:
            break
    return found
