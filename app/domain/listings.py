"""What a provider can list: the category taxonomy, prices in pence, pricing guidance, postcode
districts (and their areas) and weekly availability. Pure functions that return errors or advice
as plain English.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import time
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from app.domain.money import plain_pounds
from app.domain.money_format import format_pence

if TYPE_CHECKING:
    from app.domain.vetting import ProviderType


class Category(StrEnum):
    PERSONAL_CARE = "personal_care"
    HELP_AT_HOME = "help_at_home"
    GETTING_OUT = "getting_out"
    EMPLOYMENT_SUPPORT = "employment_support"
    LEARNING = "learning"
    TRANSPORT = "transport"
    SHORT_BREAKS = "short_breaks"
    PEER_SUPPORT = "peer_support"
    WELLBEING = "wellbeing"
    ADVOCACY = "advocacy"
    MONEY_MANAGEMENT = "money_management"

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self]


CATEGORY_LABELS = {
    Category.PERSONAL_CARE: "Personal care",
    Category.HELP_AT_HOME: "Help at home",
    Category.GETTING_OUT: "Getting out and social activities",
    Category.EMPLOYMENT_SUPPORT: "Employment support",
    Category.LEARNING: "Learning and education",
    Category.TRANSPORT: "Transport",
    Category.SHORT_BREAKS: "Short breaks and respite",
    Category.PEER_SUPPORT: "Peer support",
    Category.WELLBEING: "Wellbeing and therapies",
    Category.ADVOCACY: "Advocacy",
    Category.MONEY_MANAGEMENT: "Money management and payroll support",
}


class PriceUnit(StrEnum):
    HOUR = "hour"
    SESSION = "session"
    DAY = "day"

    @property
    def label(self) -> str:
        return {PriceUnit.HOUR: "per hour", PriceUnit.SESSION: "per session", PriceUnit.DAY: "per day"}[self]


class FundingMode(StrEnum):
    """design.md "Money": how a holder's budget is held, so which holders can pay this listing."""

    DIRECT_PAYMENT = "direct_payment"
    COUNCIL_MANAGED = "council_managed"
    INDIVIDUAL_SERVICE_FUND = "individual_service_fund"
    THIRD_PARTY_MANAGED = "third_party_managed"

    @property
    def label(self) -> str:
        return {
            FundingMode.DIRECT_PAYMENT: "Direct payment (paid by card)",
            FundingMode.COUNCIL_MANAGED: "Council-managed budget",
            FundingMode.INDIVIDUAL_SERVICE_FUND: "Individual service fund",
            FundingMode.THIRD_PARTY_MANAGED: "Managed account (third party)",
        }[self]


class Specialism(StrEnum):
    MENTAL_HEALTH = "mental_health"
    DEMENTIA = "dementia"
    LEARNING_DISABILITY = "learning_disability"
    AUTISM = "autism"
    PHYSICAL_DISABILITY = "physical_disability"
    SENSORY_IMPAIRMENT = "sensory_impairment"
    END_OF_LIFE = "end_of_life"
    LGBTQ_AFFIRMING = "lgbtq_affirming"
    CULTURAL = "cultural"
    FAITH = "faith"
    COMMUNITY = "community"

    @property
    def label(self) -> str:
        return {
            Specialism.MENTAL_HEALTH: "Mental health",
            Specialism.DEMENTIA: "Dementia",
            Specialism.LEARNING_DISABILITY: "Learning disability",
            Specialism.AUTISM: "Autism",
            Specialism.PHYSICAL_DISABILITY: "Physical disability",
            Specialism.SENSORY_IMPAIRMENT: "Sensory impairment",
            Specialism.END_OF_LIFE: "End of life",
            Specialism.LGBTQ_AFFIRMING: "LGBTQ+ affirming",
            Specialism.CULTURAL: "Cultural knowledge",
            Specialism.FAITH: "Faith knowledge",
            Specialism.COMMUNITY: "Community knowledge",
        }[self]


class PriceError(ValueError):
    """The text typed is not a price we can accept; the message says why in plain English."""


_MONEY_TEXT = re.compile(r"^[0-9]+(\.[0-9]{1,2})?$", re.ASCII)


