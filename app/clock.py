"""The one clock (convention 18): services take the time from `now()`, which tests can set.

Tests move time with `clock.travel_to(moment)` (or the `frozen(moment)` context manager)
instead of waiting, and the browser tests' live server sees the same time because it runs in
the test process. Production code never sets the clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_fixed: datetime | None = None


def now() -> datetime:
    """The current time, aware and in UTC (or the time a test set)."""
    return _fixed if _fixed is not None else datetime.now(UTC)


def travel_to(moment: datetime | None) -> None:
    """Set the clock to `moment` (aware), or back to real time with None. For tests only."""
    global _fixed
    if moment is not None and moment.tzinfo is None:
        raise ValueError("Set the clock to an aware datetime (with a time zone).")
    _fixed = moment.astimezone(UTC) if moment is not None else None


@contextmanager
def frozen(moment: datetime) -> Iterator[datetime]:
    """The clock stands at `moment` inside the block, and is real again after it."""
    previous = _fixed
    travel_to(moment)
    try:
        yield moment.astimezone(UTC)
    finally:
        travel_to(previous)
