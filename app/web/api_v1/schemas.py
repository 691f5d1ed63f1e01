"""Marshmallow schemas of the council API: each one validates requests and documents them in the OpenAPI."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from app.domain.bookings import BookingState
from app.domain.budget import Frequency, FundingMode
from app.domain.flags import FlagStatus
from app.domain.listings import Category
from app.domain.rules.model import Severity
from app.models.delegation import STATUS_ACTIVE, STATUS_INVITED, STATUS_REVOKED

MAX_PAGE = 500
POSITIVE = validate.Range(1, 2**31 - 1)  # ids and pence: what fits PostgreSQL's integer columns


class ErrorDetail(Schema):
    status = fields.Int(required=True)
    code = fields.Str(required=True)
    message = fields.Str(required=True)
    field = fields.Str(required=True, allow_none=True)


class ErrorSchema(Schema):
    """The one shape of every API refusal (app/errors.py error_body)."""

    error = fields.Nested(ErrorDetail, required=True)


# ---------------------------------------------------------------- query arguments

MAX_ID = 2**31 - 1  # the largest id an integer column holds


def _cursor_in_range(value: str) -> None:
    if int(value) > MAX_ID:
        raise ValidationError("Pass back next_cursor from the previous page unchanged.")


class PageArgs(Schema):
    # Any id a page can end on (up to ten digits), as next_cursor gives it.
    cursor = fields.Str(validate=[validate.Regexp(r"^[0-9]{1,10}$"), _cursor_in_range],
                        metadata={"description": "next_cursor from the previous page, passed back unchanged"})
    limit = fields.Int(load_default=100, validate=validate.Range(1, MAX_PAGE))


class CreatedArgs(PageArgs):
    created_from = fields.Date(metadata={"description": "created on or after this date (UTC)"})
    created_to = fields.Date(metadata={"description": "created on or before this date (UTC)"})


class ProviderArgs(CreatedArgs):
    district = fields.Str(validate=validate.Length(1, 4), metadata={"description": "covers this postcode district"})
    status = fields.Str(validate=validate.OneOf(["live", "not_live"]),
                        metadata={"description": "live: at least one listing people can find"})


class ListingArgs(CreatedArgs):
    status = fields.Str(validate=validate.OneOf(["live", "hidden"]))
    category = fields.Str(validate=validate.OneOf([c.value for c in Category]))
    provider_id = fields.Int(validate=POSITIVE)


class HolderArgs(CreatedArgs):
    district = fields.Str(validate=validate.Length(1, 8))
    status = fields.Str(validate=validate.OneOf(["active", "inactive"]))


class BudgetArgs(PageArgs):
    holder_id = fields.Int(validate=POSITIVE)
    funding_mode = fields.Str(validate=validate.OneOf([m.value for m in FundingMode]))
    starts_from = fields.Date()
    starts_to = fields.Date()


class DelegationArgs(CreatedArgs):
    holder_id = fields.Int(validate=POSITIVE)
    status = fields.Str(validate=validate.OneOf([STATUS_INVITED, STATUS_ACTIVE, STATUS_REVOKED]))


class BookingArgs(CreatedArgs):
    status = fields.Str(validate=validate.OneOf([s.value for s in BookingState]))
    holder_id = fields.Int(validate=POSITIVE)
    provider_id = fields.Int(validate=POSITIVE)


class SessionArgs(PageArgs):
    status = fields.Str(validate=validate.OneOf([s.value for s in BookingState]))
    starts_from = fields.Date()
    starts_to = fields.Date()
    provider_id = fields.Int(validate=POSITIVE)


class FlagArgs(CreatedArgs):
    status = fields.Str(validate=validate.OneOf([s.value for s in FlagStatus]))
    severity = fields.Str(validate=validate.OneOf([s.value for s in Severity]))


class RemittanceArgs(Schema):
    year = fields.Int(required=True, validate=validate.Range(2000, 2100))
    month = fields.Int(required=True, validate=validate.Range(1, 12))


class MarketArgs(PageArgs):
    run_id = fields.Int(validate=POSITIVE,
                        metadata={"description": "a stored scan run (see /markets/runs); default: the latest"})
    category = fields.Str(validate=validate.OneOf([c.value for c in Category]))
    district = fields.Str(validate=validate.Length(1, 8))
    meets_minimums = fields.Bool(metadata={"description": "only markets with (true) or without (false) "
                                                          "enough spend and providers to judge"})


class ImportArgs(Schema):
    dry_run = fields.Bool(load_default=False)
    format = fields.Str(validate=validate.OneOf(["csv", "jsonl"]),
                        metadata={"description": "default: from the file name (.csv or .jsonl)"})


class ExportArgs(Schema):
    format = fields.Str(load_default="csv", validate=validate.OneOf(["csv", "jsonl"]))


# ---------------------------------------------------------------- resources

class ListingOut(Schema):
    id = fields.Int(required=True)
    provider_id = fields.Int(required=True, attribute="profile_id")
    category = fields.Str(required=True)
    title = fields.Str(required=True)
    price_pence = fields.Int(required=True)
    price_unit = fields.Str(required=True)
    minimum_units = fields.Int(required=True)
    funding_modes = fields.List(fields.Str(), required=True)
    published = fields.Bool(required=True)
    is_live = fields.Bool(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class ProviderOut(Schema):
    id = fields.Int(required=True)
    reference = fields.Str(required=True, allow_none=True,
                           metadata={"description": "the council's own reference, for imported rows"})
    display_name = fields.Str(required=True)
    provider_type = fields.Str(required=True)
    districts = fields.List(fields.Str(), required=True, attribute="district_codes")
    live_listings = fields.Int(required=True)
    created_at = fields.DateTime(required=True)


class HolderOut(Schema):
    id = fields.Int(required=True)
    reference = fields.Str(required=True, allow_none=True)
    name = fields.Str(required=True)
    email = fields.Str(required=True)
    home_district = fields.Str(required=True, allow_none=True)
    active = fields.Bool(required=True)
    created_at = fields.DateTime(required=True)


class BalancesOut(Schema):
    available_pence = fields.Int(required=True)
    held_pence = fields.Int(required=True)
    spent_pence = fields.Int(required=True)
    contingency_pence = fields.Int(required=True)


class BudgetOut(Schema):
    id = fields.Int(required=True)
    reference = fields.Str(required=True, allow_none=True)
    holder_id = fields.Int(required=True)
    annual_pence = fields.Int(required=True)
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    frequency = fields.Str(required=True)
    funding_mode = fields.Str(required=True)
    contingency_weeks = fields.Int(required=True, allow_none=True)
    contingency_pence = fields.Int(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    balances = fields.Nested(BalancesOut, required=True, allow_none=True)


class BudgetIn(Schema):
    holder_id = fields.Int(required=True, validate=POSITIVE)
    annual_pence = fields.Int(required=True, strict=True, validate=POSITIVE)
    start_date = fields.Date(required=True)
    frequency = fields.Str(required=True, validate=validate.OneOf([f.value for f in Frequency]))
    funding_mode = fields.Str(required=True, validate=validate.OneOf([m.value for m in FundingMode]))
    contingency_weeks = fields.Int(strict=True, allow_none=True, validate=validate.Range(0, 26))
    contingency_pence = fields.Int(strict=True, allow_none=True, validate=validate.Range(0, 2**31 - 1))


class InstalmentOut(Schema):
    id = fields.Int(required=True)
    budget_id = fields.Int(required=True)
    amount_pence = fields.Int(required=True)
    received_on = fields.Date(required=True, attribute="occurred_on")
    reference = fields.Str(required=True, allow_none=True)
    idempotency_key = fields.Str(required=True)
    created_at = fields.DateTime(required=True)


class InstalmentIn(Schema):
    amount_pence = fields.Int(required=True, strict=True, validate=POSITIVE)
    received_on = fields.Date(required=True)
    idempotency_key = fields.Str(required=True, validate=validate.Length(1, 70),
                                 metadata={"description": "the council's own payment reference: "
                                           "sending it again returns the first instalment"})
    reference = fields.Str(allow_none=True, validate=validate.Length(max=120))


class DelegationOut(Schema):
    id = fields.Int(required=True)
    holder_id = fields.Int(required=True)
    delegate_id = fields.Int(required=True, allow_none=True)
    kind = fields.Str(required=True)
    status = fields.Str(required=True)
    legal_basis = fields.Str(required=True, allow_none=True)
    review_date = fields.Date(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    accepted_at = fields.DateTime(required=True, allow_none=True)
    revoked_at = fields.DateTime(required=True, allow_none=True)


class SessionOut(Schema):
    id = fields.Int(required=True)
    booking_id = fields.Int(required=True)
    provider_id = fields.Int(required=True, attribute="provider_profile_id")
    start_at = fields.DateTime(required=True)
    end_at = fields.DateTime(required=True)
    state = fields.Str(required=True)
    price_pence = fields.Int(required=True)
    charge_pence = fields.Int(required=True, allow_none=True)
    settled_on = fields.Date(required=True, allow_none=True)


class BookingOut(Schema):
    id = fields.Int(required=True)
    reference = fields.Str(required=True, allow_none=True)
    holder_id = fields.Int(required=True)
    provider_id = fields.Int(required=True, attribute="provider_profile_id")
    listing_id = fields.Int(required=True)
    budget_id = fields.Int(required=True, allow_none=True)
    kind = fields.Str(required=True)
    state = fields.Str(required=True)
    total_pence = fields.Int(required=True)
    funding_mode = fields.Str(required=True, allow_none=True)
    historical = fields.Bool(required=True, metadata={"description": "imported settled history"})
    created_at = fields.DateTime(required=True)
    sessions = fields.List(fields.Nested(SessionOut), required=True)


class FlagOut(Schema):
    id = fields.Int(required=True)
    rule = fields.Str(required=True)
    severity = fields.Str(required=True)
    action = fields.Str(required=True)
    subject_kind = fields.Str(required=True)
    subject_id = fields.Str(required=True)
    explanation = fields.Str(required=True)
    provider_id = fields.Int(required=True, allow_none=True, attribute="provider_profile_id")
    holder_id = fields.Int(required=True, allow_none=True)
    status = fields.Str(required=True)
    outcome = fields.Str(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    reviewed_at = fields.DateTime(required=True, allow_none=True)


class RemittanceLineOut(Schema):
    provider_reference = fields.Str(required=True)
    holder_reference = fields.Str(required=True)
    booking_reference = fields.Str(required=True)
    service_date = fields.Str(required=True)
    settled_date = fields.Str(required=True)
    hours = fields.Str(required=True)
    amount = fields.Str(required=True, metadata={"description": "pounds, as in the file"})


class RemittanceFileOut(Schema):
    provider_id = fields.Int(required=True)
    provider_name = fields.Str(required=True)
    filename = fields.Str(required=True)
    line_count = fields.Int(required=True)
    total_pence = fields.Int(required=True)
    payouts_held = fields.Bool(required=True, metadata={
        "description": "a broker holds this provider's payouts (a concern): do not pay yet"})
    lines = fields.List(fields.Nested(RemittanceLineOut), required=True)


class RemittanceOut(Schema):
    year = fields.Int(required=True)
    month = fields.Int(required=True)
    files = fields.List(fields.Nested(RemittanceFileOut), required=True)


class MarketRunOut(Schema):
    id = fields.Int(required=True)
    as_of = fields.DateTime(required=True, metadata={"description": "the moment the figures describe"})
    ran_at = fields.DateTime(required=True)
    window_days = fields.Int(required=True, metadata={"description": "the rolling window the spend is summed over"})
    share_cap_percent = fields.Int(required=True)
    hhi_line = fields.Int(required=True, metadata={"description": "above this a market is highly concentrated"})
    markets = fields.Int(required=True)
    concentrated = fields.Int(required=True)


class MarketShareOut(Schema):
    provider_id = fields.Int(required=True, attribute="provider_profile_id")
    spend_pence = fields.Int(required=True)
    share_percent = fields.Float(required=True)
    holders = fields.Int(required=True)
    above_cap = fields.Bool(required=True)


class MarketOut(Schema):
    id = fields.Int(required=True)
    district = fields.Str(required=True, metadata={"description": "the holders' postcode district"})
    category = fields.Str(required=True)
    spend_pence = fields.Int(required=True)
    previous_spend_pence = fields.Int(required=True, metadata={"description": "in the window before"})
    holders = fields.Int(required=True)
    providers = fields.Int(required=True)
    hhi = fields.Float(required=True, metadata={"description": "Herfindahl-Hirschman Index, 0 to 10,000"})
    previous_hhi = fields.Float(required=True, allow_none=True)
    top_provider_id = fields.Int(required=True, allow_none=True)
    top_share_percent = fields.Float(required=True)
    meets_minimums = fields.Bool(required=True)
    providers_above_cap = fields.Int(required=True, attribute="above_cap")
    shares = fields.List(fields.Nested(MarketShareOut), required=True,
                         metadata={"description": "the largest few providers and every one above the cap"})


class MarketsOut(Schema):
    run = fields.Nested(MarketRunOut, required=True, allow_none=True,
                        metadata={"description": "null until the first brokerage scan has run"})
    items = fields.List(fields.Nested(MarketOut), required=True)
    next_cursor = fields.Str(required=True, allow_none=True)


class RowErrorOut(Schema):
    line = fields.Int(required=True)
    reference = fields.Str(required=True, allow_none=True)
    field = fields.Str(required=True, allow_none=True)
    message = fields.Str(required=True)


class ImportReportOut(Schema):
    kind = fields.Str(required=True)
    dry_run = fields.Bool(required=True)
    rows = fields.Int(required=True)
    imported = fields.Int(required=True)
    unchanged = fields.Int(required=True)
    error_count = fields.Int(required=True, metadata={"description": "all bad rows; errors lists the first 10,000"})
    errors = fields.List(fields.Nested(RowErrorOut), required=True)


class ImportFile(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


def page_of(item_schema: type[Schema]) -> type[Schema]:
    """A cursor page of `item_schema`: {"items": [...], "next_cursor": "..." or null}."""
    return type(f"{item_schema.__name__.removesuffix('Out')}Page", (Schema,), {
        "items": fields.List(fields.Nested(item_schema), required=True),
        "next_cursor": fields.Str(required=True, allow_none=True),
    })
