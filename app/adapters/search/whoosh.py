"""The Whoosh search backend: an embedded file index under the instance directory (one writer).

Words go through the same split and stop words as PostgreSQL's 'english' configuration and the
same Snowball English stemmer, so the two backends agree on what matches. Filters and facet
counts use sets of document numbers read once per index version from the index's own postings
(set intersection runs in C), and Whoosh's BM25F scores the words.
"""

from __future__ import annotations

import heapq
import os
import shutil
import threading
from collections import Counter
from collections.abc import Iterable, Sequence

from whoosh import index as whoosh_index
from whoosh.analysis import LowercaseFilter, RegexTokenizer, StemFilter, StopFilter
from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.query import And, Term

from app.adapters.search import SearchBackend
from app.domain.search import STOP_WORDS, Constraint, ListingDocument, SearchQuery, words_of
from app.domain.search_ranking import Candidate, rotation_key

_TOKENS = r"[a-z0-9]+"
STEMMING = RegexTokenizer(_TOKENS) | LowercaseFilter() | StopFilter(
    stoplist=STOP_WORDS, minsize=1) | StemFilter(lang="en", cachesize=-1)
PLAIN = RegexTokenizer(_TOKENS) | LowercaseFilter() | StopFilter(stoplist=STOP_WORDS, minsize=3)


def make_schema() -> Schema:
    return Schema(
        key=ID(unique=True),
        lid=NUMERIC(int, bits=64, sortable=True),
        text=TEXT(analyzer=STEMMING, phrase=False),
        words=TEXT(analyzer=PLAIN, phrase=False),  # unstemmed: the "did you mean" vocabulary
        facets=KEYWORD(scorable=False),
        districts=KEYWORD(scorable=False),
        price=NUMERIC(int, bits=64, sortable=True),
        # Whoosh's float columns are broken, so scores are stored as scaled integers.
        quality=NUMERIC(int, bits=64, sortable=True),  # Bayesian rating x 10,000
        rating=NUMERIC(int, bits=64, signed=True, sortable=True),  # rating x 100; -100 unrated
        rating_count=NUMERIC(int, sortable=True),
        payload=STORED,
    )


def _fields(doc: ListingDocument) -> dict:
    text = " ".join(words_of(doc.text))
    return {
        "key": str(doc.listing_id), "lid": doc.listing_id, "text": text, "words": text,
        "facets": " ".join(doc.facet_tokens()), "districts": " ".join(doc.districts),
        "price": doc.price_pence, "quality": round(doc.bayesian_rating * 10_000),
        "rating": round(doc.sort_rating * 100),
        "rating_count": doc.rating_count, "payload": doc.to_json(),
    }


class _Snapshot:
    """What one version of the index needs for fast filtering: postings as sets, sort columns."""

    def __init__(self, searcher):
        self.searcher = searcher
        reader = searcher.reader()
        self.live = frozenset(reader.all_doc_ids())
        self._postings: dict[tuple[str, str], frozenset[int]] = {}
        self.facet_tokens = [t.decode() if isinstance(t, bytes) else t
                             for t in reader.lexicon("facets")]
        size = reader.doc_count_all()

        def column(name: str) -> list:
            if size == 0:
                return []
            return list(reader.column_reader(name))

        self.lid = column("lid")
        self.price = column("price")
        self.quality = column("quality")
        self.rating = column("rating")
        self.rating_count = column("rating_count")

    def postings(self, field: str, token: str) -> frozenset[int]:
        key = (field, token)
        found = self._postings.get(key)
        if found is None:
            reader = self.searcher.reader()
            try:
                ids = reader.postings(field, token).all_ids() if (field, token) in reader \
                    else ()
            except KeyError:
                ids = ()
            found = frozenset(ids) & self.live
            self._postings[key] = found
        return found


