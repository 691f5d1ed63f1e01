"""Flags: filing rule findings for brokers (once), reviewing them, and the provider's response.

Filing joins the caller's transaction (a message send, a scan); the review functions are each
one transaction. Every step is audited. Outcomes only warn, hide, hold and refer (design.md's
legal line): nothing here changes who provides care or how.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import String, and_, case, cast, func, not_, or_, select

from app import clock, links
from app.domain.access import Role
from app.domain.errors import InvariantBroken
from app.domain.flags import (
    EFFECTS,
    IMMEDIATE,
    MAX_REASON_LENGTH,
    MAX_RESPONSE_LENGTH,
    FlagStatus,
    Known,
    Outcome,
    evidence_of,
    should_file,
)
from app.domain.messaging import RESTRICTED_SENDER_RULE, restricted_sender_finding
from app.domain.rules import Action, Finding, decide_action
from app.domain.rules.model import Severity
from app.errors import Conflict, InvalidInput, NotFound, NotPermitted
from app.extensions import db
from app.models import (
    Conversation,
    Flag,
    Listing,
    Message,
    ProviderProfile,
    ProviderRestriction,
    SafeguardingReferral,
    User,
)
from app.services import audit, notify
from app.services.restrictions import apply as apply_restriction
from app.signals import send_listing_changed


@dataclass
class Filed:
    """What filing some findings did, for the scan's summary and for signalling after commit."""

    flags: list[Flag] = field(default_factory=list)
    advice_only: int = 0  # findings the council's settings say only advise: not put on file
    already_on_file: int = 0
    hidden_listing_ids: list[int] = field(default_factory=list)


def path_for(endpoint: str, **values) -> str:
    """A path inside Carefair for a notification link, also outside a request (the scan job)."""
    return links.path_for(endpoint, **values)


def _profile_id(raw: object) -> int | None:
    try:
        profile_id = int(str(raw))
    except (TypeError, ValueError):
        return None
    return profile_id if db.session.get(ProviderProfile, profile_id) is not None else None


def _holder_id(raw: object) -> int | None:
    try:
        user = db.session.get(User, int(str(raw)))
    except (TypeError, ValueError):
        return None
    return user.id if user is not None and user.role_enum is Role.HOLDER else None


def _parties(finding: Finding) -> tuple[int | None, int | None]:
    """(provider profile id, holder id) a finding is about, where the subject tells us."""
    kind, ident = finding.subject.kind, finding.subject.id
    numbers = finding.numbers
    provider_id = _profile_id(numbers.get("provider_id")) if "provider_id" in numbers else None
    holder_id = _holder_id(numbers.get("holder_id")) if "holder_id" in numbers else None
    if kind == "provider":
        provider_id = _profile_id(ident)
    elif kind == "listing":
        listing = db.session.get(Listing, int(ident))
        provider_id = listing.profile_id if listing is not None else provider_id
    elif kind == "message":
        message = db.session.get(Message, int(ident))
        if message is not None:
            provider_id = message.conversation.provider_profile_id
            holder_id = message.conversation.holder_id
    elif kind == "holder":
        holder_id = _holder_id(ident)
    # A concern's flag names its provider and holder in its numbers (handled above).
    return provider_id, holder_id


