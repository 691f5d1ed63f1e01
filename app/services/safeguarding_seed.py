"""Loads seed/safeguarding.json through the services: home addresses, households and concerns.

Each record is skipped when it is already there, so seeding twice adds nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from app.extensions import db
from app.models import Concern, HouseholdMember, User
from app.services import accounts, concerns, households
from app.services.providers import profile_of


def _user(email: str | None) -> User | None:
    return accounts.find_by_email(email) if email else None


def _addresses(rows: list[dict]) -> None:
    for row in rows:
        user = _user(row["email"])
        if user is None or households.address_of(user) is not None:
            continue
        households.save_address(user, line1=row["line1"], line2=row["line2"], town=row["town"],
                                postcode=row["postcode"])


def _households(rows: list[dict]) -> None:
    for row in rows:
        holder, actor = _user(row["holder"]), _user(row["recorded_by"])
        if holder is None or actor is None:
            continue
        if db.session.scalar(select(HouseholdMember.id).where(
                HouseholdMember.holder_id == holder.id,
                HouseholdMember.name == row["name"])) is not None:
            continue
        households.add_member(actor, holder.id, name=row["name"], relation=row["relation"],
                              lives_with_holder=row["lives_with_holder"])


def _concerns(rows: list[dict]) -> None:
    for row in rows:
        provider = _user(row["provider"])
        profile = profile_of(provider) if provider is not None else None
        reporter = _user(row.get("reporter"))
        holder = _user(row.get("holder"))
        if profile is None or (row.get("reporter") and reporter is None):
            continue
        if db.session.scalar(select(Concern.id).where(
                Concern.provider_profile_id == profile.id,
                Concern.details == row["details"])) is not None:
            continue
        concern = concerns.raise_concern(reporter, profile.id, concerns.ConcernInput(
            kind=row["kind"], harm=row.get("harm"), details=row["details"],
            holder_id=holder.id if holder is not None else None,
            raised_from=f"{row['from']}:{profile.id}" if row["from"] == "provider" else "",
            reporter_name=row.get("reporter_name", ""),
            reporter_email=row.get("reporter_email", "")))
        triage = row.get("triage")
        broker = _user(triage["by"]) if triage else None
        if triage and broker is not None:
            concerns.triage(broker, concern.id, decision=triage["decision"],
                            reason=triage["reason"], lift=triage.get("lift", False))


def load_safeguarding(seed_dir: Path) -> None:
    path = seed_dir / "safeguarding.json"
    if not path.exists():
        return
    data = json.loads(path.read_text())
    _addresses(data.get("addresses", []))
    _households(data.get("households", []))
    _concerns(data.get("concerns", []))
