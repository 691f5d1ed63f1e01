"""Sets of listings as bitsets (Python ints), and the retrieval order both search backends share.

A bitset has one bit per position (a Whoosh document number, or a PostgreSQL listing id), the
first position being the most significant bit: the same order as PostgreSQL's `bit varying`,
so a set moves between Python and the database as its '0101...' text with no reordering.
AND, OR and popcount on these ints run in C, so filters and counts over 100,000 listings cost
microseconds instead of a loop over listings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from app.domain.search import text_relevance

_NONZERO = re.compile(rb"[^\x00]")
_BITS = tuple(tuple(k for k in range(8) if byte >> (7 - k) & 1) for byte in range(256))


def bytes_for(nbits: int) -> int:
    return (nbits + 7) // 8


def mask_of(positions: Iterable[int], nbits: int) -> int:
    """The bitset of these positions, in a set `nbits` wide (a multiple of 8)."""
    buf = bytearray(bytes_for(nbits))
    for p in positions:
        buf[p >> 3] |= 0x80 >> (p & 7)
    return int.from_bytes(buf, "big")


def positions(mask: int, nbits: int) -> list[int]:
    """The positions in a bitset, ascending (finds the non-zero bytes in C, then their bits)."""
    raw = mask.to_bytes(bytes_for(nbits), "big")
    return [(m.start() << 3) + k for m in _NONZERO.finditer(raw) for k in _BITS[raw[m.start()]]]


def member_bytes(mask: int, nbits: int) -> bytes:
    """The bitset as bytes, for testing many single positions quickly (see `is_member`)."""
    return mask.to_bytes(bytes_for(nbits), "big")


def is_member(member: bytes, position: int) -> bool:
    return bool(member[position >> 3] & (0x80 >> (position & 7)))


def to_text(mask: int, nbits: int) -> str:
    """PostgreSQL `bit varying` input: '0101...' exactly `nbits` long."""
    return format(mask, f"0{nbits}b")


def from_text(bits: str) -> int:
    return int(bits, 2) if bits else 0


def title_tiers(match: int, titles: Sequence[int]) -> list[tuple[int, int]]:
    """Split the matches by how many of the searched words are in their title.

    Returns (words in the title, bitset) from the most to the fewest, leaving out empty ones.
    `titles[i]` is the set of listings with word i in the title.
    """
    exact = [match]  # exact[t]: matches with exactly t of the words seen so far in the title
    for title in titles:
        shifted = [0] * (len(exact) + 1)
        for t, listings in enumerate(exact):
            shifted[t] |= listings & ~title
            shifted[t + 1] |= listings & title
        exact = shifted
    return [(t, listings) for t, listings in reversed(list(enumerate(exact))) if listings]


def ordered_matches(match: int, titles: Sequence[int] | None, words: int, wanted: int,
                    first: Callable[[int, int], list[int]]) -> list[tuple[int, float]]:
    """The first `wanted` matches as (position, text relevance), in the order both backends use.

    With words and "best match", the listings with more of the words in the title come first;
    `first(bitset, n)` gives the first n members of a bitset in the sort order (then quality,
    then the per-user rotation), which each backend walks in its own way.
    """
    if not match:
        return []
    if not words or titles is None:
        return [(p, 0.0) for p in first(match, wanted)]
    out: list[tuple[int, float]] = []
    for in_title, listings in title_tiers(match, titles):
        relevance = text_relevance(words, in_title)
        out.extend((p, relevance) for p in first(listings, wanted - len(out)))
        if len(out) >= wanted:
            break
    return out
