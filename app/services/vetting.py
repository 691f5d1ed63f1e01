"""Vetting: providers record evidence, brokers verify or reject it, and listings go live or are
hidden accordingly (`refresh_visibility`), including the daily expiry and warning jobs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app import clock
from app.domain.listings import Category
from app.domain.vetting import (
    CheckKind,
    ChecklistItem,
    CheckStatus,
    ExpiryWarning,
    checklist,
    expiry_warnings,
    listing_visibility,
    merge_requirements,
    normalise_cqc_number,
    required_checks,
)
from app.errors import Conflict, InvalidInput, NotFound, NotPermitted
from app.extensions import db
from app.models import AuditEvent, Listing, ProviderProfile, User, VettingCheck
from app.services import audit, council_settings
from app.services.restrictions import listings_suspended
from app.signals import send_listing_changed


def today() -> date:
    return date.today()


def _settings():
    return council_settings.current()


@dataclass(frozen=True)
class EvidenceInput:
    kind: CheckKind
    reference: str
    details: str = ""
    issued_on: date | None = None
    expires_on: date | None = None
    update_service: bool = False


# What the provider must tell us for each kind of evidence (field -> message if missing).
_REFERENCE_LABEL = {
    CheckKind.DBS: "Enter the 12-digit DBS certificate number",
    CheckKind.CQC: "Enter the CQC registration number, like 1-123456789",
    CheckKind.INSURANCE: "Enter the insurance policy number",
    CheckKind.REFERENCE: "Enter the referee's full name",
    CheckKind.RIGHT_TO_WORK: "Enter your share code or the document you showed",
    CheckKind.TRAINING: "Enter the name of the course or qualification",
}


def _check_evidence(data: EvidenceInput, on: date) -> str:
    reference = data.reference.strip()
    if not reference:
        raise InvalidInput(_REFERENCE_LABEL[data.kind], field="reference")
    if len(reference) > 120:
        raise InvalidInput("Enter 120 characters or fewer", field="reference")
    if data.kind is CheckKind.DBS:
        digits = reference.replace(" ", "")
        if not (digits.isdigit() and len(digits) == 12):
            raise InvalidInput("A DBS certificate number is 12 digits, like 001234567890",
                               field="reference")
        reference = digits
        if data.issued_on is None:
            raise InvalidInput("Enter the date the certificate was issued", field="issued_on")
    if data.kind is CheckKind.CQC:
        cqc = normalise_cqc_number(reference)
        if cqc is None:
            raise InvalidInput("Enter a CQC number in the format 1-123456789 (1, a dash, then 9 to "
                               "11 digits)", field="reference")
        reference = cqc
    if data.kind is CheckKind.INSURANCE and data.expires_on is None:
        raise InvalidInput("Enter the date the insurance ends", field="expires_on")
    if data.kind is CheckKind.REFERENCE and not data.details.strip():
        raise InvalidInput("Enter how we can contact the referee (phone or email) and how they "
                           "know you", field="details")
    if data.kind is CheckKind.TRAINING and data.issued_on is None:
        raise InvalidInput("Enter the date you completed the training", field="issued_on")
    if data.issued_on is not None and data.issued_on > on:
        raise InvalidInput("The issue date must be today or in the past", field="issued_on")
    if data.expires_on is not None and data.expires_on < on:
        raise InvalidInput("This has already expired. Send evidence that is in date",
                           field="expires_on")
    if data.issued_on and data.expires_on and data.expires_on <= data.issued_on:
        raise InvalidInput("The expiry date must be after the issue date", field="expires_on")
    if len(data.details) > 2000:
        raise InvalidInput("Enter 2,000 characters or fewer", field="details")
    return reference


def record_evidence(actor: User, data: EvidenceInput, *, on: date | None = None) -> VettingCheck:
    """A provider sends one piece of evidence; it waits for a broker.

    `on` is the day it was received, for importing paper records (defaults to today).
    Raises NotFound (no profile yet), InvalidInput (field named).
    """
    from app.services.providers import require_profile

    profile = require_profile(actor)
    reference = _check_evidence(data, on or today())
    check = VettingCheck(
        profile_id=profile.id, kind=data.kind.value, status=CheckStatus.PENDING.value,
        reference=reference, details=data.details.strip(), issued_on=data.issued_on,
        expires_on=data.expires_on,
        update_service=data.update_service if data.kind is CheckKind.DBS else False,
    )
    db.session.add(check)
    db.session.flush()
    audit.record(actor, "vetting.evidence_recorded", "vetting_check", check.id,
                 details={"kind": data.kind.value, "profile_id": profile.id})
    db.session.commit()
    return check


def checks_of(profile: ProviderProfile) -> list[VettingCheck]:
    return list(db.session.scalars(
        select(VettingCheck).where(VettingCheck.profile_id == profile.id)
        .order_by(VettingCheck.submitted_at.desc(), VettingCheck.id.desc())))


def requirements_of(profile: ProviderProfile) -> dict[CheckKind, int]:
    """Everything the provider's listings need; before any listing, what any listing would need."""
    categories = {listing.category_enum for listing in profile.listings} or {Category.ADVOCACY}
    return merge_requirements(*(required_checks(profile.type_enum, c) for c in categories))


