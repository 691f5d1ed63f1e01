"""Concerns about providers: anyone raises one, a broker triages it, the reporter hears the outcome.

Raising files the `safeguarding_concern` rule's finding for it in the same transaction, so a
safeguarding concern suspends the provider's listings and holds their payouts at once (the
critical action, through the restrictions service) and a fraud concern makes new bookings wait.
The provider never learns who reported: the flag's explanation is built from the kind of
concern only, and nothing shown to the provider reads the reporter fields. Every step is
audited; each public function is one transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import case, func, select

from app import clock
from app.domain.access import Role
from app.domain.concerns import (
    MAX_REASON_LENGTH,
    OUTCOME_CLOSED,
    OUTCOME_REFERRED,
    ConcernError,
    ConcernKind,
    ConcernStatus,
    Harm,
    ReporterKind,
    check_concern,
)
from app.domain.flags import FlagStatus, Outcome
from app.domain.rules import model as facts
from app.domain.rules.safeguarding import repeated_complaints, safeguarding_concern
from app.errors import Conflict, InvalidInput, NotFound, NotPermitted
from app.extensions import db
from app.models import Booking, Concern, Conversation, Flag, ProviderProfile, User
from app.services import audit, council_settings, flags, notify, restrictions
from app.services import delegation as delegation_service
from app.services.market_snapshot import KIND_OF_TYPE
from app.signals import send_listing_changed

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
STAFF_ROLES = (Role.BROKER, Role.COUNCIL_ADMIN)


@dataclass(frozen=True)
class ConcernInput:
    """What the reporter typed; the contact fields are for the public (optional)."""

    kind: str
    harm: str | None
    details: str
    holder_id: int | None = None
    raised_from: str = ""
    reporter_name: str = ""
    reporter_email: str = ""
    reporter_phone: str = ""


# Who may report about which provider ---------------------------------------------------------

def _has_dealings(holder_id: int, profile_id: int) -> bool:
    booked = db.session.scalar(select(func.count(Booking.id)).where(
        Booking.holder_id == holder_id, Booking.provider_profile_id == profile_id))
    talked = db.session.scalar(select(func.count(Conversation.id)).where(
        Conversation.holder_id == holder_id, Conversation.provider_profile_id == profile_id))
    return bool(booked or talked)


def providers_of_holder(holder_id: int) -> list[ProviderProfile]:
    """Providers the holder has booked or written to, by name: what staff on the holder's page
    may raise a concern about in one click."""
    booked = select(Booking.provider_profile_id).where(Booking.holder_id == holder_id)
    talked = select(Conversation.provider_profile_id).where(Conversation.holder_id == holder_id)
    return list(db.session.scalars(select(ProviderProfile).where(
        ProviderProfile.id.in_(booked.union(talked))).order_by(ProviderProfile.display_name,
                                                                  ProviderProfile.id)))


def provider_for_concern(actor: User | None, profile_id: int,
                         holder_id: int | None = None) -> ProviderProfile:
    """The provider a concern may be raised about by this person, or NotFound.

    Anyone may report a provider the public can see; staff may report any provider; a holder's
    side may report a provider the holder has booked or written to, even once it is hidden.
    """
    from app.services.providers import is_public

    profile = db.session.get(ProviderProfile, profile_id)
    if profile is None:
        raise NotFound("We could not find that provider.")
    if is_public(profile):
        return profile
    if actor is not None and actor.role_enum in STAFF_ROLES:
        return profile
    if actor is not None and holder_id is not None and \
            delegation_service.grant_for(actor, holder_id) is not None and \
            _has_dealings(holder_id, profile_id):
        return profile
    raise NotFound("We could not find that provider.")


def _reporter(actor: User | None, holder_id: int | None,
              profile: ProviderProfile) -> tuple[ReporterKind, User | None]:
    """The kind of reporter and the holder the concern is about (checked against the actor)."""
    holder = None
    if holder_id is not None:
        holder = db.session.get(User, holder_id)
        if holder is None or holder.role_enum is not Role.HOLDER:
            raise NotFound("We could not find that person.")
        if actor is None or (actor.role_enum not in STAFF_ROLES and
                             delegation_service.grant_for(actor, holder.id) is None):
            raise NotFound("We could not find that person.")
    if actor is None:
        return ReporterKind.PUBLIC, None
    role = actor.role_enum
    if role is Role.HOLDER:
        return ReporterKind.HOLDER, holder or actor
    if role is Role.SUPPORTER:
        return ReporterKind.DELEGATE, holder
    if role is Role.PROVIDER:
        if profile.user_id == actor.id:
            raise InvalidInput("You cannot raise a concern about your own service. Talk to your "
                               "broker if something has gone wrong.", field="kind")
        return ReporterKind.PROVIDER, holder
    return ReporterKind.STAFF, holder


def _contact(data: ConcernInput, public: bool) -> tuple[str, str, str]:
    if not public:
        return "", "", ""
    name = (data.reporter_name or "").strip()
    email = (data.reporter_email or "").strip()
    phone = (data.reporter_phone or "").strip()
    if len(name) > 120:
        raise InvalidInput("Enter a name of 120 characters or fewer", field="reporter_name")
    if email and (len(email) > 254 or not _EMAIL.match(email)):
        raise InvalidInput("Enter an email address in the correct format, like "
                           "name@example.com", field="reporter_email")
    if len(phone) > 30 or (phone and not re.fullmatch(r"[0-9 +()-]{6,30}", phone)):
        raise InvalidInput("Enter a telephone number, like 01632 960 001", field="reporter_phone")
    return name, email, phone


# Raising ------------------------------------------------------------------------------------

def _fact(concern: Concern) -> facts.SafeguardingConcern:
    return facts.SafeguardingConcern(
        id=concern.id, provider_id=concern.provider_profile_id, raised_at=concern.created_at,
        summary=Harm(concern.harm).label.split(" (")[0] if concern.harm else "",
        open=concern.status == ConcernStatus.OPEN.value, kind=concern.kind,
        holder_id=concern.holder_id, reporter_user_id=concern.reporter_user_id,
        reporter_kind=concern.reporter_kind)


def _findings_for(concern: Concern, profile: ProviderProfile) -> list[facts.Finding]:
    """The findings the registered rules make of this concern (and of the provider's
    complaints, for repeated complaints), exactly as a later scan would file them."""
    settings = council_settings.current()
    provider = facts.Provider(profile.id, KIND_OF_TYPE[profile.type_enum], profile.display_name)
    as_of = concern.created_at + timedelta(seconds=1)
    found = safeguarding_concern(
        facts.MarketSnapshot(as_of=as_of, providers=(provider,), concerns=(_fact(concern),)),
        settings)
    if concern.kind == ConcernKind.COMPLAINT.value:
        complaints = db.session.scalars(select(Concern).where(
            Concern.provider_profile_id == profile.id,
            Concern.kind == ConcernKind.COMPLAINT.value)).all()
        found += repeated_complaints(facts.MarketSnapshot(
            as_of=as_of, providers=(provider,), concerns=tuple(_fact(c) for c in complaints)),
            settings)
    return found


def raise_concern(actor: User | None, profile_id: int, data: ConcernInput) -> Concern:
    """Record a concern, act on it at once by its kind, acknowledge the reporter, tell brokers.

    `actor` is None for a member of the public. Raises NotFound (provider or holder not for
    them), InvalidInput (field named).
    """
    profile = provider_for_concern(actor, profile_id, data.holder_id)
    try:
        kind, harm, details = check_concern(data.kind, data.harm, data.details)
    except ConcernError as err:
        raise InvalidInput(str(err), field=err.field) from None
    reporter_kind, holder = _reporter(actor, data.holder_id, profile)
    name, email, phone = _contact(data, reporter_kind is ReporterKind.PUBLIC)
    concern = Concern(
        provider_profile_id=profile.id, kind=kind.value, harm=harm.value if harm else None,
        details=details, holder_id=holder.id if holder else None,
        reporter_kind=reporter_kind.value, reporter_user_id=actor.id if actor else None,
        reporter_name=name, reporter_email=email, reporter_phone=phone,
        raised_from=(data.raised_from or "")[:40], status=ConcernStatus.OPEN.value,
        created_at=clock.now())
    db.session.add(concern)
    db.session.flush()
    # The reporter's words stay out of the audit log: they are in the concern, for brokers.
    audit.record(actor, "concern.raised", "concern", concern.id,
                 on_behalf_of=holder if holder is not None and actor is not None
                 and holder.id != actor.id else None,
                 details={"kind": concern.kind, "harm": concern.harm,
                          "provider_profile_id": profile.id, "reporter_kind": concern.reporter_kind,
                          "raised_from": concern.raised_from})
    filed = flags.file_findings(_findings_for(concern, profile))
    own = next((f for f in filed.flags if f.subject_kind == "concern"
                and f.subject_id == str(concern.id)), None)
    concern.flag_id = own.id if own is not None else None
    for broker in db.session.scalars(select(User).where(
            User.role == Role.BROKER.value, User.active.is_(True)).order_by(User.id)):
        notify.send(notify.Event.CONCERN_RAISED, broker,
                    link=flags.path_for("broker.concern", concern_id=concern.id),
                    context={"reference": concern.reference})
    _tell_reporter(concern, notify.Event.CONCERN_RECEIVED)
    db.session.commit()
    flags.after_filing(filed)
    return concern


def _tell_reporter(concern: Concern, event: notify.Event) -> None:
    """Acknowledge or tell the outcome: in their inbox, or by email for the public who left one."""
    if concern.reporter is not None:
        notify.send(event, concern.reporter,
                    link=flags.path_for("account.concern", concern_id=concern.id),
                    context={"reference": concern.reference})
    elif concern.reporter_email:
        notify.send(event, concern.reporter_email,
                    link=flags.path_for("public.concern_received"),
                    context={"reference": concern.reference})


# Reading ------------------------------------------------------------------------------------

def raised_by(user: User) -> list[Concern]:
    """The concerns this person raised, newest first (what they may know of each)."""
    return list(db.session.scalars(select(Concern).where(Concern.reporter_user_id == user.id)
                                   .order_by(Concern.created_at.desc(), Concern.id.desc())))


def raised_by_one(user: User, concern_id: int) -> Concern:
    concern = db.session.get(Concern, concern_id)
    if concern is None or concern.reporter_user_id != user.id:
        raise NotFound("We could not find that concern.")
    return concern


def _require_broker(actor: User) -> None:
    if actor.role_enum is not Role.BROKER:
        raise NotPermitted("Only a broker can triage concerns.")


def concerns_for_broker(actor: User, status: ConcernStatus | None) -> list[Concern]:
    """Concerns for triage: open first, safeguarding before fraud before complaints, oldest
    waiting first (the longest wait is the most urgent)."""
    _require_broker(actor)
    query = select(Concern)
    if status is not None:
        query = query.where(Concern.status == status.value)
    urgency = case({ConcernKind.SAFEGUARDING.value: 0, ConcernKind.FRAUD.value: 1},
                   value=Concern.kind, else_=2)
    opened = case((Concern.status == ConcernStatus.OPEN.value, 0), else_=1)
    return list(db.session.scalars(query.order_by(opened, urgency, Concern.created_at,
                                                  Concern.id).limit(200)))


def concern_for_broker(actor: User, concern_id: int) -> Concern:
    _require_broker(actor)
    concern = db.session.get(Concern, concern_id)
    if concern is None:
        raise NotFound("We could not find that concern.")
    return concern


def open_count() -> int:
    return db.session.scalar(select(func.count(Concern.id)).where(
        Concern.status == ConcernStatus.OPEN.value)) or 0


def others_about(concern: Concern) -> list[Concern]:
    """Other concerns about the same provider, for the broker's picture."""
    return list(db.session.scalars(select(Concern).where(
        Concern.provider_profile_id == concern.provider_profile_id, Concern.id != concern.id)
        .order_by(Concern.created_at.desc()).limit(20)))


