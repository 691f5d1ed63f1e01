"""The PostgreSQL full-text search backend: the search_documents table (tsvector + GIN indexes).

Filters are GIN-indexed array overlaps on facet tokens and districts, facet counts one
`unnest ... GROUP BY` over the matches, ranking `ts_rank`, and "did you mean" pg_trgm similarity
on the search_words table. Writes go through the session it is given and commit with the
caller's transaction.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.adapters.search import SearchBackend
from app.domain.search import Constraint, ListingDocument, SearchQuery, words_of
from app.domain.search_ranking import Candidate

_UPSERT = text("""
INSERT INTO search_documents (listing_id, provider_id, category, price_pence, rating,
    rating_count, quality, districts, facet_tokens, tsv, document)
VALUES (:listing_id, :provider_id, :category, :price_pence, :rating, :rating_count, :quality,
    CAST(:districts AS text[]), CAST(:facet_tokens AS text[]),
    setweight(to_tsvector('english', :title_words), 'A') || to_tsvector('english', :body_words),
    :document)
ON CONFLICT (listing_id) DO UPDATE SET provider_id = EXCLUDED.provider_id,
    category = EXCLUDED.category, price_pence = EXCLUDED.price_pence, rating = EXCLUDED.rating,
    rating_count = EXCLUDED.rating_count, quality = EXCLUDED.quality,
    districts = EXCLUDED.districts, facet_tokens = EXCLUDED.facet_tokens, tsv = EXCLUDED.tsv,
    document = EXCLUDED.document
