"""Live community-service listings in the Open Referral UK profile of HSDS 3.0 (design.md, "Open standards").

Only organisations' listings are published (home care agencies, community organisations, group
activity organisers): a personal assistant is one private person, so a PA's listing stays inside
Carefair's own search rather than going into open directories other people copy. Nothing private
is published: no email, phone or address, only what the public listing page already shows.

HSDS 3 identifies every object by a UUID. Ours are derived from Carefair's ids, reversibly, as
RFC 9562 version-8 UUIDs whose first group names the kind of object (KIND below): the same
listing always has the same id, and /services/{id} can find it without a lookup table.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from app.domain.listings import CATEGORY_LABELS, Category, FundingMode, PriceUnit
from app.domain.money_format import format_pence
from app.domain.vetting import ProviderType
from app.errors import NotFound
from app.extensions import db
from app.links import absolute
from app.models import Listing, ProviderProfile

HSDS_VERSION = "3.0"
PROFILE_URL = "https://openreferraluk.org/"  # the profile these documents follow
TAXONOMY_NAME = "Carefair support categories"
PUBLISHED_PROVIDER_TYPES = (ProviderType.HOME_CARE_AGENCY, ProviderType.COMMUNITY_ORGANISATION,
                            ProviderType.GROUP_ACTIVITY)
# The first group of each UUID: which kind of object it names.
KIND = {"service": 1, "organization": 2, "cost_option": 3, "language": 4, "service_area": 5,
        "schedule": 6, "attribute": 7, "taxonomy": 8, "taxonomy_term": 9}
_CHILD_SLOTS = 4096  # children of one listing (cost options, areas, ...) numbered id * 4096 + n
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_CATEGORIES = list(Category)


def object_id(kind: str, number: int) -> str:
    return str(uuid.UUID(f"{KIND[kind]:08x}-0000-8000-8000-{number:012x}"))


def number_of(kind: str, object_uuid: str) -> int | None:
    """The Carefair id inside one of our UUIDs, or None if it is not ours or not this kind."""
    try:
        parsed = uuid.UUID(object_uuid)
    except ValueError:
        return None
    text = str(parsed)
    if not text.startswith(f"{KIND[kind]:08x}-0000-8000-8000-"):
        return None
    return int(text[-12:], 16)


def _child(kind: str, listing_id: int, n: int) -> str:
    return object_id(kind, listing_id * _CHILD_SLOTS + n)


def _pounds(pence: int) -> float:
    # HSDS's amount is a JSON number of pounds. Dividing whole pence by 100 once, at this
    # boundary only, gives the float whose shortest form is exactly the two-decimal amount.
    return pence / 100


# ---------------------------------------------------------------- queries

def _published() -> Select:
    return (select(Listing).join(ProviderProfile, Listing.profile_id == ProviderProfile.id)
            .where(Listing.is_live.is_(True),
                   ProviderProfile.provider_type.in_([t.value for t in PUBLISHED_PROVIDER_TYPES])))


@dataclass(frozen=True)
class ServiceFilters:
    search: str | None = None
    taxonomy_term_id: str | None = None
    organization_id: str | None = None
    modified_after: datetime | None = None


@dataclass(frozen=True)
class Page:
    listings: list[Listing]
    total_items: int
    page_number: int
    size: int


def services_page(filters: ServiceFilters, page_number: int, per_page: int) -> Page:
    query = _published()
    if filters.search:
        words = filters.search.strip().lower()
        query = query.where(or_(func.lower(Listing.title).contains(words, autoescape=True),
                                func.lower(Listing.description).contains(words, autoescape=True)))
    if filters.taxonomy_term_id is not None:
        number = number_of("taxonomy_term", filters.taxonomy_term_id)
        if number is None or not 1 <= number <= len(_CATEGORIES):
            return Page([], 0, page_number, per_page)
        query = query.where(Listing.category == _CATEGORIES[number - 1].value)
    if filters.organization_id is not None:
        query = query.where(Listing.profile_id == (number_of("organization", filters.organization_id) or -1))
    if filters.modified_after is not None:
        query = query.where(Listing.updated_at > filters.modified_after)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    listings = list(db.session.scalars(
        query.options(selectinload(Listing.profile).selectinload(ProviderProfile.districts),
                      selectinload(Listing.profile).selectinload(ProviderProfile.slots))
        .order_by(Listing.id).offset((page_number - 1) * per_page).limit(per_page)))
    return Page(listings, total, page_number, per_page)


def service(service_uuid: str) -> Listing:
    number = number_of("service", service_uuid)
    listing = None if number is None else db.session.scalar(
        _published().where(Listing.id == number)
        .options(selectinload(Listing.profile).selectinload(ProviderProfile.districts),
                 selectinload(Listing.profile).selectinload(ProviderProfile.slots)))
    if listing is None:
        raise NotFound("There is no such published service.")
    return listing


# ---------------------------------------------------------------- documents

def taxonomy() -> dict:
    return {"id": object_id("taxonomy", 1), "name": TAXONOMY_NAME,
            "description": "The kinds of care and support a Carefair listing offers.",
            "uri": absolute("/search"), "version": "1"}


def taxonomy_terms() -> list[dict]:
    return [{"id": object_id("taxonomy_term", n), "code": category.value,
             "name": CATEGORY_LABELS[category], "description": CATEGORY_LABELS[category],
             "parent_id": None, "taxonomy": TAXONOMY_NAME, "language": "en",
             "taxonomy_id": object_id("taxonomy", 1), "term_uri": None}
            for n, category in enumerate(_CATEGORIES, start=1)]


def _term_of(listing: Listing) -> dict:
    n = _CATEGORIES.index(Category(listing.category)) + 1
    return taxonomy_terms()[n - 1]


def _fees(listing: Listing) -> str:
    unit = PriceUnit(listing.price_unit).label
    parts = [f"{format_pence(listing.price_pence)} {unit}"]
    if listing.minimum_units > 1:
        parts.append(f"at least {listing.minimum_units} {listing.price_unit}s a visit")
    if listing.bank_holiday_price_pence:
        parts.append(f"{format_pence(listing.bank_holiday_price_pence)} {unit} on bank holidays")
    if listing.travel_charge_pence:
        parts.append(f"travel {format_pence(listing.travel_charge_pence)} a visit")
    return "; ".join(parts) + "."


def _eligibility(listing: Listing) -> str:
    takes = [FundingMode(mode).label for mode in listing.funding_modes or [] if mode in FundingMode._value2member_map_]
    text = "People in England with a personal budget for care and support"
    return text + (f", paid from: {', '.join(takes)}." if takes else ".")


def service_summary(listing: Listing) -> dict:
    """The one-to-one fields of an HSDS service (the /services list items)."""
    return {
        "id": object_id("service", listing.id),
        "organization_id": object_id("organization", listing.profile_id),
        "program_id": None,
        "name": listing.title,
        "alternate_name": None,
        "description": listing.description or listing.title,
        "url": absolute(f"/listings/{listing.id}"),
        "email": None,
        "status": "active",
        "interpretation_services": None,
        "application_process": "Book through Carefair, or ask your council broker to arrange it.",
        "fees_description": _fees(listing),
        "wait_time": None,
        "fees": None,
        "accreditations": None,
        "eligibility_description": _eligibility(listing),
        "minimum_age": None,
        "maximum_age": None,
        "assured_date": None,
        "assurer_email": None,
        "licenses": None,
        "alert": None,
        "last_modified": listing.updated_at,
    }


def organization(profile: ProviderProfile) -> dict:
    return {"id": object_id("organization", profile.id), "name": profile.display_name,
            "alternate_name": None, "description": profile.about or profile.display_name,
            "email": None, "website": absolute(f"/providers/{profile.id}"), "tax_status": None,
            "tax_id": None, "year_incorporated": None, "legal_status": None, "logo": None,
            "uri": absolute(f"/providers/{profile.id}"), "parent_organization_id": None}


def service_full(listing: Listing) -> dict:
    """A fully nested HSDS service: cost options, languages, areas, weekly hours, its category."""
    service_id = object_id("service", listing.id)
    profile = listing.profile
    unit = PriceUnit(listing.price_unit).label
    costs = [{"id": _child("cost_option", listing.id, 0), "service_id": service_id,
              "valid_from": None, "valid_to": None, "option": f"Standard rate, {unit}",
              "currency": "GBP", "amount": _pounds(listing.price_pence),
              "amount_description": f"{format_pence(listing.price_pence)} {unit}"}]
    if listing.bank_holiday_price_pence:
        costs.append({"id": _child("cost_option", listing.id, 1), "service_id": service_id,
                      "valid_from": None, "valid_to": None, "option": f"Bank holiday rate, {unit}",
                      "currency": "GBP", "amount": _pounds(listing.bank_holiday_price_pence),
                      "amount_description": f"{format_pence(listing.bank_holiday_price_pence)} {unit}"})
    term = _term_of(listing)
    return {
        **service_summary(listing),
        "organization": organization(profile),
        "cost_options": costs,
        "languages": [{"id": _child("language", listing.id, n), "service_id": service_id,
                       "location_id": None, "phone_id": None, "name": name, "code": None, "note": None}
                      for n, name in enumerate(profile.languages or [])],
        "service_areas": [{"id": _child("service_area", listing.id, n), "service_id": service_id,
                           "name": district, "description": f"Postcode district {district}",
                           "extent": None, "extent_type": None, "uri": None}
                          for n, district in enumerate(profile.district_codes)],
        "schedules": [{"id": _child("schedule", listing.id, n), "service_id": service_id,
                       "freq": "WEEKLY", "byday": _WEEKDAYS[slot.weekday],
                       "opens_at": slot.start_time.strftime("%H:%M"),
                       "closes_at": slot.end_time.strftime("%H:%M"), "timezone": None,
                       "description": "Usually available (book a time on Carefair)"}
                      for n, slot in enumerate(sorted(profile.slots, key=lambda s: (s.weekday, s.start_time)))],
        "attributes": [{"id": _child("attribute", listing.id, 0), "link_id": service_id,
                        "taxonomy_term_id": term["id"], "link_type": "service_category",
                        "link_entity": "service", "value": None, "label": term["name"],
                        "taxonomy_term": term}],
        "phones": [], "contacts": [], "funding": [], "required_documents": [],
        "service_at_locations": [],
    }
