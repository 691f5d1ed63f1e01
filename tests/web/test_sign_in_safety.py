"""Sign-in safety: never redirected to another site; rate limits per account and per place."""

import pytest

from app.domain.access import Role
from tests.factories import TEST_PASSWORD


def _sign_in_with_next(client, make_user, target):
    user = make_user(Role.HOLDER)
    return client.post("/sign-in", query_string={"next": target},
                       data={"email": user.email, "password": TEST_PASSWORD})


def test_sign_in_returns_to_the_page_asked_for(client, make_user):
    response = _sign_in_with_next(client, make_user, "/my/people?tab=1")
    assert response.headers["Location"] == "/my/people?tab=1"


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/", "/\\evil.example", "\\\\evil.example",
    "/\t/evil.example", "/\n/evil.example", "javascript:alert(1)", "my/people",
])
def test_sign_in_never_redirects_to_another_site(client, make_user, target):
    response = _sign_in_with_next(client, make_user, target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard"


def _attempt(client, email, address):
    return client.post("/sign-in", data={"email": email, "password": "wrong password!"},
                       environ_base={"REMOTE_ADDR": address})


def test_one_account_cannot_be_tried_from_many_places(client, make_user):
    make_user(email="target@example.org")
    for n in range(5):
        assert _attempt(client, "target@example.org", f"10.0.0.{n}").status_code == 200
    refused = _attempt(client, "target@example.org", "10.0.0.99")
    assert refused.status_code == 429 and "Too many attempts" in refused.get_data(as_text=True)
    assert _attempt(client, "someone.else@example.org", "10.0.0.99").status_code == 200


def test_one_place_cannot_try_many_accounts(app, client):
    allowed = int(app.config["SIGN_IN_IP_RATE_LIMIT"].split()[0])
    for n in range(allowed):
        assert _attempt(client, f"guess{n}@example.org", "10.1.1.1").status_code == 200
    assert _attempt(client, "guess-last@example.org", "10.1.1.1").status_code == 429
    assert _attempt(client, "guess-last@example.org", "10.1.1.2").status_code == 200


def test_signing_in_and_out_many_times_is_never_refused(client, make_user):
    user = make_user(Role.HOLDER)
    for _ in range(8):
        response = client.post("/sign-in", data={"email": user.email, "password": TEST_PASSWORD})
        assert response.status_code == 302
        client.post("/sign-out")


def test_only_wrong_passwords_count_towards_the_limit(client, make_user):
    user = make_user(Role.HOLDER)
    for _ in range(4):
        assert _attempt(client, user.email, "10.0.0.1").status_code == 200
    for _ in range(3):
        ok = client.post("/sign-in", data={"email": user.email, "password": TEST_PASSWORD},
                         environ_base={"REMOTE_ADDR": "10.0.0.1"})
        assert ok.status_code == 302
        client.post("/sign-out")
    assert _attempt(client, user.email, "10.0.0.1").status_code == 200
    assert _attempt(client, user.email, "10.0.0.1").status_code == 429
