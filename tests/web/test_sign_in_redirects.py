"""After signing in, people go back to the page they asked for, but never to another site."""

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