# Triage -------------------------------------------------------------------------------------

def _flag_of(concern: Concern) -> Flag:
    """The concern's open flag; filed now if the council's settings only advised on it."""
    if concern.flag is not None:
        return concern.flag
    flag = Flag(rule="safeguarding_concern", severity="medium", subject_kind="concern",
                subject_id=str(concern.id), explanation=f"A concern ({concern.reference}) about "
                f"{concern.provider.display_name}.", evidence={"concern_id": concern.id},
                action="flag", provider_profile_id=concern.provider_profile_id,
                holder_id=concern.holder_id, status=FlagStatus.OPEN.value)
    db.session.add(flag)
    db.session.flush()
    concern.flag_id = flag.id
    return flag


def triage(broker: User, concern_id: int, *, decision: str, reason: str,
           lift: bool = False) -> Concern:
    """Refer a concern to the council's safeguarding team (Care Act s.42 is the council's
    enquiry) or close it with a reason, optionally lifting the provider's suspension. The
    reporter is told the outcome in fixed words; the reason stays with brokers.

    Raises NotPermitted, NotFound, Conflict (already triaged), InvalidInput (field named).
    """
    _require_broker(broker)
    concern = db.session.scalar(select(Concern).where(Concern.id == concern_id)
                                .with_for_update())
    if concern is None:
        raise NotFound("We could not find that concern.")
    if concern.status_enum is not ConcernStatus.OPEN:
        raise Conflict(f"This concern has already been triaged: "
                       f"{concern.status_enum.label.lower()}.")
    if decision not in ("refer", "close"):
        raise InvalidInput("Select whether to refer the concern or close it", field="decision")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Enter what you found and why you decided this", field="reason")
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidInput(f"Enter {MAX_REASON_LENGTH:,} characters or fewer", field="reason")
    flag = _flag_of(concern)
    hidden: list[int] = []
    now = clock.now()
    if decision == "refer":
        if flag.status_enum is FlagStatus.OPEN:
            shown, referral = flags.record_upholding(
                broker, flag, Outcome.REFER_SAFEGUARDING,
                reason="A broker has referred this to the council's safeguarding team.")
            hidden += shown
        else:
            referral = None
        if referral is None:
            referral = flags.refer_reviewed(broker, flag, reason)
        referral.summary = f"{concern.kind_enum.short} concern {concern.reference}.\n\n" \
                           f"What was reported: {concern.details}\n\nBroker: {reason}"
        concern.referral_id = referral.id
        concern.status = ConcernStatus.REFERRED.value
        concern.reporter_outcome = OUTCOME_REFERRED
        event = notify.Event.CONCERN_REFERRED
    else:
        if flag.status_enum is FlagStatus.OPEN:
            flags.record_dismissal(broker, flag, reason=reason)
        concern.status = ConcernStatus.CLOSED.value
        concern.reporter_outcome = OUTCOME_CLOSED
        event = notify.Event.CONCERN_CLOSED
    concern.triaged_by_id = broker.id
    concern.triaged_at = now
    concern.triage_reason = reason
    audit.record(broker, f"concern.{'referred' if decision == 'refer' else 'closed'}", "concern",
                 concern.id, details={"reason": reason, "flag": flag.reference, "lift": lift})
    lifted: list[int] = []
    if lift:
        lifted = restrictions.lift_in_transaction(broker, concern.provider_profile_id,
                                                  reason=f"{concern.reference}: {reason}")
    _tell_reporter(concern, event)
    db.session.commit()
    send_listing_changed(hidden + lifted)
    return concern


def suspended(profile_id: int) -> bool:
    return restrictions.listings_suspended(profile_id)


__all__ = ["ConcernInput", "STAFF_ROLES", "concern_for_broker", "concerns_for_broker",
           "open_count", "others_about", "provider_for_concern", "providers_of_holder",
           "raise_concern", "raised_by",
           "raised_by_one", "suspended", "triage"]
