"""Open Referral UK (HSDS 3.0) read API for published community-service listings: open, no token."""

from __future__ import annotations

from flask import jsonify
from marshmallow import Schema, fields, validate

from app.services import open_referral as oruk
from app.web.api_v1.core import PREFIX, new_blueprint
from app.web.context import public

BASE = "/openreferral"
blp = new_blueprint("open_referral", "Open Referral UK (HSDS 3.0): published community services. "
                                      "Open to anyone, no token; rate-limited by address.")
BLUEPRINTS = (blp,)
OPEN = {"security": []}  # these routes need no bearer token
MAX_PER_PAGE = 100

_maybe_str = {"required": True, "allow_none": True}


# ---------------------------------------------------------------- schemas (HSDS 3.0 field names)

class ServiceListArgs(Schema):
    search = fields.Str(validate=validate.Length(max=100), metadata={"description": "words in the name or description"})
    page = fields.Int(load_default=1, validate=validate.Range(1, 100_000))
    per_page = fields.Int(load_default=50, validate=validate.Range(1, MAX_PER_PAGE))
    taxonomy_term_id = fields.UUID(metadata={"description": "only services with this category"})
    organization_id = fields.UUID(metadata={"description": "only services of this organisation"})
    modified_after = fields.AwareDateTime(metadata={"description": "only services changed after this time"})
    full = fields.Bool(load_default=False, metadata={"description": "true: fully nested services"})


class PageArgs(Schema):
    page = fields.Int(load_default=1, validate=validate.Range(1, 100_000))
    per_page = fields.Int(load_default=50, validate=validate.Range(1, MAX_PER_PAGE))


class MetaOut(Schema):
    version = fields.Str(required=True)
    profile = fields.Str(required=True)
    openapi_url = fields.Str(required=True)
    description = fields.Str(required=True)


class TaxonomyOut(Schema):
    id = fields.UUID(required=True)
    name = fields.Str(required=True)
    description = fields.Str(required=True)
    uri = fields.Str(**_maybe_str)
    version = fields.Str(**_maybe_str)


class TaxonomyTermOut(Schema):
    id = fields.UUID(required=True)
    code = fields.Str(**_maybe_str)
    name = fields.Str(required=True)
    description = fields.Str(required=True)
    parent_id = fields.UUID(**_maybe_str)
    taxonomy = fields.Str(**_maybe_str)
    language = fields.Str(**_maybe_str)
    taxonomy_id = fields.UUID(**_maybe_str)
    term_uri = fields.Str(**_maybe_str)


class OrganizationOut(Schema):
    id = fields.UUID(required=True)
    name = fields.Str(required=True)
    alternate_name = fields.Str(**_maybe_str)
    description = fields.Str(required=True)
    email = fields.Str(**_maybe_str)
    website = fields.Str(**_maybe_str)
    tax_status = fields.Str(**_maybe_str)
    tax_id = fields.Str(**_maybe_str)
    year_incorporated = fields.Int(**_maybe_str)
    legal_status = fields.Str(**_maybe_str)
    logo = fields.Str(**_maybe_str)
    uri = fields.Str(**_maybe_str)
    parent_organization_id = fields.UUID(**_maybe_str)


class CostOptionOut(Schema):
    id = fields.UUID(required=True)
    service_id = fields.UUID(required=True)
    valid_from = fields.Date(**_maybe_str)
    valid_to = fields.Date(**_maybe_str)
    option = fields.Str(**_maybe_str)
    currency = fields.Str(**_maybe_str)
    amount = fields.Float(**_maybe_str)  # pounds, as HSDS asks; exact to the penny (see the service)
    amount_description = fields.Str(**_maybe_str)


class LanguageOut(Schema):
    id = fields.UUID(required=True)
    service_id = fields.UUID(**_maybe_str)
    location_id = fields.UUID(**_maybe_str)
    phone_id = fields.UUID(**_maybe_str)
    name = fields.Str(**_maybe_str)
    code = fields.Str(**_maybe_str)
    note = fields.Str(**_maybe_str)


class ServiceAreaOut(Schema):
    id = fields.UUID(required=True)
    service_id = fields.UUID(**_maybe_str)
    name = fields.Str(**_maybe_str)
    description = fields.Str(**_maybe_str)
    extent = fields.Str(**_maybe_str)
    extent_type = fields.Str(**_maybe_str)
    uri = fields.Str(**_maybe_str)


class ScheduleOut(Schema):
    id = fields.UUID(required=True)
    service_id = fields.UUID(**_maybe_str)
    freq = fields.Str(**_maybe_str)
    byday = fields.Str(**_maybe_str)
    opens_at = fields.Str(**_maybe_str)
    closes_at = fields.Str(**_maybe_str)
    timezone = fields.Int(**_maybe_str)
    description = fields.Str(**_maybe_str)


class AttributeOut(Schema):
    id = fields.UUID(required=True)
    link_id = fields.UUID(required=True)
    taxonomy_term_id = fields.UUID(required=True)
    link_type = fields.Str(**_maybe_str)
    link_entity = fields.Str(required=True)
    value = fields.Str(**_maybe_str)
    label = fields.Str(**_maybe_str)
    taxonomy_term = fields.Nested(TaxonomyTermOut, required=True)


