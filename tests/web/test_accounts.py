"""Sign-up, sign-in, sign-out, passwords, rate limiting and no account enumeration."""

import re
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
from sqlalchemy import select

from app.domain.access import Role
from app.models import AuditEvent, User
from tests.factories import TEST_PASSWORD


def _sign_in(client, email, password):
    return client.post("/sign-in", data={"email": email, "password": password})


def _finish_link(app, email_address) -> str:
    email = _latest_email(app)
    link = next(line for line in email.splitlines() if "/sign-up/" in line).strip()
    return link.split("carefair.localhost", 1)[1]


def test_sign_up_emails_a_link_and_choosing_a_password_lands_on_their_home(app, client, db_session):
    response = client.post("/sign-up", data={
        "role": "holder", "name": "Ada Lovelace", "email": "Ada@Example.org"})
    assert "Check your email to finish signing up" in response.get_data(as_text=True)
    assert db_session.scalar(select(User).where(User.email == "ada@example.org")) is None
    assert "Finish creating your Carefair account" in _latest_email_subject(app)
    path = _finish_link(app, "ada@example.org")
    page = client.get(path).get_data(as_text=True)
    assert "ada@example.org" in page and "Choose your password" in page
    response = client.post(path, data={"new_password": "a long enough password",
                                       "confirm_password": "a long enough password"},
                           follow_redirects=True)
    assert response.status_code == 200
    assert "Your home" in response.get_data(as_text=True)
    user = db_session.scalar(select(User).where(User.email == "ada@example.org"))
    assert user.role == "holder" and user.name == "Ada Lovelace"
    assert user.password_hash.startswith("$argon2")
    client.post("/sign-out")
    again = client.post(path, data={"new_password": "another long password",
                                    "confirm_password": "another long password"})
    assert "already been used" in again.get_data(as_text=True)


def test_a_tampered_sign_up_link_is_refused_plainly(client):
    response = client.get("/sign-up/not-a-real-token")
    assert response.status_code == 400
    assert "This link is not valid" in response.get_data(as_text=True)


def test_sign_up_as_broker_is_not_offered(client, db_session):
    response = client.post("/sign-up", data={
        "role": "broker", "name": "Sneaky", "email": "sneaky@example.org"})
    assert response.status_code == 200
    assert "Select what you want" in response.get_data(as_text=True)
    assert db_session.scalar(select(User).where(User.email == "sneaky@example.org")) is None


