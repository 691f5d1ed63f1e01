"""What a booking costs and what a cancellation charges, in integer pence.

Rounding: prices are worked out in integer minutes and pence and rounded once, half up, to
the penny (rate 1,000p/h for 50 minutes is 833.33p -> 833p; for 3 minutes 50p exactly; 1p/h
for 30 minutes is 0.5p -> 1p). No floats anywhere: travel miles may be a Decimal or an int.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from app.domain.errors import InvalidInput
from app.domain.schedule import minutes_between

MINUTES_PER_DAY = 24 * 60


class Unit(StrEnum):
    HOUR = "hour"
    SESSION = "session"
    DAY = "day"


@dataclass(frozen=True, slots=True)
class ListingTerms:
    """The price terms of a listing. `minimum_minutes` applies to hourly listings only."""

    unit: Unit
    rate_pence: int
    minimum_minutes: int = 0
    travel_flat_pence: int = 0  # per visit
    travel_pence_per_mile: int = 0

    def __post_init__(self) -> None:
        for name in ("rate_pence", "minimum_minutes", "travel_flat_pence", "travel_pence_per_mile"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InvalidInput(f"{name.replace('_', ' ')} must be a whole number, 0 or more.",
                                   field=name)
        object.__setattr__(self, "unit", Unit(self.unit))


@dataclass(frozen=True, slots=True)
class Quote:
    """The price broken down for showing to the holder before they confirm."""

    billable_minutes: int  # after the minimum; for day and session units, the booked minutes
    units: int  # sessions or days charged (hourly: 0, the minutes carry it)
    support_pence: int
    travel_pence: int

    @property
    def total_pence(self) -> int:
        return self.support_pence + self.travel_pence


def pence_for_minutes(rate_pence_per_hour: int, minutes: int) -> int:
    """rate x minutes / 60, rounded half up to the penny, all in integers."""
    if minutes < 0 or rate_pence_per_hour < 0:
        raise InvalidInput("Rates and times cannot be negative.")
    whole, rest = divmod(rate_pence_per_hour * minutes, 60)
    return whole + (1 if rest * 2 >= 60 else 0)


def _travel_pence(terms: ListingTerms, travel_miles: int | Decimal) -> int:
    if isinstance(travel_miles, bool) or not isinstance(travel_miles, int | Decimal):
        # A float here would smuggle binary rounding into money.
        raise InvalidInput("Travel distance must be a whole or decimal number of miles.",
                           field="travel_miles")
    if travel_miles < 0:
        raise InvalidInput("Travel distance cannot be negative.", field="travel_miles")
    per_mile = (Decimal(terms.travel_pence_per_mile) * Decimal(travel_miles)).quantize(
        Decimal(1), rounding=ROUND_HALF_UP)
    return terms.travel_flat_pence + int(per_mile)


def quote_breakdown(terms: ListingTerms, start: datetime, end: datetime,
                    travel_miles: int | Decimal = 0) -> Quote:
    """Price one session: hourly (with the minimum), per session, or per started day, plus travel.

    Day rate: each started 24 hours is a day (9:00 to 17:00 is one day; Monday 10:00 to
    Wednesday 10:00 is two). Raises InvalidInput when the end is not after the start.
    """
    minutes = minutes_between(start, end)
    if minutes <= 0:
        raise InvalidInput("The end time must be after the start time.", field="end")
    travel = _travel_pence(terms, travel_miles)
    if terms.unit is Unit.HOUR:
        billable = max(minutes, terms.minimum_minutes)
        return Quote(billable, 0, pence_for_minutes(terms.rate_pence, billable), travel)
    if terms.unit is Unit.SESSION:
        return Quote(minutes, 1, terms.rate_pence, travel)
    days = -(-minutes // MINUTES_PER_DAY)
    return Quote(minutes, days, terms.rate_pence * days, travel)


def quote(terms: ListingTerms, start: datetime, end: datetime,
          travel_miles: int | Decimal = 0) -> int:
    """The total price of one session in integer pence (see quote_breakdown)."""
    return quote_breakdown(terms, start, end, travel_miles).total_pence


@dataclass(frozen=True, slots=True)
class CancellationPolicy:
    """A listing's policy: cancel at least `notice_hours` ahead for free, else pay the charge.

    The charge is either fixed pence or a percent of the session price, never both. With
    `waive_when_paused`, a holder who has paused (crisis, hospital) pays nothing.
    """

    notice_hours: int
    charge_pence: int | None = None
    charge_percent: int | None = None
    waive_when_paused: bool = True

    def __post_init__(self) -> None:
        if self.notice_hours < 0:
            raise InvalidInput("The notice period cannot be negative.", field="notice_hours")
        if self.charge_pence is not None and self.charge_percent is not None:
            raise InvalidInput("Give a cancellation charge in pounds or as a percentage, not both.",
                               field="charge_percent")
        if self.charge_pence is not None and self.charge_pence < 0:
            raise InvalidInput("The cancellation charge cannot be negative.", field="charge_pence")
        if self.charge_percent is not None and not 0 <= self.charge_percent <= 100:
            raise InvalidInput("The cancellation percentage must be between 0 and 100.",
                               field="charge_percent")


@dataclass(frozen=True, slots=True)
class CancellationOutcome:
    charge_pence: int  # captured from the hold and paid to the provider
    release_pence: int  # released back to the holder's budget
    reason: str  # plain English, shown to both sides


def cancellation_charge(policy: CancellationPolicy, price_pence: int, session_start: datetime,
                        cancelled_at: datetime, cancelled_by: str,
                        holder_paused: bool = False) -> CancellationOutcome:
    """Split a held session price into charge and release when it is cancelled.

    `cancelled_by` is an ActorKind value. Only the holder's side (holder, delegate, or a broker
    acting for them) can be charged; a provider or system cancellation releases everything.
    Cancelling after the start counts as late. A holder no-show is priced as a late cancellation.
    """
    if price_pence < 0:
        raise InvalidInput("A price cannot be negative.")
    if cancelled_by in ("provider", "system"):
        who = "the provider" if cancelled_by == "provider" else "Carefair"
        return CancellationOutcome(0, price_pence, f"Cancelled by {who}: nothing to pay.")
    if holder_paused and policy.waive_when_paused:
        return CancellationOutcome(0, price_pence, "Support is paused: the cancellation charge is "
                                                   "waived.")
    notice = session_start - cancelled_at
    if notice >= timedelta(hours=policy.notice_hours):
        return CancellationOutcome(0, price_pence, f"Cancelled with at least {policy.notice_hours} "
                                                   "hours' notice: nothing to pay.")
    if policy.charge_pence is not None:
        charge = min(policy.charge_pence, price_pence)
    elif policy.charge_percent is not None:
        whole, rest = divmod(price_pence * policy.charge_percent, 100)
        charge = whole + (1 if rest * 2 >= 100 else 0)
    else:
        charge = 0
    return CancellationOutcome(charge, price_pence - charge,
                               f"Cancelled with less than {policy.notice_hours} hours' notice: "
                               "the listing's cancellation charge applies.")
