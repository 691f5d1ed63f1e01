"""When a booking must wait for a broker, and the plain-English reasons each viewer is shown."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.domain.money_format import format_pence
from app.domain.settings import CouncilSettings


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """What the approval check needs to know about a proposed booking and the holder's budget."""

    total_pence: int
    category: str  # the spending category of the listing
    category_label: str
    plan_categories: frozenset[str]  # the categories agreed in the support plan
    available_pence: int  # available now, contingency included
    contingency_pence: int  # the part of available that is the contingency reserve
    weekly_budget_pence: int  # annual budget / 52
    rule_holds: tuple[str, ...] = ()  # explanations of brokerage findings that hold this booking
    weeks_spanned: int = 1  # first to last session, in started weeks (1 for a one-off)
    # What is held now, when less than the total: a weekly series holds only the sessions in the
    # funding horizon, so only that part can reach into the contingency.
    hold_now_pence: int | None = None


class ApprovalCode(StrEnum):
    """Why a booking waits for a broker, as a code: decisions use these, never the wording."""

    OUTSIDE_PLAN = "outside_plan"
    CONTINGENCY = "contingency"
    ABOVE_THRESHOLD = "above_threshold"
    ABOVE_WEEKLY_BUDGET = "above_weekly_budget"
    RULE_HOLD = "rule_hold"


@dataclass(frozen=True, slots=True)
class ApprovalReason:
    code: ApprovalCode
    text: str  # for people only


def approval_reasons(request: ApprovalRequest, settings: CouncilSettings) -> list[ApprovalReason]:
    """Why a broker must approve this booking first, coded; an empty list means it can go ahead.

    A booking costing more than the whole available balance is not a matter for approval: the
    service refuses it with InsufficientFunds before asking this.
    """
    reasons = []
    if request.category not in request.plan_categories:
        reasons.append(ApprovalReason(
            ApprovalCode.OUTSIDE_PLAN,
            f"{request.category_label} is not one of the spending categories agreed "
            "in your support plan."))
    spendable = request.available_pence - request.contingency_pence
    held = request.total_pence if request.hold_now_pence is None else request.hold_now_pence
    if held > spendable and held <= request.available_pence:
        reasons.append(ApprovalReason(
            ApprovalCode.CONTINGENCY,
            f"This booking would use {format_pence(held - spendable)} "
            "of your contingency reserve, which is kept back for emergencies."))
    weeks = settings.booking_approval_weeks_of_budget
    if request.weeks_spanned <= weeks:
        threshold = weeks * request.weekly_budget_pence
        if request.total_pence > threshold:
            reasons.append(ApprovalReason(
                ApprovalCode.ABOVE_THRESHOLD,
                f"This booking costs {format_pence(request.total_pence)}, more than "
                f"{weeks} weeks of your budget ({format_pence(threshold)})."))
    # A long repeating booking is paid as it goes: what matters is whether it costs more per
    # week than the budget gives, not that a year of support costs more than four weeks' money.
    elif request.total_pence > request.weeks_spanned * request.weekly_budget_pence:
        per_week = -(-request.total_pence // request.weeks_spanned)
        weekly = format_pence(request.weekly_budget_pence)
        reasons.append(ApprovalReason(
            ApprovalCode.ABOVE_WEEKLY_BUDGET,
            f"This repeating booking costs about {format_pence(per_week)} a week, "
            f"more than your weekly budget ({weekly})."))
    reasons.extend(ApprovalReason(ApprovalCode.RULE_HOLD, f"{RULE_HOLD_PREFIX}{why}")
                   for why in request.rule_holds)
    return reasons


def needs_broker_approval(request: ApprovalRequest, settings: CouncilSettings) -> list[str]:
    """The plain-English lines of approval_reasons (what the booking pages show)."""
    return [reason.text for reason in approval_reasons(request, settings)]


# A rule hold names an open flag, and a flag can be about the holder's own delegate or the
# provider (a message asking for money, say): telling them would warn a suspected abuser. So
# only brokers see rule holds; everyone else sees this one neutral line in their place.
RULE_HOLD_PREFIX = "A check on the booking needs a second look: "
NEUTRAL_HOLD = ("A broker needs to look at this booking before it goes ahead. You do not need "
                "to do anything: we will tell you when they have.")


def reasons_for(reasons: list[str], codes: list[str], *, broker: bool) -> list[str]:
    """The approval reasons a viewer may see: all of them for a broker; for anyone else the
    rule holds (by their code: stored ones too) become one NEUTRAL_HOLD, where the first of
    them was. `codes` are the reasons' ApprovalCode values, in the same order."""
    if broker:
        return list(reasons)
    if len(codes) != len(reasons):
        # Not knowing which line is a rule hold, show none of them rather than risk one.
        return [NEUTRAL_HOLD] if reasons else []
    shown: list[str] = []
    for reason, code in zip(reasons, codes, strict=True):
        if code == ApprovalCode.RULE_HOLD.value:
            reason = NEUTRAL_HOLD
        if reason not in shown:
            shown.append(reason)
    return shown

