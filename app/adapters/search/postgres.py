"""The PostgreSQL full-text search backend: search_documents (tsvector + GIN) and search_postings.

PostgreSQL's 'english' configuration turns each listing into a weighted tsvector (title 'A',
the rest 'D'). Sets of listings are stored as bit strings in search_postings (bit n for listing
n, in rows of CHUNK bits): one per facet token ("f:"), district ("d:"), and common word,
anywhere ("w:") or in the title ("t:"). A search fetches the few sets it needs, combines them
(bitsets.py) and counts each facet value in the process as the size of (its set & matches).
Rare words are looked up through the tsvector's GIN index. The first
matches in a sort order come from walking that order's btree index, testing each listing id
against the matches with `get_bit`. Each process keeps the sets it has read; every write bumps
search_index_state.version and records the sets it changed in search_index_changes, so other
processes drop only those. Writes go through the session it is given and commit with the
caller's transaction.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.adapters.search import SearchBackend
from app.adapters.search.bitsets import from_text, mask_of, ordered_matches, positions
from app.domain.search import (
    PRICE_OPTIONS,
    RATING_TOKENS,
    Constraint,
    ListingDocument,
    SearchQuery,
    words_of,
)
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
_ADD_WORDS = text("""
INSERT INTO search_words (word) SELECT DISTINCT w FROM unnest(CAST(:words AS text[])) AS w
ON CONFLICT (word) DO NOTHING
""")
# The tokens a stored listing is in: its facet tokens, districts, and words (a '+' marks a word
# that is in the title). Read before and after a change to know which sets to update.
_TOKENS_OF = text("""
SELECT d.listing_id, d.facet_tokens, d.districts,
       ARRAY(SELECT u.lexeme || CASE WHEN 'A' = ANY(u.weights) THEN '+' ELSE '' END
             FROM unnest(d.tsv) AS u)
FROM search_documents d WHERE d.listing_id = ANY(CAST(:ids AS integer[]))
""")
# The rows a listing's bit is in must exist before it is turned on: facet and district sets
# always get one; a word only when it already has a stored set (a rare word has none: the GIN
# index finds it).
_ADD_CHUNKS = text("""
INSERT INTO search_postings (token, chunk, kind, bits)
SELECT t, :chunk, left(t, 1), CAST(:zeros AS varbit) FROM unnest(CAST(:tokens AS text[])) AS t
WHERE left(t, 1) IN ('f', 'd') OR EXISTS (SELECT 1 FROM search_postings q WHERE q.token = t)
ON CONFLICT (token, chunk) DO NOTHING
""")
# Turn one listing's bit on in `on` and off in `off`.
_FLIP = text("""
UPDATE search_postings SET bits = set_bit(bits, :bit,
    CASE WHEN token = ANY(CAST(:on AS text[])) THEN 1 ELSE 0 END)
