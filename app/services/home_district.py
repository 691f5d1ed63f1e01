"""A holder's home district (their market): recorded by the holder, someone acting for them or a
broker, checked as a real outward code, and audited with the old and new value."""

from __future__ import annotations

from sqlalchemy import select

from app.domain.access import Decision, Permission, Principal, Role, decide
from app.domain.districts import parse_home_district
from app.domain.listings import DistrictError
from app.errors import InvalidInput, NotFound, NotPermitted
from app.extensions import db
from app.models import User
from app.services import audit
from app.services import delegation as delegation_service


def _acts_for(actor: User, holder: User) -> bool:
    """Someone acting for this holder with leave to arrange their support (as the page asks),
    not any supporter account: the service checks it too, since the district is their market."""
    grant = delegation_service.grant_for(actor, holder.id)
    return grant is not None and decide(Principal(actor.id, actor.role_enum), Permission.HOLDER_SPEND,
                                        grant) is Decision.ALLOW


def set_home_district(actor: User, holder_id: int, raw: str) -> User:
    """Record the holder's district. One transaction. The caller has checked that `actor` may
    act for the holder (the holder's own pages) or is a broker (the broker's page).

    Raises InvalidInput (field "district") for anything but a UK outward code, NotFound,
    NotPermitted."""
    holder = db.session.scalar(select(User).where(User.id == holder_id).with_for_update())
    if holder is None or holder.role_enum is not Role.HOLDER:
        raise NotFound("We could not find that budget holder.")
    if actor.id != holder.id and actor.role_enum is not Role.BROKER and not _acts_for(actor, holder):
        raise NotPermitted("Only the person, someone acting for them or a broker can change this.")
    try:
        district = parse_home_district(raw)
    except DistrictError as err:
        raise InvalidInput(str(err), field="district") from None
    old = holder.home_district
    if district != old:
        holder.home_district = district
        audit.record(actor, "holder.home_district_changed", "user", holder.id,
                     on_behalf_of=holder, details={"old": old, "new": district})
    db.session.commit()
    return holder
