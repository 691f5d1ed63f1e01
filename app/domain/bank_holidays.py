"""UK bank holidays per nation (from the kept `holidays` package) and the time a session spends on them.

Never a hand-typed list: the dates (including substitute days and one-off holidays such as a
coronation) come from the `holidays` package, which follows the GOV.UK lists. The council's
setting `bank_holiday_region` names the nation: ENG or WLS (England and Wales), SCT
(Scotland), NIR (Northern Ireland). A session is on a bank holiday for the minutes it spends
on that local (Europe/London) date, measured in real time. Where a holiday falls at a weekend
the library lists both the day itself (Saturday 26 December 2026, Boxing Day) and its weekday
substitute (Monday 28 December): both count, as care work on either is holiday work.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from app.domain.errors import InvalidInput

UK = ZoneInfo("Europe/London")
REGIONS = {
    "ENG": "England and Wales",
    "WLS": "England and Wales",
    "SCT": "Scotland",
    "NIR": "Northern Ireland",
}


def _check_region(region: str) -> str:
    if region not in REGIONS:
        raise InvalidInput("Choose England and Wales, Scotland or Northern Ireland.",
                           field="bank_holiday_region")
    return region


@lru_cache(maxsize=64)
def _year(region: str, year: int) -> tuple[tuple[date, str], ...]:
    found = holidays.country_holidays("GB", subdiv=region, years=year)
    return tuple(sorted(found.items()))


def bank_holidays(region: str, first: date, last: date) -> dict[date, str]:
    """The bank holidays from `first` to `last` inclusive, each with its name, in date order."""
    _check_region(region)
    return {day: name for year in range(first.year, last.year + 1)
            for day, name in _year(region, year) if first <= day <= last}


def holiday_name(region: str, day: date) -> str | None:
    """The bank holiday's name on that date, or None on an ordinary day."""
    return dict(_year(_check_region(region), day.year)).get(day)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def minutes_on_holidays(start: datetime, end: datetime, region: str) -> int:
    """Real minutes of [start, end) that fall on a bank holiday's local date."""
    lo, hi = _utc(start), _utc(end)
    total = 0
    day = lo.astimezone(UK).date()
    while True:
        # A local day runs from its midnight to the next, whatever their UTC offsets.
        day_lo = datetime.combine(day, time(0), tzinfo=UK).astimezone(UTC)
        day_hi = datetime.combine(day + timedelta(days=1), time(0), tzinfo=UK).astimezone(UTC)
        if day_lo >= hi:
            return total
        if holiday_name(region, day) is not None:
            overlap = min(hi, day_hi) - max(lo, day_lo)
            total += max(0, overlap // timedelta(minutes=1))
        day += timedelta(days=1)


def holidays_touched(start: datetime, end: datetime, region: str) -> dict[date, str]:
    """The bank holidays that a session runs into (by local date)."""
    first = _utc(start).astimezone(UK).date()
    last = (_utc(end) - timedelta(minutes=1)).astimezone(UK).date()
    return bank_holidays(region, first, max(first, last))
