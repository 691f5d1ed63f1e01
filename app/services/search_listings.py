"""Wires search to the real listings: documents from listings, the index following changes, spend.

`document_for` turns a Listing and its ProviderProfile into the ListingDocument both search
backends index. `connect()` (called by create_app) registers `live_documents` as search's
DOCUMENT_SOURCE, `market_share` as its MARKET_SHARE_SOURCE, and subscribes to `listing_changed`
so that every commit that creates, edits or hides a listing re-indexes it straight afterwards.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, datetime
from time import monotonic
from types import MappingProxyType

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app import clock
from app.domain.ratings import RatingSummary
from app.domain.rules.markets import market_figures, search_shares
from app.domain.search import ListingDocument, gender_slug, language_slug
from app.domain.search_ranking import MarketShare
from app.domain.vetting import CheckStatus
from app.extensions import db
from app.models import Listing, ProviderProfile, VettingCheck
from app.services import council_settings, market_snapshot, ratings
from app.services import search as search_service
from app.signals import listing_changed

log = logging.getLogger(__name__)

BATCH = 500


def _minutes(value) -> int:
    return value.hour * 60 + value.minute


def vetted_on(checks: list[VettingCheck]) -> date | None:
    """When the provider's checks were last all verified: a live listing needs every check
    verified, so that is the day of the latest verification among the checks that count now."""
    days = [c.decided_at.date() for c in checks
            if c.status == CheckStatus.VERIFIED.value and c.decided_at is not None]
    return max(days) if days else None


def document_for(listing: Listing, profile: ProviderProfile,
                 checks: list[VettingCheck] | None = None,
                 rating: RatingSummary | None = None) -> ListingDocument:
    """What search knows about one listing, including its visible reviews' rating."""
    if rating is None:
        rating = ratings.rating_for_listing(listing.id)
    if checks is None:
        checks = list(db.session.scalars(select(VettingCheck).where(
            VettingCheck.profile_id == profile.id)))
    languages = tuple(dict.fromkeys(slug for slug in (language_slug(x) for x in profile.languages)
                                    if slug))
    return ListingDocument(
        listing_id=listing.id,
        # The profile id, not the user id: it is what the public provider page and the
        # per-provider cap on the first page are about.
        provider_id=profile.id,
        provider_name=profile.display_name,
        provider_type=profile.provider_type,
        title=listing.title,
        description=listing.description or "",
        category=listing.category,
        price_pence=listing.price_pence,
        price_unit=listing.price_unit,
        districts=tuple(sorted(profile.district_codes)),
        availability=tuple((s.weekday, _minutes(s.start_time), _minutes(s.end_time))
                           for s in profile.slots),
        specialisms=tuple(profile.specialisms or ()),
        languages=languages,
        worker_gender=gender_slug(profile.gender),
        funding_modes=tuple(listing.funding_modes or ()),
        rating_mean=rating.mean if rating.count else None,
        rating_count=rating.count,
        provider_vetted_at=vetted_on(checks),
        rating_bayesian=rating.bayesian,
    )


def _checks_by_profile(profile_ids: list[int]) -> dict[int, list[VettingCheck]]:
    found: dict[int, list[VettingCheck]] = {pid: [] for pid in profile_ids}
    if profile_ids:
        for check in db.session.scalars(select(VettingCheck).where(
                VettingCheck.profile_id.in_(profile_ids),
                VettingCheck.status == CheckStatus.VERIFIED.value)):
            found[check.profile_id].append(check)
    return found


def live_documents() -> Iterator[ListingDocument]:
    """Every live listing as a document, loaded in batches (search's DOCUMENT_SOURCE)."""
    last_id = 0
    while True:
        batch = list(db.session.scalars(
            select(Listing).where(Listing.is_live.is_(True), Listing.id > last_id)
            .options(selectinload(Listing.profile).selectinload(ProviderProfile.districts),
                     selectinload(Listing.profile).selectinload(ProviderProfile.slots))
            .order_by(Listing.id).limit(BATCH)))
        if not batch:
            return
        checks = _checks_by_profile(sorted({listing.profile_id for listing in batch}))
        rated = ratings.ratings_for_listings([listing.id for listing in batch])
        for listing in batch:
            yield document_for(listing, listing.profile, checks[listing.profile_id],
                               rated[listing.id])
        last_id = batch[-1].id


