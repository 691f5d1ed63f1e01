"""Building the frozen MarketSnapshot the brokerage rules read, from the database."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.domain.access import Role
from app.domain.rules import MarketSnapshot
from app.domain.rules import model as facts
from app.domain.vetting import ProviderType
from app.extensions import db
from app.models import Conversation, Delegation, Message, ProviderProfile, User
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
    profiles = db.session.scalars(
        select(ProviderProfile).options(selectinload(ProviderProfile.districts),
                                        selectinload(ProviderProfile.listings))
        .order_by(ProviderProfile.id)).all()
    providers = []
    listings = []
    for profile in profiles:
        providers.append(facts.Provider(id=profile.id, kind=KIND_OF_TYPE[profile.type_enum],
                                        name=profile.display_name,
                                        user_ids=frozenset({profile.user_id})))
        area = postcode_area(profile.district_codes)
        for listing in profile.listings:
            # A published listing is the provider's offer even while hidden for vetting.
            if listing.published:
                listings.append(facts.Listing(id=listing.id, provider_id=profile.id,
                                              category=listing.category, unit=listing.price_unit,
                                              area=area, rate_pence=listing.price_pence))
    holders = tuple(
        facts.Holder(id=u.id, area="", at_risk=bool(u.at_risk))  # holders have no address yet
        for u in db.session.scalars(select(User).where(User.role == Role.HOLDER.value)
                                    .order_by(User.id)))
    delegations = tuple(
        facts.Delegation(holder_id=d.holder_id, user_id=d.delegate_id, kind=d.kind,
                         started_at=d.accepted_at or d.created_at)
        for d in db.session.scalars(select(Delegation).where(
            Delegation.status == STATUS_ACTIVE, Delegation.delegate_id.is_not(None))
            .order_by(Delegation.id))
        if d.delegate_id is not None)
    since = as_of - timedelta(days=settings.rule_window_days)
    messages = tuple(
        facts.Message(id=m.id, holder_id=holder_id, provider_id=provider_id,
                      from_provider=m.from_provider, sent_at=m.sent_at, text=m.body)
        for m, holder_id, provider_id in db.session.execute(
            select(Message, Conversation.holder_id, Conversation.provider_profile_id)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Message.sent_at >= since, Message.sent_at < as_of)
            .order_by(Message.id)))
    return MarketSnapshot(
        as_of=as_of, providers=tuple(providers), listings=tuple(listings), holders=holders,
        delegations=delegations, messages=messages,
        sessions=(),  # filled by the bookings issue (see the docstring)
    )
