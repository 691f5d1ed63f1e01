"""Postcode districts recorded before districts were checked against the UK's list: put right where
the district meant is plain ('ls6 1ab' is LS6), listed for a broker where it is not ('LX6')."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from app.clock import now as _now
from app.domain.access import Role
from app.domain.districts import uk_districts
from app.extensions import db
from app.models import Listing, ProviderDistrict, ProviderProfile, User
from app.services import audit
from app.signals import send_listing_changed

_OUTWARD_OF_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?) ?[0-9][A-Z]{2}$")


def district_meant(raw: str | None) -> str | None:
    """The district in use that `raw` plainly stands for, or None when it stands for none.

    Only changes of form are made: case and spaces ('ls6 ' -> 'LS6', 'L S 6' -> 'LS6') and a
    whole postcode cut to its first part ('LS6 1AB' -> 'LS6'). A guess between districts
    ('LX6' could be LS6 or LE6) is a person's decision, so it is left for a broker."""
    text = " ".join((raw or "").upper().split())
    if not text:
        return None
    squeezed = text.replace(" ", "")
    for candidate in (text, squeezed):
        if candidate in uk_districts():
            return candidate
    match = _OUTWARD_OF_POSTCODE.match(text) or _OUTWARD_OF_POSTCODE.match(squeezed)
    if match and match.group(1) in uk_districts():
        return match.group(1)
    return None


@dataclass(frozen=True)
class UnknownDistrict:
    """A holder's home district or a district a provider covers that is no district in use."""

    kind: str  # "holder" or "provider"
    id: int  # the holder's user id or the provider's profile id
    name: str
    district: str


@dataclass
class DistrictCheck:
    corrected: list[tuple[UnknownDistrict, str]] = field(default_factory=list)  # (was, now)
    unknown: list[UnknownDistrict] = field(default_factory=list)  # for a broker to settle


def _holders_not_in_use() -> list[UnknownDistrict]:
    # Distinct values first: a council has tens of thousands of holders but a few thousand districts.
    known = uk_districts()
    bad = [d for d in db.session.scalars(
        select(User.home_district).where(User.role == Role.HOLDER.value,
                                         User.home_district.is_not(None)).distinct())
           if d not in known]
    if not bad:
        return []
    return [UnknownDistrict("holder", uid, name, district or "") for uid, name, district in db.session.execute(
        select(User.id, User.name, User.home_district)
        .where(User.role == Role.HOLDER.value, User.home_district.in_(bad)).order_by(User.id))]


def _provider_rows_not_in_use() -> list[tuple[ProviderDistrict, str]]:
    known = uk_districts()
    bad = [d for d in db.session.scalars(select(ProviderDistrict.district).distinct()) if d not in known]
    if not bad:
        return []
    return [(row, name) for row, name in db.session.execute(
        select(ProviderDistrict, ProviderProfile.display_name)
        .join(ProviderProfile, ProviderProfile.id == ProviderDistrict.profile_id)
        .where(ProviderDistrict.district.in_(bad))
        .order_by(ProviderDistrict.profile_id, ProviderDistrict.district))]


def districts_to_check() -> list[UnknownDistrict]:
    """Every recorded district that is no district in use, holders first (read only)."""
    return _holders_not_in_use() + [
        UnknownDistrict("provider", row.profile_id, name, row.district)
        for row, name in _provider_rows_not_in_use()]


def correct_districts(actor: User | None = None, *, dry_run: bool = False,
                      now: datetime | None = None) -> DistrictCheck:
    """Put right every recorded district whose meaning is plain and list the rest. One transaction
    (none with dry_run). Each correction is audited with the old and new district, by `actor`
    (None: the system, as when run from the command line). Raises nothing."""
    at = now or _now()
    check = DistrictCheck()
    holders = _holders_not_in_use()
    locked: dict[int, User] = {}
    if not dry_run and holders:
        # Lock the holders being corrected: someone may be changing their district right now.
        locked = {u.id: u for u in db.session.scalars(
            select(User).where(User.id.in_([h.id for h in holders]))
            .with_for_update().execution_options(populate_existing=True))}
    for entry in holders:
        meant = district_meant(entry.district)
        if meant is None and not entry.district.strip():
            # A blank district is no district: recorded as none, so the market view counts the
            # holder among those with no home district (and a broker can record one).
            check.corrected.append((entry, ""))
            if not dry_run and (holder := locked.get(entry.id)) is not None \
                    and holder.home_district == entry.district:
                holder.home_district = None
                audit.record(actor, "holder.home_district_corrected", "user", holder.id,
                             on_behalf_of=holder, details={"old": entry.district, "new": None},
                             at=at)
            continue
        if meant is None:
            check.unknown.append(entry)
            continue
        check.corrected.append((entry, meant))
        if dry_run:
            continue
        holder = locked.get(entry.id)
        if holder is None or holder.home_district != entry.district:
            continue  # changed meanwhile, by someone who typed a checked district
        holder.home_district = meant
        audit.record(actor, "holder.home_district_corrected", "user", holder.id, on_behalf_of=holder,
                     details={"old": entry.district, "new": meant}, at=at)
    changed_profiles: set[int] = set()
    for row, name in _provider_rows_not_in_use():
        entry = UnknownDistrict("provider", row.profile_id, name, row.district)
        meant = district_meant(row.district)
        if meant is None:
            check.unknown.append(entry)
            continue
        check.corrected.append((entry, meant))
        if dry_run:
            continue
        already = db.session.scalar(select(ProviderDistrict.id).where(
            ProviderDistrict.profile_id == row.profile_id, ProviderDistrict.district == meant))
        if already is not None:
            db.session.delete(row)  # 'sy1' beside 'SY1': the same district twice
        else:
            row.district = meant
        db.session.flush()
        changed_profiles.add(row.profile_id)
        audit.record(actor, "provider.district_corrected", "provider_profile", row.profile_id,
                     details={"old": entry.district, "new": meant}, at=at)
    if dry_run:
        return check
    listing_ids = list(db.session.scalars(select(Listing.id).where(
        Listing.profile_id.in_(changed_profiles)))) if changed_profiles else []
    db.session.commit()
    send_listing_changed(listing_ids)  # search documents carry the districts a provider covers
    return check
