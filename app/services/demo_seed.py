"""Loads the demo data in seed/ through the services, so it obeys every rule real data does.

Each loader skips what is already there, so seeding twice changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select

from app.config import PROJECT_ROOT
from app.domain.access import DelegateKind, LegalBasis, Role, Share
from app.errors import NotFound
from app.extensions import db
from app.models import Delegation, User
from app.services import accounts, delegation
from app.signals import listing_changes_held

SEED_DIR = PROJECT_ROOT / "seed"

# Later issues append their loaders here (providers, budgets, bookings ...), run in order.
LOADERS: list[Callable[[Path], None]] = []


def _people(seed_dir: Path) -> dict:
    return json.loads((seed_dir / "people.json").read_text())


_DEMO_HASHES: dict[str, str] = {}


def demo_password_hash(password: str) -> str:
    """Every demo account shares one password, so hash it once per run (argon2 is slow)."""
    if password not in _DEMO_HASHES:
        _DEMO_HASHES[password] = accounts.hash_password(password)
    return _DEMO_HASHES[password]


def _person(email: str) -> User:
    """Someone the delegations in people.json name: load_people has just created everyone it lists."""
    user = accounts.find_by_email(email)
    if user is None:
        raise NotFound(f"people.json names {email}, but there is no account for them.")
    return user


def load_people(seed_dir: Path) -> None:
    data = _people(seed_dir)
    password = data["demo_password"]
    hashed = demo_password_hash(password)
    for row in data["users"]:
        if accounts.find_by_email(row["email"]) is not None:
            continue
        role = Role(row["role"])
        if role in accounts.STAFF_ROLES:
            user = accounts.create_staff(row["email"], row["name"], role, password, actor=None,
                                         password_hash=hashed)
        else:
            user = accounts.sign_up(row["email"], row["name"], password, role, password_hash=hashed)
        if row.get("at_risk"):
            user.at_risk = True
            db.session.commit()
    for row in data["delegations"]:
        holder = _person(row["holder"])
        person = _person(row["delegate"])
        exists = db.session.scalar(select(Delegation.id).where(
            Delegation.holder_id == holder.id, Delegation.invited_email == person.email))
        if exists is not None:
            continue
        kind = DelegateKind(row["kind"])
        if kind is DelegateKind.AUTHORISED:
            broker = _person(row["recorded_by"])
            delegation.record_authorised_person(
                broker, holder.id, person.email, person.name, LegalBasis(row["legal_basis"]),
                date.today() + timedelta(days=row["review_in_days"]), row.get("notes", ""))
        else:
            _, token = delegation.invite(holder, holder.id, person.email, kind,
                                         {Share(s) for s in row.get("shares", [])})
            delegation.accept(person, token)


def seed_all(seed_dir: Path = SEED_DIR) -> None:
    # Search indexes each listing once at the end, not after each of the many commits that
    # build it (vetting, photo, prices): a third of the seed's time went on index writes.
    with listing_changes_held():
        for loader in [load_people, *LOADERS]:
            loader(seed_dir)


def sign_in_table(seed_dir: Path = SEED_DIR) -> list[tuple[str, str, str]]:
    data = _people(seed_dir)
    return [(row["role"], row["email"], data["demo_password"]) for row in data["sign_ins"]]


def count_users() -> int:
    return len(db.session.scalars(select(User.id)).all())


def _register_provider_loader() -> None:
    from app.services.provider_seed import load_providers

    LOADERS.append(load_providers)


_register_provider_loader()
def _register_budget_loader() -> None:
    from app.services.budget_seed import load_budgets

    LOADERS.append(load_budgets)


_register_budget_loader()


def _register_booking_loader() -> None:
    from app.services.booking_seed import load_bookings

    LOADERS.append(load_bookings)


_register_booking_loader()
def _register_messaging_loader() -> None:
    from app.services.messaging_seed import load_messages

    LOADERS.append(load_messages)


_register_messaging_loader()


def _register_review_loader() -> None:
    from app.services.review_seed import load_reviews

    LOADERS.append(load_reviews)


_register_review_loader()


def _register_market_loader() -> None:
    from app.services.market_seed import load_markets

    LOADERS.append(load_markets)


_register_market_loader()


def _register_journey_loader() -> None:
    from app.services.journey_seed import load_journeys

    LOADERS.append(load_journeys)


_register_journey_loader()


def _register_safeguarding_loader() -> None:
    from app.services.safeguarding_seed import load_safeguarding

    LOADERS.append(load_safeguarding)


_register_safeguarding_loader()
