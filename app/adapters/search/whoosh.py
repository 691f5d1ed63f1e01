"""The Whoosh search backend: an embedded file index under the instance directory (one writer).

Words go through the same split and stop words as PostgreSQL's 'english' configuration and the
same Snowball English stemmer, so the two backends agree on what matches. Whoosh stores the
postings; for speed each index version is read once into bitsets (Python ints, one bit per
document): filters and facet counts are then a few big-integer ANDs and popcounts in C, not
Python loops over documents. Text relevance is BM25 over Whoosh's own postings and field
lengths; ordering walks lists pre-sorted per sort order, so a page never sorts every match.
"""

from __future__ import annotations

import heapq
import math
import os
import re
import shutil
import threading
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Sequence

from whoosh import columns
from whoosh import index as whoosh_index
from whoosh.analysis import LowercaseFilter, RegexTokenizer, StemFilter, StopFilter
from whoosh.fields import COLUMN, ID, KEYWORD, STORED, TEXT, Schema

from app.adapters.search import SearchBackend
from app.domain.search import (
    PRICE_OPTIONS,
    RATING_OPTIONS,
    STOP_WORDS,
    Constraint,
    ListingDocument,
    SearchQuery,
    words_of,
)
from app.domain.search_ranking import Candidate, listing_hash

_TOKENS = r"[a-z0-9]+"
STEMMING = RegexTokenizer(_TOKENS) | LowercaseFilter() | StopFilter(
    stoplist=STOP_WORDS, minsize=1) | StemFilter(lang="en", cachesize=-1)
PLAIN = RegexTokenizer(_TOKENS) | LowercaseFilter() | StopFilter(stoplist=STOP_WORDS, minsize=3)

# Below this many matches, listing the matches and sorting them beats walking a sorted list.
_SPARSE = 3000
_BM25_K1, _BM25_B = 1.2, 0.75
_PARALLEL_FROM = 20_000  # documents; below this, starting worker processes costs more
_NONZERO = re.compile(rb"[^\x00]")
_BITS = tuple(tuple(i for i in range(8) if byte >> i & 1) for byte in range(256))