def file_findings(findings: list[Finding], *, digest: bool = False) -> Filed:
    """File each finding as an open flag unless it is on file already. Joins the caller's
    transaction; the caller commits, then calls `after_filing` to tell search.

    Brokers are told of each flag as it is filed (a message, a concern: one at a time), or with
    `digest` (the scan, which may file hundreds at once) by one notice each naming how many."""
    from app.services.council_settings import current

    settings = current()
    result = Filed()
    for finding in findings:
        action = decide_action(finding, settings)
        if action is Action.ADVISE:
            result.advice_only += 1
            continue
        subject_id = str(finding.subject.id)
        known = db.session.scalars(select(Flag).where(
            Flag.rule == finding.rule, Flag.subject_kind == finding.subject.kind,
            Flag.subject_id == subject_id)).all()
        if not should_file(finding, [Known(f.status_enum, f.evidence) for f in known]):
            result.already_on_file += 1
            continue
        provider_id, holder_id = _parties(finding)
        flag = Flag(rule=finding.rule, severity=finding.severity.value,
                    subject_kind=finding.subject.kind, subject_id=subject_id,
                    explanation=finding.explanation, evidence=evidence_of(finding),
                    action=action.value, provider_profile_id=provider_id, holder_id=holder_id,
                    status=FlagStatus.OPEN.value)
        db.session.add(flag)
        db.session.flush()
        audit.record(None, "flag.raised", "flag", flag.id,
                     details={"rule": flag.rule, "severity": flag.severity,
                              "subject": f"{flag.subject_kind}:{flag.subject_id}",
                              "action": flag.action})
        effects = IMMEDIATE.get(action)
        if effects is not None and flag.provider is not None:
            # A critical finding restricts the provider at once, pending a broker's review.
            result.hidden_listing_ids.extend(
                apply_restriction(flag.provider, effects, actor=None, flag=flag))
        if not digest:
            _tell_brokers(flag)
        result.flags.append(flag)
    if digest and result.flags:
        _tell_brokers_once(result.flags)
    return result


def after_filing(filed: Filed) -> None:
    """After the filing transaction has committed: tell search about hidden listings."""
    send_listing_changed(filed.hidden_listing_ids)


def _brokers() -> list[User]:
    return list(db.session.scalars(select(User).where(User.role == Role.BROKER.value,
                                                      User.active.is_(True)).order_by(User.id)))


def _tell_brokers(flag: Flag) -> None:
    link = path_for("broker.flag", flag_id=flag.id)
    for broker in _brokers():
        notify.send(notify.Event.FLAG_RAISED, broker, link=link,
                    context={"reference": flag.reference})


def _tell_brokers_once(filed: list[Flag]) -> None:
    link = path_for("broker.flags")
    for broker in _brokers():
        notify.send(notify.Event.FLAGS_RAISED_BY_SCAN, broker, link=link,
                    context={"count": len(filed), "reference": filed[-1].reference})


# Reading -------------------------------------------------------------------------------------

PER_PAGE = 50


def flags_matching(status: FlagStatus | None, severity: Severity | None, *,
                   page: int = 1) -> tuple[list[Flag], int]:
    """Flags for the console, most severe and newest first, with the total for paging."""
    query = select(Flag)
    if status is not None:
        query = query.where(Flag.status == status.value)
    if severity is not None:
        query = query.where(Flag.severity == severity.value)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rank = {s.value: i for i, s in enumerate(reversed(list(Severity)))}
    order = case(rank, value=Flag.severity, else_=len(rank))
    rows = db.session.scalars(query.order_by(order, Flag.created_at.desc(), Flag.id.desc())
                              .limit(PER_PAGE).offset((max(page, 1) - 1) * PER_PAGE)).all()
    return list(rows), total


def get_flag(flag_id: int) -> Flag:
    flag = db.session.get(Flag, flag_id)
    if flag is None:
        raise NotFound("We could not find that flag.")
    return flag


def referrals_of(flag: Flag) -> list[SafeguardingReferral]:
    return list(db.session.scalars(select(SafeguardingReferral)
                                   .where(SafeguardingReferral.flag_id == flag.id)
                                   .order_by(SafeguardingReferral.id)))


# Reviewing ----------------------------------------------------------------------------------

