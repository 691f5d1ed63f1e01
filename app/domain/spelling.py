""""Did you mean": the closest known word to a misspelling, within two edits, found by lookup.

A symmetric-delete index (as in SymSpell): every known word is filed under itself and each
version of it with one letter left out. A misspelling's own one-letter-out versions then meet
the words one insertion, deletion, substitution or swap away (and many two away) in a few
dictionary lookups, instead of an edit-distance sum against every word in the vocabulary.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

MAX_EDITS = 2


def _one_out(word: str) -> set[str]:
    return {word} | {word[:i] + word[i + 1:] for i in range(len(word))}


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


class Speller:
    """Suggests a known word for an unknown one. `frequency(word)` says how many listings use a
    word (asked only of the few candidates), so a common word wins over a rare one at the same
    distance."""

    def __init__(self, words: Iterable[str], frequency: Callable[[str], int] | None = None):
        self.known = set(words)
        self.frequency = frequency or (lambda word: 0)
        self._index: dict[str, list[str]] = defaultdict(list)
        for word in self.known:
            for variant in _one_out(word):
                self._index[variant].append(word)

    def suggest(self, word: str) -> str | None:
        if word in self.known:
            return None
        candidates = {known for variant in _one_out(word) for known in self._index.get(variant, ())}
        scored = [(distance, -self.frequency(known), known) for known in candidates
                  if (distance := edit_distance(word, known)) <= MAX_EDITS]
        return min(scored)[2] if scored else None
