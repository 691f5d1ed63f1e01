"""Service agreements: which terms are fair to offer, and which version's rate is in force.

Lock-in is the harm (design.md, "Service agreements and fair terms"): a long notice to end,
an exit fee, cancellation charges beyond the listing's policy, prepayment beyond a few weeks
or exclusivity keep a person with a provider they would leave. Such terms are refused when
offered, each with a code (decisions read codes) and a plain sentence (people read those),
so they never reach a holder. A rate rise is a new version with notice: existing clients keep
the rate they accepted until they accept the new one or the notice runs out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from app.domain.money_format import format_pence
from app.domain.settings import CouncilSettings

RATE_UNITS = ("hour", "session", "day")
UNIT_WORDS = {"hour": "per hour", "session": "per session", "day": "per day"}


class VersionStatus(StrEnum):
    OFFERED = "offered"
    ACCEPTED = "accepted"
    CHANGES_REQUESTED = "changes_requested"
    SUPERSEDED = "superseded"
    LAPSED = "lapsed"


@dataclass(frozen=True, slots=True)
class Terms:
    """What a provider offers. Money in pence; times in minutes, hours and days as named."""

    services: str
    schedule: str
    rate_pence: int
    rate_unit: str | None
    minimum_minutes: int
    cancellation_notice_hours: int
    cancellation_charge_pence: int
    notice_days: int
    complaints: str
    bank_holiday_rate_pence: int | None = None
    exit_fee_pence: int = 0
    prepayment_weeks: int = 0
    exclusive: bool = False


@dataclass(frozen=True, slots=True)
class Refusal:
    code: str  # what decisions read
    field: str  # the form field it is about
    message: str  # what people read


@dataclass(frozen=True, slots=True)
class ListingPolicy:
    """The listing's own terms, which an agreement may not make harsher: its cancellation
    policy, and (when given) the unit it is priced by and its minimum billed minutes."""

    notice_hours: int
    charge_pence: int
    unit: str | None = None
    minimum_minutes: int | None = None


def unfair_terms(terms: Terms, settings: CouncilSettings, policy: ListingPolicy) -> list[Refusal]:
    """Every reason these terms may not be offered (empty when they are fair)."""
    refusals: list[Refusal] = []
    if terms.rate_unit not in RATE_UNITS:
        refusals.append(Refusal("rate_without_unit", "rate_unit",
                                "Say what the rate is for: an hour, a session or a day"))
    elif policy.unit is not None and terms.rate_unit != policy.unit:
        # Sessions are priced by the listing's unit: a rate for another unit would not be what
        # the person is charged.
        refusals.append(Refusal("rate_unit_not_listings", "rate_unit",
                                f"Give the rate {UNIT_WORDS.get(policy.unit, policy.unit)}, as your listing is priced"))
    if terms.rate_pence <= 0:
        refusals.append(Refusal("rate_missing", "rate", "Enter the rate, like 16.50"))
    if terms.bank_holiday_rate_pence is not None and terms.bank_holiday_rate_pence < terms.rate_pence:
        refusals.append(Refusal("bank_holiday_rate_below_rate", "bank_holiday_rate",
                                "A bank holiday rate cannot be lower than the usual rate. Leave it "
                                "empty to charge the usual rate"))
    if terms.notice_days > settings.agreement_max_notice_days:
        refusals.append(Refusal("notice_too_long", "notice_days",
                                f"The council allows at most {settings.agreement_max_notice_days} "
                                "days' notice to end an agreement, so that nobody is kept with a "
                                "provider they want to leave"))
    if terms.exit_fee_pence > 0:
        refusals.append(Refusal("exit_fee", "exit_fee",
                                "An agreement cannot charge a fee for ending it"))
    if terms.cancellation_charge_pence > policy.charge_pence:
        refusals.append(Refusal("cancellation_charge_beyond_policy", "cancellation_charge",
                                "The cancellation charge cannot be more than your listing's, "
                                f"{format_pence(policy.charge_pence)}"))
    if terms.cancellation_notice_hours > max(policy.notice_hours, 0) or \
            terms.cancellation_notice_hours > settings.agreement_max_cancellation_notice_hours:
        limit = min(policy.notice_hours, settings.agreement_max_cancellation_notice_hours)
        refusals.append(Refusal("cancellation_notice_beyond_policy", "cancellation_notice_hours",
                                f"Free cancellation must be possible with {limit} hours' notice or "
                                "less, as on your listing and within the council's limit"))
    if terms.prepayment_weeks > settings.agreement_max_prepayment_weeks:
        refusals.append(Refusal("prepayment_too_long", "prepayment_weeks",
                                f"The council allows payment in advance for at most "
                                f"{settings.agreement_max_prepayment_weeks} weeks"))
    if terms.exclusive:
        refusals.append(Refusal("exclusivity", "exclusive",
                                "An agreement cannot stop the person using other providers"))
    if terms.minimum_minutes < 0 or terms.minimum_minutes > 24 * 60:
        refusals.append(Refusal("minimum_session", "minimum_minutes",
                                "Enter a minimum session length between 0 and 24 hours"))
    elif policy.minimum_minutes is not None and terms.minimum_minutes > policy.minimum_minutes:
        refusals.append(Refusal("minimum_beyond_listing", "minimum_minutes",
                                "The minimum session cannot be longer than your listing's, "
                                f"{policy.minimum_minutes} minutes"))
    if not terms.services.strip():
        refusals.append(Refusal("services_missing", "services", "Say what support the agreement covers"))
    if not terms.schedule.strip():
        refusals.append(Refusal("schedule_missing", "schedule", "Say the days and times of the support"))
    if not terms.complaints.strip():
        refusals.append(Refusal("complaints_missing", "complaints", "Say how the person can complain"))
    return refusals


def _holiday_rate(terms: Terms) -> int:
    return terms.rate_pence if terms.bank_holiday_rate_pence is None else terms.bank_holiday_rate_pence


def price_change_only(old: Terms, new: Terms) -> bool:
    """Whether `new` changes nothing but the prices (the usual rate, the bank holiday rate)."""
    return replace(new, rate_pence=old.rate_pence, bank_holiday_rate_pence=old.bank_holiday_rate_pence) == old


def earliest_effective(offered_at: datetime, old: Terms, new: Terms,
                       settings: CouncilSettings) -> datetime | None:
    """When a new version may apply to an existing client who has not accepted it, given the
    terms that apply now (`old`): a change of price alone applies, a rise (in the usual or the
    bank holiday rate) only after the notice the council requires, a fall at once. A version
    that changes anything else (cancellation, notice, schedule, minimum session, services...)
    applies only once the holder's side accepts it: None."""
    if not price_change_only(old, new):
        return None
    if new.rate_pence > old.rate_pence or _holiday_rate(new) > _holiday_rate(old):
        return offered_at + timedelta(days=settings.agreement_rate_change_notice_days)
    return offered_at


@dataclass(frozen=True, slots=True)
class VersionFacts:
    version: int
    status: str
    rate_pence: int
    effective_from: datetime | None


def in_force(versions: Sequence[VersionFacts], at: datetime) -> VersionFacts | None:
    """The version whose terms apply at `at`: the newest accepted one, unless a newer offered rate
    change has reached its effective date (the notice ran out), which then applies."""
    accepted = [v for v in versions if v.status == VersionStatus.ACCEPTED]
    current = max(accepted, key=lambda v: v.version) if accepted else None
    if current is None:
        return None
    due = [v for v in versions if v.status == VersionStatus.OFFERED and v.version > current.version
           and v.effective_from is not None and v.effective_from <= at]
    return max(due, key=lambda v: v.version) if due else current
