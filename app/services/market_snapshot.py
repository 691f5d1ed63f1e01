"""Building the frozen MarketSnapshot the brokerage rules read, from the database."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import select

from app.domain.access import Role
from app.domain.rules import MarketSnapshot
from app.domain.rules import model as facts
from app.domain.vetting import ProviderType
from app.extensions import db
from app.models import (
    Conversation,
    Delegation,
    Listing,
    Message,
    ProviderDistrict,
    ProviderProfile,
    User,
)
from app.models.delegation import STATUS_ACTIVE

KIND_OF_TYPE = {
    ProviderType.SELF_EMPLOYED_PA: facts.ProviderKind.PA_SELF_EMPLOYED,
    ProviderType.EMPLOYED_PA: facts.ProviderKind.PA_EMPLOYED,
    ProviderType.HOME_CARE_AGENCY: facts.ProviderKind.AGENCY,
    ProviderType.COMMUNITY_ORGANISATION: facts.ProviderKind.COMMUNITY,
    ProviderType.GROUP_ACTIVITY: facts.ProviderKind.GROUP,
}


def postcode_area(districts: list[str]) -> str:
    """The postcode area (the letters: SY for SY1, SY3) most of a provider's districts are in.

    Like-for-like price peers share an area; a district is too fine (few peers each), a whole
    council too coarse. Ties go to the alphabetically first area, so the answer is stable.
    """
    areas = Counter("".join(ch for ch in d if ch.isalpha()) for d in districts if d)
    if not areas:
        return ""
    top = max(areas.values())
    return min(a for a, n in areas.items() if n == top)


def build_snapshot(as_of: datetime | None = None) -> MarketSnapshot:
    """Everything the rules can see today. Read-only: no commit.

    Filled here: providers (and their user accounts), published listings and prices,
    holders (with at-risk marks), active delegations and recent messages.
    Left empty on purpose, with the reason:
    * sessions: booked sessions come from bookings, which the bookings issue (issue 6) adds; it
      fills `sessions` here, and with them the spend-based rules (concentration, steering,
      hours billed, spending spikes, ...). The ledger alone cannot stand in: its transactions
      record a budget and a category but no provider, so spend cannot be put to a provider.
    * conflicts, household_links, reviews, concerns: Carefair does not record declared
      conflicts of interest, household relationships, reviews or safeguarding concerns yet.
    """
    as_of = as_of or datetime.now(UTC)
    settings = current_app.config["COUNCIL"]
    # Plain column queries, not ORM objects: a council has thousands of each, read once.
    districts: dict[int, list[str]] = defaultdict(list)
    for profile_id, district in db.session.execute(
            select(ProviderDistrict.profile_id, ProviderDistrict.district)
            .order_by(ProviderDistrict.profile_id, ProviderDistrict.district)):
        districts[profile_id].append(district)
    providers = tuple(
        facts.Provider(id=pid, kind=KIND_OF_TYPE[ProviderType(ptype)], name=name,
                       user_ids=frozenset({user_id}))
        for pid, ptype, name, user_id in db.session.execute(
            select(ProviderProfile.id, ProviderProfile.provider_type,
                   ProviderProfile.display_name, ProviderProfile.user_id)
            .order_by(ProviderProfile.id)))
    areas = {pid: postcode_area(codes) for pid, codes in districts.items()}
    # A published listing is the provider's offer even while hidden for vetting.
    listings = tuple(
        facts.Listing(id=lid, provider_id=pid, category=category, unit=unit,
                      area=areas.get(pid, ""), rate_pence=price)
        for lid, pid, category, unit, price in db.session.execute(
            select(Listing.id, Listing.profile_id, Listing.category, Listing.price_unit,
                   Listing.price_pence)
            .where(Listing.published.is_(True)).order_by(Listing.id)))
    holders = tuple(
        facts.Holder(id=uid, area="", at_risk=bool(at_risk))  # holders have no address yet
        for uid, at_risk in db.session.execute(
            select(User.id, User.at_risk).where(User.role == Role.HOLDER.value)
            .order_by(User.id)))
    delegations = tuple(
        facts.Delegation(holder_id=holder_id, user_id=delegate_id or 0, kind=kind,
                         started_at=accepted_at or created_at)
        for holder_id, delegate_id, kind, accepted_at, created_at in db.session.execute(
            select(Delegation.holder_id, Delegation.delegate_id, Delegation.kind,
                   Delegation.accepted_at, Delegation.created_at)
            .where(Delegation.status == STATUS_ACTIVE, Delegation.delegate_id.is_not(None))
            .order_by(Delegation.id)))
    since = as_of - timedelta(days=settings.rule_window_days)
    messages = tuple(
        facts.Message(id=mid, holder_id=holder_id, provider_id=provider_id,
                      from_provider=from_provider, sent_at=sent_at, text=body)
        for mid, from_provider, sent_at, body, holder_id, provider_id in db.session.execute(
            select(Message.id, Message.from_provider, Message.sent_at, Message.body,
                   Conversation.holder_id, Conversation.provider_profile_id)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Message.sent_at >= since, Message.sent_at < as_of)
            .order_by(Message.id)))
    return MarketSnapshot(
        as_of=as_of, providers=providers, listings=listings, holders=holders,
        delegations=delegations, messages=messages,
        sessions=(),  # filled by the bookings issue (see the docstring)
    )
