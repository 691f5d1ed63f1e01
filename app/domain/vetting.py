"""Vetting rules: provider types, check kinds, which checks a listing needs, and whether it is live.

Pure Python: services turn stored evidence into `Evidence` values and ask `listing_visibility`.
A check counts only while it is verified and in date; an enhanced DBS certificate also stops
counting once it is older than the council's maximum age, unless the provider subscribes to
the DBS Update Service (then the broker can check it online at any time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Protocol

from app.domain.listings import Category


class ProviderType(StrEnum):
    SELF_EMPLOYED_PA = "self_employed_pa"
    EMPLOYED_PA = "employed_pa"
    HOME_CARE_AGENCY = "home_care_agency"
    COMMUNITY_ORGANISATION = "community_organisation"
    GROUP_ACTIVITY = "group_activity"

    @property
    def label(self) -> str:
        return {
            ProviderType.SELF_EMPLOYED_PA: "Self-employed personal assistant",
            ProviderType.EMPLOYED_PA: "Personal assistant looking to be employed by the person",
            ProviderType.HOME_CARE_AGENCY: "Home care agency",
            ProviderType.COMMUNITY_ORGANISATION: "Community organisation or micro-enterprise",
            ProviderType.GROUP_ACTIVITY: "Group activity organiser",
        }[self]

    @property
    def is_pa(self) -> bool:
        return self in (ProviderType.SELF_EMPLOYED_PA, ProviderType.EMPLOYED_PA)


class CheckKind(StrEnum):
    DBS = "dbs"
    CQC = "cqc"
    INSURANCE = "insurance"
    REFERENCE = "reference"
    RIGHT_TO_WORK = "right_to_work"
    TRAINING = "training"

    @property
    def label(self) -> str:
        return {
            CheckKind.DBS: "Enhanced DBS check with the adults' barred list",
            CheckKind.CQC: "CQC registration",
            CheckKind.INSURANCE: "Public liability insurance",
            CheckKind.REFERENCE: "Reference",
            CheckKind.RIGHT_TO_WORK: "Right to work in the UK",
            CheckKind.TRAINING: "Training certificate",
        }[self]


class CheckStatus(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class ItemState(StrEnum):
    """Where a required check stands, as the provider's checklist shows it."""

    MISSING = "missing"
    PENDING = "pending"
    REJECTED = "rejected"
    EXPIRED = "expired"
    VERIFIED = "verified"

    @property
    def label(self) -> str:
        return {
            ItemState.MISSING: "Missing",
            ItemState.PENDING: "Waiting for a broker",
            ItemState.REJECTED: "Not accepted",
            ItemState.EXPIRED: "Expired",
            ItemState.VERIFIED: "Verified",
        }[self]


# Categories where someone works one-to-one with the person, often in their home.
_PERSONAL_CONTACT = frozenset({
    Category.PERSONAL_CARE, Category.HELP_AT_HOME, Category.GETTING_OUT, Category.SHORT_BREAKS,
    Category.TRANSPORT, Category.MONEY_MANAGEMENT,
})


def required_checks(provider_type: ProviderType, category: Category) -> dict[CheckKind, int]:
    """Which checks (and how many of each) a listing in this category needs from this provider.

    - Everyone working with adults who may be at risk needs an enhanced DBS with barred list.
    - CQC registration only for an agency providing personal care (design.md "Vetting"); a PA
      engaged directly by the person is not registered with CQC.
    - Public liability insurance for anyone trading; a PA employed by the holder is covered by
      the holder's employer's liability insurance instead.
    - Individuals (PAs) and community organisations give two references; PAs prove right to work.
    - PAs offering personal care show a training certificate (e.g. the Care Certificate).
    """
    needed: dict[CheckKind, int] = {CheckKind.DBS: 1}
    if provider_type is not ProviderType.EMPLOYED_PA:
        needed[CheckKind.INSURANCE] = 1
    if provider_type.is_pa or provider_type is ProviderType.COMMUNITY_ORGANISATION:
        needed[CheckKind.REFERENCE] = 2
    if provider_type.is_pa:
        needed[CheckKind.RIGHT_TO_WORK] = 1
        if category is Category.PERSONAL_CARE:
            needed[CheckKind.TRAINING] = 1
    if provider_type is ProviderType.HOME_CARE_AGENCY and category is Category.PERSONAL_CARE:
        needed[CheckKind.CQC] = 1
    if provider_type is ProviderType.GROUP_ACTIVITY and category in _PERSONAL_CONTACT:
        needed[CheckKind.REFERENCE] = 2
    return needed


class VettingSettings(Protocol):
    dbs_max_age_days_without_update_service: int


@dataclass(frozen=True, slots=True)
class Evidence:
    """One piece of evidence as the rules see it."""

    kind: CheckKind
    status: CheckStatus
    issued_on: date | None = None
    expires_on: date | None = None
    update_service: bool = False
    rejection_reason: str | None = None


def expired_reason(ev: Evidence, today: date, settings: VettingSettings) -> str | None:
    """Why this evidence no longer counts because of its age, or None if it is in date."""
    if ev.expires_on is not None and ev.expires_on < today:
        return f"{ev.kind.label} expired on {ev.expires_on.strftime('%-d %B %Y')}"
    if ev.kind is CheckKind.DBS and not ev.update_service and ev.issued_on is not None:
        limit = timedelta(days=settings.dbs_max_age_days_without_update_service)
        if today - ev.issued_on > limit:
            years = settings.dbs_max_age_days_without_update_service / 365
            return (f"{ev.kind.label} was issued on {ev.issued_on.strftime('%-d %B %Y')}: the "
                    f"council accepts certificates up to {years:g} years old unless you subscribe "
                    "to the DBS Update Service")
    return None


