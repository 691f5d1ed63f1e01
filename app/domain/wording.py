"""Sentences written to a budget holder ("your support plan"), said about them to staff."""

from __future__ import annotations

import re

# Phrases the holder-facing sentences use, and what a broker or council officer reads instead.
# Longest first, so "your weekly budget" is not caught as "your budget" with a stray word.
_FOR_STAFF: tuple[tuple[str, str], ...] = (
    ("talk to your broker if you think you need", "talk to them if they think they need"),
    ("you are on course", "they are on course"),
    ("you have not spent", "they have not spent"),
    ("your support plan", "their support plan"),
    ("your contingency reserve", "their contingency reserve"),
    ("your weekly budget", "their weekly budget"),
    ("your personal budget", "their personal budget"),
    ("your budget", "their budget"),
    ("your money", "their money"),
    ("your plan", "their plan"),
)
_PATTERN = re.compile("|".join(rf"\b{re.escape(a)}\b" for a, _ in _FOR_STAFF), re.IGNORECASE)
_LOOKUP = dict(_FOR_STAFF)


def for_staff(sentence: str) -> str:
    """The same sentence about the holder, for staff: "your budget" becomes "their budget"."""

    def swap(match: re.Match[str]) -> str:
        found = match.group(0)
        said = _LOOKUP[found.lower()]
        return said[0].upper() + said[1:] if found[0].isupper() else said

    return _PATTERN.sub(swap, sentence)


# Someone acting for the holder (an authorised or nominated person, a circle member) reads the
# same sentences about the holder; only the advice to talk to a broker stays advice to them.
_ACTING_FOR: tuple[tuple[str, str], ...] = (
    ("talk to your broker if you think you need", "talk to their broker if you think they need"),
)
_ACTING_PATTERN = re.compile("|".join(rf"\b{re.escape(a)}\b" for a, _ in _ACTING_FOR),
                             re.IGNORECASE)


def for_someone_acting(sentence: str) -> str:
    """The sentence about the holder, for someone acting for them: "your money" becomes
    "their money", and "talk to your broker" becomes "talk to their broker"."""
    lookup = dict(_ACTING_FOR)

    def swap(match: re.Match[str]) -> str:
        found = match.group(0)
        said = lookup[found.lower()]
        return said[0].upper() + said[1:] if found[0].isupper() else said

    return for_staff(_ACTING_PATTERN.sub(swap, sentence))