def _open_flag_for(broker: User, flag_id: int) -> Flag:
    if broker.role_enum is not Role.BROKER:
        raise NotPermitted("Only a broker can review flags.")
    # Locked, then re-read: two brokers deciding at once must not both decide (one would keep
    # the held messages back while the other delivers them).
    flag = db.session.scalar(select(Flag).where(Flag.id == flag_id).with_for_update()
                             .execution_options(populate_existing=True))
    if flag is None:
        raise NotFound("We could not find that flag.")
    if flag.status_enum is not FlagStatus.OPEN:
        raise Conflict(f"This flag has already been {flag.status_enum.label.lower()}.")
    _refuse_a_broker_who_may_not_decide(broker, flag)
    if flag.subject_kind == "concern":
        # Deciding here would leave the concern open and its reporter never told the outcome.
        raise Conflict("Decide this on the concern's own page: referring or closing it there "
                       "tells the person who raised it what happened.")
    return flag


def why_broker_cannot_decide(broker: User, flag: Flag) -> str | None:
    """The plain reason this broker may not uphold or dismiss the flag (their own work, or a
    provider they declared a conflict with), or None: the flag page shows it instead of the
    forms, rather than forms that are refused when sent."""
    try:
        _refuse_a_broker_who_may_not_decide(broker, flag)
    except NotPermitted as err:
        return err.message
    return None


def _refuse_a_broker_who_may_not_decide(broker: User, flag: Flag) -> None:
    # Nobody reviews their own case: a flag about a broker's own arranging (steering, a
    # conflict), or about a provider they declared a conflict of interest with, is another
    # broker's to decide.
    if flag.subject_kind == "broker" and flag.subject_id == str(broker.id):
        raise NotPermitted("This flag is about your own work, so another broker must review it.")
    if flag.provider_profile_id is not None:
        from app.services import conflicts

        conflicts.refuse_if_conflicted(broker, flag.provider_profile_id, "review flags about them")