def runs_out_on(ev: Evidence, settings: VettingSettings) -> date | None:
    """The last day this evidence counts (`expired_reason` is None up to and including it), or
    None if it never runs out: the earlier of its expiry date and, for a DBS certificate without
    the Update Service, the day it becomes too old."""
    days: list[date] = [ev.expires_on] if ev.expires_on is not None else []
    if ev.kind is CheckKind.DBS and not ev.update_service and ev.issued_on is not None:
        days.append(ev.issued_on + timedelta(days=settings.dbs_max_age_days_without_update_service))
    return min(days) if days else None


@dataclass(frozen=True, slots=True)
class ExpiryWarning:
    """A required check that will stop counting soon: the listings go when it does."""

    kind: CheckKind
    runs_out_on: date
    days_left: int
    stage: int  # the warning threshold (days before) this warning belongs to, e.g. 30 or 7


def expiry_warnings(needed: dict[CheckKind, int], evidence: list[Evidence], today: date,
                    settings: VettingSettings, stages: tuple[int, ...]) -> list[ExpiryWarning]:
    """Required checks that stop being met within the largest of `stages` days, unless new
    evidence for them is already waiting for a broker (the provider has renewed: no nagging).

    A kind needing n pieces stops being met when the n-th longest-lasting good piece runs out.
    `stage` is the smallest threshold the days left fall within, so a job run daily sends one
    warning per stage (say a month before, then a week before), and a late first run sends one.
    """
    warnings = []
    for kind, count in needed.items():
        mine = [e for e in evidence if e.kind is kind]
        if any(e.status is CheckStatus.PENDING for e in mine):
            continue
        good = [e for e in mine
                if e.status is CheckStatus.VERIFIED and expired_reason(e, today, settings) is None]
        if len(good) < count:
            continue  # already not met: the expiry job hides and says so
        # Latest-lasting first; None (never runs out) sorts as the latest of all.
        lasting = sorted((runs_out_on(e, settings) for e in good),
                         key=lambda d: (d is None, d or today), reverse=True)
        last_day = lasting[count - 1]
        if last_day is None:
            continue
        days_left = (last_day - today).days
        within = [stage for stage in sorted(stages) if days_left <= stage]
        if within:
            warnings.append(ExpiryWarning(kind, last_day, days_left, within[0]))
    return sorted(warnings, key=lambda w: (w.runs_out_on, list(CheckKind).index(w.kind)))


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    kind: CheckKind
    needed: int
    verified: int
    state: ItemState
    reason: str

    @property
    def ok(self) -> bool:
        return self.state is ItemState.VERIFIED


def _item(kind: CheckKind, needed: int, evidence: list[Evidence], today: date,
          settings: VettingSettings) -> ChecklistItem:
    mine = [e for e in evidence if e.kind is kind]
    good = [e for e in mine if e.status is CheckStatus.VERIFIED and expired_reason(e, today, settings) is None]
    what = kind.label if needed == 1 else f"{needed} {kind.label.lower()}s"
    if len(good) >= needed:
        return ChecklistItem(kind, needed, len(good), ItemState.VERIFIED, f"{what}: verified")
    short = needed - len(good)
    pending = sum(1 for e in mine if e.status is CheckStatus.PENDING)
    if pending >= short:
        return ChecklistItem(kind, needed, len(good), ItemState.PENDING,
                             f"{what}: waiting for a broker to check the evidence")
    expired = [reason for e in mine if e.status is CheckStatus.VERIFIED
               and (reason := expired_reason(e, today, settings)) is not None]
    if expired:
        return ChecklistItem(kind, needed, len(good), ItemState.EXPIRED,
                             f"{expired[0]}. Renew it and send the new details")
    rejected = [e for e in mine if e.status is CheckStatus.REJECTED]
    if rejected:
        why = rejected[-1].rejection_reason or "no reason given"
        return ChecklistItem(kind, needed, len(good), ItemState.REJECTED,
                             f"{what}: not accepted ({why}). Send new evidence")
    if good or pending:
        return ChecklistItem(kind, needed, len(good), ItemState.MISSING,
                             f"{what}: {len(good)} verified and {pending} waiting, "
                             f"send {short - pending} more")
    return ChecklistItem(kind, needed, 0, ItemState.MISSING, f"{what}: missing")


def checklist(needed: dict[CheckKind, int], evidence: list[Evidence], today: date,
              settings: VettingSettings) -> list[ChecklistItem]:
    """One item per required check kind, in a stable order."""
    return [_item(kind, count, evidence, today, settings)
            for kind, count in sorted(needed.items(), key=lambda kv: list(CheckKind).index(kv[0]))]


def merge_requirements(*requirements: dict[CheckKind, int]) -> dict[CheckKind, int]:
    """Everything any of several listings needs (the provider's whole checklist)."""
    merged: dict[CheckKind, int] = {}
    for req in requirements:
        for kind, count in req.items():
            merged[kind] = max(merged.get(kind, 0), count)
    return merged


@dataclass(frozen=True, slots=True)
class Visibility:
    live: bool
    reasons: tuple[str, ...]


def listing_visibility(provider_type: ProviderType, category: Category, evidence: list[Evidence],
                       today: date, settings: VettingSettings) -> Visibility:
    """A listing is live only while every check its category needs is verified and in date."""
    items = checklist(required_checks(provider_type, category), evidence, today, settings)
    reasons = tuple(item.reason for item in items if not item.ok)
    return Visibility(live=not reasons, reasons=reasons)


CQC_NUMBER = re.compile(r"^1-\d{9,11}$")


def normalise_cqc_number(raw: str) -> str | None:
    """A CQC location or provider id such as 1-123456789, or None if it is not one."""
    value = raw.strip().replace(" ", "")
    return value if CQC_NUMBER.match(value) else None
