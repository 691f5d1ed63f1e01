"""Households: relationships, who counts as a close relative, and when paying one needs the council."""

from __future__ import annotations

import re
from enum import StrEnum


class Relationship(StrEnum):
    PARTNER = "partner"  # spouse, civil partner or living together as such
    PARENT = "parent"
    CHILD = "child"
    SIBLING = "sibling"
    GRANDPARENT = "grandparent"
    AUNT_UNCLE = "aunt_uncle"
    IN_LAW = "in_law"  # parent-, son- or daughter-in-law
    STEP = "step"  # step-parent or step-child
    OTHER_RELATIVE = "other_relative"
    FRIEND = "friend"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {
            Relationship.PARTNER: "Husband, wife, civil partner or partner",
            Relationship.PARENT: "Parent",
            Relationship.CHILD: "Son or daughter",
            Relationship.SIBLING: "Brother or sister",
            Relationship.GRANDPARENT: "Grandparent",
            Relationship.AUNT_UNCLE: "Aunt or uncle",
            Relationship.IN_LAW: "Parent-in-law, son-in-law or daughter-in-law",
            Relationship.STEP: "Step-parent or step-child",
            Relationship.OTHER_RELATIVE: "Another relative",
            Relationship.FRIEND: "Friend",
            Relationship.OTHER: "Someone else (for example a lodger)",
        }[self]

    @property
    def close_relative(self) -> bool:
        """A close relative in the sense of the Care and Support (Direct Payments) Regulations
        2014, reg. 3: spouse or partner, parent, child, sibling, grandparent, aunt or uncle,
        in-laws and step-relatives (and their spouses or partners)."""
        return self in CLOSE_RELATIVES


CLOSE_RELATIVES = frozenset({
    Relationship.PARTNER, Relationship.PARENT, Relationship.CHILD, Relationship.SIBLING,
    Relationship.GRANDPARENT, Relationship.AUNT_UNCLE, Relationship.IN_LAW, Relationship.STEP})


def needs_council_agreement(relationship: str, lives_with_holder: bool,
                            council_agreed: bool) -> bool:
    """Whether paying this person from a direct payment waits for the council's agreement."""
    try:
        rel = Relationship(relationship)
    except ValueError:
        return False
    return lives_with_holder and rel.close_relative and not council_agreed


def address_key(line1: str, postcode: str) -> str | None:
    """A normalised key for a home address (postcode plus house number or name), so two people
    at one address match however they typed it. None when there is no postcode."""
    code = re.sub(r"\s+", "", (postcode or "").upper())
    if not code:
        return None
    first = (line1 or "").lower()
    first = re.sub(r"\b(flat|apartment|apt|unit)\b", "flat", first)
    first = re.sub(r"[^a-z0-9 ]", " ", first)
    first = re.sub(r"\b(road|rd)\b", "rd", first)
    first = re.sub(r"\b(street|st)\b", "st", first)
    first = re.sub(r"\b(avenue|ave)\b", "ave", first)
    first = re.sub(r"\b(lane|ln)\b", "ln", first)
    first = re.sub(r"\b(close|cl)\b", "cl", first)
    first = re.sub(r"\b(drive|dr)\b", "dr", first)
    return f"{code}|{' '.join(first.split())}"
