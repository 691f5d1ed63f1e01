"""The Whoosh search backend: an embedded file index under the instance directory (one writer).

Words go through the same split and stop words as PostgreSQL's 'english' configuration and the
same Snowball English stemmer, so the two backends agree on what matches. Whoosh stores the
postings; for speed each index version is read once into bitsets (app.adapters.search.bitsets):
filters, facet counts and the title tiers of text relevance are then big-integer ANDs and
popcounts in C, not Python loops over documents. Ordering walks lists pre-sorted per sort order,
so a page never sorts every match, and "did you mean" is a dictionary lookup (app.domain.spelling).
"""

from __future__ import annotations

import heapq
import os
import shutil
import threading
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import chain

from whoosh import columns
from whoosh import index as whoosh_index
from whoosh.analysis import LowercaseFilter, RegexTokenizer, StemFilter, StopFilter
from whoosh.fields import COLUMN, ID, KEYWORD, STORED, TEXT, Schema

from app.adapters.search import SearchBackend
from app.adapters.search.bitsets import (
    is_member,
    mask_of,
    member_bytes,
    ordered_matches,
    positions,
)
from app.domain.search import (
    PRICE_OPTIONS,
    RATING_TOKENS,
    STOP_WORDS,
    Constraint,
    ListingDocument,
    SearchQuery,
    words_of,
)
from app.domain.search_ranking import Candidate, listing_hash
from app.domain.spelling import Speller

_TOKENS = r"[a-z0-9]+"
STEMMING = RegexTokenizer(_TOKENS) | LowercaseFilter() | StopFilter(
    stoplist=STOP_WORDS, minsize=1) | StemFilter(lang="en", cachesize=-1)
PLAIN = RegexTokenizer(_TOKENS) | LowercaseFilter() | StopFilter(stoplist=STOP_WORDS, minsize=3)

# Below this many matches, sorting the matches beats walking a list sorted in advance.
_SPARSE = 3000
_PARALLEL_FROM = 20_000  # documents; below this, starting worker processes costs more
_HASH_BITS = 32
# Whoosh allows one writer per index, and by default another process's writer makes ours fail at
# once (LockError): with several server processes, two listings edited together would leave one
# of them stale in search. Wait for the other writer instead; an edit's write takes milliseconds.
_WAIT_FOR_LOCK = {"timeout": 15.0, "delay": 0.05}


def make_schema() -> Schema:
    def number(typecode: str = "q") -> COLUMN:
        return COLUMN(columns.NumericColumn(typecode, default=0))

    return Schema(
        key=ID(unique=True),
        text=TEXT(analyzer=STEMMING, phrase=False),
        title=TEXT(analyzer=STEMMING, phrase=False),  # words in the title count double
        words=TEXT(analyzer=PLAIN, phrase=False),  # unstemmed: the "did you mean" vocabulary
        # Scorable only so Whoosh keeps a length column: without one its writer looks for the
        # missing column file on disk once per posting, which made a 100k build take minutes.
        facets=KEYWORD(scorable=True),
        districts=KEYWORD(scorable=True),
        # Sort and filter values are columns only (no postings).
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
        "title": " ".join(words_of(doc.title)),
        "facets": " ".join(doc.facet_tokens()), "districts": " ".join(doc.districts),
        "price": doc.price_pence, "quality": round(doc.bayesian_rating * 10_000),
        "rating": round(doc.sort_rating * 100),
        "rating_count": doc.rating_count, "payload": doc.to_json(),
    }


class _Order:
    """Live document numbers sorted by (sort key, listing hash), with the runs of equal sort keys,
    so the first matches in per-user rotation order are found by walking, not sorting.

    `keys[d]` is one integer per document: the sort key shifted above the 32-bit listing hash,
    so sorting compares plain ints (a tuple key function made this ten times slower)."""

    def __init__(self, docnums: list[int], keys: list[int]):
        ordered = sorted(docnums, key=keys.__getitem__)
        self.docs = ordered
        mask = (1 << _HASH_BITS) - 1
        self.hashes = [keys[d] & mask for d in ordered]
        self.runs: list[tuple[int, int]] = []
        start = 0
        for i in range(1, len(ordered) + 1):
            if i == len(ordered) or keys[ordered[i]] >> _HASH_BITS != \
                    keys[ordered[start]] >> _HASH_BITS:
                self.runs.append((start, i))
                start = i

    def first(self, member: bytes, wanted: int, seed: int) -> list[int]:
        out: list[int] = []
        docs, hashes = self.docs, self.hashes
        for start, end in self.runs:
            split = bisect_left(hashes, seed, start, end)  # the rotation starts at the seed
            for index in chain(range(split, end), range(start, split)):
                d = docs[index]
                if is_member(member, d):
                    out.append(d)
                    if len(out) == wanted:
                        return out
        return out


