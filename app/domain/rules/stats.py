"""Small statistics the rules share: medians, shares of spend, the HHI and a binomial tail."""

from __future__ import annotations

import math
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


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p): how likely at least k of n are at risk by chance alone
    when a share p of the market is. Summed in log space so large n does not overflow."""
    if k <= 0:
        return 1.0
    if k > n or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    total = 0.0
    for i in range(k, n + 1):
        log_term = (math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
                    + i * log_p + (n - i) * log_q)
        total += math.exp(log_term)
    return min(total, 1.0)


def poisson_binomial_tail(k: int, probabilities: Sequence[float]) -> float:
    """P(at least k successes) among independent trials with these probabilities, exactly.

    The binomial test when every trial has its own chance (each holder their own market). A
    dynamic programme over the count, capped at k (counts of k or more are one state): O(n k).
    """
    if k <= 0:
        return 1.0
    if k > len(probabilities):
        return 0.0
    below = [1.0] + [0.0] * k  # below[j]: P(exactly j so far) for j < k; below[k]: P(>= k)
    for p in probabilities:
        q = 1 - p
        below[k] = below[k] + below[k - 1] * p
        for j in range(k - 1, 0, -1):
            below[j] = below[j] * q + below[j - 1] * p
        below[0] *= q
    return min(1.0, max(0.0, below[k]))
