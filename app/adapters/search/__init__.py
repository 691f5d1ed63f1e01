"""The search adapter: one interface, two backends (Whoosh, PostgreSQL), and choosing one.

A backend only retrieves: which listings match the words and filters, how many of them carry
each facet token, the best candidates in its own order, and spelling corrections. `search()`
here does the rest the same way for both: counts beside filters, page clamping, fair ranking
(app.domain.search_ranking), "did you mean" and advice on which filter to loosen.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace

from app.domain.search import (
    COUNTED_FACETS,
    FACET_PREFIXES,
    Constraint,
    Hit,
    ListingDocument,
    Loosen,
    SearchQuery,
    SearchResult,
    build_facets,
    describe_filter,
)
from app.domain.search_ranking import WINDOW, Candidate, RankingContext, rank

# Every facet token a filter group shows a count for ("when:" day-and-time pairs only filter).
SHOWN_PREFIXES = tuple(dict.fromkeys(p for prefixes in FACET_PREFIXES.values() for p in prefixes))

BACKENDS = ("whoosh", "postgres")


class SearchBackend(ABC):
    """Index and query listing documents. Writes on PostgreSQL join the caller's transaction."""

    name = "abstract"

    @abstractmethod
    def index(self, docs: Iterable[ListingDocument]) -> None:
        """Add or replace these documents."""

    @abstractmethod
    def remove(self, listing_id: int) -> None:
        """Drop one listing (no error if it was not indexed)."""

    @abstractmethod
    def rebuild(self, docs: Iterable[ListingDocument]) -> None:
        """Replace the whole index with exactly these documents."""

    @abstractmethod
    def count_tokens(self, query: SearchQuery, constraints: Sequence[Constraint],
                     prefixes: tuple[str, ...] | None = None) -> Counter:
        """Facet-token counts over the matching listings ("all" is the number of matches);
        with `prefixes`, only the tokens starting with one of them (and "all")."""

    def count_many(self, query: SearchQuery,
                   requests: Sequence[tuple[Sequence[Constraint], tuple[str, ...] | None]],
                   ) -> list[Counter]:
        """`count_tokens` for several sets of constraints at once (a backend may batch them)."""
        return [self.count_tokens(query, constraints, prefixes)
                for constraints, prefixes in requests]

    @abstractmethod
    def retrieve(self, query: SearchQuery, constraints: Sequence[Constraint], *, offset: int,
                 limit: int, seed: int) -> list[Candidate]:
        """Matching listings in backend order: text relevance (best match) or the chosen sort,
        then quality, then the per-user rotation."""

    @abstractmethod
    def corrections(self, words: Sequence[str]) -> dict[str, str]:
        """Likely intended words for query words the index has never seen."""

    # --- shared by every backend -----------------------------------------------------------

    def matching_ids(self, query: SearchQuery) -> set[int]:
        """Every listing the query matches (for tests and tools; not paged, not ranked)."""
        constraints = query.constraints()
        total = self.count_tokens(query, constraints, ()).get("all", 0)
        found = self.retrieve(query, constraints, offset=0, limit=max(total, 1), seed=0)
        return {c.document.listing_id for c in found}

    def search(self, query: SearchQuery, context: RankingContext | None = None) -> SearchResult:
        ctx = context or RankingContext()
        constraints = query.constraints()
        # The counts beside a ticked filter group are over the results without that group's
        # own filter (so they say what ticking another box would give), and only for its tokens.
        active = [facet for facet in COUNTED_FACETS if facet in set(query.active_facets)]
        base, *excluded = self.count_many(query, [(constraints, SHOWN_PREFIXES)] + [
            (query.constraints(exclude=facet), FACET_PREFIXES[facet]) for facet in active])
        total = int(base.get("all", 0))
        counts = {facet: base for facet in COUNTED_FACETS}
        counts.update(zip(active, excluded, strict=True))

        pages = max(1, math.ceil(total / ctx.page_size))
        page = min(query.page, pages)
        offset = (page - 1) * ctx.page_size
        hits: list[Hit] = []
        if total:
            if offset < WINDOW:
                candidates = self.retrieve(query, constraints, offset=0, limit=WINDOW,
                                           seed=ctx.seed)
                hits = rank(candidates, query, ctx)[offset:offset + ctx.page_size]
            else:
                candidates = self.retrieve(query, constraints, offset=offset,
                                           limit=ctx.page_size, seed=ctx.seed)
                hits = [Hit(c.document, (
                    "It matches your search. Past the first pages, listings are in order of how "
                    "well they match.",
                    "No provider can pay to appear higher in Carefair's results."), c.relevance)
                    for c in candidates]

        suggestion = None
        if query.words:
            fixes = self.corrections(query.words)
            if fixes:
                suggestion = " ".join(fixes.get(w, w) for w in query.words)

        loosen: list[Loosen] = []
        if total == 0:
            facets = list(dict.fromkeys(query.active_facets)) + (["text"] if query.words else [])
            for facet in facets:
                relaxed = query.without(facet)
                n = int(self.count_tokens(relaxed, relaxed.constraints(), ()).get("all", 0))
                if n:
                    loosen.append(Loosen(facet, describe_filter(query, facet), n, relaxed))
            loosen.sort(key=lambda item: -item.count)

        result = SearchResult(
            query=replace(query, page=page), hits=tuple(hits), total=total, page=page,
            pages=pages, facets=build_facets(query, counts), suggestion=suggestion,
            loosen=tuple(loosen[:3]), notices=query.notices,
        )
        corrected_query = result.suggestion_query
        if total == 0 and corrected_query is not None and query.corrected_from is None:
            # Nothing matched a misspelling: show what the likely words find, and say so,
            # rather than an empty page with a link (typing is hard for many people here).
            corrected = self.search(replace(corrected_query, corrected_from=query.text), ctx)
            if corrected.total:
                return corrected
        return result


def backend_name_for(config) -> str:
    """SEARCH_BACKEND when set; else PostgreSQL search on a PostgreSQL database, else Whoosh."""
    chosen = (config.get("SEARCH_BACKEND") or "").strip().lower()
    if chosen:
        if chosen not in BACKENDS:
            from app.config import ConfigurationError

            raise ConfigurationError(f"SEARCH_BACKEND must be one of {', '.join(BACKENDS)}, "
                                     f"not {chosen!r}.")
        return chosen
    uri = config.get("SQLALCHEMY_DATABASE_URI", "")
    return "postgres" if uri.startswith("postgresql") else "whoosh"


def get_backend(app=None) -> SearchBackend:
    """The app's configured backend (created once per app)."""
    from flask import current_app

    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    backend = app.extensions.get("carefair_search")
    if backend is None:
        name = backend_name_for(app.config)
        if name == "postgres":
            from app.adapters.search.postgres import PostgresSearchBackend
            from app.extensions import db

            backend = PostgresSearchBackend(lambda: db.session)
        else:
            import os

            from app.adapters.search.whoosh import WhooshSearchBackend

            backend = WhooshSearchBackend(os.path.join(app.instance_path, "search-index"))
        app.extensions["carefair_search"] = backend
    return backend