class _SegmentCache:
    """What was read from each index segment, kept across index versions.

    Whoosh never changes a written segment (an edit deletes the old document and adds the new
    one in a new small segment), so a segment's postings and columns stay valid for as long as
    it exists; only its deleted documents change. After an edit, a new version of the index then
    reads just the new segment instead of every posting of 100,000 listings again (seconds)."""

    def __init__(self):
        self.postings: dict[tuple[str, str, str], int] = {}
        self.columns: dict[tuple[str, str], list] = {}

    def keep_only(self, segment_ids: set[str]) -> None:
        self.postings = {k: v for k, v in self.postings.items() if k[0] in segment_ids}
        self.columns = {k: v for k, v in self.columns.items() if k[0] in segment_ids}


class _Snapshot:
    """One version of the index as bitsets and columns (built lazily, kept until it changes)."""

    def __init__(self, searcher, segments: _SegmentCache):
        self.searcher = searcher
        self.segments = segments
        reader = searcher.reader()
        self.size = reader.doc_count_all()
        self.nbits = (self.size + 7) // 8 * 8
        # (segment id, segment reader, first document number, documents in the segment)
        self.leaves = [(leaf.segment().segment_id(), leaf, offset, leaf.doc_count_all())
                       for leaf, offset in reader.leaf_readers()
                       if leaf.segment() is not None]  # an empty index has no segment
        segments.keep_only({leaf[0] for leaf in self.leaves})
        everyone = mask_of(range(self.size), self.nbits)
        deleted = [offset + d for _, leaf, offset, _ in self.leaves if leaf.has_deletions()
                   for d in leaf.segment().deleted_docs()]
        self.live = everyone & ~mask_of(deleted, self.nbits)
        self.live_ids = positions(self.live, self.nbits)
        self.facet_tokens = [t.decode() if isinstance(t, bytes) else t
                             for t in reader.lexicon("facets")]

        def column(name: str) -> list:
            values: list = []
            for segment_id, leaf, _, size in self.leaves:
                key = (segment_id, name)
                if key not in segments.columns:
                    segments.columns[key] = list(leaf.column_reader(name)) if size else []
                values += segments.columns[key]
            return values

        self.lid = column("lid")
        self.price = column("price")
        self.quality = column("quality")
        self.rating = column("rating")
        self.rating_count = column("rating_count")
        self.hashes = [listing_hash(x) for x in self.lid]
        self._postings: dict[tuple[str, str], int] = {}
        self._bounds: dict[tuple[str, int], int] = {}
        self._orders: dict[str, _Order] = {}
        self._speller: Speller | None = None
        self._documents: dict[int, ListingDocument] = {}

    def document(self, d: int) -> ListingDocument:
        """The stored listing document, parsed once per index version."""
        found = self._documents.get(d)
        if found is None:
            found = ListingDocument.from_json(self.searcher.stored_fields(d)["payload"])
            self._documents[d] = found
        return found

    def postings(self, field: str, token: str) -> int:
        key = (field, token)
        found = self._postings.get(key)
        if found is None:
            found = 0
            for segment_id, leaf, offset, size in self.leaves:
                local_key = (segment_id, field, token)
                local = self.segments.postings.get(local_key)
                if local is None:
                    ids = leaf.postings(field, token).all_ids() if (field, token) in leaf else ()
                    local = mask_of(ids, (size + 7) // 8 * 8)
                    self.segments.postings[local_key] = local
                # Place the segment's bits at its documents' numbers (first bit = document 0).
                shift = self.nbits - offset - (size + 7) // 8 * 8
                found |= local << shift if shift >= 0 else local >> -shift
            found &= self.live
            self._postings[key] = found
        return found

    def bound(self, column: str, limit: int) -> int:
        """Documents whose price is at most, or rating at least, `limit` (cached per value)."""
        key = (column, limit)
        found = self._bounds.get(key)
        if found is None:
            if column == "price":
                found = mask_of((d for d, v in enumerate(self.price) if v <= limit), self.nbits)
            else:
                found = mask_of((d for d, v in enumerate(self.rating) if v >= limit), self.nbits)
            found &= self.live
            self._bounds[key] = found
        return found

    def sort_key(self, sort: str, d: int) -> tuple:
        if sort == "price":
            return (self.price[d],)
        if sort == "rating":
            return (-self.rating[d], -self.rating_count[d])
        return (-self.quality[d],)

    def order(self, sort: str) -> _Order:
        found = self._orders.get(sort)
        if found is None:
            hashes = self.hashes
            if sort == "price":
                keys = [p << _HASH_BITS | h for p, h in zip(self.price, hashes, strict=True)]
            elif sort == "rating":
                # rating is -100..500 and counts are below 2^24: both made non-negative, larger
                # first, packed into one integer above the hash.
                keys = [((600 - r) << 24 | ((1 << 24) - 1 - min(c, (1 << 24) - 1)))
                        << _HASH_BITS | h
                        for r, c, h in zip(self.rating, self.rating_count, hashes, strict=True)]
            else:
                keys = [(100_000 - q) << _HASH_BITS | h
                        for q, h in zip(self.quality, hashes, strict=True)]
            found = _Order(self.live_ids, keys)
            self._orders[sort] = found
        return found

    def speller(self) -> Speller:
        if self._speller is None:
            reader = self.searcher.reader()
            # Terms only: reading every term's statistics took a second on 100,000 listings,
            # and only the few candidates for a misspelling need their frequency.
            self._speller = Speller(
                (term.decode() if isinstance(term, bytes) else term
                 for term in reader.lexicon("words")),
                lambda word: reader.doc_frequency("words", word))
        return self._speller


class WhooshSearchBackend(SearchBackend):
    name = "whoosh"

    def __init__(self, path: str):
        self.path = path
        self._lock = threading.RLock()
        self._snapshot: _Snapshot | None = None
        self._segments = _SegmentCache()

    # --- writing ---------------------------------------------------------------------------

    def _index(self):
        if not whoosh_index.exists_in(self.path):
            os.makedirs(self.path, exist_ok=True)
            return whoosh_index.create_in(self.path, make_schema())
        return whoosh_index.open_dir(self.path)

    def index(self, docs: Iterable[ListingDocument]) -> None:
        with self._lock:
            writer = self._index().writer(limitmb=128, **_WAIT_FOR_LOCK)
            for doc in docs:
                writer.update_document(**_fields(doc))
            writer.commit()

    def remove(self, listing_id: int) -> None:
        with self._lock:
            ix = self._index()
            with ix.searcher() as searcher:
                if searcher.document_number(key=str(listing_id)) is None:
                    return  # not indexed: no need to take the writer lock
            writer = ix.writer(**_WAIT_FOR_LOCK)
            writer.delete_by_term("key", str(listing_id))
            writer.commit()

    def rebuild(self, docs: Iterable[ListingDocument]) -> None:
        with self._lock:
            self._close()
            self._segments = _SegmentCache()
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
            self._snapshot = _Snapshot(self._index().searcher(), self._segments)
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
                exact = stars == int(stars) and int(stars) in RATING_TOKENS
                docs &= snap.postings("facets", f"rating:{int(stars)}") if exact \
                    else snap.bound("rating", round(stars * 100))
            if not docs:
                return 0
        for stem in self._stems(query):
            docs &= snap.postings("text", stem)
        return docs

    def count_tokens(self, query: SearchQuery, constraints: Sequence[Constraint],
                     prefixes: tuple[str, ...] | None = None) -> Counter:
        with self._lock:
            snap = self._current()
            docs = self._docset(snap, query, constraints)
            counts: Counter = Counter()
            if not docs:
                return counts
            counts["all"] = docs.bit_count()
            for token in snap.facet_tokens:
                if prefixes is not None and not token.startswith(prefixes):
                    continue
                n = (docs & snap.postings("facets", token)).bit_count()
                if n:
                    counts[token] = n
            return counts

    def retrieve(self, query: SearchQuery, constraints: Sequence[Constraint], *, offset: int,
                 limit: int, seed: int) -> list[Candidate]:
        with self._lock:
            snap = self._current()
            docs = self._docset(snap, query, constraints)
            stems = self._stems(query)
            titles = [snap.postings("title", stem) for stem in stems] \
                if query.sort == "best" and stems else None
            hashes = snap.hashes

            def first(mask: int, wanted: int) -> list[int]:
                if mask.bit_count() <= _SPARSE:
                    return heapq.nsmallest(wanted, positions(mask, snap.nbits), key=lambda d: (
                        *snap.sort_key(query.sort, d), (hashes[d] - seed) & 0xFFFFFFFF))
                return snap.order(query.sort).first(member_bytes(mask, snap.nbits), wanted,
                                                    seed)

            picked = ordered_matches(docs, titles, len(stems), offset + limit, first)[offset:]
            return [Candidate(snap.document(d), relevance) for d, relevance in picked]

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
                suggested = snap.speller().suggest(word)
                if suggested and suggested != word:
                    fixes[word] = suggested
            return fixes