# How long one computation of market shares serves searches (seconds, monotonic clock).
MARKET_SHARE_TTL_SECONDS = 60.0
_SHARE_CACHE = "carefair.market_share"


def market_share(as_of: datetime | None = None) -> MarketShare:
    """What search dampens by: the holders' markets' shares (`holder_market_shares`), or none
    when the council turned dampening off."""
    if not council_settings.current().share_cap_dampens_search:
        return MappingProxyType({})
    return holder_market_shares(as_of)


def holder_market_shares(as_of: datetime | None = None) -> MarketShare:
    """(provider profile id, listing category, holder district) -> the provider's % of spend in
    that market over the council's market window: search's MARKET_SHARE_SOURCE.

    The same markets as the provider_share_cap rule, by construction: the same SQL aggregates
    (market_snapshot.market_facts) and the same figures (rules.markets.market_figures), so when
    the rule tells a broker "Search there will show them less prominently", search does. Only
    markets that meet the council's minimums count. The advice a new client of a provider above
    the cap is given reads these too, whether or not search dampens (a separate setting).

    Cached per app for MARKET_SHARE_TTL_SECONDS: every search page asks for it, the answer is a
    sum over 90 days of bookings that a minute cannot move much, and recomputing it per request
    would put an aggregate over all sessions on the search path. A race between two requests
    only computes it twice. `as_of` (for tests and scripts) bypasses the cache.
    """
    if as_of is not None:
        return _market_share(as_of)
    now = monotonic()
    cached = current_app.extensions.get(_SHARE_CACHE)
    if cached is not None and cached[0] > now:
        return cached[1]
    shares = _market_share(clock.now())
    current_app.extensions[_SHARE_CACHE] = (now + MARKET_SHARE_TTL_SECONDS, shares)
    return shares


def forget_market_share(app: Flask) -> None:
    """Drop the cached shares (tests roll their data back; settings change; the next search
    recomputes)."""
    app.extensions.pop(_SHARE_CACHE, None)


def _market_share(as_of: datetime) -> MarketShare:
    settings = council_settings.current()
    facts = market_snapshot.market_facts(as_of, settings)
    return MappingProxyType(search_shares(market_figures(facts, settings)))


def not_live(listing_ids: list[int]) -> set[int]:
    """Which of these listings exist but are hidden (search's last check before showing them)."""
    return set(db.session.scalars(select(Listing.id).where(
        Listing.id.in_(listing_ids), Listing.is_live.is_(False))))


def on_listing_changed(sender, listing_id: int, **_) -> None:
    """After a commit: index the listing if it is live, otherwise take it out of search.

    The listing change is already committed, so a search failure must not turn it into an
    error page: it is logged, rolled back, and `carefair search reindex` repairs the index.
    """
    try:
        listing = db.session.get(Listing, listing_id, populate_existing=True)
        if listing is not None and listing.is_live and listing.published:
            search_service.listing_updated(document_for(listing, listing.profile))
        else:
            search_service.listing_removed(listing_id)
    except Exception:  # noqa: BLE001 - see the docstring: never undo a committed change
        db.session.rollback()
        log.exception("Could not update the search index for listing %s", listing_id)
        if current_app.config.get("TESTING"):
            raise


def connect() -> None:
    """Register the sources and the signal receiver (idempotent: blinker keeps one per receiver)."""
    search_service.DOCUMENT_SOURCE = live_documents
    search_service.MARKET_SHARE_SOURCE = market_share
    search_service.NOT_LIVE = not_live
    listing_changed.connect(on_listing_changed)