def checklist_for(profile: ProviderProfile, on: date | None = None) -> list[ChecklistItem]:
    evidence = [c.as_evidence() for c in checks_of(profile)]
    return checklist(requirements_of(profile), evidence, on or today(), _settings())


def running_out_for(profile: ProviderProfile, on: date | None = None) -> list[ExpiryWarning]:
    """Required checks that run out within the council's longest warning period (for the page)."""
    evidence = [c.as_evidence() for c in checks_of(profile)]
    return expiry_warnings(requirements_of(profile), evidence, on or today(), _settings(),
                           tuple(_settings().vetting_warning_days))


SUSPENDED_REASON = "Suspended by a broker while a concern is reviewed"


def refresh_visibility(profile: ProviderProfile, *, actor: User | None = None,
                       on: date | None = None) -> list[int]:
    """Recompute `is_live` for each listing of the profile. Joins the caller's transaction.

    Returns the ids of listings whose live state changed (the caller signals after commit).
    """
    # No autoflush: a listing just withdrawn may still be flagged live until the loop below.
    with db.session.no_autoflush:
        evidence = [c.as_evidence() for c in checks_of(profile)]
        # A broker's suspension after a flag hides every listing whatever the vetting says.
        suspended = listings_suspended(profile.id)
    changed: list[int] = []
    for listing in profile.listings:
        verdict = listing_visibility(profile.type_enum, listing.category_enum, evidence,
                                     on or today(), _settings())
        live = listing.published and verdict.live and not suspended
        if live != listing.is_live:
            listing.is_live = live
            changed.append(listing.id)
            reasons = list(verdict.reasons) + ([SUSPENDED_REASON] if suspended else [])
            audit.record(actor, "listing.shown" if live else "listing.hidden", "listing",
                         listing.id, details={"reasons": reasons if not live else [],
                                              "published": listing.published})
    return changed


def queue() -> list[VettingCheck]:
    """Evidence waiting for a broker, oldest first."""
    return list(db.session.scalars(
        select(VettingCheck).where(VettingCheck.status == CheckStatus.PENDING.value)
        .options(selectinload(VettingCheck.profile))
        .order_by(VettingCheck.submitted_at, VettingCheck.id)))


def decide(broker: User, check_id: int, *, approve: bool, reason: str = "",
           on: date | None = None) -> VettingCheck:
    """A broker verifies or rejects one piece of evidence (a rejection needs a reason).

    `on` is the day of the decision, for importing past decisions (defaults to today).

    Raises NotPermitted (not a broker), NotFound, Conflict (already decided), InvalidInput.
    """
    from app.domain.access import Role

    if broker.role_enum is not Role.BROKER:
        raise NotPermitted("Only a broker can check vetting evidence.")
    check = db.session.get(VettingCheck, check_id)
    if check is None:
        raise NotFound("We could not find that evidence.")
    if check.status_enum is not CheckStatus.PENDING:
        raise Conflict("This evidence has already been checked.")
    from app.services import conflicts

    conflicts.refuse_if_conflicted(broker, check.profile_id, "check their vetting evidence")
    reason = (reason or "").strip()
    if not approve and not reason:
        raise InvalidInput("Enter a reason the provider will understand", field="reason")
    if len(reason) > 500:
        raise InvalidInput("Enter 500 characters or fewer", field="reason")
    check.status = (CheckStatus.VERIFIED if approve else CheckStatus.REJECTED).value
    check.rejection_reason = None if approve else reason
    check.verified_by_id = broker.id
    check.decided_at = clock.now()
    audit.record(broker, "vetting.verified" if approve else "vetting.rejected", "vetting_check",
                 check.id, details={"kind": check.kind, "profile_id": check.profile_id,
                                    "reason": reason})
    changed = refresh_visibility(check.profile, actor=broker, on=on)
    db.session.commit()
    send_listing_changed(changed)
    return check