def test_sign_up_errors_show_beside_the_field_and_keep_what_was_typed(client, db_session):
    response = client.post("/sign-up", data={
        "role": "provider", "name": "Maria", "email": "not-an-email"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "There is a problem" in page
    assert "Enter an email address in the correct format" in page
    assert 'value="Maria"' in page and 'value="not-an-email"' in page
    assert 'href="#email"' in page  # the summary links to the field


def test_sign_up_with_a_taken_email_answers_the_same_and_emails_the_owner(app, client, make_user,
                                                                         db_session):
    make_user(email="taken@example.org", name="Original Owner")
    taken = client.post("/sign-up", data={
        "role": "holder", "name": "Another", "email": "taken@example.org"}).get_data(as_text=True)
    assert "You already have a Carefair account" in _latest_email_subject(app)
    assert "/sign-up/" not in _latest_email(app)
    fresh = client.post("/sign-up", data={
        "role": "holder", "name": "Another", "email": "fresh@example.org"}).get_data(as_text=True)

    def without_nonces(page: str) -> str:
        return re.sub(r'nonce="[^"]+"', "", page)

    assert "already exists" not in taken
    assert without_nonces(taken) == without_nonces(fresh)
    owner = db_session.scalar(select(User).where(User.email == "taken@example.org"))
    assert owner.name == "Original Owner"


@pytest.mark.parametrize("password, message", [
    ("password1234", "one of the most common"),
    ("Qwerty123456!", "one of the most common"),
    ("maria.jones2026", "must not be your email address"),
    ("short", "at least 10 characters"),
])
def test_easily_guessed_passwords_are_refused_beside_the_field(app, client, db_session, password,
                                                               message):
    client.post("/sign-up", data={"role": "provider", "name": "Maria",
                                  "email": "maria.jones@example.org"})
    path = _finish_link(app, "maria.jones@example.org")
    response = client.post(path, data={"new_password": password, "confirm_password": password})
    page = response.get_data(as_text=True)
    assert message in page and 'id="new_password-error"' in page
    assert db_session.scalar(select(User).where(User.email == "maria.jones@example.org")) is None


def test_sign_in_and_out(client, make_user, db_session):
    user = make_user(Role.BROKER, email="b@example.org")
    response = _sign_in(client, "B@example.org", TEST_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard")
    assert client.get("/broker/").status_code == 200
    assert db_session.scalar(select(AuditEvent).where(
        AuditEvent.action == "account.signed_in", AuditEvent.actor_id == user.id)) is not None
    client.post("/sign-out")
    assert client.get("/broker/").status_code == 302


def test_wrong_password_and_unknown_email_get_the_same_answer(client, make_user):
    make_user(email="known@example.org")
    wrong_password = _sign_in(client, "known@example.org", "not the password").get_data(as_text=True)
    unknown_email = _sign_in(client, "nobody@example.org", "not the password").get_data(as_text=True)
    marker = "Enter a correct email address and password"
    assert marker in wrong_password and marker in unknown_email


def test_sign_in_is_rate_limited_with_a_clear_message(client, make_user):
    make_user(email="target@example.org")
    for _ in range(5):
        assert _sign_in(client, "target@example.org", "wrong password!").status_code == 200
    response = _sign_in(client, "target@example.org", TEST_PASSWORD)
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)


def test_change_password(client, login_as, db_session):
    user = login_as(Role.HOLDER)
    bad = client.post("/account/password", data={"current_password": "wrong one here",
                                                  "new_password": "new password 123",
                                                  "confirm_password": "new password 123"})
    assert "current password is not right" in bad.get_data(as_text=True)
    ok = client.post("/account/password", data={"current_password": TEST_PASSWORD,
                                                "new_password": "new password 123",
                                                "confirm_password": "new password 123"})
    assert ok.status_code == 302
    client.post("/sign-out")
    assert _sign_in(client, user.email, "new password 123").status_code == 302


def _latest_email(app) -> str:
    outbox = Path(app.config["MAIL_OUTBOX_DIR"])
    raw = sorted(outbox.glob("*.eml"))[-1].read_bytes()
    message = message_from_bytes(raw, policy=default_policy)
    return message.get_body(preferencelist=("plain",)).get_content()


def _latest_email_subject(app) -> str:
    outbox = Path(app.config["MAIL_OUTBOX_DIR"])
    raw = sorted(outbox.glob("*.eml"))[-1].read_bytes()
    return str(message_from_bytes(raw, policy=default_policy)["Subject"])


def test_reset_does_not_reveal_whether_an_account_exists(client, make_user):
    make_user(email="real@example.org")
    known = client.post("/reset-password", data={"email": "real@example.org"}).get_data(as_text=True)
    unknown = client.post("/reset-password", data={"email": "ghost@example.org"}).get_data(as_text=True)
    assert "If that email address has a Carefair account" in known
    def without_nonces(page: str) -> str:
        return re.sub(r'nonce="[^"]+"', "", page)

    assert without_nonces(known) == without_nonces(unknown)


def test_reset_link_sets_a_new_password_once(app, client, make_user):
    user = make_user(email="forgetful@example.org")
    client.post("/reset-password", data={"email": user.email})
    email = _latest_email(app)
    link = next(line for line in email.splitlines() if "/reset-password/" in line).strip()
    path = link.split("carefair.localhost", 1)[1]
    response = client.post(path, data={"new_password": "brand new secret",
                                       "confirm_password": "brand new secret"})
    assert response.status_code == 302
    assert _sign_in(client, user.email, "brand new secret").status_code == 302
    client.post("/sign-out")
    again = client.post(path, data={"new_password": "another secret!!",
                                    "confirm_password": "another secret!!"})
    assert "already been used" in again.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/sign-in", "/sign-up", "/reset-password", "/accessibility", "/"])
def test_public_pages_render_with_security_headers(client, path):
    response = client.get(path)
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_forms_refuse_posts_without_a_csrf_token(app, client, make_user):
    make_user(email="csrf@example.org")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = _sign_in(client, "csrf@example.org", TEST_PASSWORD)
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 400
    assert "Traceback" not in response.get_data(as_text=True)


def test_session_cookie_is_httponly_and_samesite(app):
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
