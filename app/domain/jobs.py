"""Job posts: which providers match a post, who is told in which turn, and how far away they are.

Fair notice: where personal assistants are scarce, whoever hears about a job first usually gets
it. If notices always went to the same best-ranked providers, a job board would concentrate
demand exactly as the brokerage rules try to prevent. So matching providers are told in turns
of `batch` providers, and each turn goes first to those told about jobs least recently (never
before counts as longest ago), ties broken by a hash of (job, provider) so that the order is
stable for one job but different from job to job. Nothing here ranks by rating or price: the
holder's side compares replies themselves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.domain.listings import Category, district_area

# Personal care is intimate: a preferred worker gender is a fair filter there and nowhere else.
GENDER_PREFERENCE_CATEGORIES = frozenset({Category.PERSONAL_CARE.value})
_NEVER = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class JobCriteria:
    """What a job post asks for. Rate is pence per hour."""

    category: str
    district: str
    max_rate_pence: int
    languages: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    preferred_gender: str | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    """One provider's live listing in the job's category, with what matching needs to know."""

    profile_id: int
    listing_id: int
    rate_pence_per_hour: int | None  # None: the listing is priced per session or day
    districts: frozenset[str]
    languages: frozenset[str] = frozenset()
    specialisms: frozenset[str] = frozenset()
    gender: str | None = None
    last_told_at: datetime | None = None  # the last time this provider was told about any job
    funding_modes: frozenset[str] = field(default_factory=frozenset)


def _fold(values: Iterable[str]) -> set[str]:
    return {v.strip().casefold() for v in values if v and v.strip()}


def matches(criteria: JobCriteria, candidate: Candidate) -> bool:
    """Whether the provider could do this job: works in the district, within the rate, shares a
    language (when the post names any) and, for personal care, is of the preferred gender.

    Skills are not a filter: in a thin market a keen new PA without the listed specialism is
    still worth hearing from, and the holder's side sees each reply's specialisms.
    """
    if criteria.district not in candidate.districts:
        return False
    if candidate.rate_pence_per_hour is None or candidate.rate_pence_per_hour > criteria.max_rate_pence:
        return False
    wanted = _fold(criteria.languages)
    if wanted and not wanted & _fold(candidate.languages):
        return False
    if criteria.preferred_gender and criteria.category in GENDER_PREFERENCE_CATEGORIES:
        return (candidate.gender or "").casefold() == criteria.preferred_gender.casefold()
    return True


def _tie_break(job_id: int, profile_id: int) -> bytes:
    return hashlib.sha256(f"{job_id}:{profile_id}".encode()).digest()


def turn_order(job_id: int, candidates: Iterable[Candidate]) -> list[int]:
    """Provider ids in the order they should hear about this job: least recently told first.

    One provider with several matching listings appears once (their earliest notice time is the
    same whichever listing matched).
    """
    last_told: dict[int, datetime] = {}
    for c in candidates:
        told = c.last_told_at or _NEVER
        last_told[c.profile_id] = min(told, last_told.get(c.profile_id, told))
    return sorted(last_told, key=lambda pid: (last_told[pid], _tie_break(job_id, pid)))


def next_turn(job_id: int, candidates: Sequence[Candidate], already_told: Iterable[int],
              batch: int) -> list[int]:
    """The next `batch` providers to tell: in turn order, skipping those already told."""
    told = set(already_told)
    return [pid for pid in turn_order(job_id, candidates) if pid not in told][:max(batch, 0)]


def district_distance(holder_district: str | None, provider_districts: Iterable[str]) -> tuple[int, str]:
    """How far a provider works from the holder, in districts: (0, "Works in LS6"), (1, "Works
    nearby in the LS area"), (2, "Works further away"), or (3, "...") when the holder has no
    district recorded. A number to sort by and words to show."""
    districts = set(provider_districts)
    if not holder_district:
        return 3, "Add your postcode district to see who works near you"
    if holder_district in districts:
        return 0, f"Works in {holder_district}"
    area = district_area(holder_district)
    if any(district_area(d) == area for d in districts):
        return 1, f"Works nearby in the {area} area"
    return 2, "Works further away"


@dataclass(frozen=True, slots=True)
class WeeklyHours:
    """A provider's usual weekly time: weekday 0 is Monday, minutes from local midnight."""

    weekday: int
    start_minute: int
    end_minute: int


def next_free_start(now: datetime, weekly: Sequence[WeeklyHours], away: Sequence[tuple[date, date]],
                    busy: Sequence[tuple[datetime, datetime]], *, notice: timedelta = timedelta(hours=24),
                    days_ahead: int = 28, length: timedelta = timedelta(hours=1),
                    tz: str = "Europe/London") -> datetime | None:
    """The first start of a usual weekly time, at least `notice` from now, on a day the provider
    is not away, with room for `length` before the time ends and no booked session in the way.

    Local wall-clock times are turned into real instants day by day (zoneinfo), so a Monday 9am
    slot stays 9am across the clocks changing. None when nothing is free in `days_ahead` days.
    """
    zone = ZoneInfo(tz)
    earliest = now + notice
    local_today = now.astimezone(zone).date()
    for offset in range(days_ahead + 1):
        day = local_today + timedelta(days=offset)
        if any(first <= day <= last for first, last in away):
            continue
        for slot in sorted((w for w in weekly if w.weekday == day.weekday()), key=lambda w: w.start_minute):
            slot_start = datetime.combine(day, time(slot.start_minute // 60, slot.start_minute % 60), zone)
            slot_end = datetime.combine(day, time.min, zone) + timedelta(minutes=slot.end_minute)
            start = max(slot_start, earliest)
            # Move past each booked session that is in the way, until the slot runs out.
            moved = True
            while moved and start + length <= slot_end:
                moved = False
                for b_start, b_end in busy:
                    if b_start < start + length and start < b_end:
                        start, moved = b_end, True
            if start + length <= slot_end:
                return start
    return None
