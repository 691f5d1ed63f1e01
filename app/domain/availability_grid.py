"""A provider's week as a grid of hour cells (days x hours) and back, so the week can be set
with checkboxes (no JavaScript). Times outside the grid's hours are kept as they were."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import time

from app.domain.listings import Slot

FIRST_HOUR = 6  # the grid runs 06:00 to 23:00: earlier or later times stay in the text box
LAST_HOUR = 23
HOURS = tuple(range(FIRST_HOUR, LAST_HOUR))


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def cells_from_slots(slots: Iterable[Slot]) -> set[tuple[int, int]]:
    """(weekday, hour) for every grid hour wholly inside a slot."""
    cells = set()
    for slot in slots:
        lo, hi = _minutes(slot.start), _minutes(slot.end) or 24 * 60
        for hour in HOURS:
            if lo <= hour * 60 and (hour + 1) * 60 <= hi:
                cells.add((slot.weekday, hour))
    return cells


def _outside_grid(slots: Iterable[Slot]) -> list[Slot]:
    """The parts of slots before the grid starts or after it ends, which the grid cannot show."""
    kept = []
    for slot in slots:
        lo, hi = _minutes(slot.start), _minutes(slot.end) or 24 * 60
        if lo < FIRST_HOUR * 60:
            kept.append(Slot(slot.weekday, slot.start, time(min(hi, FIRST_HOUR * 60) // 60,
                                                             min(hi, FIRST_HOUR * 60) % 60)))
        if hi > LAST_HOUR * 60:
            start = max(lo, LAST_HOUR * 60)
            kept.append(Slot(slot.weekday, time(start // 60, start % 60), slot.end))
    return kept


def slots_from_cells(cells: Iterable[tuple[int, int]], keep: Iterable[Slot] = ()) -> list[Slot]:
    """Ticked hours as slots, next-door hours joined (9-10 and 10-11 make 9-11), plus the parts
    of `keep` (the week as it was) outside the grid's hours, joined where they touch."""
    week: dict[int, list[tuple[int, int]]] = {}
    for weekday, hour in sorted(set(cells)):
        if 0 <= weekday <= 6 and hour in HOURS:
            week.setdefault(weekday, []).append((hour * 60, (hour + 1) * 60))
    for slot in _outside_grid(keep):
        week.setdefault(slot.weekday, []).append(
            (_minutes(slot.start), _minutes(slot.end) or 24 * 60))
    slots = []
    for weekday, spans in sorted(week.items()):
        merged: list[list[int]] = []
        for lo, hi in sorted(spans):
            if merged and lo <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        for lo, hi in merged:
            end = time.max.replace(second=0, microsecond=0) if hi >= 24 * 60 else \
                time(hi // 60, hi % 60)
            slots.append(Slot(weekday, time(lo // 60, lo % 60), end))
    return slots
