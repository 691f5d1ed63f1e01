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


def _attempt(client, email, address, password="wrong password!"):
    return client.post("/sign-in", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def test_a_guesser_at_one_address_is_slowed_with_a_growing_wait(client, make_user):
    make_user(email="target@example.org")
    for _ in range(5):
        assert _attempt(client, "target@example.org", "10.0.0.1").status_code == 200
    # The fifth failure starts a wait; during it even the right password is not tried.
    refused = _attempt(client, "target@example.org", "10.0.0.1", TEST_PASSWORD)
    assert refused.status_code == 429
    assert "Too many attempts to sign in. Wait a minute" in refused.get_data(as_text=True)


def test_a_stranger_cannot_lock_the_owner_out(client, make_user):
    make_user(email="target@example.org")
    for _ in range(8):
        _attempt(client, "target@example.org", "10.9.9.9")
    assert _attempt(client, "target@example.org", "10.9.9.9", TEST_PASSWORD).status_code == 429
    # The owner, at their own address, signs straight in.
    assert _attempt(client, "target@example.org", "10.0.0.7", TEST_PASSWORD).status_code == 302


def test_spraying_emails_from_one_address_does_not_lock_out_the_people_behind_it(client,
                                                                                 make_user):
    regular = make_user(email="office.worker@example.org")
    assert _attempt(client, regular.email, "10.1.1.1", TEST_PASSWORD).status_code == 302
    client.post("/sign-out")
    for n in range(30):
        assert _attempt(client, f"guess{n}@example.org", "10.1.1.1").status_code == 200
    # The sprayer's next new email is refused for a while ...
    assert _attempt(client, "guess-last@example.org", "10.1.1.1").status_code == 429
    # ... someone who signs in from this address still can, and so can anyone elsewhere.
    assert _attempt(client, regular.email, "10.1.1.1", TEST_PASSWORD).status_code == 302
    client.post("/sign-out")
    assert _attempt(client, "guess-last@example.org", "10.1.1.2").status_code == 200


def test_the_wait_ends_by_itself(client, make_user):
    from datetime import timedelta

    from app import clock

    user = make_user(email="patient@example.org")
    for _ in range(6):
        _attempt(client, user.email, "10.2.2.2")
    assert _attempt(client, user.email, "10.2.2.2", TEST_PASSWORD).status_code == 429
    with clock.frozen(clock.now() + timedelta(minutes=2)):
        assert _attempt(client, user.email, "10.2.2.2", TEST_PASSWORD).status_code == 302


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
    ok = _attempt(client, user.email, "10.0.0.1", TEST_PASSWORD)
    assert ok.status_code == 302
    client.post("/sign-out")
    # A success starts the count again: five more failures are answered before the wait.
    for _ in range(5):
        assert _attempt(client, user.email, "10.0.0.1").status_code == 200
    assert _attempt(client, user.email, "10.0.0.1").status_code == 429


def test_the_email_typed_is_never_stored(client, db_session):
    from sqlalchemy import select

    from app.models import SignInThrottle

    _attempt(client, "my secret password", "10.3.3.3")
    keys = db_session.scalars(select(SignInThrottle.email_key)).all()
    assert keys and all("secret" not in k for k in keys)
