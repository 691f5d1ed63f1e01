"""Emailed links always point at PUBLIC_BASE_URL whatever Host a request claims, and a copied
session cookie stops working after sign-out, a password change or reset, or deactivation."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
from flask import Flask

from app import create_app, links
from app.config import Config, ConfigurationError
from app.domain.access import Role
from tests.factories import TEST_PASSWORD


def _latest_email(app) -> str:
    outbox = Path(app.config["MAIL_OUTBOX_DIR"])
    raw = sorted(outbox.glob("*.eml"))[-1].read_bytes()
    message = message_from_bytes(raw, policy=default_policy)
    return message.get_body(preferencelist=("plain",)).get_content()


def _link_in(email: str, marker: str) -> str:
    return next(line for line in email.splitlines() if marker in line).strip()


def test_a_reset_asked_for_with_a_forged_host_still_emails_carefairs_own_address(app, client,
                                                                                  make_user):
    user = make_user(email="forgetful@example.org")
    client.post("/reset-password", data={"email": user.email},
                headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"})
    link = _link_in(_latest_email(app), "/reset-password/")
    assert link.startswith("http://carefair.localhost/reset-password/")
    assert "evil" not in link


def test_a_sign_up_link_ignores_the_host_header(app, client, db_session):
    client.post("/sign-up", data={"role": "holder", "name": "Ada", "email": "ada@example.org"},
                headers={"Host": "evil.example"})
    link = _link_in(_latest_email(app), "/sign-up/")
    assert link.startswith("http://carefair.localhost/sign-up/")


def test_production_refuses_to_start_without_a_public_base_url(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    with pytest.raises(ConfigurationError, match="PUBLIC_BASE_URL is not set"):
        Config.from_env("production").check()
    monkeypatch.setenv("PUBLIC_BASE_URL", "javascript:alert(1)")
    with pytest.raises(ConfigurationError, match="must be an http"):
        Config.from_env("production").check()


def test_production_answers_only_its_own_host(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://carefair.example.gov.uk/")
    monkeypatch.setenv("TRUSTED_HOSTS", "internal.example")
    config = Config.from_env("production", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/x.db",
                             INSTANCE_DIR=str(tmp_path), FORCE_HTTPS=False)
    assert config.TRUSTED_HOSTS == ["carefair.example.gov.uk", "internal.example"]
    app = create_app(config)
    client = app.test_client()
    assert client.get("/accessibility", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/accessibility",
                      headers={"Host": "carefair.example.gov.uk"}).status_code == 200
    with app.app_context():
        assert links.external("auth.sign_in") == "https://carefair.example.gov.uk/sign-in"


def test_links_refuse_to_put_another_site_in_an_email(app):
    with app.app_context():
        assert links.absolute("/my/bookings/3") == "http://carefair.localhost/my/bookings/3"
        with pytest.raises(ValueError):
            links.absolute("https://evil.example/x")
        with pytest.raises(ValueError):
            links.absolute("//evil.example/x")


# ---- sessions ------------------------------------------------------------------------------


def _signed_in_client(app: Flask, email: str):
    client = app.test_client()
    response = client.post("/sign-in", data={"email": email, "password": TEST_PASSWORD})
    assert response.status_code == 302
    return client


def _copy_of(app: Flask, client):
    """A second browser holding a copy of the first one's session cookie."""
    thief = app.test_client()
    cookie = client.get_cookie("session", domain="carefair.localhost")
    thief.set_cookie("session", cookie.value, domain="carefair.localhost")
    return thief


def test_a_copied_cookie_stops_working_after_sign_out(app, client, make_user):
    user = make_user(Role.HOLDER)
    owner = _signed_in_client(app, user.email)
    thief = _copy_of(app, owner)
    assert thief.get("/my/budget").status_code == 200
    owner.post("/sign-out")
    assert thief.get("/my/budget").status_code == 302
    assert owner.get("/my/budget").status_code == 302


def test_a_password_change_ends_every_other_session_but_this_one(app, client, make_user):
    user = make_user(Role.HOLDER)
    owner = _signed_in_client(app, user.email)
    other_device = _signed_in_client(app, user.email)
    thief = _copy_of(app, owner)
    response = owner.post("/account/password", data={
        "current_password": TEST_PASSWORD, "new_password": "a new long secret",
        "confirm_password": "a new long secret"})
    assert response.status_code == 302
    assert owner.get("/my/budget").status_code == 200
    assert thief.get("/my/budget").status_code == 302
    assert other_device.get("/my/budget").status_code == 302


def test_a_password_reset_ends_every_session(app, client, make_user):
    user = make_user(Role.HOLDER, email="reset.me@example.org")
    signed_in = _signed_in_client(app, user.email)
    client.post("/reset-password", data={"email": user.email})
    path = _link_in(_latest_email(app), "/reset-password/").split("carefair.localhost", 1)[1]
    assert client.post(path, data={"new_password": "brand new secret",
                                   "confirm_password": "brand new secret"}).status_code == 302
    assert signed_in.get("/my/budget").status_code == 302


def test_deactivating_a_broker_ends_their_sessions_and_is_audited(app, client, make_user,
                                                                  login_as, db_session):
    from sqlalchemy import select

    from app.models import AuditEvent

    broker = make_user(Role.BROKER)
    broker_browser = _signed_in_client(app, broker.email)
    assert broker_browser.get("/broker/").status_code == 200
    admin = login_as(Role.COUNCIL_ADMIN)
    page = client.get("/admin/staff").get_data(as_text=True)
    assert f'<a class="govuk-link" href="/admin/staff/{broker.id}/deactivate">' in page
    # The link asks first: nothing is closed until the admin says yes.
    question = client.get(f"/admin/staff/{broker.id}/deactivate").get_data(as_text=True)
    assert f"Close {broker.name}&#39;s account?" in question and "Yes, close the account" in question
    assert f'action="/admin/staff/{broker.id}/deactivate"' in question
    assert broker_browser.get("/broker/").status_code == 200
    response = client.post(f"/admin/staff/{broker.id}/deactivate", follow_redirects=True)
    assert "signed out everywhere" in response.get_data(as_text=True)
    assert broker_browser.get("/broker/").status_code == 302
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "account.deactivated"))
    assert event is not None and event.actor_id == admin.id and event.subject_id == str(broker.id)
    refused = client.post(f"/admin/staff/{admin.id}/deactivate", follow_redirects=True)
    assert "cannot deactivate your own account" in refused.get_data(as_text=True)


def test_an_old_style_or_forged_session_id_opens_nothing(app, client, make_user):
    user = make_user(Role.HOLDER)
    for forged in (str(user.id), f"{user.id}.99", f"{user.id}.", "x.0", "\u0661.0"):
        with client.session_transaction() as session:
            session["_user_id"] = forged
        assert client.get("/my/budget").status_code == 302, forged