@dataclass(frozen=True)
class ExpiryNotice:
    profile_id: int
    hidden_listing_ids: list[int]
    renew: list[str]  # plain-English reasons, for the page
    renew_kinds: list[str]  # CheckKind values, for the notice


def _profiles_with_live_listings() -> list[ProviderProfile]:
    return list(db.session.scalars(
        select(ProviderProfile).where(ProviderProfile.id.in_(
            select(Listing.profile_id).where(Listing.is_live.is_(True))))
        .options(selectinload(ProviderProfile.listings), selectinload(ProviderProfile.user))
        .order_by(ProviderProfile.id)).all())


def expire(on: date | None = None) -> list[ExpiryNotice]:
    """The daily job: hide listings whose checks expired (or whose DBS is too old) and tell each
    provider what to renew. Only listings that were live are looked at, so nobody is told twice.
    """
    from app.services import notify

    on = on or today()
    profiles = _profiles_with_live_listings()
    notices: list[ExpiryNotice] = []
    for profile in profiles:
        changed = refresh_visibility(profile, actor=None, on=on)
        if changed:
            missing = [item for item in checklist_for(profile, on) if not item.ok]
            notices.append(ExpiryNotice(profile.id, changed, [i.reason for i in missing],
                                        [i.kind.value for i in missing]))
    db.session.commit()
    for notice in notices:
        owner = db.session.get(ProviderProfile, notice.profile_id)
        if owner is not None:
            notify.vetting_expired(owner.user, notice.renew_kinds, on)
        send_listing_changed(notice.hidden_listing_ids)
    return notices


EXPIRY_WARNED = "vetting.expiry_warned"


@dataclass(frozen=True)
class ExpiryWarningSent:
    profile_id: int
    warning: ExpiryWarning


def _stages_warned(profile_id: int) -> set[tuple[str, str, int]]:
    """(check kind, runs-out date, stage) of every warning this provider has been sent."""
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == EXPIRY_WARNED, AuditEvent.subject_type == "provider_profile",
        AuditEvent.subject_id == str(profile_id)))
    return {(e.details["kind"], e.details["runs_out_on"], e.details["stage"]) for e in events}


def warn_before_expiry(on: date | None = None) -> list[ExpiryWarningSent]:
    """The daily job's other half: tell providers with live listings which required checks run
    out soon (by default a month and again a week before), so they can renew before their
    listings are hidden. Each stage is sent once per check and date, recorded in the audit log;
    a provider who has already sent new evidence is not warned.
    """
    from app.services import notify

    on = on or today()
    stages = tuple(_settings().vetting_warning_days)
    sent: list[ExpiryWarningSent] = []
    for profile in _profiles_with_live_listings():
        due = running_out_for(profile, on)
        if not due:
            continue
        warned = _stages_warned(profile.id)
        for warning in due:
            key = (warning.kind.value, warning.runs_out_on.isoformat())
            # A warning of this stage or a later (closer) one has gone: nothing new to say.
            if any((*key, stage) in warned for stage in stages if stage <= warning.stage):
                continue
            audit.record(None, EXPIRY_WARNED, "provider_profile", profile.id, details={
                "kind": warning.kind.value, "runs_out_on": warning.runs_out_on.isoformat(),
                "stage": warning.stage, "days_left": warning.days_left})
            sent.append(ExpiryWarningSent(profile.id, warning))
    db.session.commit()
    for item in sent:
        owner = db.session.get(ProviderProfile, item.profile_id)
        if owner is not None:
            notify.vetting_expiring(owner.user, item.warning.kind.value, item.warning.runs_out_on)
    return sent
