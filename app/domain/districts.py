"""Postcode districts (a postcode's outward code, such as LS6) checked against the UK's list: holders'
home districts, the districts providers cover and the district of a job post."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from app.domain.listings import DistrictError, district_area, normalise_district, parse_districts

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
    return district_in_use(normalise_district(text), "Check the first part of the postcode, like LS6 or SY1")


def parse_job_district(raw: str | None) -> str:
    """The district a job post names: one district in use, as for a holder's home district."""
    text = (raw or "").strip()
    if not text:
        raise DistrictError("Enter the postcode district, like LS6")
    return district_in_use(normalise_district(text), "Check the first part of the postcode, like LS6 or SY1")


def parse_served_districts(raw: str | None) -> list[str]:
    """The districts a provider covers ('sy1, tf2' -> ['SY1', 'TF2']), each one in use.

    A provider who claims "SY30" would never be found by anyone in a real district, and the
    markets would count a district with nobody in it. Every district not in use is named, so
    a provider fixes them all at once.
    """
    districts = parse_districts(raw or "")
    unknown = [d for d in districts if d not in uk_districts()]
    if not unknown:
        return districts
    named = _and_list(unknown)
    if all(district_area(d) not in postcode_areas() for d in unknown):
        where = "is not a postcode district in the UK" if len(unknown) == 1 else \
            "are not postcode districts in the UK"
    else:
        where = "is not a postcode district in use" if len(unknown) == 1 else \
            "are not postcode districts in use"
    raise DistrictError(f"{named} {where}. Check the districts you cover, like SY1, TF2 or SW1A")


def district_in_use(district: str, hint: str) -> str:
    """The district (already in the shape of one) if it is in use; otherwise DistrictError naming it."""
    if district in uk_districts():
        return district
    if district_area(district) in postcode_areas():
        raise DistrictError(f"{district} is not a postcode district in use. {hint}")
    raise DistrictError(f"{district} is not a postcode district in the UK. {hint}")


def _and_list(items: list[str]) -> str:
    """'SY30', 'SY30 and LS30', 'SY30, LS30 and TF0' (at most five named, then how many more)."""
    shown = items[:5]
    if len(items) > 5:
        return f"{', '.join(shown)} and {len(items) - 5} more"
    if len(shown) == 1:
        return shown[0]
    return f"{', '.join(shown[:-1])} and {shown[-1]}"
