"""Errors people meet: plain-English 403, 404 and 500 pages with no stack trace, the database
session rolled back after a crash, and one stable JSON shape for every /api/ error."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app import create_app
from app.config import Config
from app.domain.access import Role
from app.errors import Conflict, InvalidInput, NotFound, NotPermitted
from app.models import User
from app.web.context import public

SECRET_DETAIL = "secret internals: password=hunter2"


@pytest.fixture(scope="module")
def error_app(tmp_path_factory):
    """A separate app with routes that fail on purpose (never registered on the real app)."""
    instance = tmp_path_factory.mktemp("error-app")
    application = create_app(Config.from_env(
        "test", SQLALCHEMY_DATABASE_URI=f"sqlite:///{instance / 'unused.db'}",
        INSTANCE_DIR=str(instance), MAIL_OUTBOX_DIR=str(instance / "outbox")))

    def crash():
        raise RuntimeError(SECRET_DETAIL)

    failures = {
        "invalid": InvalidInput("Enter an amount in pounds and pence, like 12.50", field="amount"),
        "forbidden": NotPermitted("Only the budget holder can do that."),
        "missing": NotFound("We could not find that booking."),
        "conflict": Conflict("That time is already booked."),
    }

    def refuse(kind: str):
        raise failures[kind]

    for prefix in ("/test", "/api/test"):
        application.add_url_rule(f"{prefix}/crash", f"crash{prefix}", public(crash))
        application.add_url_rule(f"{prefix}/refuse/<kind>", f"refuse{prefix}", public(refuse))
    yield application
    from app.extensions import db

    with application.app_context():
        db.engine.dispose()


def _assert_no_internals(body: str) -> None:
    assert "Traceback" not in body and "RuntimeError" not in body and "hunter2" not in body


def test_a_crash_shows_a_plain_500_page(error_app):
    response = error_app.test_client().get("/test/crash")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in body
    assert "Nothing you entered has been half-saved" in body
    _assert_no_internals(body)


def test_an_api_crash_answers_in_the_stable_json_shape(error_app):
    response = error_app.test_client().get("/api/test/crash")
    assert response.status_code == 500
    assert response.get_json() == {"error": {
        "status": 500, "code": "server_error",
        "message": "Sorry, there is a problem with the service", "field": None}}
    _assert_no_internals(response.get_data(as_text=True))


@pytest.mark.parametrize("kind,status,code,field", [
    ("invalid", 400, "invalid_input", "amount"),
    ("forbidden", 403, "not_permitted", None),
    ("missing", 404, "not_found", None),
    ("conflict", 409, "conflict", None),
])
def test_api_refusals_carry_status_code_message_and_field(error_app, kind, status, code, field):
    response = error_app.test_client().get(f"/api/test/refuse/{kind}")
    assert response.status_code == status
    error = response.get_json()["error"]
    assert set(error) == {"status", "code", "message", "field"}
    assert (error["status"], error["code"], error["field"]) == (status, code, field)
    assert error["message"] and error["message"][0].isupper()


@pytest.mark.parametrize("kind,status,text", [
    ("forbidden", 403, "Only the budget holder can do that."),
    ("missing", 404, "We could not find that booking."),
    ("conflict", 409, "That time is already booked."),
])
def test_page_refusals_show_their_message_plainly(error_app, kind, status, text):
    response = error_app.test_client().get(f"/test/refuse/{kind}")
    assert response.status_code == status
    assert text in response.get_data(as_text=True)


@pytest.mark.parametrize("path,status,code", [
    ("/api/no-such-thing", 404, "not_found"),
    ("/api/me", 401, "unauthorized"),
])
def test_api_http_errors_use_the_same_json_shape(client, path, status, code):
    response = client.get(path)
    assert response.status_code == status
    assert response.is_json
    error = response.get_json()["error"]
    assert set(error) == {"status", "code", "message", "field"}
    assert (error["status"], error["code"], error["field"]) == (status, code, None)


def test_api_wrong_method_is_json_too(client):
    response = client.post("/api/health")
    assert response.status_code == 405
    assert response.get_json()["error"]["status"] == 405


def test_unknown_page_is_a_plain_404(client):
    response = client.get("/no-such-page")
    body = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "Page not found" in body and "check it is correct" in body
    assert "Not Found" not in body  # werkzeug's own wording is not shown


def test_forbidden_page_is_plain_and_offers_a_way_home(client, login_as):
    login_as(Role.PROVIDER)
    response = client.get("/admin/")
    body = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "You do not have access to this page" in body
    assert 'href="/dashboard"' in body


def test_a_crash_in_a_service_rolls_back_what_it_had_written(client, login_as, db_session,
                                                             monkeypatch):
    broker = login_as(Role.BROKER, name="Tom Reid")
    from app.extensions import db
    from app.services import delegation as delegation_service

    rollbacks = []
    real_rollback = db.session.rollback
    monkeypatch.setattr(db.session, "rollback", lambda: (rollbacks.append(1), real_rollback()))

    def half_done(_text, limit=50):
        db.session.get(User, broker.id).name = "Half-saved name"
        db.session.flush()
        raise RuntimeError(SECRET_DETAIL)

    monkeypatch.setattr(delegation_service, "holders_matching", half_done)
    response = client.get("/broker/holders")
    assert response.status_code == 500
    _assert_no_internals(response.get_data(as_text=True))
    assert rollbacks, "the error handler did not roll the session back"
    assert db_session.scalar(select(User.name).where(User.id == broker.id)) == "Tom Reid"
