"""What a booking costs and what a cancellation charges, in integer pence.

Rounding: prices are worked out in integer minutes and pence and rounded once, half up, to
the penny (rate 1,000p/h for 50 minutes is 833.33p -> 833p; for 3 minutes 50p exactly; 1p/h
for 30 minutes is 0.5p -> 1p). No floats anywhere: travel miles may be a Decimal or an int.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from app.domain.bank_holidays import holiday_name, minutes_on_holidays
from app.domain.errors import InvalidInput
from app.domain.schedule import DEFAULT_TZ, minutes_between

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
    bank_holiday_rate_pence: int | None = None  # None: the ordinary rate applies on bank holidays

    def __post_init__(self) -> None:
        for name in ("rate_pence", "minimum_minutes", "travel_flat_pence", "travel_pence_per_mile",
                     "bank_holiday_rate_pence"):
            value = getattr(self, name)
            if value is None and name == "bank_holiday_rate_pence":
                continue
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
    bank_holiday_minutes: int = 0  # hourly: minutes charged at the bank-holiday rate
    bank_holiday_units: int = 0  # per session or day: units charged at the bank-holiday rate

    @property
    def on_bank_holiday(self) -> bool:
        return bool(self.bank_holiday_minutes or self.bank_holiday_units)

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
                    travel_miles: int | Decimal = 0, *,
                    bank_holiday_region: str | None = None) -> Quote:
    """Price one session: hourly (with the minimum), per session, or per started day, plus travel.

    Day rate: each started 24 hours is a day (9:00 to 17:00 is one day; Monday 10:00 to
    Wednesday 10:00 is two). With `bank_holiday_region` and a bank-holiday rate on the terms,
    time on bank holidays is charged at that rate (see the module docstring).
    Raises InvalidInput when the end is not after the start.
    """
    minutes = minutes_between(start, end)
    if minutes <= 0:
        raise InvalidInput("The end time must be after the start time.", field="end")
    travel = _travel_pence(terms, travel_miles)
    holiday_rate = terms.bank_holiday_rate_pence
    region = bank_holiday_region if holiday_rate is not None else None

    def starts_on_holiday(moment: datetime) -> bool:
        local = _utc(moment).astimezone(ZoneInfo(DEFAULT_TZ)).date()
        return region is not None and holiday_name(region, local) is not None

    if terms.unit is Unit.HOUR:
        billable = max(minutes, terms.minimum_minutes)
        on_holiday = minutes_on_holidays(start, end, region) if region is not None else 0
        if holiday_rate is None or on_holiday == 0:
            return Quote(billable, 0, pence_for_minutes(terms.rate_pence, billable), travel)
        # The minimum's top-up is charged at the rate of the day the session starts.
        top_up = billable - minutes
        if starts_on_holiday(start):
            on_holiday += top_up
        ordinary = billable - on_holiday
        # One rounding for the whole session: sum the exact pence-minutes, then divide.
        whole, rest = divmod(holiday_rate * on_holiday + terms.rate_pence * ordinary, 60)
        support = whole + (1 if rest * 2 >= 60 else 0)
        return Quote(billable, 0, support, travel, bank_holiday_minutes=on_holiday)
    if terms.unit is Unit.SESSION:
        if holiday_rate is not None and starts_on_holiday(start):
            return Quote(minutes, 1, holiday_rate, travel, bank_holiday_units=1)
        return Quote(minutes, 1, terms.rate_pence, travel)
    days = -(-minutes // MINUTES_PER_DAY)
    holiday_days = 0
    if holiday_rate is not None:
        holiday_days = sum(1 for i in range(days)
                           if starts_on_holiday(_utc(start) + timedelta(days=i)))
    support = terms.rate_pence * (days - holiday_days) + (holiday_rate or 0) * holiday_days
    return Quote(minutes, days, support, travel, bank_holiday_units=holiday_days)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def quote(terms: ListingTerms, start: datetime, end: datetime,
          travel_miles: int | Decimal = 0, *, bank_holiday_region: str | None = None) -> int:
    """The total price of one session in integer pence (see quote_breakdown)."""
    return quote_breakdown(terms, start, end, travel_miles,
                           bank_holiday_region=bank_holiday_region).total_pence


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
    # Real elapsed time: subtracting two Europe/London datetimes would use the wall clock.
    notice = _utc(session_start) - _utc(cancelled_at)
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
