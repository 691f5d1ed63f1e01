"""Council API resources as a council system sees them: pages, filters, writes through the ledger, exports, limits."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from app.domain.access import Role
from app.models import AuditEvent, LedgerTransaction
from app.services import brokerage, imports

pytestmark = pytest.mark.database

START = date(date.today().year - 1, 4, 1)


@pytest.fixture
def council_data(app, make_user, tmp_path):
    """Three holders (one with a name a spreadsheet would run), two providers, budgets, history."""
    admin = make_user(Role.COUNCIL_ADMIN)
    day = START + timedelta(days=5)
    files = {
        "holders": "reference,email,name,home_district\nH1,h1@example.org,=HYPERLINK(\"x\"),LS6\n"
                   "H2,h2@example.org,Bea Two,LS6\nH3,h3@example.org,Cy Three,LS7\n",
        "providers": ("reference,email,name,provider_type,districts,listing_category,listing_title,"
                      "listing_price,listing_unit\n"
                      "P1,p1@example.org,Pia One,self_employed_pa,LS6,personal_care,Help,16.00,hour\n"
                      "P2,p2@example.org,Acme,home_care_agency,LS6,personal_care,Care,24.00,hour\n"),
        "budgets": ("reference,holder_reference,annual_amount,start_date,frequency,funding_mode\n"
                    f"B1,H1,12000,{START},monthly,council_managed\nB2,H2,9000,{START},monthly,direct_payment\n"
                    f"B3,H3,9000,{START},monthly,direct_payment\n"),
        "bookings": ("reference,holder_reference,provider_reference,start,end,amount\n"
                     f"X1,H1,P1,{day}T09:00,{day}T12:00,48.00\n"
                     f"X2,H2,P2,{day}T09:00,{day}T10:00,24.00\n"
                     f"X3,H3,P2,{day}T11:00,{day}T12:00,24.00\n"),
    }
    with app.test_request_context():
        for kind, text in files.items():
            path = tmp_path / f"{kind}.csv"
            path.write_text(text)
            assert imports.run(kind, path, actor=admin, dry_run=False).error_count == 0
        return {k: imports.referenced(k.rstrip("s"), [f"{k[0].upper()}{i}" for i in (1, 2, 3)])
                for k in ("holders", "providers", "budgets", "bookings")}


def test_holders_page_through_with_a_cursor_and_filter_by_district(client, make_token, council_data):
    _, headers = make_token(["holders:read"])
    first = client.get("/api/v1/holders?limit=2", headers=headers).get_json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = client.get(f"/api/v1/holders?limit=2&cursor={first['next_cursor']}", headers=headers).get_json()
    refs = [h["reference"] for h in first["items"] + second["items"]]
    assert sorted(r for r in refs if r) == ["H1", "H2", "H3"] and second["next_cursor"] is None
    ls7 = client.get("/api/v1/holders?district=ls7", headers=headers).get_json()["items"]
    assert [(h["reference"], h["home_district"]) for h in ls7] == [("H3", "LS7")]
    bad = client.get("/api/v1/holders?limit=0", headers=headers)
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "limit"


def test_a_cursor_of_ten_digits_is_a_cursor_and_one_beyond_any_id_is_refused_plainly(client, make_token):
    """Ids pass 999,999,999 in a big council's sessions: their next_cursor must come back in."""
    _, headers = make_token(["bookings:read"])
    page = client.get("/api/v1/sessions?cursor=1999999999", headers=headers)
    assert page.status_code == 200 and page.get_json() == {"items": [], "next_cursor": None}
    beyond = client.get("/api/v1/sessions?cursor=2147483648", headers=headers)
    assert beyond.status_code == 422 and beyond.get_json()["error"]["field"] == "cursor"


