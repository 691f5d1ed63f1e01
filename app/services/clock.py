"""The one clock services read: the real time, unless a test (or a demo) has set it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

UK = ZoneInfo("Europe/London")
_fixed: datetime | None = None


def now() -> datetime:
    """The current moment, timezone-aware (UTC)."""
    return _fixed if _fixed is not None else datetime.now(UTC)


def today() -> date:
    """Today's date in the UK (what people and the council's books call today)."""
    return now().astimezone(UK).date()


def set_now(moment: datetime | None) -> None:
    """Fix the clock at `moment` (aware), or give it back to real time with None. For tests."""
    global _fixed
    if moment is not None and moment.tzinfo is None:
        raise ValueError("set_now needs an aware datetime")
    _fixed = moment