class ServiceSummaryOut(Schema):
    id = fields.UUID(required=True)
    organization_id = fields.UUID(required=True)
    program_id = fields.UUID(**_maybe_str)
    name = fields.Str(required=True)
    alternate_name = fields.Str(**_maybe_str)
    description = fields.Str(required=True)
    url = fields.Str(**_maybe_str)
    email = fields.Str(**_maybe_str)
    status = fields.Str(required=True, validate=validate.OneOf(["active", "inactive", "defunct", "temporarily closed"]))
    interpretation_services = fields.Str(**_maybe_str)
    application_process = fields.Str(**_maybe_str)
    fees_description = fields.Str(**_maybe_str)
    wait_time = fields.Str(**_maybe_str)
    fees = fields.Str(**_maybe_str)
    accreditations = fields.Str(**_maybe_str)
    eligibility_description = fields.Str(**_maybe_str)
    minimum_age = fields.Int(**_maybe_str)
    maximum_age = fields.Int(**_maybe_str)
    assured_date = fields.Date(**_maybe_str)
    assurer_email = fields.Str(**_maybe_str)
    licenses = fields.Str(**_maybe_str)
    alert = fields.Str(**_maybe_str)
    last_modified = fields.AwareDateTime(required=True)


class ServiceFullOut(ServiceSummaryOut):
    organization = fields.Nested(OrganizationOut, required=True)
    cost_options = fields.List(fields.Nested(CostOptionOut), required=True)
    languages = fields.List(fields.Nested(LanguageOut), required=True)
    service_areas = fields.List(fields.Nested(ServiceAreaOut), required=True)
    schedules = fields.List(fields.Nested(ScheduleOut), required=True)
    attributes = fields.List(fields.Nested(AttributeOut), required=True)
    phones = fields.List(fields.Dict(), required=True)
    contacts = fields.List(fields.Dict(), required=True)
    funding = fields.List(fields.Dict(), required=True)
    required_documents = fields.List(fields.Dict(), required=True)
    service_at_locations = fields.List(fields.Dict(), required=True)


def _page_schema(name: str, item: type[Schema]) -> type[Schema]:
    """HSDS's page: total_items, total_pages, page_number, size, first_page, last_page, empty, contents."""
    return type(name, (Schema,), {
        "total_items": fields.Int(required=True), "total_pages": fields.Int(required=True),
        "page_number": fields.Int(required=True), "size": fields.Int(required=True),
        "first_page": fields.Bool(required=True), "last_page": fields.Bool(required=True),
        "empty": fields.Bool(required=True),
        "contents": fields.List(fields.Nested(item), required=True)})


# Items are documented by their one-to-one fields; with full=true each also has the nested lists.
ServicePageOut = _page_schema("ServicePage", ServiceSummaryOut)
TaxonomyPageOut = _page_schema("TaxonomyPage", TaxonomyOut)
TaxonomyTermPageOut = _page_schema("TaxonomyTermPage", TaxonomyTermOut)


def _page(contents: list, total: int, page_number: int, per_page: int) -> dict:
    total_pages = max(1, -(-total // per_page))
    return {"total_items": total, "total_pages": total_pages, "page_number": page_number,
            "size": len(contents), "first_page": page_number == 1,
            "last_page": page_number >= total_pages, "empty": not contents, "contents": contents}


def _slice(items: list, args: dict) -> dict:
    start = (args["page"] - 1) * args["per_page"]
    return _page(items[start:start + args["per_page"]], len(items), args["page"], args["per_page"])


# ---------------------------------------------------------------- routes

@blp.route(f"{BASE}/")
@public
@blp.doc(**OPEN)
@blp.response(200, MetaOut)
def meta():
    """About this Open Referral UK feed."""
    return {"version": oruk.HSDS_VERSION, "profile": oruk.PROFILE_URL,
            "openapi_url": oruk.absolute(f"{PREFIX}/openapi.json"),
            "description": "Carefair's live community-service listings (organisations only; personal "
                           "assistants are private people and are not published)."}


@blp.route(f"{BASE}/services")
@public
@blp.doc(**OPEN)
@blp.arguments(ServiceListArgs, location="query")
@blp.response(200, ServicePageOut)
def list_services(args):
    """Published services, paged; full=true nests cost options, areas, hours and category."""
    filters = oruk.ServiceFilters(
        search=args.get("search"),
        taxonomy_term_id=str(args["taxonomy_term_id"]) if args.get("taxonomy_term_id") else None,
        organization_id=str(args["organization_id"]) if args.get("organization_id") else None,
        modified_after=args.get("modified_after"))
    page = oruk.services_page(filters, args["page"], args["per_page"])
    schema = ServiceFullOut() if args["full"] else ServiceSummaryOut()
    contents = [schema.dump(oruk.service_full(x) if args["full"] else oruk.service_summary(x))
                for x in page.listings]
    # Returned as a response, not through ServicePageOut: dumping would drop the nested lists.
    return jsonify(_page(contents, page.total_items, page.page_number, page.size))


@blp.route(f"{BASE}/services/<string(maxlength=64):service_id>")
@public
@blp.doc(**OPEN)
@blp.response(200, ServiceFullOut)
def get_service(service_id: str):
    """One published service, fully nested."""
    return oruk.service_full(oruk.service(service_id))


@blp.route(f"{BASE}/taxonomies")
@public
@blp.doc(**OPEN)
@blp.arguments(PageArgs, location="query")
@blp.response(200, TaxonomyPageOut)
def list_taxonomies(args):
    """The one taxonomy Carefair uses: its support categories."""
    return _slice([oruk.taxonomy()], args)


@blp.route(f"{BASE}/taxonomy_terms")
@public
@blp.doc(**OPEN)
@blp.arguments(PageArgs, location="query")
@blp.response(200, TaxonomyTermPageOut)
def list_taxonomy_terms(args):
    """Carefair's support categories as taxonomy terms (filter services by their id)."""
    return _slice(oruk.taxonomy_terms(), args)