""")
# Counting facet tokens costs time in proportion to the matches (tens of thousands of rows for a
# search with no words and no area), so those counts are kept for a short while: a search page
# shows numbers at most this old from changes made by *other* processes (this process clears
# them on every write). Small match sets are always counted fresh.
_CACHE_SECONDS = 30.0
_CACHE_FROM = 2_000
_CACHE_SIZE = 512
_ADD_WORDS = text("""
INSERT INTO search_words (word) SELECT DISTINCT w FROM unnest(CAST(:words AS text[])) AS w
ON CONFLICT (word) DO NOTHING
""")
# The same rotation as app.domain.search_ranking.rotation_key, computed in the database.
_ROTATION = "((((listing_id::bigint * 2654435761) & 4294967295) - :seed) & 4294967295)"


def _row(doc: ListingDocument) -> dict:
    return {
        "listing_id": doc.listing_id, "provider_id": doc.provider_id, "category": doc.category,
        "price_pence": doc.price_pence, "rating": doc.sort_rating,
        "rating_count": doc.rating_count, "quality": doc.bayesian_rating,
        "districts": list(doc.districts), "facet_tokens": doc.facet_tokens(),
        # Pre-split words, so PostgreSQL's parser sees exactly what Whoosh's tokenizer sees.
        "title_words": " ".join(words_of(doc.title)),
        "body_words": " ".join(words_of(doc.text)),
        "document": doc.to_json(),
    }


def _vocabulary(docs: Sequence[ListingDocument]) -> list[str]:
    return sorted({w for d in docs for w in words_of(d.text) if 3 <= len(w) <= 60
                   and not w.isdigit()})


class PostgresSearchBackend(SearchBackend):
    name = "postgres"

    def __init__(self, session: Callable[[], Session | Any]):  # Any: scoped sessions too
        self._session = session
        # Facet counts over many matches, kept briefly in this process (see _CACHE_SECONDS).
        self._counts: dict[tuple, tuple[float, dict[str, int]]] = {}

    # --- writing ---------------------------------------------------------------------------

    def index(self, docs: Iterable[ListingDocument]) -> None:
        batch = list(docs)
        if not batch:
            return
        self._counts.clear()
        session = self._session()
        session.execute(_UPSERT, [_row(d) for d in batch])
        session.execute(_ADD_WORDS, {"words": _vocabulary(batch)})

    def remove(self, listing_id: int) -> None:
        self._counts.clear()
        self._session().execute(text("DELETE FROM search_documents WHERE listing_id = :id"),
                                {"id": listing_id})

    def rebuild(self, docs: Iterable[ListingDocument]) -> None:
        self._counts.clear()
        session = self._session()
        session.execute(text("DELETE FROM search_documents"))
        session.execute(text("DELETE FROM search_words"))
        batch: list[ListingDocument] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= 2000:
                self.index(batch)
                batch = []
        self.index(batch)

    # --- reading ---------------------------------------------------------------------------

    def _where(self, query: SearchQuery, constraints: Sequence[Constraint]) -> tuple[str, dict]:
        clauses: list[str] = []
        params: dict = {}
        if query.words:
            clauses.append("tsv @@ plainto_tsquery('english', :words)")
            params["words"] = " ".join(query.words)
        for i, c in enumerate(constraints):
            if c.tokens:
                column = "districts" if c.field == "districts" else "facet_tokens"
                clauses.append(f"{column} && CAST(:c{i} AS text[])")
                params[f"c{i}"] = list(c.tokens)
            elif c.max_price_pence is not None:
                clauses.append(f"price_pence <= :c{i}")
                params[f"c{i}"] = c.max_price_pence
            elif c.min_rating is not None:
                clauses.append(f"rating >= :c{i}")
                params[f"c{i}"] = c.min_rating
        return (" AND ".join(clauses) or "TRUE"), params

    def search(self, query: SearchQuery, context=None):
        # JIT compilation costs 50-200 ms on the counting queries and saves nothing on queries
        # this short (measured with EXPLAIN ANALYZE on 100,000 listings); SET LOCAL lasts only
        # for the current transaction.
        self._session().execute(text("SET LOCAL jit = off"))
        return super().search(query, context)

    def count_tokens(self, query: SearchQuery, constraints: Sequence[Constraint]) -> Counter:
        where, params = self._where(query, constraints)
        key = (where, tuple(sorted((k, tuple(v) if isinstance(v, list) else v)
                                   for k, v in params.items())))
        cached = self._counts.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return Counter(cached[1])
        rows = self._session().execute(text(
            f"SELECT t, count(*) FROM search_documents, unnest(facet_tokens) AS t "
            f"WHERE {where} GROUP BY t"), params)
        counts = Counter({token: n for token, n in rows})
        if counts.get("all", 0) >= _CACHE_FROM:
            if len(self._counts) >= _CACHE_SIZE:
                self._counts.clear()
            self._counts[key] = (time.monotonic() + _CACHE_SECONDS, dict(counts))
        return counts

    def retrieve(self, query: SearchQuery, constraints: Sequence[Constraint], *, offset: int,
                 limit: int, seed: int) -> list[Candidate]:
        where, params = self._where(query, constraints)
        params.update(seed=seed, limit=limit, offset=offset)
        # A title match counts double (ts_rank's default makes it 10x, which swamps the other
        # signals fair ranking combines with relevance).
        relevance = ("ts_rank('{0.5, 0.5, 0.5, 1.0}', tsv, plainto_tsquery('english', :words))"
                     if query.words else "0")
        if query.sort == "price":
            order = f"price_pence, {_ROTATION}"
        elif query.sort == "rating":
            order = f"rating DESC, rating_count DESC, {_ROTATION}"
        else:
            order = f"relevance DESC, quality DESC, {_ROTATION}"
        rows = self._session().execute(text(
            f"SELECT document, {relevance} AS relevance FROM search_documents WHERE {where} "
            f"ORDER BY {order} LIMIT :limit OFFSET :offset"), params)
        return [Candidate(ListingDocument.from_json(doc), float(rel)) for doc, rel in rows]

    def corrections(self, words: Sequence[str]) -> dict[str, str]:
        session = self._session()
        fixes: dict[str, str] = {}
        for word in words:
            if len(word) < 3 or word.isdigit():
                continue
            known = session.execute(text(
                "SELECT 1 WHERE EXISTS (SELECT 1 FROM search_words WHERE word = :w) OR EXISTS "
                "(SELECT 1 FROM search_documents WHERE tsv @@ plainto_tsquery('english', :w))"),
                {"w": word}).first()
            if known:
                continue
            best = session.execute(text(
                "SELECT word FROM search_words WHERE word % :w "
                "ORDER BY similarity(word, :w) DESC, word LIMIT 1"), {"w": word}).scalar()
            if best:
                fixes[word] = best
        return fixes
