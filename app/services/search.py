"""Search use cases: keep the index in step with listings, and run a search for a person.

The listings code (not here yet) calls `listing_updated` / `listing_removed` after its own commit
(the lead wires its `listing_changed` signal to them) and sets DOCUMENT_SOURCE so that
`reindex()` and `carefair search reindex` can rebuild from every live listing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

from flask import current_app

from app.adapters.search import get_backend
from app.domain.search import ListingDocument, SearchQuery, SearchResult
from app.domain.search_ranking import MarketShare, RankingContext
from app.extensions import db

# Set by the listings code: every live (visible, in-date) listing as a ListingDocument.
DOCUMENT_SOURCE: Callable[[], Iterable[ListingDocument]] | None = None
# Set by the brokerage code: (provider_id, category, district) -> % share of spend there.
MARKET_SHARE_SOURCE: Callable[[], MarketShare] | None = None


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
    council = current_app.config["COUNCIL"]
    context = RankingContext(
        user_key=f"user:{user_id}" if user_id is not None else "anonymous",
        today=today or date.today(),
        market_share=market_share(),
        share_cap_percent=council.provider_share_cap_percent,
        fair=fair,
    )
    return get_backend().search(query, context)