WHERE chunk = :chunk AND (token = ANY(CAST(:on AS text[])) OR token = ANY(CAST(:off AS text[])))
""")
# A row for this version can only be left from before search_index_state was reset (the
# versions started again at 1): it describes another history, so it is replaced.
_RECORD_CHANGE = text("""
WITH forget AS (DELETE FROM search_index_changes WHERE version <= :oldest)
INSERT INTO search_index_changes (version, tokens, listing_ids)
VALUES (:v, CAST(:tokens AS text[]), CAST(:ids AS integer[]))
ON CONFLICT (version) DO UPDATE SET tokens = EXCLUDED.tokens, listing_ids = EXCLUDED.listing_ids
""")
# The same rotation as app.domain.search_ranking.rotation_key, computed in the database.
_ROTATION = "((((listing_id::bigint * 2654435761) & 4294967295) - :seed) & 4294967295)"
_ORDER = {
    "best": f"quality DESC, {_ROTATION}",
    "price": f"price_pence, {_ROTATION}",
    "rating": f"rating DESC, rating_count DESC, {_ROTATION}",
}
_ALL = "f:all"
# Bits per row: 1 KB, small enough to stay in the table's own pages. A whole set in one value
# (13 KB for 100,000 listings) is moved out to TOAST and compressed, and reading it back cost
# more than the counting itself. A missing row is all zeros.
CHUNK = 8192
# At or below this many matches, the matches are sorted by id lookup; above it, walking the sort
# order's index and testing each id is cheaper (measured on 100,000 listings: a walk reads about
# wanted x listings / matches index entries).
_BY_ID_UP_TO = 600
_LEXEME_CACHE = 4096
_SET_CACHE = 20_000  # sets kept per process (each about width / 8 bytes)
_DOCUMENT_CACHE = 20_000  # parsed listing documents kept per process (about 1 KB each)
# Index writes whose changes are remembered (search_index_changes). A process that has missed
# more than this many writes re-reads everything, as it would after a rebuild.
_CHANGES_KEPT = 1000


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


def _chunks(mask: int, width: int) -> list[tuple[int, int]]:
    """(chunk number, bits) for each non-zero CHUNK-bit piece of a set `width` bits wide."""
    count = width // CHUNK
    full = (1 << CHUNK) - 1
    return [(k, piece) for k in range(count)
            if (piece := mask >> (width - (k + 1) * CHUNK) & full)]


def _hex(mask: int, width: int) -> str:
    """A set as PostgreSQL bit string input in hex ('x...': four bits a digit, first bit first)."""
    return "x" + format(mask, f"0{width // 4}x")


def _tokens(facet_tokens, districts, words) -> set[str]:
    tokens = {f"f:{t}" for t in facet_tokens} | {f"d:{d}" for d in districts}
    for word in words:
        if word.endswith("+"):
            tokens |= {f"w:{word[:-1]}", f"t:{word[:-1]}"}
        else:
            tokens.add(f"w:{word}")
    return tokens


def _quoted(lexeme: str) -> str:
    return "'" + lexeme.replace("'", "''") + "'"


class _Cache:
    """Sets already read from search_postings, and parsed documents, as of one version of
    search_index_state. Every index write adds one to the version and records what it changed
    (search_index_changes), so a search that finds a newer version drops just those sets and
    documents. Between edits a search reads one small row, not its sets."""

    def __init__(self):
        self.lock = threading.Lock()
        self.version: int | None = None
        self.width = 0
        self.sets: dict[str, int | None] = {}
        self.facets: list[str] | None = None  # every facet token, once all are loaded
        self.documents: dict[int, ListingDocument] = {}  # parsed search_documents.document


class _Sets:
    """What one search works with: the cached sets it needs, and its words' listings."""

    def __init__(self, width: int, stored: dict[str, int], fetched: set[str],
                 lexemes: list[str]):
        self.width = width
        self.stored = stored
        self.fetched = fetched  # every token asked for (some have no stored set)
        self.lexemes = lexemes  # the searched words, as PostgreSQL stems them
        self.words: dict[str, int] = {}  # lexeme -> listings with it
        self.titles: dict[str, int] = {}  # lexeme -> listings with it in the title
        self.bounds: dict[tuple[str, float], int] = {}
        self.version: int | None = None  # the index version these sets are from

    def get(self, token: str) -> int:
        return self.stored.get(token, 0)


