"""The Open Referral UK (HSDS 3.0) feed: organisations' live listings, open to anyone, nothing private."""

from __future__ import annotations

import uuid
from datetime import time

import pytest

from app.domain.access import Role
from app.domain.listings import Category, Slot
from app.domain.vetting import ProviderType
from app.extensions import db
from app.services import open_referral, providers
from tests.provider_helpers import verified_provider

pytestmark = pytest.mark.database

BASE = "/api/v1/openreferral"
PAGE_KEYS = {"total_items", "total_pages", "page_number", "size", "first_page", "last_page", "empty", "contents"}


@pytest.fixture
def feed(app_ctx, make_user):
    broker = make_user(Role.BROKER)
    agency_user, agency_listing = verified_provider(
        make_user, broker, provider_type=ProviderType.HOME_CARE_AGENCY, price="18.55",
        bank_holiday_price="27.83", title="Home care in Shrewsbury")
    providers.set_availability(agency_user, [Slot(0, time(9, 0), time(17, 0))])
    club_user, club_listing = verified_provider(
        make_user, broker, provider_type=ProviderType.GROUP_ACTIVITY, category=Category.GETTING_OUT,
        title="Walking group", description="A gentle weekly walk by the river.")
    pa_user, pa_listing = verified_provider(make_user, broker)  # a personal assistant: a private person
    db.session.commit()
    return {"agency": agency_listing, "club": club_listing, "pa": pa_listing, "agency_user": agency_user}


def test_anyone_can_read_the_feed_without_a_token(client, feed):
    meta = client.get(f"{BASE}/").get_json()
    assert meta["version"] == "3.0" and meta["openapi_url"].endswith("/api/v1/openapi.json")

    page = client.get(f"{BASE}/services").get_json()
    assert set(page) == PAGE_KEYS
    names = {s["name"] for s in page["contents"]}
    assert feed["agency"].title in names and page["total_items"] == 2
    assert page["first_page"] and page["last_page"] and not page["empty"]


def test_personal_assistants_and_hidden_listings_are_not_published(client, feed):
    ids = {s["id"] for s in client.get(f"{BASE}/services?per_page=100").get_json()["contents"]}
    assert open_referral.object_id("service", feed["pa"].id) not in ids
    assert client.get(f"{BASE}/services/{open_referral.object_id('service', feed['pa'].id)}").status_code == 404

    feed["club"].is_live = False  # withdrawn or suspended: gone from the feed at once
    db.session.commit()
    ids = {s["id"] for s in client.get(f"{BASE}/services").get_json()["contents"]}
    assert ids == {open_referral.object_id("service", feed["agency"].id)}


def test_a_full_service_has_exact_prices_areas_hours_and_its_category(client, feed):
    service_id = open_referral.object_id("service", feed["agency"].id)
    body = client.get(f"{BASE}/services/{service_id}").get_json()
    assert uuid.UUID(body["id"]).version == 8 and body["status"] == "active"
    amounts = {c["option"]: (c["amount"], c["currency"], c["amount_description"]) for c in body["cost_options"]}
    assert amounts["Standard rate, per hour"] == (18.55, "GBP", "£18.55 per hour")
    assert amounts["Bank holiday rate, per hour"][0] == 27.83
    assert [(s["byday"], s["opens_at"], s["closes_at"]) for s in body["schedules"]] == [("MO", "09:00", "17:00")]
    assert body["service_areas"] and all(a["name"] for a in body["service_areas"])
    term = body["attributes"][0]["taxonomy_term"]
    assert term["code"] == "personal_care" and term["name"] == "Personal care"
    assert body["organization"]["name"] == feed["agency"].profile.display_name
    # Nothing private leaves Carefair: no email, phone, contact or address.
    assert body["email"] is None and body["organization"]["email"] is None
    assert body["phones"] == body["contacts"] == body["service_at_locations"] == []
    assert feed["agency_user"].email not in str(body)


def test_filters_and_pages(client, feed):
    terms = client.get(f"{BASE}/taxonomy_terms?per_page=100").get_json()["contents"]
    getting_out = next(t["id"] for t in terms if t["code"] == "getting_out")
    only = client.get(f"{BASE}/services", query_string={"taxonomy_term_id": getting_out}).get_json()
    assert [s["name"] for s in only["contents"]] == [feed["club"].title]

    first = client.get(f"{BASE}/services?per_page=1").get_json()
    second = client.get(f"{BASE}/services?per_page=1&page=2").get_json()
    assert first["total_pages"] == 2 and not first["last_page"] and second["last_page"]
    assert first["contents"][0]["id"] != second["contents"][0]["id"]
    beyond = client.get(f"{BASE}/services?per_page=1&page=9").get_json()
    assert beyond["empty"] and beyond["contents"] == []

    org = open_referral.object_id("organization", feed["agency"].profile_id)
    by_org = client.get(f"{BASE}/services", query_string={"organization_id": org, "full": "true"}).get_json()
    assert [s["name"] for s in by_org["contents"]] == [feed["agency"].title]
    assert by_org["contents"][0]["cost_options"], "full=true nests the cost options"
    found = client.get(f"{BASE}/services?search=RIVER").get_json()["contents"]
    assert [s["name"] for s in found] == [feed["club"].title], "words in the description, any case"


@pytest.mark.parametrize("path", [
    f"{BASE}/services/not-a-uuid",
    f"{BASE}/services/{open_referral.object_id('organization', 1)}",  # a UUID of another kind
    f"{BASE}/services?per_page=0",
    f"{BASE}/services?taxonomy_term_id=nope",
])
def test_bad_requests_get_the_error_shape(client, feed, path):
    response = client.get(path)
    assert response.status_code in (404, 422)
    assert set(response.get_json()["error"]) == {"status", "code", "message", "field"}


def test_ids_round_trip_and_never_collide_across_kinds():
    for kind in open_referral.KIND:
        assert open_referral.number_of(kind, open_referral.object_id(kind, 123456)) == 123456
    assert open_referral.number_of("service", open_referral.object_id("organization", 5)) is None
    assert open_referral.number_of("service", "00000001-0000-8000-8000-zzzzzzzzzzzz") is None
