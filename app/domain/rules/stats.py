"""Small statistics the rules share: medians, shares of spend and the HHI."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from statistics import median


def spend_shares(spend: Mapping[int, int]) -> dict[int, float]:
    """Each provider's percentage (0 to 100) of the total; empty when nothing was spent."""
    total = sum(spend.values())
    if total <= 0:
        return {}
    return {k: 100 * v / total for k, v in spend.items()}


def hhi(shares_percent: Iterable[float]) -> float:
    """Herfindahl-Hirschman Index: the sum of squared percentage shares, 0 to 10,000."""
    return sum(s * s for s in shares_percent)


def modified_z(value: float, values: Sequence[float],
               mad_floor: float) -> tuple[float, float, float]:
    """(z, median, MAD used) with z = 0.6745 (x - median) / MAD (Iglewicz and Hoaglin).

    The MAD is raised to `mad_floor` so a group charging almost the same price does not make
    an ordinary small difference look extreme.
    """
    mid = median(values)
    mad = max(median(abs(v - mid) for v in values), mad_floor)
    return 0.6745 * (value - mid) / mad, mid, mad
