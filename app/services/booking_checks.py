"""The cheap brokerage rules at booking time: gathering one request's facts, running the checks
registered in create_app, and what they say to the holder (or why a booking waits for a broker).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Flask, current_app
from sqlalchemy import select

from app.domain.bookings import BookingState as S
from app.domain.listings import Category, district_area
from app.domain.rules import Action, Finding, decide_action
from app.domain.rules.booking_request import CHECKS, Alternative, BookingRequestFacts, Check
from app.extensions import db
from app.models import Booking, BookingSession, Listing, ProviderDistrict, ProviderProfile, User
from app.services import council_settings

_KEY = "carefair.booking_checks"
ALTERNATIVES = 3
_HOLDING = (Action.HOLD, Action.BLOCK, Action.SUSPEND)
# Session states that mean the provider and the holder agreed support (it may have ended since).
_AGREED = tuple(s.value for s in (S.ACCEPTED, S.FUNDS_HELD, S.DELIVERED, S.CONFIRMED, S.DISPUTED,
                                  S.SETTLED, S.NO_SHOW, S.PAUSED))


def register_booking_checks(app: Flask, checks: tuple[Check, ...] = CHECKS) -> None:
    """Wire the checks (called by create_app, never by importing a module): the advice shown
    on the booking form, and the hold reasons that bookings.quote_booking asks RULE_CHECKS for."""
    app.extensions[_KEY] = tuple(checks)
    from app.services import bookings

    if hold_reasons not in bookings.RULE_CHECKS:
        bookings.RULE_CHECKS.append(hold_reasons)


def _label(category: str) -> str:
    try:
        return Category(category).label
    except ValueError:
        return category.replace("_", " ")


def _peers(listing: Listing, district: str) -> tuple[tuple[int, ...], str]:
    """Like-for-like peers' prices: live listings of the same category, unit and provider type
    for people in the holder's district, or across its postcode area when the district has too
    few (or the provider's area, for a holder with no district yet)."""
    rows = db.session.execute(
        select(Listing.id, Listing.price_pence, ProviderDistrict.district)
        .join(ProviderProfile, ProviderProfile.id == Listing.profile_id)
        .join(ProviderDistrict, ProviderDistrict.profile_id == ProviderProfile.id)
        .where(Listing.is_live.is_(True), Listing.published.is_(True),
               Listing.category == listing.category, Listing.price_unit == listing.price_unit,
               ProviderProfile.provider_type == listing.profile.provider_type,
               Listing.id != listing.id)).all()
    minimum = council_settings.current().price_outlier_min_peers - 1
    if district:
        here = {lid: price for lid, price, d in rows if d == district}
        if len(here) >= minimum:
            return tuple(here.values()), f"for people in {district}"
        area = district_area(district)
    else:
        area = district_area(next(iter(sorted(listing.profile.district_codes)), ""))
    near = {lid: price for lid, price, d in rows if district_area(d) == area}
    return tuple(near.values()), f"in the {area} postcode area"


def _alternatives(listing: Listing, district: str, shares) -> tuple[Alternative, ...]:
    """Other providers' live listings of this category for the holder's district, those with the
    smallest share of the market first (then the cheapest), none of them above the cap."""
    if not district:
        return ()
    cap = council_settings.current().provider_share_cap_percent
    rows = db.session.execute(
        select(Listing.id, Listing.title, ProviderProfile.display_name, Listing.price_pence,
               Listing.price_unit, ProviderProfile.id)
        .join(ProviderProfile, ProviderProfile.id == Listing.profile_id)
        .join(ProviderDistrict, ProviderDistrict.profile_id == ProviderProfile.id)
        .where(Listing.is_live.is_(True), Listing.published.is_(True),
               Listing.category == listing.category, ProviderDistrict.district == district,
               Listing.profile_id != listing.profile_id)
        .order_by(Listing.price_pence, Listing.id)).all()
    seen: set[int] = set()
    found = []
    for lid, title, name, price, unit, pid in sorted(
            rows, key=lambda r: (shares.get((r[5], listing.category, district), 0.0), r[3], r[0])):
        if pid in seen or shares.get((pid, listing.category, district), 0.0) > cap:
            continue
        seen.add(pid)
        found.append(Alternative(lid, title, name, price, unit))
    return tuple(found[:ALTERNATIVES])


def facts_for(holder: User, listing: Listing) -> BookingRequestFacts:
    """What the checks need about one request: a few small queries, no market snapshot."""
    from app.services.search_listings import holder_market_shares

    district = holder.home_district or ""
    # The same cached figures search dampens by, also when the council has search not dampen.
    shares = holder_market_shares()
    peers, where = _peers(listing, district)
    # A client already, by support agreed with them: a request the provider declined, a broker
    # refused or nobody answered did not make the holder their client.
    used_before = db.session.scalar(
        select(BookingSession.id).join(Booking, Booking.id == BookingSession.booking_id)
        .where(Booking.holder_id == holder.id, BookingSession.provider_profile_id == listing.profile_id,
               BookingSession.state.in_(_AGREED))
        .limit(1)) is not None
    share = shares.get((listing.profile_id, listing.category, district)) if district else None
    return BookingRequestFacts(
        holder_id=holder.id, holder_district=district, holder_at_risk=bool(holder.at_risk),
        listing_id=listing.id, provider_id=listing.profile_id,
        provider_name=listing.profile.display_name, category=listing.category,
        category_label=_label(listing.category), unit=listing.price_unit,
        price_pence=listing.price_pence, peer_prices=peers, peers_where=where,
        provider_share_percent=share, used_provider_before=used_before,
        alternatives=_alternatives(listing, district, shares) if share else ())


@dataclass(frozen=True)
class BookingAdvice:
    items: list[tuple[Finding, Action]] = field(default_factory=list)
    alternatives: tuple[Alternative, ...] = ()  # shown when a finding is about the market

    def __bool__(self) -> bool:
        return bool(self.items)


def advice_for(holder: User, listing: Listing) -> BookingAdvice:
    """Each registered check's findings for this request, with what the council says follows:
    shown to the holder on the booking form before they send."""
    checks = current_app.extensions.get(_KEY, ())
    if not checks:
        return BookingAdvice()
    settings = council_settings.current()
    facts = facts_for(holder, listing)
    items = [(f, decide_action(f, settings)) for check in checks for f in check(facts, settings)]
    about_market = any(f.rule == "provider_share_cap" for f, _ in items)
    return BookingAdvice(items, facts.alternatives if about_market else ())


def hold_reasons(holder: User, listing: Listing, total_pence: int) -> list[str]:
    """Why the council's settings make this request wait for a broker (bookings.RULE_CHECKS)."""
    return [f"A broker must look at this booking first: {finding.explanation}"
            for finding, action in advice_for(holder, listing).items if action in _HOLDING]