def parse_pounds(raw: str | None) -> int:
    """'12.50', '£12.50', '1,200' -> integer pence. Never goes through a float."""
    if (raw or "").strip().lstrip("£").startswith("-"):
        raise PriceError("Enter an amount of zero or more")
    try:
        text = plain_pounds(raw)
    except ValueError as err:
        raise PriceError(str(err)) from err
    if not text:
        raise PriceError("Enter an amount in pounds, like 16.50")
    if text.startswith("-"):
        raise PriceError("Enter an amount of zero or more")
    if not _MONEY_TEXT.match(text):
        if re.match(r"^[0-9]+\.[0-9]{3,}$", text, re.ASCII):
            raise PriceError("Enter an amount with no more than 2 decimal places, like 16.50")
        raise PriceError("Enter an amount in pounds, like 16.50")
    try:
        return int(Decimal(text) * 100)
    except InvalidOperation as err:  # pragma: no cover - the pattern above already rules it out
        raise PriceError("Enter an amount in pounds, like 16.50") from err


class PriceSettings(Protocol):
    @property
    def national_living_wage_pence_per_hour(self) -> int: ...
    @property
    def employed_pa_rate_pence_per_hour(self) -> int: ...
    @property
    def self_employed_pa_rate_pence_per_hour(self) -> int: ...
    @property
    def agency_cap_pence_per_hour(self) -> int: ...
    @property
    def agency_minimum_price_pence_per_hour(self) -> int: ...
    @property
    def max_price_pence(self) -> dict[str, int]: ...
    @property
    def indicative_rates_pence_per_hour(self) -> dict[str, int]: ...


def price_problem(pence: int, unit: PriceUnit, settings: PriceSettings) -> str | None:
    """Why a price cannot be listed at all (zero, or beyond the sanity limit), else None."""
    if pence <= 0:
        return "Enter a price of more than £0"
    limit = settings.max_price_pence[unit.value]
    if pence > limit:
        return (f"Enter a price of {format_pence(limit)} {unit.label} or less. If you really charge "
                "more, contact the council's brokerage team")
    return None


@dataclass(frozen=True, slots=True)
class PricingGuidance:
    indicative: str  # what the council pays or expects, for comparison
    warnings: tuple[str, ...]


def pricing_guidance(provider_type: ProviderType, category: Category, unit: PriceUnit,
                     pence: int | None, settings: PriceSettings) -> PricingGuidance:
    """The council's indicative rate for this kind of listing, and warnings about the price."""
    from app.domain.vetting import ProviderType

    nlw = settings.national_living_wage_pence_per_hour
    if provider_type is ProviderType.EMPLOYED_PA:
        rate = settings.employed_pa_rate_pence_per_hour
        indicative = (f"The council's rate for an employed personal assistant is {format_pence(rate)} "
                      f"an hour. The National Living Wage is {format_pence(nlw)} an hour.")
    elif provider_type is ProviderType.SELF_EMPLOYED_PA:
        rate = settings.self_employed_pa_rate_pence_per_hour
        indicative = (f"The council's rate for a self-employed personal assistant is "
                      f"{format_pence(rate)} an hour.")
    elif provider_type is ProviderType.HOME_CARE_AGENCY:
        indicative = (f"The council pays agencies up to {format_pence(settings.agency_cap_pence_per_hour)} "
                      f"an hour. The Homecare Association's minimum price for 2025/26 is "
                      f"{format_pence(settings.agency_minimum_price_pence_per_hour)} an hour.")
    else:
        rate = settings.indicative_rates_pence_per_hour.get(category.value, 0)
        indicative = (f"The council's indicative rate for {category.label.lower()} is "
                      f"{format_pence(rate)} an hour." if rate else
                      "The council has no indicative rate for this category.")
    warnings: list[str] = []
    if pence is not None and unit is PriceUnit.HOUR:
        if provider_type.is_pa and pence < nlw:
            warnings.append(f"This is below the National Living Wage of {format_pence(nlw)} an hour.")
        if provider_type is ProviderType.HOME_CARE_AGENCY and pence > settings.agency_cap_pence_per_hour:
            warnings.append("This is above the council's agency cap: people paying from a "
                            "council-managed budget may need a broker's approval.")
    return PricingGuidance(indicative=indicative, warnings=tuple(warnings))


_DISTRICT = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")
_FULL_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$")


class DistrictError(ValueError):
    """Not a postcode district; the message says why."""