def test_bookings_filter_by_status_and_show_history(client, make_token, council_data):
    _, headers = make_token(["bookings:read"])
    items = client.get("/api/v1/bookings?status=settled", headers=headers).get_json()["items"]
    assert sorted(b["reference"] for b in items) == ["X1", "X2", "X3"]
    assert all(b["historical"] and b["sessions"][0]["settled_on"] is None for b in items)
    assert client.get("/api/v1/bookings?status=requested", headers=headers).get_json()["items"] == []
    old = (START - timedelta(days=1)).isoformat()
    assert client.get(f"/api/v1/bookings?created_to={old}", headers=headers).get_json()["items"] == []


def test_market_figures_are_the_stored_scan_runs_with_imported_history(client, make_token, council_data, app):
    _, headers = make_token(["market:read"])
    assert client.get("/api/v1/markets", headers=headers).get_json() == {"run": None, "items": [], "next_cursor": None}
    with app.test_request_context():
        first = brokerage.scan(as_of=datetime.combine(START + timedelta(days=15), time(12), tzinfo=UTC)).market_run_id
        latest = brokerage.scan(as_of=datetime.now(UTC)).market_run_id  # the history is outside its window
    body = client.get(f"/api/v1/markets?run_id={first}&category=personal_care", headers=headers).get_json()
    assert body["run"]["id"] == first and body["run"]["window_days"] == 90 and body["next_cursor"] is None
    ls6 = next(m for m in body["items"] if m["district"] == "LS6")
    assert (ls6["spend_pence"], ls6["holders"], ls6["providers"]) == (7200, 2, 2)
    assert ls6["top_share_percent"] == pytest.approx(200 / 3, abs=0.05)  # stored to one place
    assert ls6["hhi"] == pytest.approx((200 / 3) ** 2 + (100 / 3) ** 2, abs=1)
    p1, p2 = council_data["providers"]["P1"], council_data["providers"]["P2"]
    assert [(sh["provider_id"], sh["spend_pence"]) for sh in ls6["shares"]] == [(p1, 4800), (p2, 2400)]
    assert ls6["top_provider_id"] == p1
    page = client.get(f"/api/v1/markets?run_id={first}&limit=1", headers=headers).get_json()
    rest = client.get(f"/api/v1/markets?run_id={first}&limit=1&cursor={page['next_cursor']}", headers=headers)
    assert {m["district"] for m in page["items"] + rest.get_json()["items"]} == {"LS6", "LS7"}
    now = client.get("/api/v1/markets", headers=headers).get_json()
    assert now["run"]["id"] == latest and now["items"] == []
    runs = client.get("/api/v1/markets/runs", headers=headers).get_json()["items"]
    assert [r["id"] for r in runs] == [first, latest]
    missing = client.get("/api/v1/markets?run_id=999999", headers=headers)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"


def test_instalments_go_through_the_ledger_once_per_key(client, make_token, council_data, db_session):
    _, headers = make_token(["budgets:read", "budgets:write"])
    budget_id = council_data["budgets"]["B1"]
    payment = {"amount_pence": 100_000, "received_on": START.isoformat(), "idempotency_key": "FIN-0001",
               "reference": "April"}
    first = client.post(f"/api/v1/budgets/{budget_id}/instalments", headers=headers, json=payment)
    again = client.post(f"/api/v1/budgets/{budget_id}/instalments", headers=headers, json=payment)
    assert first.status_code == again.status_code == 201
    assert first.get_json()["id"] == again.get_json()["id"]
    assert db_session.scalar(select(func.count()).select_from(LedgerTransaction)) == 1
    budget = client.get(f"/api/v1/budgets/{budget_id}", headers=headers).get_json()
    assert budget["balances"]["available_pence"] + budget["balances"]["contingency_pence"] == 100_000
    listed = client.get(f"/api/v1/budgets/{budget_id}/instalments", headers=headers).get_json()["items"]
    assert [(i["amount_pence"], i["reference"]) for i in listed] == [(100_000, "April")]
    assert db_session.scalar(select(func.count()).where(AuditEvent.action == "ledger.allocate")) == 1
    clash = client.post(f"/api/v1/budgets/{budget_id}/instalments", headers=headers,
                        json=payment | {"amount_pence": 5})
    assert clash.status_code == 409 and clash.get_json()["error"]["field"] == "idempotency_key"


