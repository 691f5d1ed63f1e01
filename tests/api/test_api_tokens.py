"""API tokens: scopes on every route, expired and revoked tokens refused, the secret shown once, uses audited."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.models import ApiToken, AuditEvent
from app.services import api_tokens

pytestmark = pytest.mark.database

HOLDER_ROUTES = [
    ("GET", "/api/v1/providers", "providers:read"),
    ("GET", "/api/v1/providers/1", "providers:read"),
    ("GET", "/api/v1/listings", "providers:read"),
    ("GET", "/api/v1/holders", "holders:read"),
    ("GET", "/api/v1/holders/1", "holders:read"),
    ("GET", "/api/v1/budgets", "budgets:read"),
    ("POST", "/api/v1/budgets", "budgets:write"),
    ("GET", "/api/v1/budgets/1", "budgets:read"),
    ("GET", "/api/v1/budgets/1/instalments", "budgets:read"),
    ("POST", "/api/v1/budgets/1/instalments", "budgets:write"),
    ("GET", "/api/v1/delegations", "delegations:read"),
    ("GET", "/api/v1/bookings", "bookings:read"),
    ("GET", "/api/v1/bookings/1", "bookings:read"),
    ("GET", "/api/v1/sessions", "bookings:read"),
    ("GET", "/api/v1/remittance?year=2026&month=1", "remittance:read"),
    ("GET", "/api/v1/flags", "flags:read"),
    ("GET", "/api/v1/markets", "market:read"),
    ("GET", "/api/v1/markets/runs", "market:read"),
    ("POST", "/api/v1/imports/holders", "imports:write"),
    ("GET", "/api/v1/exports/holders", "holders:read"),
    ("GET", "/api/v1/exports/bookings", "bookings:read"),
]


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"status", "code", "message", "field"}
    assert body["error"]["status"] == status
    return body["error"]


def test_every_council_api_route_is_in_the_scope_table(app):
    """A new route must be added to HOLDER_ROUTES, so its scope is tested below."""
    tested = {re.sub(r"/\d+", "/<id>", path.split("?")[0]) for _, path, _ in HOLDER_ROUTES}
    routes = set()
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.rule.startswith("/api/v1/") and hasattr(view, "api_scope"):
            path = re.sub(r"<int[^>]*>", "<id>", rule.rule)
            path = re.sub(r"<any\([^)]*\):\w+>", "holders", path)
            routes.add(path)
    assert routes - {p.replace("/bookings", "/holders") if p.startswith("/api/v1/exports") else p
                     for p in tested} == set()


@pytest.mark.parametrize("method,path,scope", HOLDER_ROUTES)
def test_each_route_needs_its_scope(client, make_token, method, path, scope):
    others = [s for s in api_tokens.SCOPES if s != scope]
    _, wrong = make_token(others)
    refused = _error(client.open(path, method=method, headers=wrong, json={}), 403)
    assert scope in refused["message"]
    _, right = make_token([scope])
    response = client.open(path, method=method, headers=right, json={})
    assert response.status_code not in (401, 403), response.get_data(as_text=True)


@pytest.mark.parametrize("method,path,scope", HOLDER_ROUTES)
def test_each_route_refuses_no_token_and_a_wrong_one(client, method, path, scope):
    _error(client.open(path, method=method), 401)
    _error(client.open(path, method=method, headers={"Authorization": "Bearer cfk_nonsense"}), 401)


def test_expired_and_revoked_tokens_are_refused(client, app, db_session, make_token, admin):
    secret, headers = make_token(["holders:read"])
    assert client.get("/api/v1/holders", headers=headers).status_code == 200
    token = db_session.scalar(select(ApiToken).where(ApiToken.prefix == secret[:12]))
    token.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db_session.commit()
    assert "expired" in _error(client.get("/api/v1/holders", headers=headers), 401)["message"]

    secret, headers = make_token(["holders:read"])
    assert client.get("/api/v1/holders", headers=headers).status_code == 200
    token = db_session.scalar(select(ApiToken).where(ApiToken.prefix == secret[:12]))
    with app.test_request_context():
        api_tokens.revoke(admin, token.id)
    assert "revoked" in _error(client.get("/api/v1/holders", headers=headers), 401)["message"]


def test_the_secret_is_stored_only_as_a_hash(db_session, make_token):
    secret, _ = make_token()
    token = db_session.scalar(select(ApiToken).where(ApiToken.prefix == secret[:12]))
    assert secret not in (token.token_hash, token.prefix)
    assert len(token.token_hash) == 64


def test_each_use_is_audited_with_the_tokens_name(client, db_session, make_token, admin):
    _, headers = make_token(["holders:read"], name="Case management")
    client.get("/api/v1/holders?limit=5", headers=headers)
    client.get("/api/v1/budgets", headers=headers)  # refused: audited all the same
    events = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "api_token.used")
                                .order_by(AuditEvent.id)).all()
    assert [(e.details["token"], e.details["path"], e.details["status"]) for e in events] == [
        ("Case management", "/api/v1/holders", 200), ("Case management", "/api/v1/budgets", 403)]
    assert all(e.actor_id == admin.id for e in events)


def test_a_revoked_token_still_being_tried_is_audited_under_its_name(client, app, db_session, make_token, admin):
    secret, headers = make_token(["holders:read"], name="Old finance system")
    token = db_session.scalar(select(ApiToken).where(ApiToken.prefix == secret[:12]))
    with app.test_request_context():
        api_tokens.revoke(admin, token.id)
    assert client.get("/api/v1/holders", headers=headers).status_code == 401
    client.get("/api/v1/holders", headers={"Authorization": "Bearer cfk_never_issued"})
    events = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "api_token.used")).all()
    assert [(e.subject_id, e.details["token"], e.details["status"]) for e in events] == [
        (str(token.id), "Old finance system", 401)]


def test_admin_creates_a_token_shown_once_and_revokes_it(client, login, admin, db_session):
    login(admin)
    page = client.get("/admin/api-tokens")
    assert page.status_code == 200
    expiry = date.today() + timedelta(days=90)
    created = client.post("/admin/api-tokens", data={
        "name": "Finance system", "scopes": ["budgets:read", "budgets:write"],
        "expires_on": [str(expiry.day), str(expiry.month), str(expiry.year)]})
    assert created.status_code == 201
    assert created.headers["Cache-Control"] == "no-store"
    secret = re.search(r'value="(cfk_[^"]+)"', created.get_data(as_text=True)).group(1)
    listing = client.get("/admin/api-tokens").get_data(as_text=True)
    assert "Finance system" in listing and secret not in listing and secret[:12] in listing

    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/budgets", headers=headers).status_code == 200
    token = db_session.scalar(select(ApiToken).where(ApiToken.name == "Finance system"))
    # Revoke asks first (it cannot be undone): the question changes nothing.
    assert f'href="/admin/api-tokens/{token.id}/revoke"' in listing
    question = client.get(f"/admin/api-tokens/{token.id}/revoke").get_data(as_text=True)
    assert "Revoke the token Finance system?" in question and "Yes, revoke it" in question
    assert client.get("/api/v1/budgets", headers=headers).status_code == 200
    client.post(f"/admin/api-tokens/{token.id}/revoke", data={})
    assert client.get("/api/v1/budgets", headers=headers).status_code == 401


def test_a_bad_token_form_keeps_what_was_typed_and_says_why(client, login, admin):
    login(admin)
    page = client.post("/admin/api-tokens", data={"name": "Finance system", "expires_on": ["1", "1", "2020"]})
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Choose at least one thing the token may do" in text
    assert 'value="Finance system"' in text
    page = client.post("/admin/api-tokens", data={"name": "Finance", "scopes": ["flags:read"],
                                                  "expires_on": ["1", "1", "2020"]})
    assert "Enter an expiry date after today" in page.get_data(as_text=True)


@pytest.mark.parametrize("expires_on,last_good,first_refused", [
    # Summer: the UK day ends at 23:00 UTC.
    (date(2027, 6, 30), datetime(2027, 6, 30, 22, 59, tzinfo=UTC), datetime(2027, 6, 30, 23, 0, 1, tzinfo=UTC)),
    # Winter: at midnight UTC.
    (date(2027, 1, 15), datetime(2027, 1, 15, 23, 59, tzinfo=UTC), datetime(2027, 1, 16, 0, 0, 1, tzinfo=UTC)),
])
def test_a_token_works_through_its_expiry_day_in_the_uk_and_not_into_the_next(
        client, app, admin, db_session, expires_on, last_good, first_refused):
    from app import clock

    with app.test_request_context():
        created = api_tokens.create(admin, "Finance system", ["holders:read"], expires_on,
                                    today=expires_on - timedelta(days=30))
    headers = {"Authorization": f"Bearer {created.secret}"}
    assert created.token.expires_at.strftime("%-d %B %Y") == f"{expires_on.day} {expires_on:%B %Y}"
    with clock.frozen(last_good):
        assert client.get("/api/v1/holders", headers=headers).status_code == 200
    with clock.frozen(first_refused):
        assert "expired" in _error(client.get("/api/v1/holders", headers=headers), 401)["message"]