def normalise_district(raw: str) -> str:
    """'sy1 ' -> 'SY1'. A postcode district is the first half of a postcode, like SY1 or SW1A."""
    text = (raw or "").strip().upper()
    if _DISTRICT.match(text):
        return text
    if _FULL_POSTCODE.match(text):
        first_part = text.split()[0] if " " in text else text[:-3]
        raise DistrictError(f"Enter only the first part of the postcode, like {first_part}")
    raise DistrictError(f"“{raw.strip()[:20]}” is not a postcode district. Enter districts like SY1, TF2 or SW1A")


def parse_districts(raw: str) -> list[str]:
    """Districts separated by commas, spaces or new lines, without duplicates, in order typed."""
    parts = [p for p in re.split(r"[\s,;]+", raw or "") if p]
    seen: list[str] = []
    for part in parts:
        district = normalise_district(part)
        if district not in seen:
            seen.append(district)
    return seen


@functools.lru_cache(maxsize=4096)  # search ranking asks for every district of every result
def district_area(district: str) -> str:
    """The postcode area of a district: its leading letters (SY for SY1, SW for SW1A, E for E1W).

    Markets for concentration and fair search are (postcode area, category): a district is too
    fine to have a real market, a whole council too coarse.
    """
    text = (district or "").strip().upper()
    end = 0
    while end < len(text) and text[end].isalpha():
        end += 1
    return text[:end]


def postcode_area(districts: Iterable[str]) -> str:
    """The postcode area most of a provider's districts are in ("" when they list none).

    Ties go to the alphabetically first area, so the answer is stable.
    """
    areas = Counter(area for d in districts if (area := district_area(d)))
    if not areas:
        return ""
    top = max(areas.values())
    return min(a for a, n in areas.items() if n == top)


WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, slots=True)
class Slot:
    weekday: int  # 0 = Monday
    start: time
    end: time

    def __str__(self) -> str:
        return f"{WEEKDAYS[self.weekday]} {self.start.strftime('%H:%M')} to {self.end.strftime('%H:%M')}"


def availability_problem(slots: list[Slot]) -> str | None:
    """Why a week of availability cannot be saved (a slot ending before it starts, or overlap)."""
    for slot in slots:
        if not 0 <= slot.weekday <= 6:
            return "Choose a day of the week"
        if slot.end <= slot.start:
            return f"{WEEKDAYS[slot.weekday]}: the end time must be after the start time"
    ordered = sorted(slots, key=lambda s: (s.weekday, s.start))
    for before, after in zip(ordered, ordered[1:], strict=False):
        if before.weekday == after.weekday and after.start < before.end:
            return f"{before} overlaps {after}. Change one of them so they do not overlap"
    return None


_SLOT_LINE = re.compile(
    r"^(?P<day>[a-z]+)\s+(?P<start>\d{1,2}[:.]\d{2})\s*(?:-|to|–)\s*(?P<end>\d{1,2}[:.]\d{2})$", re.I)


def _parse_time(text: str) -> time | None:
    hours, minutes = (int(x) for x in re.split(r"[:.]", text))
    if hours == 24 and minutes == 0:
        return time(23, 59)
    if not (0 <= hours <= 23 and 0 <= minutes <= 59):
        return None
    return time(hours, minutes)


def parse_slots(text: str) -> list[Slot]:
    """One slot per line, like 'Monday 09:00 to 12:30'. Raises ValueError with a plain message."""
    slots: list[Slot] = []
    days = {name.lower(): i for i, name in enumerate(WEEKDAYS)}
    days.update({name[:3].lower(): i for i, name in enumerate(WEEKDAYS)})
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        match = _SLOT_LINE.match(line)
        if not match or match["day"].lower() not in days:
            raise ValueError(f"Line {number} (“{line[:40]}”) is not in the format "
                             "‘Monday 09:00 to 12:30’")
        start, end = _parse_time(match["start"]), _parse_time(match["end"])
        if start is None or end is None:
            raise ValueError(f"Line {number}: enter times between 00:00 and 24:00")
        slots.append(Slot(days[match["day"].lower()], start, end))
    return slots


def format_slots(slots: list[Slot]) -> str:
    return "\n".join(f"{WEEKDAYS[s.weekday]} {s.start.strftime('%H:%M')} to {s.end.strftime('%H:%M')}"
                     for s in slots)
