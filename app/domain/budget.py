"""Budget arithmetic in plain Python: plan categories, instalment periods, contingency and forecast."""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from app.domain.errors import Conflict, DomainError, InvalidInput
from app.domain.money import MAX_PENCE, Money


class Frequency(StrEnum):
    FOUR_WEEKLY = "four_weekly"
    MONTHLY = "monthly"

    @property
    def label(self) -> str:
        return {Frequency.FOUR_WEEKLY: "Every 4 weeks", Frequency.MONTHLY: "Every month"}[self]

    @property
    def per_year(self) -> int:
        return 13 if self is Frequency.FOUR_WEEKLY else 12


class FundingMode(StrEnum):
    DIRECT_PAYMENT = "direct_payment"
    COUNCIL_MANAGED = "council_managed"
    INDIVIDUAL_SERVICE_FUND = "individual_service_fund"
    THIRD_PARTY_MANAGED = "third_party_managed"

    @property
    def label(self) -> str:
        return {
            FundingMode.DIRECT_PAYMENT: "Direct payment",
            FundingMode.COUNCIL_MANAGED: "Managed by the council",
            FundingMode.INDIVIDUAL_SERVICE_FUND: "Individual service fund",
            FundingMode.THIRD_PARTY_MANAGED: "Managed account (third party)",
        }[self]


# The spending categories a support plan can agree (a council could extend this list).
CATEGORIES: dict[str, str] = {
    "personal_assistant": "Personal assistant",
    "personal_care": "Personal care at home",
    "community_activities": "Community and social activities",
    "day_opportunities": "Day opportunities",
    "respite": "Short breaks and respite",
    "transport": "Transport",
    "equipment": "Equipment and technology",
    "mental_health_support": "Mental health support",
    "other": "Other agreed support",
}


def category_label(code: str | None) -> str:
    if code is None:
        return ""
    return CATEGORIES.get(code, code.replace("_", " ").capitalize())


def budget_end(start: date) -> date:
    """A budget runs for one year: the day before the anniversary of its start."""
    try:
        anniversary = start.replace(year=start.year + 1)
    except ValueError:  # 29 February
        anniversary = start.replace(year=start.year + 1, day=28)
    return anniversary - timedelta(days=1)


EARLIEST_START = date(2015, 1, 1)
MAX_CONTINGENCY_WEEKS = 26


def new_budget_refusals(annual_pence: object, start_date: date | None, frequency: str, funding_mode: str,
                        contingency_weeks: int | None, contingency_pence: int | None, *,
                        others: Iterable[tuple[date, date]], today: date,
                        holder_name: str = "This holder") -> list[DomainError]:
    """Every reason a new budget cannot be set up, in the order a form shows them (empty: it can).

    One list for the Budgets screen and API (which raise the first) and the bulk import (which
    reports them all), so a file and a form refuse exactly the same budgets. `others` are the
    holder's existing budgets as (start, end) dates.
    """
    refusals: list[DomainError] = []
    amount_ok = isinstance(annual_pence, int) and not isinstance(annual_pence, bool) \
        and 0 < annual_pence <= MAX_PENCE
    if not amount_ok:
        refusals.append(InvalidInput(f"Enter an annual amount between £0.01 and {Money(MAX_PENCE)}",
                                     field="annual_amount"))
    latest = today + timedelta(days=366)
    start_ok = start_date is not None and EARLIEST_START <= start_date <= latest
    if not start_ok:
        refusals.append(InvalidInput(f"Enter a start date between {EARLIEST_START:%-d %B %Y} and "
                                     f"{latest:%-d %B %Y}", field="start_date"))
    if frequency not in {f.value for f in Frequency}:
        refusals.append(InvalidInput("Choose how often instalments are paid: "
                                     + " or ".join(f.value for f in Frequency), field="frequency"))
    if funding_mode not in {m.value for m in FundingMode}:
        refusals.append(InvalidInput("Choose how the budget is managed: "
                                     + ", ".join(m.value for m in FundingMode), field="funding_mode"))
    if (contingency_weeks is None) == (contingency_pence is None):
        refusals.append(InvalidInput("Enter the contingency reserve as weeks or as an amount, not both",
                                     field="contingency_weeks"))
    elif contingency_weeks is not None and not 0 <= contingency_weeks <= MAX_CONTINGENCY_WEEKS:
        refusals.append(InvalidInput(f"Enter between 0 and {MAX_CONTINGENCY_WEEKS} weeks",
                                     field="contingency_weeks"))
    elif contingency_pence is not None and amount_ok and not 0 <= contingency_pence <= annual_pence:  # type: ignore[operator]
        refusals.append(InvalidInput("The contingency reserve cannot be more than the annual amount",
                                     field="contingency_amount"))
    if start_ok and start_date is not None:
        end = budget_end(start_date)
        for other_start, other_end in sorted(others):
            if other_start <= end and start_date <= other_end:
                refusals.append(Conflict(f"{holder_name} already has a budget from {other_start:%-d %B %Y} "
                                         f"to {other_end:%-d %B %Y}. Budgets cannot overlap.",
                                         field="start_date"))
                break
    return refusals


