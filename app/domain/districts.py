"""Holders' home districts: a postcode's outward code (such as LS6) checked against the UK's list."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from app.domain.listings import DistrictError, district_area, normalise_district

# Every postcode district in use, from the ONS Postcode Directory (attribution in the file).
_DISTRICTS_FILE = Path(__file__).with_name("uk_postcode_districts.txt")


@cache
def uk_districts() -> frozenset[str]:
    """The UK's postcode districts, read once."""
    return frozenset(line.strip() for line in _DISTRICTS_FILE.read_text(encoding="utf-8").splitlines()
                     if line.strip() and not line.startswith("#"))


@cache
def postcode_areas() -> frozenset[str]:
    """The UK's postcode areas (the letters before the district number: LS, SY, E)."""
    return frozenset(district_area(d) for d in uk_districts())


def parse_home_district(raw: str | None) -> str:
    """'ls6 ' -> 'LS6'. Raises DistrictError with a plain-English reason for anything else.

    Only the outward code is kept (the market is the district); a full postcode is refused
    with the part to type, because the full address is private and kept elsewhere. A district
    must be one in use: "LX6" and "LS99X" look like districts but are typing mistakes, and a
    market of one mistyped holder would be a market of nobody.
    """
    text = (raw or "").strip()
    if not text:
        raise DistrictError("Enter the first part of your postcode, like LS6 or SY1")
    district = normalise_district(text)
    if district not in uk_districts():
        if district_area(district) in postcode_areas():
            raise DistrictError(f"{district} is not a postcode district in use. Check the first "
                                "part of the postcode, like LS6 or SY1")
        raise DistrictError(f"{district} is not a postcode district in the UK. Enter the first "
                            "part of the postcode, like LS6 or SY1")
    return district
