"""Which price a client pays on a date, from a listing's price history (design.md, fair terms).

A new price applies to new clients at once. Someone who was already a client when a change was
announced keeps their rate unless the change applies to existing clients, and then only from
the day it takes effect (after the notice); a cut reaches them on its day too, but never makes
their own rate go up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class PriceStep:
    """One recorded change of a listing's price."""

    old_pence: int
    new_pence: int
    announced_at: datetime
    effective_at: datetime
    applies_to_existing: bool


def rate_for_client(current_pence: int, steps: Sequence[PriceStep],
                    client_since: datetime | None, at: datetime) -> int:
    """The rate for a client who began at `client_since` (None: a new client), on `at`.

    `steps` are the listing's changes in the order they were announced; `current_pence` is the
    listing's price now, which is what new clients pay.
    """
    if client_since is None or not steps:
        return current_pence
    rate = steps[0].old_pence
    for step in steps:
        if step.announced_at <= client_since:
            rate = step.new_pence  # the price when they came, or a later one they came after
        elif at < step.effective_at:
            continue  # announced to them, not yet in effect
        elif step.new_pence < step.old_pence:
            rate = min(rate, step.new_pence)
        elif step.applies_to_existing:
            rate = max(rate, step.new_pence)
    return rate
