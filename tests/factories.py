"""factory_boy factories for test data, writing through the current db.session."""

from __future__ import annotations

import factory
from argon2 import PasswordHasher

from app.extensions import db
from app.models import User

TEST_PASSWORD = "correct horse battery"
# Hashed once: argon2 is deliberately slow, and most tests never sign in with a password.
_TEST_PASSWORD_HASH = PasswordHasher().hash(TEST_PASSWORD)


class BaseFactory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        # Resolved at use time: the test fixture swaps db.session for a rolled-back one.
        sqlalchemy_session_factory = staticmethod(lambda: db.session)
        sqlalchemy_session_persistence = "commit"  # survives the per-request session.remove()


class UserFactory(BaseFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"person{n}@carefair.example")
    name = factory.Faker("name", locale="en_GB")
    role = "holder"
    password_hash = _TEST_PASSWORD_HASH
    active = True
    at_risk = False