def test_a_budget_created_through_the_api_follows_the_screens_rules(client, make_token, council_data):
    _, headers = make_token(["budgets:write"])
    holder_id = council_data["holders"]["H1"]
    overlap = client.post("/api/v1/budgets", headers=headers, json={
        "holder_id": holder_id, "annual_pence": 500_000, "start_date": START.isoformat(),
        "frequency": "monthly", "funding_mode": "council_managed", "contingency_weeks": 4})
    assert overlap.status_code == 409 and "cannot overlap" in overlap.get_json()["error"]["message"]
    made = client.post("/api/v1/budgets", headers=headers, json={
        "holder_id": holder_id, "annual_pence": 500_000, "start_date": (START + timedelta(days=400)).isoformat(),
        "frequency": "monthly", "funding_mode": "council_managed", "contingency_weeks": 4})
    assert made.status_code == 201 and made.get_json()["balances"]["available_pence"] == 0


def test_csv_exports_defuse_formulas_and_json_lines_do_not_need_to(client, make_token, council_data):
    _, headers = make_token(["holders:read"])
    response = client.get("/api/v1/exports/holders?format=csv", headers=headers)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert "'=HYPERLINK(\"x\")" in [r["name"] for r in rows]
    lines = client.get("/api/v1/exports/holders?format=jsonl", headers=headers).get_data(as_text=True)
    assert '=HYPERLINK("x")' in [json.loads(line)["name"] for line in lines.splitlines()]
    assert client.get("/api/v1/exports/bookings", headers=headers).status_code == 403


def test_each_token_has_its_own_rate_limit(client, app, make_token):
    _, first = make_token(["flags:read"])
    _, second = make_token(["flags:read"])
    app.config["API_RATE_LIMIT"] = "3 per minute"
    try:
        assert [client.get("/api/v1/flags", headers=first).status_code for _ in range(3)] == [200] * 3
        refused = client.get("/api/v1/flags", headers=first)
        assert refused.status_code == 429 and refused.get_json()["error"]["status"] == 429
        assert client.get("/api/v1/flags", headers=second).status_code == 200
        # The same token written another way is the same token, under the same limit.
        secret = first["Authorization"].split(" ", 1)[1]
        for header in (f"bearer {secret}", f"Bearer  {secret} ", f"BEARER {secret}"):
            assert client.get("/api/v1/flags", headers={"Authorization": header}).status_code == 429
    finally:
        app.config["API_RATE_LIMIT"] = "600 per minute"


def test_reference_page_and_openapi_are_served_without_outside_scripts(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.") and "/api/v1/holders" in spec["paths"]
    page = client.get("/api/v1/reference")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "GET /api/v1/holders" in text and "HolderOut" in text
    assert "https://" not in text.split("<body")[1].split("</body>")[0].replace("https://www.gov.uk", "")


def test_paging_through_the_latest_market_run_stays_on_it_when_a_newer_scan_finishes(
        client, make_token, council_data, app):
    _, headers = make_token(["market:read"])
    as_of = datetime.combine(START + timedelta(days=15), time(12), tzinfo=UTC)
    with app.test_request_context():
        first = brokerage.scan(as_of=as_of).market_run_id
    page = client.get("/api/v1/markets?limit=1", headers=headers).get_json()
    assert page["run"]["id"] == first and page["next_cursor"]
    with app.test_request_context():
        newer = brokerage.scan(as_of=as_of + timedelta(days=1)).market_run_id  # the same markets again
    assert newer != first
    rest = client.get(f"/api/v1/markets?limit=1&cursor={page['next_cursor']}", headers=headers).get_json()
    assert rest["run"]["id"] == first
    assert {m["district"] for m in page["items"] + rest["items"]} == {"LS6", "LS7"}
    assert rest["next_cursor"] is None
