"""Builders for messaging and flag tests: a live listing, people who act for a holder."""

from __future__ import annotations

from datetime import date

from app.domain.access import DelegateKind, Role
from app.extensions import db
from app.models import Delegation, User
from tests.provider_helpers import verified_provider

CASH = "Please pay me in cash next time, it is easier."


def live_listing(make_user, broker=None, **overrides):
    """(provider user, live listing) with every check verified."""
    broker = broker or make_user(Role.BROKER)
    return verified_provider(make_user, broker, **overrides)


def delegate(make_user, holder: User, kind: DelegateKind, shares: str = "") -> User:
    """An active delegation for a new supporter account; returns the supporter."""
    person = make_user(Role.SUPPORTER)
    db.session.add(Delegation(
        holder_id=holder.id, delegate_id=person.id, kind=kind.value, status="active",
        invited_email=person.email, shares=shares,
        legal_basis="lpa" if kind is DelegateKind.AUTHORISED else None,
        review_date=date(2030, 1, 1) if kind is DelegateKind.AUTHORISED else None,
        created_by_id=holder.id))
    db.session.commit()
    return person