def make_schema() -> Schema:
    def number(typecode: str = "q") -> COLUMN:
        return COLUMN(columns.NumericColumn(typecode, default=0))

    return Schema(
        key=ID(unique=True),
        text=TEXT(analyzer=STEMMING, phrase=False),
        words=TEXT(analyzer=PLAIN, phrase=False),  # unstemmed: the "did you mean" vocabulary
        # Scorable only so Whoosh keeps a length column: without one its writer looks for the
        # missing column file on disk once per posting, which made a 100k build take minutes.
        facets=KEYWORD(scorable=True),
        districts=KEYWORD(scorable=True),
        # Sort and filter values are columns only (no postings): filters read them as bitsets.
        lid=number(),
        price=number(),
        quality=number(),  # Bayesian rating x 10,000 (Whoosh's float columns are unreliable)
        rating=number(),  # rating x 100; -100 when not rated yet
        rating_count=number(),
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


class _Order:
    """Document numbers sorted by (primary key, listing hash), with the runs of equal primary
    keys, so the first matches in per-user rotation order are found by walking, not sorting."""

    def __init__(self, docnums: Iterable[int], primary, hashes: list[int]):
        ordered = sorted(docnums, key=lambda d: (primary(d), hashes[d]))
        self.docs = ordered
        self.hashes = [hashes[d] for d in ordered]
        self.runs: list[tuple[int, int]] = []
        start = 0
        for i in range(1, len(ordered) + 1):
            if i == len(ordered) or primary(ordered[i]) != primary(ordered[start]):
                self.runs.append((start, i))
                start = i

    def first(self, member: bytes, wanted: int, seed: int) -> list[int]:
        out: list[int] = []
        docs, hashes = self.docs, self.hashes
        for start, end in self.runs:
            split = bisect_left(hashes, seed, start, end)  # the rotation starts at the seed
            for index in range(split, end):
                d = docs[index]
                if member[d >> 3] >> (d & 7) & 1:
                    out.append(d)
                    if len(out) == wanted:
                        return out
            for index in range(start, split):
                d = docs[index]
                if member[d >> 3] >> (d & 7) & 1:
                    out.append(d)
                    if len(out) == wanted:
                        return out
        return out


class _Snapshot:
    """One version of the index as bitsets and columns (built lazily, kept until it changes)."""

    def __init__(self, searcher):
        self.searcher = searcher
        reader = searcher.reader()
        self.size = reader.doc_count_all()
        self.nbytes = (self.size + 7) // 8
        self.live = self.mask(reader.all_doc_ids())
        self.facet_tokens = [t.decode() if isinstance(t, bytes) else t
                             for t in reader.lexicon("facets")]

        def column(name: str) -> list:
            return list(reader.column_reader(name)) if self.size else []

        self.lid = column("lid")
        self.price = column("price")
        self.quality = column("quality")
        self.rating = column("rating")
        self.rating_count = column("rating_count")
        self.hashes = [listing_hash(x) for x in self.lid]
        self._postings: dict[tuple[str, str], int] = {}
        self._bounds: dict[tuple[str, int], int] = {}
        self._orders: dict[str, _Order] = {}
        self._bm25: dict[str, dict[int, float]] = {}

    def mask(self, docnums: Iterable[int]) -> int:
        buf = bytearray(self.nbytes)
        for d in docnums:
            buf[d >> 3] |= 1 << (d & 7)
        return int.from_bytes(buf, "little")

    def ids(self, mask: int) -> list[int]:
        raw = mask.to_bytes(self.nbytes, "little")
        return [(m.start() << 3) + bit for m in _NONZERO.finditer(raw)
                for bit in _BITS[raw[m.start()]]]

    def member(self, mask: int) -> bytes:
        return mask.to_bytes(self.nbytes, "little")

    def postings(self, field: str, token: str) -> int:
        key = (field, token)
        found = self._postings.get(key)
        if found is None:
            reader = self.searcher.reader()
            ids = reader.postings(field, token).all_ids() if (field, token) in reader else ()
            found = self.mask(ids) & self.live
            self._postings[key] = found
        return found

    def bound(self, column: str, limit: int) -> int:
        """Documents whose price is at most, or rating at least, `limit` (cached per value)."""
        key = (column, limit)
        found = self._bounds.get(key)
        if found is None:
            if column == "price":
                found = self.mask(d for d, v in enumerate(self.price) if v <= limit)
            else:
                found = self.mask(d for d, v in enumerate(self.rating) if v >= limit)
            found &= self.live
            self._bounds[key] = found
        return found

    def order(self, sort: str) -> _Order:
        found = self._orders.get(sort)
        if found is None:
            if sort == "price":
                price = self.price

                def primary(d):
                    return price[d]
            elif sort == "rating":
                rating, count = self.rating, self.rating_count

                def primary(d):
                    return (-rating[d], -count[d])
            else:
                quality = self.quality

                def primary(d):
                    return -quality[d]
            found = _Order(self.ids(self.live), primary, self.hashes)
            self._orders[sort] = found
        return found

    def bm25(self, stem: str) -> dict[int, float]:
        """BM25 of one stem for every document containing it (Whoosh's postings and lengths)."""
        found = self._bm25.get(stem)
        if found is None:
            reader = self.searcher.reader()
            found = {}
            if ("text", stem) in reader:
                n = max(reader.doc_count(), 1)
                df = reader.doc_frequency("text", stem)
                idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
                average = max(reader.field_length("text") / n, 1.0)
                matcher = reader.postings("text", stem)
                while matcher.is_active():
                    d, tf = matcher.id(), matcher.weight()
                    norm = _BM25_K1 * (1 - _BM25_B + _BM25_B *
                                       reader.doc_field_length(d, "text", 1) / average)
                    found[d] = idf * tf * (_BM25_K1 + 1) / (tf + norm)
                    matcher.next()
            self._bm25[stem] = found
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
            ix = self._index()
            with ix.searcher() as searcher:
                if searcher.document_number(key=str(listing_id)) is None:
                    return  # not indexed: no need to take the writer lock
            writer = ix.writer()
            writer.delete_by_term("key", str(listing_id))
            writer.commit()

    def rebuild(self, docs: Iterable[ListingDocument]) -> None:
        with self._lock:
            self._close()
            if os.path.isdir(self.path):
                shutil.rmtree(self.path)
            os.makedirs(self.path, exist_ok=True)
            ix = whoosh_index.create_in(self.path, make_schema())
            batch = docs if isinstance(docs, list) else list(docs)
            # A bulk load: a large buffer, and for big rebuilds one process per core, each
            # writing its own segment (multisegment: no merge at the end).
            if len(batch) >= _PARALLEL_FROM and (os.cpu_count() or 1) > 1:
                writer = ix.writer(limitmb=256, procs=min(os.cpu_count() or 1, 4),
                                   multisegment=True)
            else:
                writer = ix.writer(limitmb=512)
            for doc in batch:
                writer.add_document(**_fields(doc))
            writer.commit()

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

    @staticmethod
    def _stems(query: SearchQuery) -> list[str]:
        return list(dict.fromkeys(t.text for word in query.words for t in STEMMING(word)))

    def _docset(self, snap: _Snapshot, query: SearchQuery,
                constraints: Sequence[Constraint]) -> int:
        docs = snap.live
        for c in constraints:
            if c.tokens:
                allowed = 0
                for token in c.tokens:
                    allowed |= snap.postings(c.field, token)
                docs &= allowed
            elif c.max_price_pence is not None:
                exact = c.max_price_pence in PRICE_OPTIONS
                docs &= snap.postings("facets", f"price:{c.max_price_pence}") if exact \
                    else snap.bound("price", c.max_price_pence)
            elif c.min_rating is not None:
                stars = c.min_rating
                exact = stars == int(stars) and int(stars) in RATING_OPTIONS
                docs &= snap.postings("facets", f"rating:{int(stars)}") if exact \
                    else snap.bound("rating", round(stars * 100))
            if not docs:
                return 0
        for stem in self._stems(query):
            docs &= snap.postings("text", stem)
        return docs

    def count_tokens(self, query: SearchQuery, constraints: Sequence[Constraint]) -> Counter:
        with self._lock:
            snap = self._current()
            docs = self._docset(snap, query, constraints)
            counts: Counter = Counter()
            if not docs:
                return counts
            for token in snap.facet_tokens:
                n = (docs & snap.postings("facets", token)).bit_count()
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
            hashes = snap.hashes

            def rotation(d: int) -> int:
                return (hashes[d] - seed) & 0xFFFFFFFF

            stems = self._stems(query)
            if query.sort == "best" and stems:
                tables = [snap.bm25(stem) for stem in stems]
                quality = snap.quality
                scored = [(round(sum(t[d] for t in tables), 6), d) for d in snap.ids(docs)]
                best = heapq.nsmallest(wanted, scored, key=lambda p: (
                    -p[0], -quality[p[1]], rotation(p[1])))
                picked = best[offset:wanted]
            elif docs.bit_count() <= _SPARSE:
                if query.sort == "price":
                    def key(d):
                        return (snap.price[d], rotation(d))
                elif query.sort == "rating":
                    def key(d):
                        return (-snap.rating[d], -snap.rating_count[d], rotation(d))
                else:
                    def key(d):
                        return (-snap.quality[d], rotation(d))
                picked = [(0.0, d) for d in heapq.nsmallest(wanted, snap.ids(docs), key=key)]
                picked = picked[offset:]
            else:
                found = snap.order(query.sort).first(snap.member(docs), wanted, seed)
                picked = [(0.0, d) for d in found[offset:]]
            stored = snap.searcher.stored_fields
            return [Candidate(ListingDocument.from_json(stored(d)["payload"]), float(score))
                    for score, d in picked]

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
