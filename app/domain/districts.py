"""Holders' home districts: a postcode's outward code (such as LS6) checked against the UK's areas."""

from __future__ import annotations

from app.domain.listings import DistrictError, district_area, normalise_district

# The UK's postcode areas (the letters before the district number). A district whose area is
# not one of these is a typing mistake, not a place: "LX6" looks like a district but is not.
POSTCODE_AREAS = frozenset({
    "AB", "AL", "B", "BA", "BB", "BD", "BH", "BL", "BN", "BR", "BS", "BT", "CA", "CB", "CF", "CH",
    "CM", "CO", "CR", "CT", "CV", "CW", "DA", "DD", "DE", "DG", "DH", "DL", "DN", "DT", "DY", "E",
    "EC", "EH", "EN", "EX", "FK", "FY", "G", "GL", "GU", "GY", "HA", "HD", "HG", "HP", "HR", "HS",
    "HU", "HX", "IG", "IM", "IP", "IV", "JE", "KA", "KT", "KW", "KY", "L", "LA", "LD", "LE", "LL",
    "LN", "LS", "LU", "M", "ME", "MK", "ML", "N", "NE", "NG", "NN", "NP", "NR", "NW", "OL", "OX",
    "PA", "PE", "PH", "PL", "PO", "PR", "RG", "RH", "RM", "S", "SA", "SE", "SG", "SK", "SL", "SM",
    "SN", "SO", "SP", "SR", "SS", "ST", "SW", "SY", "TA", "TD", "TF", "TN", "TQ", "TR", "TS",
    "TW", "UB", "W", "WA", "WC", "WD", "WF", "WN", "WR", "WS", "WV", "YO", "ZE",
})


def parse_home_district(raw: str | None) -> str:
    """'ls6 ' -> 'LS6'. Raises DistrictError with a plain-English reason for anything else.

    Only the outward code is kept (the market is the district); a full postcode is refused
    with the part to type, because the full address is private and kept elsewhere.
    """
    text = (raw or "").strip()
    if not text:
        raise DistrictError("Enter the first part of your postcode, like LS6 or SY1")
    district = normalise_district(text)
    if district_area(district) not in POSTCODE_AREAS:
        raise DistrictError(f"{district} is not a postcode district in the UK. Enter the first "
                            "part of the postcode, like LS6 or SY1")
    return district