def _reason(reason: str, message: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(message, field="reason")
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidInput(f"Enter {MAX_REASON_LENGTH:,} characters or fewer", field="reason")
    return reason


def dismiss(broker: User, flag_id: int, *, reason: str) -> Flag:
    """Close a flag as not a concern. Raises NotPermitted, NotFound, Conflict, InvalidInput."""
    flag = _open_flag_for(broker, flag_id)
    record_dismissal(broker, flag, reason=_reason(reason, "Enter why this is not a concern"))
    db.session.commit()
    return flag


def record_dismissal(broker: User, flag: Flag, *, reason: str) -> None:
    """Mark an open flag dismissed, audited. Joins the caller's transaction."""
    flag.status = FlagStatus.DISMISSED.value
    flag.reason = reason
    flag.reviewed_by_id = broker.id
    flag.reviewed_at = clock.now()
    audit.record(broker, "flag.dismissed", "flag", flag.id,
                 details={"rule": flag.rule, "reason": reason})
    _settle_held_messages(broker, flag, delivered=True)


def uphold(broker: User, flag_id: int, *, outcome: str, reason: str) -> Flag:
    """Uphold a flag with an outcome: warn, suspend listings, hold payouts or refer to
    safeguarding (which also suspends and holds). The provider is told and may respond.

    Raises NotPermitted, NotFound, Conflict, InvalidInput (field `outcome` or `reason`).
    """
    flag = _open_flag_for(broker, flag_id)
    try:
        chosen = Outcome(outcome)
    except ValueError:
        raise InvalidInput("Select what should happen", field="outcome") from None
    reason = _reason(reason, "Enter what you found, in words the provider will understand")
    hidden, _ = record_upholding(broker, flag, chosen, reason=reason)
    db.session.commit()
    send_listing_changed(hidden)
    return flag


def record_upholding(broker: User, flag: Flag, chosen: Outcome, *,
                     reason: str) -> tuple[list[int], SafeguardingReferral | None]:
    """Uphold an open flag, apply its effects and refer it where chosen. Joins the caller's
    transaction; returns the listing ids hidden (to signal after commit) and any referral."""
    effects = EFFECTS[chosen]
    provider = flag.provider
    if provider is None and (effects.suspend_listings or effects.hold_payouts) \
            and not effects.refer_safeguarding:
        raise InvalidInput("This flag is not about a provider, so there are no listings to "
                           "suspend or payouts to hold. Choose another outcome.", field="outcome")
    flag.status = FlagStatus.UPHELD.value
    flag.outcome = chosen.value
    flag.reason = reason
    flag.reviewed_by_id = broker.id
    flag.reviewed_at = clock.now()
    audit.record(broker, "flag.upheld", "flag", flag.id,
                 details={"rule": flag.rule, "outcome": chosen.value, "reason": reason})
    # The messages it held are kept back for good; their sender is told they were not delivered.
    _settle_held_messages(broker, flag, delivered=False)
    hidden: list[int] = []
    if provider is not None:
        hidden = apply_restriction(provider, effects, actor=broker, flag=flag)
        notify.send(notify.Event.FLAG_UPHELD, provider.user, link=path_for("provider.flags"),
                    context={"reference": flag.reference})
    referral = None
    if effects.refer_safeguarding:
        referral = SafeguardingReferral(
            flag_id=flag.id, provider_profile_id=flag.provider_profile_id,
            holder_id=flag.holder_id, referred_by_id=broker.id,
            summary=f"{flag.explanation}\n\nBroker: {reason}")
        db.session.add(referral)
        db.session.flush()
        audit.record(broker, "safeguarding.referred", "safeguarding_referral", referral.id,
                     details={"flag": flag.reference})
        for admin in db.session.scalars(select(User).where(
                User.role == Role.COUNCIL_ADMIN.value, User.active.is_(True))):
            notify.send(notify.Event.SAFEGUARDING, admin,
                        link=path_for("broker.flag", flag_id=flag.id),
                        context={"reference": referral.reference})
    return hidden, referral


def refer_reviewed(broker: User, flag: Flag, reason: str) -> SafeguardingReferral:
    """Refer a flag that was already reviewed (a concern triaged after its flag): the referral
    only, audited. Joins the caller's transaction."""
    referral = SafeguardingReferral(
        flag_id=flag.id, provider_profile_id=flag.provider_profile_id, holder_id=flag.holder_id,
        referred_by_id=broker.id, summary=reason)
    db.session.add(referral)
    db.session.flush()
    audit.record(broker, "safeguarding.referred", "safeguarding_referral", referral.id,
                 details={"flag": flag.reference})
    return referral


def release_restricted_messages(broker: User, profile_id: int, *, reason: str) -> None:
    """The provider's restriction was lifted: close the open flag that held their messages
    only for it (dismissed, with the lifting's reason), letting each message through unless
    another open flag still holds it. Joins the caller's transaction."""
    open_flags = db.session.scalars(select(Flag).where(
        Flag.rule == RESTRICTED_SENDER_RULE, Flag.provider_profile_id == profile_id,
        Flag.status == FlagStatus.OPEN.value).order_by(Flag.id).with_for_update()
        .execution_options(populate_existing=True)).all()
    for flag in open_flags:
        if flag.status_enum is not FlagStatus.OPEN:  # decided while we waited for the lock
            continue
        record_dismissal(broker, flag, reason=f"Restriction lifted: {reason}")


def _open_restricted_sender_flag(profile_id: int) -> Flag | None:
    return db.session.scalar(select(Flag).where(
        Flag.rule == RESTRICTED_SENDER_RULE, Flag.subject_kind == "provider",
        Flag.subject_id == str(profile_id), Flag.status == FlagStatus.OPEN.value))


def hold_for_restricted_sender(message: Message, provider: ProviderProfile) -> Filed | None:
    """A restricted provider's message waits under the one open flag that gathers everything
    they send while restricted: filed (and brokers told) with the first, joined by the rest,
    so the broker sees one case with the held messages listed. Joins the caller's transaction;
    the caller holds the message. None when the restriction was lifted by the time the lock
    was ours (a lift committed while this send waited): nothing holds the message then."""
    # Two sends at once must not file two flags: lock the provider's restriction row first,
    # and read it again under the lock.
    restriction = db.session.scalar(select(ProviderRestriction).where(
        ProviderRestriction.provider_profile_id == provider.id).with_for_update()
        .execution_options(populate_existing=True))
    if restriction is None or not (restriction.listings_suspended or restriction.payouts_held):
        return None
    flag = _open_restricted_sender_flag(provider.id)
    filed = Filed()
    if flag is None:
        filed = file_findings([restricted_sender_finding(provider.id, provider.display_name,
                                                         message.id)])
        flag = next((f for f in filed.flags if f.rule == RESTRICTED_SENDER_RULE), None)
        if flag is None:  # the rule's action floor (FLAG) and a new first message rule it out
            raise InvariantBroken("A restricted provider's message was held with no flag.")
    message.held_for_flag_id = flag.id
    return filed


def _messages_settled_by(flag: Flag) -> list[Message]:
    """The messages still waiting on this flag: the ones it gathered, or the message it is
    about (a message held for what it asks)."""
    about = Message.held_for_flag_id == flag.id
    if flag.subject_kind == "message" and str(flag.subject_id).isdigit():
        about = or_(about, Message.id == int(flag.subject_id))
    return list(db.session.scalars(select(Message).where(
        about, Message.held.is_(True), Message.not_delivered_at.is_(None)).order_by(Message.id)))


def _held_by_another_open_flag(message: Message, flag: Flag) -> bool:
    """A message held for what it asks and because its sender is restricted waits for both."""
    about_it = (Flag.subject_kind == "message") & (Flag.subject_id == str(message.id))
    gathered = Flag.id == message.held_for_flag_id if message.held_for_flag_id else None
    where = or_(about_it, gathered) if gathered is not None else about_it
    return bool(db.session.scalar(select(func.count()).select_from(Flag).where(
        where, Flag.id != flag.id, Flag.status == FlagStatus.OPEN.value)))


def _settle_held_messages(broker: User, flag: Flag, *, delivered: bool) -> None:
    """The broker's decision settles the messages the flag held, audited: dismissed, they reach
    the holder's side now (unless another open flag still holds them); upheld, they are never
    delivered and the sender is told so plainly (never why). Joins the caller's transaction."""
    told: set[int] = set()
    for message in _messages_settled_by(flag):
        conversation = message.conversation
        if delivered:
            if _held_by_another_open_flag(message, flag):
                continue
            message.held = False
            audit.record(broker, "message.released", "message", message.id,
                         details={"flag": flag.reference})
            holder = conversation.holder
            if conversation.id not in told:
                notify.send(notify.Event.MESSAGE_RECEIVED, holder, about_holder=holder,
                            link=path_for("holder.conversation", conversation_id=conversation.id),
                            context={"sender": _Named(conversation.provider.display_name)})
        else:
            message.not_delivered_at = clock.now()
            audit.record(broker, "message.not_delivered", "message", message.id,
                         details={"flag": flag.reference})
            if conversation.id not in told:
                notify.send(notify.Event.MESSAGE_NOT_DELIVERED, message.author,
                            link=path_for("provider.conversation",
                                          conversation_id=conversation.id),
                            context={"recipient": conversation.holder})
        told.add(conversation.id)


@dataclass(frozen=True)
class _Named:
    """A name for a notification's PERSON field: a provider's public (maybe business) name."""

    name: str


# The provider's side ------------------------------------------------------------------------

def upheld_for_provider(provider_user: User) -> list[Flag]:
    """Upheld flags about the provider, newest first (dismissed and open ones are not shown)."""
    from app.services.providers import profile_of

    profile = profile_of(provider_user)
    if profile is None:
        return []
    return list(db.session.scalars(select(Flag).where(
        Flag.provider_profile_id == profile.id, Flag.status == FlagStatus.UPHELD.value)
        .order_by(Flag.reviewed_at.desc(), Flag.id.desc())))


def upheld_flag_for(provider_user: User, flag_id: int) -> Flag:
    """One upheld flag about this provider, or NotFound (never reveal other flags exist)."""
    for flag in upheld_for_provider(provider_user):
        if flag.id == flag_id:
            return flag
    raise NotFound("We could not find that concern.")


def respond(provider_user: User, flag_id: int, *, response: str) -> Flag:
    """The provider answers an upheld flag in writing, once.

    Raises NotFound (not theirs or not upheld), Conflict (already answered), InvalidInput.
    """
    flag = upheld_flag_for(provider_user, flag_id)
    if flag.provider_response is not None:
        raise Conflict("You have already responded to this concern.")
    text = (response or "").replace("\r\n", "\n").strip()
    if not text:
        raise InvalidInput("Enter your response", field="response")
    if len(text) > MAX_RESPONSE_LENGTH:
        raise InvalidInput(f"Enter {MAX_RESPONSE_LENGTH:,} characters or fewer", field="response")
    flag.provider_response = text
    flag.provider_responded_at = clock.now()
    flag.provider_responded_by_id = provider_user.id
    audit.record(provider_user, "flag.provider_responded", "flag", flag.id,
                 details={"length": len(text)})
    db.session.commit()
    return flag


# Council actions under which an open flag makes a broker look at a new booking first.
_ACTIONS_THAT_HOLD_BOOKINGS = (Action.HOLD.value, Action.BLOCK.value, Action.SUSPEND.value)


def booking_hold_reasons(holder: User, listing: Listing, total_pence: int) -> list[str]:
    """Why a new booking must wait for a broker because of open brokerage-rule flags about its
    provider or its holder (registered in bookings.RULE_CHECKS). For brokers only: they name
    the flag, which may be about the holder's own delegate or the provider, so booking pages
    show everyone else a neutral line instead (domain.approval.reasons_for)."""
    # A concern, or a provider's message asking for money, names the person at risk (often who
    # reported it): it is about the provider, so it never makes that person's bookings with
    # other providers wait. Flags about the holder's own side (their spending, their helpers,
    # a message someone on their side wrote) do.
    from_provider_to_them = (
        select(cast(Message.id, String)).join(Conversation)
        .where(Conversation.holder_id == holder.id, Message.from_provider.is_(True)))
    about_their_side = and_(
        Flag.holder_id == holder.id, Flag.subject_kind != "concern",
        not_(and_(Flag.subject_kind == "message", Flag.subject_id.in_(from_provider_to_them))))
    open_flags = db.session.scalars(
        select(Flag).where(
            Flag.status == FlagStatus.OPEN.value,
            Flag.action.in_(_ACTIONS_THAT_HOLD_BOOKINGS),
            or_(Flag.provider_profile_id == listing.profile_id, about_their_side),
        ).order_by(Flag.id)
    ).all()
    reasons = [f"A broker is looking into a concern ({flag.reference}) and must approve this "
               "booking first." for flag in open_flags]
    return reasons + household_hold_reasons(holder.id, listing.profile_id)


def household_hold_reasons(holder_id: int, profile_id: int) -> list[str]:
    """A close relative who lives with the holder is paid only with the council's recorded
    agreement (Care and Support (Direct Payments) Regulations 2014, reg. 3): until then a
    booking with them waits for a broker."""
    from app.domain.households import needs_council_agreement
    from app.models import HouseholdMember

    members = db.session.scalars(select(HouseholdMember).where(
        HouseholdMember.holder_id == holder_id,
        HouseholdMember.provider_profile_id == profile_id).order_by(HouseholdMember.id)).all()
    return [f"{m.name} is recorded as the person's {m.relationship_enum.label.lower()} and lives "
            "with them; the council must agree before a direct payment pays them, and no "
            "agreement is recorded."
            for m in members
            if needs_council_agreement(m.relation, m.lives_with_holder,
                                       m.council_agreed_at is not None)]