class WhooshSearchBackend(SearchBackend):
    name = "whoosh"

    def __init__(self, path: str):
        self.path = path
        self._lock = threading.RLock()
        self._snapshot: _Snapshot | None = None

    # --- writing ---------------------------------------------------------------------------

    def _index(self):
        if not whoosh_index.exists_in(self.path):
            os.makedirs(self.path, exist_ok=True)
            return whoosh_index.create_in(self.path, make_schema())
        return whoosh_index.open_dir(self.path)

    def index(self, docs: Iterable[ListingDocument]) -> None:
        with self._lock:
            writer = self._index().writer(limitmb=128)
            for doc in docs:
                writer.update_document(**_fields(doc))
            writer.commit()

    def remove(self, listing_id: int) -> None:
        with self._lock:
            writer = self._index().writer()
            writer.delete_by_term("key", str(listing_id))
            writer.commit()

    def rebuild(self, docs: Iterable[ListingDocument]) -> None:
        with self._lock:
            self._close()
            if os.path.isdir(self.path):
                shutil.rmtree(self.path)
            os.makedirs(self.path, exist_ok=True)
            ix = whoosh_index.create_in(self.path, make_schema())
            writer = ix.writer(limitmb=256)
            for doc in docs:
                writer.add_document(**_fields(doc))
            writer.commit(optimize=True)

    def _close(self) -> None:
        if self._snapshot is not None:
            self._snapshot.searcher.close()
            self._snapshot = None

    # --- reading ---------------------------------------------------------------------------

    def _current(self) -> _Snapshot:
        with self._lock:
            snap = self._snapshot
            if snap is not None and snap.searcher.up_to_date():
                return snap
            self._close()
            self._snapshot = _Snapshot(self._index().searcher())
            return self._snapshot

    def _text_query(self, query: SearchQuery):
        terms: list[Term] = []
        for word in query.words:
            stems = [t.text for t in STEMMING(word)]
            terms.extend(Term("text", s) for s in stems)
        return And(terms) if terms else None

    def _docset(self, snap: _Snapshot, query: SearchQuery,
                constraints: Sequence[Constraint]) -> set[int] | frozenset[int]:
        docs: set[int] | frozenset[int] = snap.live
        for c in sorted(constraints, key=lambda c: c.field != "districts"):
            if c.tokens:
                allowed: set[int] = set()
                for token in c.tokens:
                    allowed |= snap.postings(c.field, token)
                docs = docs & allowed
            elif c.max_price_pence is not None:
                docs = {d for d in docs if snap.price[d] <= c.max_price_pence}
            elif c.min_rating is not None:
                docs = {d for d in docs if snap.rating[d] >= round(c.min_rating * 100)}
            if not docs:
                return docs
        text_q = self._text_query(query)
        if text_q is not None:
            docs = docs & set(snap.searcher.docs_for_query(text_q))
        return docs

    def count_tokens(self, query: SearchQuery, constraints: Sequence[Constraint]) -> Counter:
        with self._lock:
            snap = self._current()
            docs = self._docset(snap, query, constraints)
            counts: Counter = Counter()
            if not docs:
                return counts
            for token in snap.facet_tokens:
                n = len(docs & snap.postings("facets", token))
                if n:
                    counts[token] = n
            return counts

    def retrieve(self, query: SearchQuery, constraints: Sequence[Constraint], *, offset: int,
                 limit: int, seed: int) -> list[Candidate]:
        with self._lock:
            snap = self._current()
            docs = self._docset(snap, query, constraints)
            if not docs:
                return []
            wanted = offset + limit
            text_q = self._text_query(query)
            if query.sort == "best" and text_q is not None:
                results = snap.searcher.search(text_q, filter=set(docs), limit=wanted)
                scored = [(hit.docnum, hit.score) for hit in results]
                # Whoosh breaks score ties by document number; use the shared order instead.
                scored.sort(key=lambda p: (-round(p[1], 6), -snap.quality[p[0]],
                                           rotation_key(snap.lid[p[0]], seed)))
                picked = scored[offset:wanted]
            else:
                if query.sort == "price":
                    def key(d):
                        return (snap.price[d], rotation_key(snap.lid[d], seed))
                elif query.sort == "rating":
                    def key(d):
                        return (-snap.rating[d], -snap.rating_count[d],
                                rotation_key(snap.lid[d], seed))
                else:
                    def key(d):
                        return (-snap.quality[d], rotation_key(snap.lid[d], seed))
                ordered = heapq.nsmallest(wanted, docs, key=key)[offset:]
                picked = [(d, 0.0) for d in ordered]
            stored = snap.searcher.stored_fields
            return [Candidate(ListingDocument.from_json(stored(d)["payload"]), float(score))
                    for d, score in picked]

    def corrections(self, words: Sequence[str]) -> dict[str, str]:
        with self._lock:
            snap = self._current()
            reader = snap.searcher.reader()
            fixes: dict[str, str] = {}
            for word in words:
                if len(word) < 3 or word.isdigit() or ("words", word) in reader:
                    continue
                if all(("text", t.text) in reader for t in STEMMING(word)):
                    continue  # "walk" is fine when listings say "walks"
                suggested = snap.searcher.suggest("words", word, limit=1, maxdist=2)
                if suggested and suggested[0] != word:
                    fixes[word] = suggested[0]
            return fixes
