"""The published rates that set the price-outlier MAD floor, and the arithmetic that derives it.

A like-for-like group of listings can charge almost the same price, so its own MAD is tiny and
an ordinary dearer price (a specialist, weekend rates, an agency that pays a sustainable wage)
would score as extreme. The floor on the MAD is therefore set from real spreads:

* Homecare Association, "Fee rates for state-funded homecare in 2025-26" (June 2025): the
  average council fee was £24.10 an hour, 27% of councils paid below £22.71, and the
  Association's Minimum Price for Homecare (what a provider needs to pay the legal minimum wage
  and run safely) was £32.14. Read as a normal spread, 27% below £22.71 puts the standard
  deviation at (24.10 - 22.71) / 0.61 = £2.28, so the MAD of council rates is about
  0.6745 x 2.28 = £1.54: 6.4% of the average.
* The Minimum Price itself is an ordinary price for a provider charging what care costs, so it
  must not flag against the average council fee: that needs a MAD of at least
  0.6745 x (32.14 - 24.10) / 3.5 = £1.55, 6.43% of the average.
* Personal assistants: Wokingham pays £11.86 a weekday hour and £14.98 at weekends (FOI 17909,
  2023/24); a weekend rate 26% above the weekday one is ordinary and needs a MAD of 5.1%.

The floor is the largest of these, rounded up to a whole percent: 7%. With it, a price flags
only when it is more than 3.5 x 7 / 0.6745 = 36% above its peers' median (and more where the
group's own spread is wider).
"""

from __future__ import annotations

import math

Z_THRESHOLD = 3.5
Z_CONSTANT = 0.6745

# (description, ordinary higher price in pence, the usual price it is compared with)
ORDINARY_HIGHER_PRICES: tuple[tuple[str, int, int], ...] = (
    ("Homecare Association Minimum Price 2025/26 against the average council fee", 3214, 2410),
    ("Wokingham weekend PA rate against the weekday rate (2023/24)", 1498, 1186),
)
# Average council homecare fee 2025/26, and the rate 27% of councils paid below (pence).
COUNCIL_FEE_AVERAGE = 2410
COUNCIL_FEE_27TH_PERCENTILE = 2271
NORMAL_Z_27TH_PERCENTILE = 0.6128  # the standard normal quantile for 0.27


def council_fee_mad_percent() -> float:
    sd = (COUNCIL_FEE_AVERAGE - COUNCIL_FEE_27TH_PERCENTILE) / NORMAL_Z_27TH_PERCENTILE
    return 100 * Z_CONSTANT * sd / COUNCIL_FEE_AVERAGE


def mad_needed_percent(price: int, usual: int) -> float:
    """The MAD (percent of the usual price) at which `price` scores exactly the threshold."""
    return 100 * Z_CONSTANT * (price - usual) / usual / Z_THRESHOLD


def derived_floor_percent() -> int:
    needed = [council_fee_mad_percent()] + [mad_needed_percent(p, u)
                                            for _, p, u in ORDINARY_HIGHER_PRICES]
    return math.ceil(max(needed))