def add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def instalment_dates(start: date, frequency: Frequency) -> list[date]:
    """When each instalment is due over the budget year."""
    end = budget_end(start)
    if frequency is Frequency.FOUR_WEEKLY:
        dates = [start + timedelta(weeks=4 * i) for i in range(frequency.per_year)]
    else:
        dates = [add_months(start, i) for i in range(frequency.per_year)]
    return [d for d in dates if d <= end]


def instalment_amounts(annual_pence: int, count: int) -> list[int]:
    """Split the annual amount into whole-pence instalments that add up exactly."""
    base, extra = divmod(annual_pence, count)
    return [base + (1 if i < extra else 0) for i in range(count)]


def current_period(start: date, frequency: Frequency, today: date) -> tuple[date, date]:
    """The instalment period containing `today` (clamped to the budget year)."""
    dates = instalment_dates(start, frequency)
    end = budget_end(start)
    today = min(max(today, start), end)
    begin = max(d for d in dates if d <= today)
    later = [d for d in dates if d > begin]
    return begin, (later[0] - timedelta(days=1)) if later else end


def contingency_target(annual_pence: int, weeks: int | None, amount_pence: int | None) -> int:
    """The reserve to keep back: a fixed amount, or `weeks` of average planned spend."""
    if amount_pence is not None:
        return amount_pence
    return (annual_pence * (weeks or 0)) // 52


def contingency_share(instalment_pence: int, annual_pence: int, target: int, held_back: int) -> int:
    """How much of one instalment to keep back: the reserve builds up in step with the money."""
    if target <= 0 or annual_pence <= 0:
        return 0
    share = -(-target * instalment_pence // annual_pence)  # round up, so the reserve fills
    return max(0, min(share, target - held_back, instalment_pence))


def format_day(day: date) -> str:
    return f"{day.day} {day.strftime('%B')}" + (f" {day.year}" if day.year != date.today().year else "")


@dataclass(frozen=True)
class Forecast:
    lasts_until: date | None
    unspent_at_end: int  # pence; 0 when the money runs out first
    runs_out: bool
    messages: list[str]


def forecast(*, annual_pence: int, start: date, today: date, used_pence: int) -> Forecast:
    """Project the spending so far (spent and held) to the end of the budget year.

    Plain straight-line rate: people can check it in their heads, and it errs on neither side.
    """
    end = budget_end(start)
    days_total = (end - start).days + 1
    days_gone = max(1, min((today - start).days + 1, days_total))
    if used_pence <= 0:
        return Forecast(None, annual_pence, False, [
            "You have not spent anything from this budget yet.",
            f"If nothing is spent, {Money(annual_pence)} would be left unspent at the end of the "
            "year, which the council may take back.",
        ])
    projected = used_pence * days_total // days_gone
    left = annual_pence - used_pence
    if projected > annual_pence:
        days_left = left * days_gone // used_pence if left > 0 else 0
        until = min(today, end) + timedelta(days=days_left)
        return Forecast(until, 0, True, [
            f"At this rate your money lasts until {format_day(until)}, before the budget year "
            f"ends on {format_day(end)}.",
            "Talk to your broker if you think you need more support than your plan allows.",
        ])
    unspent = annual_pence - projected
    messages = [f"At this rate your money lasts until the end of the budget year on {format_day(end)}."]
    if unspent >= 100:
        messages.append(f"You are on course to leave {Money(unspent - unspent % 100)} unspent, "
                        "which the council may take back.")
    return Forecast(None, unspent, False, messages)


def plan_line(annual_pence: int, start: date, day: date) -> int:
    """Where cumulative spending would be on `day` if it kept exactly to the plan."""
    end = budget_end(start)
    days_total = (end - start).days + 1
    gone = min(max((day - start).days + 1, 0), days_total)
    return annual_pence * gone // days_total
