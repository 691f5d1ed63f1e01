"""Search use cases: keep the index in step with listings, and run a search for a person.

app.services.search_listings wires this to the listings: its `listing_changed` receiver calls
`listing_updated` / `listing_removed` after each listing commit, and it registers DOCUMENT_SOURCE
(so `reindex()` and `carefair search reindex` rebuild from every live listing), MARKET_SHARE_SOURCE
and NOT_LIVE (the last check that no hidden listing is ever shown).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date

from app.adapters.search import get_backend
from app.domain.search import ListingDocument, SearchQuery, SearchResult
from app.domain.search_ranking import MarketShare, RankingContext
from app.extensions import db
from app.services import council_settings

# Set by the listings code: every live (visible, in-date) listing as a ListingDocument.
DOCUMENT_SOURCE: Callable[[], Iterable[ListingDocument]] | None = None
# Set by the brokerage code: (provider_id, category, district) -> % share of spend there.
MARKET_SHARE_SOURCE: Callable[[], MarketShare] | None = None
# Set by the listings code: which of these listing ids exist but are no longer live.
NOT_LIVE: Callable[[list[int]], set[int]] | None = None

log = logging.getLogger(__name__)


class NoDocumentSource(RuntimeError):
    """`reindex()` was called without documents before the listings code registered a source."""


def reindex(documents: Iterable[ListingDocument] | None = None) -> int:
    """Replace the whole index with these documents (default: DOCUMENT_SOURCE). Returns how many.

    Raises NoDocumentSource when no documents are given and no source is registered.
    """
    if documents is None:
        if DOCUMENT_SOURCE is None:
            raise NoDocumentSource("No listings are registered for search yet.")
        documents = DOCUMENT_SOURCE()
    docs = list(documents)
    get_backend().rebuild(docs)
    db.session.commit()
    return len(docs)


def listing_updated(doc: ListingDocument) -> None:
    """A listing was created or edited and is live: (re)index it. Call after the listing commits."""
    get_backend().index([doc])
    db.session.commit()


def listing_removed(listing_id: int) -> None:
    """A listing was hidden, suspended, expired or deleted: take it out of search."""
    get_backend().remove(listing_id)
    db.session.commit()


def market_share() -> MarketShare:
    return MARKET_SHARE_SOURCE() if MARKET_SHARE_SOURCE is not None else {}


def search(query: SearchQuery, *, user_id: int | None, today: date | None = None,
           fair: bool = True) -> SearchResult:
    """Run a search for one person (the tie rotation is seeded by who they are and the day)."""
    council = council_settings.current()
    context = RankingContext(
        user_key=f"user:{user_id}" if user_id is not None else "anonymous",
        today=today or date.today(),
        market_share=market_share(),
        share_cap_percent=council.provider_share_cap_percent,
        fair=fair,
    )
    backend = get_backend()
    result = backend.search(query, context)
    stale = _not_live(result)
    if stale:
        # The index missed a hide (its update failed after the listing's commit). A hidden
        # listing may be a suspended provider's, so it must not be shown: take it out of the
        # index now and search again, so the page, the count and the filters all agree.
        log.warning("Search index still had hidden listings %s; removing them", sorted(stale))
        for listing_id in stale:
            backend.remove(listing_id)
        db.session.commit()
        result = backend.search(query, context)
        still = _not_live(result)
        if still:
            result = replace(result, hits=tuple(h for h in result.hits
                                                if h.document.listing_id not in still))
    return result


def _not_live(result: SearchResult) -> set[int]:
    if NOT_LIVE is None or not result.hits:
        return set()
    return NOT_LIVE([hit.document.listing_id for hit in result.hits])