class PostgresSearchBackend(SearchBackend):
    name = "postgres"

    def __init__(self, session: Callable[[], Session | Any], *,  # Any: scoped sessions too
                 common_word_share: int = 64, by_id_up_to: int = _BY_ID_UP_TO):
        self._session = session
        self._by_id_up_to = by_id_up_to
        # A word gets a stored set when at least 1 in `common_word_share` listings use it.
        self._common_word_share = common_word_share
        self._lexemes: dict[str, tuple[str, ...]] = {}  # word -> PostgreSQL's lexemes for it
        self._local = threading.local()  # the sets of the search running on this thread
        self._cache = _Cache()

    # --- writing ---------------------------------------------------------------------------

    def _tokens_of(self, session, ids: list[int]) -> dict[int, set[str]]:
        return {lid: _tokens(facets, districts, words) for lid, facets, districts, words
                in session.execute(_TOKENS_OF, {"ids": ids})}

    def _new_version(self, session) -> int:
        """Tell every process's cache that the sets changed; returns the new version. The row
        lock also makes writers take turns (each starts here, so they cannot deadlock on the
        sets' rows)."""
        version = session.execute(text(
            "UPDATE search_index_state SET version = version + 1 WHERE id = 1 "
            "RETURNING version")).scalar()
        if version is None:
            version = session.execute(text(
                "INSERT INTO search_index_state (id, version) VALUES (1, 1) "
                "ON CONFLICT (id) DO UPDATE SET version = search_index_state.version + 1 "
                "RETURNING version")).scalar_one()
        return version

    def _record_change(self, session, version: int, tokens: set[str],
                       listing_ids: list[int]) -> None:
        """Note what this write changed, so other processes drop only that (and forget changes
        too old to matter: a process further behind than that drops everything)."""
        session.execute(_RECORD_CHANGE, {"v": version, "tokens": sorted(tokens),
                                         "ids": listing_ids, "oldest": version - _CHANGES_KEPT})

    def _flip(self, session, listing_id: int, on: set[str], off: set[str]) -> None:
        chunk, bit = divmod(listing_id, CHUNK)
        session.execute(_ADD_CHUNKS, {"tokens": sorted({_ALL} | on), "chunk": chunk,
                                      "zeros": _hex(0, CHUNK)})
        session.execute(_FLIP, {"chunk": chunk, "bit": bit, "on": sorted(on),
                                "off": sorted(off)})

    def index(self, docs: Iterable[ListingDocument]) -> None:
        batch = list(docs)
        if not batch:
            return
        session = self._session()
        version = self._new_version(session)
        ids = [d.listing_id for d in batch]
        before = self._tokens_of(session, ids)
        session.execute(_UPSERT, [_row(d) for d in batch])
        session.execute(_ADD_WORDS, {"words": _vocabulary(batch)})
        after = self._tokens_of(session, ids)
        changed: set[str] = set()
        for lid in ids:
            old, new = before.get(lid, set()), after.get(lid, set())
            if old != new:
                self._flip(session, lid, new - old, old - new)
                changed |= old ^ new
        self._record_change(session, version, changed, ids)

    def remove(self, listing_id: int) -> None:
        session = self._session()
        old = self._tokens_of(session, [listing_id]).get(listing_id)
        if old is None:
            return
        version = self._new_version(session)
        session.execute(text("DELETE FROM search_documents WHERE listing_id = :id"),
                        {"id": listing_id})
        self._flip(session, listing_id, set(), old)
        self._record_change(session, version, old, [listing_id])

    def rebuild(self, docs: Iterable[ListingDocument]) -> None:
        session = self._session()
        self._new_version(session)
        session.execute(text("DELETE FROM search_documents"))
        session.execute(text("DELETE FROM search_words"))
        session.execute(text("DELETE FROM search_postings"))
        # Every set changes: with no change rows, a process that sees the new version finds a
        # gap and drops all it keeps.
        session.execute(text("DELETE FROM search_index_changes"))
        members: dict[str, list[int]] = {_ALL: []}
        largest = 0
        batch: list[ListingDocument] = []
        for doc in docs:
            batch.append(doc)
            largest = max(largest, doc.listing_id)
            for token in doc.facet_tokens():
                members.setdefault(f"f:{token}", []).append(doc.listing_id)
            for district in doc.districts:
                members.setdefault(f"d:{district}", []).append(doc.listing_id)
            if len(batch) >= 2000:
                session.execute(_UPSERT, [_row(d) for d in batch])
                session.execute(_ADD_WORDS, {"words": _vocabulary(batch)})
                batch = []
        if batch:
            session.execute(_UPSERT, [_row(d) for d in batch])
            session.execute(_ADD_WORDS, {"words": _vocabulary(batch)})
        width = (largest // CHUNK + 1) * CHUNK
        words: dict[str, list[int]] = {}
        for lid, lexeme, in_title in session.execute(text(
                "SELECT d.listing_id, u.lexeme, 'A' = ANY(u.weights) "
                "FROM search_documents d, unnest(d.tsv) AS u")):
            words.setdefault(f"w:{lexeme}", []).append(lid)
            if in_title:
                words.setdefault(f"t:{lexeme}", []).append(lid)
        common = max(1, width // self._common_word_share)
        for token, ids in words.items():
            if len(words.get("w:" + token[2:], ())) >= common:
                members[token] = ids
        rows = []
        for token, ids in members.items():
            pieces = _chunks(mask_of(ids, width), width)
            if token == _ALL:  # every chunk of "all" exists: it tells readers the width
                pieces = [(k, dict(pieces).get(k, 0)) for k in range(width // CHUNK)]
            rows += [{"t": token, "c": k, "k": token[0], "bits": _hex(piece, CHUNK)}
                     for k, piece in pieces]
        for start in range(0, len(rows), 500):
            session.execute(text("INSERT INTO search_postings (token, chunk, kind, bits) "
                                 "VALUES (:t, :c, :k, CAST(:bits AS varbit))"),
                            rows[start:start + 500])

    # --- reading ---------------------------------------------------------------------------

    def search(self, query: SearchQuery, context=None):
        # Within one search the sets are read once and the version checked once; calls from
        # outside a search (matching_ids, tools) always check afresh.
        self._local.in_search, self._local.sets, self._local.version_checked = True, None, False
        try:
            return super().search(query, context)
        finally:
            self._local.in_search, self._local.sets, self._local.version_checked = \
                False, None, False

    def _lexemes_of(self, words: Sequence[str]) -> list[str]:
        """PostgreSQL's stemmed lexemes for the words (cached: the configuration is fixed)."""
        missing = [w for w in words if w not in self._lexemes]
        if missing:
            if len(self._lexemes) > _LEXEME_CACHE:
                self._lexemes.clear()
            for word, lexemes in self._session().execute(text(
                    "SELECT w, ARRAY(SELECT lexeme FROM unnest(to_tsvector('english', w))) "
                    "FROM unnest(CAST(:words AS text[])) AS w"), {"words": missing}):
                self._lexemes[word] = tuple(lexemes)
        return list(dict.fromkeys(x for w in words for x in self._lexemes[w]))

    def _sets(self, query: SearchQuery, requests: Sequence[Sequence[Constraint]]) -> _Sets | None:
        """Fetch every set these constraints and the query's words need (once per search)."""
        cached: _Sets | None = getattr(self._local, "sets", None)
        lexemes = self._lexemes_of(query.words)
        tokens = {_ALL} | {f"w:{x}" for x in lexemes} | {f"t:{x}" for x in lexemes}
        for constraints in requests:
            for c in constraints:
                tokens |= {("d:" if c.field == "districts" else "f:") + t for t in c.tokens}
                if c.max_price_pence is not None and c.max_price_pence in PRICE_OPTIONS:
                    tokens.add(f"f:price:{c.max_price_pence}")
                if c.min_rating is not None and c.min_rating in RATING_TOKENS:
                    tokens.add(f"f:rating:{int(c.min_rating)}")
        if cached is not None and cached.lexemes == lexemes and tokens <= cached.fetched:
            return cached
        session = self._session()
        width, stored = self._cached_sets(session, tokens)
        if not width:
            return None  # nothing indexed yet
        sets = _Sets(width, stored, tokens, lexemes)
        sets.version = self._cache.version
        rare = [x for x in lexemes if f"w:{x}" not in stored]
        if rare:
            # Rare words: the GIN index finds their listings, and whether each word is in the
            # title ('A' weight), in one statement.
            title_tests = ", ".join(f"tsv @@ CAST(:a{i} AS tsquery)" for i in range(len(rare)))
            params = {f"a{i}": f"{_quoted(x)}:A" for i, x in enumerate(rare)}
            params["q"] = " & ".join(_quoted(x) for x in rare)
            found: list[int] = []
            in_title: list[list[int]] = [[] for _ in rare]
            for row in session.execute(text(
                    f"SELECT listing_id, {title_tests} FROM search_documents "  # nosec B608
                    f"WHERE tsv @@ CAST(:q AS tsquery)"), params):
                found.append(row[0])
                for i, flag in enumerate(row[1:]):
                    if flag:
                        in_title[i].append(row[0])
            together = mask_of(found, width)
            for i, x in enumerate(rare):
                sets.words[x] = together
                sets.titles[x] = mask_of(in_title[i], width)
        for x in lexemes:
            if x not in sets.words:
                sets.words[x] = stored[f"w:{x}"]
                sets.titles[x] = stored.get(f"t:{x}", 0)
        if getattr(self._local, "in_search", False):
            self._local.sets = sets
        return sets

    def _read_sets(self, session, where: str, params: dict) -> dict[str, int]:
        found: dict[str, list[tuple[int, str]]] = {}
        for token, chunk, bits in session.execute(text(
                f"SELECT token, chunk, bits FROM search_postings WHERE {where}"), params):  # nosec B608
            found.setdefault(token, []).append((chunk, bits))
        width = self._cache.width
        return {token: sum(from_text(bits) << (width - (chunk + 1) * CHUNK)
                           for chunk, bits in pieces) for token, pieces in found.items()}

    def _cached_sets(self, session, tokens: set[str],
                     all_facets: bool = False) -> tuple[int, dict[str, int]]:
        """The sets for these tokens (missing ones are empty) and the sets' width in bits, from
        this process's cache after checking the index version in the database."""
        cache = self._cache
        if getattr(self._local, "in_search", False) and self._local.version_checked:
            version = cache.version  # checked already during this search
        else:
            # JIT compilation costs 50-200 ms and saves nothing on statements this short; the
            # setting lasts only for the current transaction.
            version = session.execute(text(
                "SELECT set_config('jit', 'off', true), "
                "(SELECT version FROM search_index_state WHERE id = 1)")).one()[1]
            self._local.version_checked = True
        with cache.lock:
            if version != cache.version:
                self._catch_up(session, version)
            if not cache.width:
                return 0, {}
            if all_facets:
                if cache.facets is None:
                    cache.sets.update(self._read_sets(session, "kind = 'f'", {}))
                    cache.facets = sorted(t for t in cache.sets
                                          if t.startswith("f:") and t != _ALL)
                tokens = set(tokens) | set(cache.facets)
            missing = sorted(t for t in tokens if t not in cache.sets)
            if missing:
                found = self._read_sets(session, "token = ANY(CAST(:t AS text[]))",
                                        {"t": missing})
                if len(cache.sets) > _SET_CACHE:
                    cache.sets, cache.facets = {}, None
                # None remembers "no stored set" (a rare word, an unknown value) until the
                # next version, so it is not asked for again.
                cache.sets.update({t: found.get(t) for t in missing})
            return cache.width, {t: bits for t in tokens
                                 if (bits := cache.sets.get(t)) is not None}

    def _catch_up(self, session, version: int) -> None:
        """Bring the cache (lock held) to `version`: drop only the sets and documents that the
        writes since changed, or everything when some of those writes are not on record (a
        rebuild, too many writes missed, the width grown, or a version that went backwards)."""
        cache = self._cache
        width = CHUNK * (session.execute(text(
            "SELECT max(chunk) + 1 FROM search_postings WHERE token = :t"),
            {"t": _ALL}).scalar() or 0)
        if cache.version is not None and cache.version < version and width == cache.width:
            changes = session.execute(text(
                "SELECT tokens, listing_ids FROM search_index_changes "
                "WHERE version > :old AND version <= :new"),
                {"old": cache.version, "new": version}).all()
            if len(changes) == version - cache.version:
                for tokens, listing_ids in changes:
                    for token in tokens:
                        cache.sets.pop(token, None)
                        if cache.facets is not None and token.startswith("f:") \
                                and token not in cache.facets:
                            cache.facets = None  # a new facet value: list them all again
                    for listing_id in listing_ids:
                        cache.documents.pop(listing_id, None)
                cache.version = version
                return
        cache.version, cache.sets, cache.facets = version, {}, None
        cache.documents = {}
        cache.width = width

    def _bound(self, sets: _Sets, column: str, limit: float) -> int:
        """Listings within a price or rating bound that has no stored set (a typed-in amount)."""
        key = (column, limit)
        if key not in sets.bounds:
            sql = ("SELECT listing_id FROM search_documents WHERE price_pence <= :v"
                   if column == "price" else
                   "SELECT listing_id FROM search_documents WHERE rating >= :v")
            ids = self._session().execute(text(sql), {"v": limit}).scalars()
            sets.bounds[key] = mask_of(ids, sets.width)
        return sets.bounds[key]

    def _match(self, sets: _Sets, constraints: Sequence[Constraint]) -> int:
        match = sets.get(_ALL)
        for c in constraints:
            if c.tokens:
                prefix = "d:" if c.field == "districts" else "f:"
                allowed = 0
                for token in c.tokens:
                    allowed |= sets.get(prefix + token)
                match &= allowed
            elif c.max_price_pence is not None:
                match &= sets.get(f"f:price:{c.max_price_pence}") \
                    if c.max_price_pence in PRICE_OPTIONS \
                    else self._bound(sets, "price", c.max_price_pence)
            elif c.min_rating is not None:
                match &= sets.get(f"f:rating:{int(c.min_rating)}") \
                    if c.min_rating in RATING_TOKENS else self._bound(sets, "rating", c.min_rating)
            if not match:
                return 0
        for lexeme in sets.lexemes:
            match &= sets.words[lexeme]
        return match

    def count_tokens(self, query: SearchQuery, constraints: Sequence[Constraint],
                     prefixes: tuple[str, ...] | None = None) -> Counter:
        return self.count_many(query, [(constraints, prefixes)])[0]

    def count_many(self, query: SearchQuery,
                   requests: Sequence[tuple[Sequence[Constraint], tuple[str, ...] | None]],
                   ) -> list[Counter]:
        sets = self._sets(query, [constraints for constraints, _ in requests])
        results = [Counter() for _ in requests]
        if sets is None:
            return results
        facets: dict[str, int] | None = None
        for i, (constraints, prefixes) in enumerate(requests):
            match = self._match(sets, constraints)
            if not match:
                continue
            results[i]["all"] = match.bit_count()
            if prefixes == ():
                continue
            if facets is None:
                _, found = self._cached_sets(self._session(), set(), all_facets=True)
                facets = {t[2:]: bits for t, bits in found.items()}
            for token, listings in facets.items():
                if prefixes is None or token.startswith(prefixes):
                    n = (match & listings).bit_count()
                    if n:
                        results[i][token] = n
        return results

    def retrieve(self, query: SearchQuery, constraints: Sequence[Constraint], *, offset: int,
                 limit: int, seed: int) -> list[Candidate]:
        sets = self._sets(query, [constraints])
        if sets is None:
            return []
        match = self._match(sets, constraints)
        lexemes = sets.lexemes
        titles = [sets.titles[x] for x in lexemes] if query.sort == "best" and lexemes else None
        session = self._session()
        order = _ORDER[query.sort]

        def first(mask: int, wanted: int) -> list[int]:
            if mask.bit_count() <= self._by_id_up_to:
                # A join, not `listing_id = ANY(:ids)`: once psycopg prepares the statement,
                # PostgreSQL's generic plan tests every row against each id in turn (2-6 ms);
                # joining the ids looks each one up by primary key (under 1 ms).
                sql = (f"SELECT listing_id FROM search_documents "  # nosec B608
                       f"JOIN unnest(CAST(:ids AS integer[])) AS wanted(id) ON listing_id = id "
                       f"ORDER BY {order} LIMIT :n")
                params: dict[str, object] = {"ids": positions(mask, sets.width)}
            else:
                sql = (f"SELECT listing_id FROM search_documents "  # nosec B608
                       f"WHERE listing_id < :width "  # a listing added since is not in `m`
                       f"AND get_bit((SELECT CAST(:m AS varbit)), listing_id) = 1 "
                       f"ORDER BY {order} LIMIT :n")
                params = {"m": _hex(mask, sets.width), "width": sets.width}
            params.update(seed=seed, n=wanted)
            return list(session.execute(text(sql), params).scalars())

        picked = ordered_matches(match, titles, len(lexemes), offset + limit, first)[offset:]
        if not picked:
            return []
        cache = self._cache
        with cache.lock:  # only this page's documents: the whole cache is thousands of entries
            documents = {p: doc for p, _ in picked if (doc := cache.documents.get(p)) is not None}
        wanted = [p for p, _ in picked if p not in documents]
        if wanted:
            parsed = {lid: ListingDocument.from_json(doc) for lid, doc in session.execute(text(
                "SELECT listing_id, document FROM search_documents "
                "WHERE listing_id = ANY(CAST(:ids AS integer[]))"), {"ids": wanted})}
            documents.update(parsed)
            with cache.lock:
                if cache.version == sets.version:
                    if len(cache.documents) > _DOCUMENT_CACHE:
                        cache.documents = {}
                    cache.documents.update(parsed)
        return [Candidate(documents[p], relevance) for p, relevance in picked]

    def corrections(self, words: Sequence[str]) -> dict[str, str]:
        session = self._session()
        fixes: dict[str, str] = {}
        sets: _Sets | None = getattr(self._local, "sets", None)
        for word in words:
            if len(word) < 3 or word.isdigit():
                continue
            if sets is not None and word in self._lexemes and all(
                    sets.words.get(x) for x in self._lexemes[word]):
                continue  # this search already found listings with the word
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
