"""Wires search to the real listings: documents from listings, the index following changes, spend.

`document_for` turns a Listing and its ProviderProfile into the ListingDocument both search
backends index. `connect()` (called by create_app) registers `live_documents` as search's
DOCUMENT_SOURCE, `market_share` as its MARKET_SHARE_SOURCE, and subscribes to `listing_changed`
so that every commit that creates, edits or hides a listing re-indexes it straight afterwards.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import date

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.domain.ratings import RatingSummary
from app.domain.search import ListingDocument, gender_slug, language_slug
from app.domain.vetting import CheckStatus
from app.extensions import db
from app.models import Listing, ProviderProfile, VettingCheck
from app.services import ratings
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


def market_share() -> Mapping[tuple[int, str, str], float]:
    """(provider profile id, listing category, postcode district) -> % of spend there over the
    council's rolling window.

    Empty for now, on purpose: the ledger records spend per budget and per *support plan*
    category, but no capture says which provider, listing or area it paid for. Bookings (being
    built in parallel) will own that link: each booking's hold and capture will carry the
    booking, and the booking its listing (so provider and listing category) and the holder's
    postcode district. This function will then sum captures minus refunds per (provider,
    category, district) over the window and divide by each (category, district) total; until
    then search dampens nobody, which is the safe default.
    """
    return {}


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
    listing_changed.connect(on_listing_changed)
