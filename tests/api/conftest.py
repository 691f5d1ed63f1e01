"""Fixtures for the council API: a council admin and tokens with chosen scopes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest

from app.domain.access import Role
from app.services import api_tokens


@pytest.fixture
def admin(make_user):
    return make_user(Role.COUNCIL_ADMIN, name="Ada Admin")


@pytest.fixture
def make_token(app, admin) -> Callable[..., tuple[str, dict]]:
    """(secret, headers) for a new token with `scopes` (default: all)."""

    def make(scopes: list[str] | None = None, *, name: str = "Finance system", days: int = 30):
        with app.test_request_context():
            created = api_tokens.create(admin, name, scopes or list(api_tokens.SCOPES),
                                        date.today() + timedelta(days=days))
        return created.secret, {"Authorization": f"Bearer {created.secret}"}

    return make
