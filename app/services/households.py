"""Households and private home addresses: who lives with a holder, the council's agreement to pay
a close relative among them, and the addresses the safeguarding rules compare. Each public
function is one transaction and audited; addresses are never shown publicly.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from app import clock
from app.domain.access import Role
from app.domain.households import Relationship
from app.errors import InvalidInput, NotFound, NotPermitted
from app.extensions import db
from app.models import Booking, Conversation, HomeAddress, HouseholdMember, ProviderProfile, User
from app.services import audit
from app.services import delegation as delegation_service

_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][A-Z]{2})$")


def _holder_for(actor: User, holder_id: int) -> User:
    """The holder whose household the actor may record: the holder, someone who acts for them
    over money, or a broker. Otherwise NotFound (never reveal the holder exists)."""
    holder = db.session.get(User, holder_id)
    if holder is None or holder.role_enum is not Role.HOLDER:
        raise NotFound("We could not find that person.")
    if actor.role_enum is Role.BROKER:
        return holder
    grant = delegation_service.grant_for(actor, holder_id)
    if grant is None:
        raise NotFound("We could not find that person.")
    if grant.kind is not None and grant.kind.value not in ("authorised", "nominated"):
        raise NotPermitted("Only the person, someone who manages their money, or a broker can "
                           "record who lives with them.")
    return holder


def members_of(actor: User, holder_id: int) -> list[HouseholdMember]:
    _holder_for(actor, holder_id)
    return list(db.session.scalars(select(HouseholdMember).where(
        HouseholdMember.holder_id == holder_id).order_by(HouseholdMember.id)))


def providers_known_to(holder_id: int) -> list[ProviderProfile]:
    """Providers the holder has booked or written to: those a household member may be."""
    booked = select(Booking.provider_profile_id).where(Booking.holder_id == holder_id)
    talked = select(Conversation.provider_profile_id).where(Conversation.holder_id == holder_id)
    return list(db.session.scalars(select(ProviderProfile).where(
        ProviderProfile.id.in_(booked.union(talked))).order_by(ProviderProfile.display_name)))


def add_member(actor: User, holder_id: int, *, name: str, relation: str, lives_with_holder: bool,
               provider_profile_id: int | None = None) -> HouseholdMember:
    """Record someone in the holder's household. Raises NotFound, NotPermitted, InvalidInput."""
    holder = _holder_for(actor, holder_id)
    name = (name or "").strip()
    if not name:
        raise InvalidInput("Enter their name", field="name")
    if len(name) > 120:
        raise InvalidInput("Enter a name of 120 characters or fewer", field="name")
    try:
        rel = Relationship(relation)
    except ValueError:
        raise InvalidInput("Select how they are related", field="relation") from None
    if provider_profile_id is not None:
        allowed = {p.id for p in providers_known_to(holder.id)}
        if actor.role_enum is not Role.BROKER and provider_profile_id not in allowed:
            raise InvalidInput("Choose one of the providers listed", field="provider")
        if db.session.get(ProviderProfile, provider_profile_id) is None:
            raise InvalidInput("Choose one of the providers listed", field="provider")
    member = HouseholdMember(holder_id=holder.id, name=name, relation=rel.value,
                             lives_with_holder=bool(lives_with_holder),
                             provider_profile_id=provider_profile_id, recorded_by_id=actor.id)
    db.session.add(member)
    db.session.flush()
    audit.record(actor, "household.member_added", "household_member", member.id,
                 on_behalf_of=holder,
                 details={"relation": rel.value, "lives_with_holder": member.lives_with_holder,
                          "provider_profile_id": provider_profile_id})
    db.session.commit()
    return member


def remove_member(actor: User, member_id: int) -> None:
    member = db.session.get(HouseholdMember, member_id)
    if member is None:
        raise NotFound("We could not find that person.")
    holder = _holder_for(actor, member.holder_id)
    audit.record(actor, "household.member_removed", "household_member", member.id,
                 on_behalf_of=holder, details={"relation": member.relation,
                                               "provider_profile_id": member.provider_profile_id})
    db.session.delete(member)
    db.session.commit()


def record_agreement(broker: User, member_id: int, *, note: str) -> HouseholdMember:
    """A broker records the council's agreement that a direct payment may pay this relative
    (Care and Support (Direct Payments) Regulations 2014, reg. 3). Raises NotPermitted,
    NotFound, InvalidInput."""
    if broker.role_enum is not Role.BROKER:
        raise NotPermitted("Only a broker can record the council's agreement.")
    member = db.session.get(HouseholdMember, member_id)
    if member is None:
        raise NotFound("We could not find that person.")
    note = (note or "").strip()
    if not note:
        raise InvalidInput("Enter the council's decision and its reference", field="note")
    if len(note) > 2000:
        raise InvalidInput("Enter 2,000 characters or fewer", field="note")
    member.council_agreed_at = clock.now()
    member.council_agreed_by_id = broker.id
    member.council_agreement_note = note
    audit.record(broker, "household.council_agreed", "household_member", member.id,
                 on_behalf_of=member.holder, details={"note": note})
    db.session.commit()
    return member


# Private home addresses ----------------------------------------------------------------------

def address_of(user: User) -> HomeAddress | None:
    return db.session.scalar(select(HomeAddress).where(HomeAddress.user_id == user.id))


def normalise_postcode(raw: str) -> str:
    code = re.sub(r"\s+", "", (raw or "").upper())
    match = _POSTCODE.match(code)
    if not match:
        raise InvalidInput("Enter a full postcode, like SY1 1AA", field="postcode")
    return f"{match[1]} {match[2]}"


def save_address(user: User, *, line1: str, line2: str, town: str, postcode: str,
                 phone: str = "") -> HomeAddress:
    """Record or change the person's own private home address. Raises InvalidInput."""
    if user.role_enum not in (Role.HOLDER, Role.PROVIDER):
        raise NotPermitted("Only people who use or give support record a home address here.")
    line1, line2, town = (line1 or "").strip(), (line2 or "").strip(), (town or "").strip()
    if not line1:
        raise InvalidInput("Enter the first line of the address", field="line1")
    if not town:
        raise InvalidInput("Enter the town or city", field="town")
    for value, field, size in ((line1, "line1", 120), (line2, "line2", 120), (town, "town", 80)):
        if len(value) > size:
            raise InvalidInput(f"Enter {size} characters or fewer", field=field)
    code = normalise_postcode(postcode)
    phone = (phone or "").strip()
    if phone and not re.fullmatch(r"[0-9 +()-]{6,30}", phone):
        raise InvalidInput("Enter a telephone number, like 01632 960 001", field="phone")
    address = address_of(user)
    created = address is None
    if address is None:
        address = HomeAddress(user_id=user.id, line1=line1, line2=line2, town=town,
                              postcode=code, phone=phone)
        db.session.add(address)
    else:
        address.line1, address.line2, address.town, address.postcode, address.phone = (
            line1, line2, town, code, phone)
    db.session.flush()
    # The address itself stays out of the audit log: it is private.
    audit.record(user, "home_address.saved", "home_address", address.id,
                 details={"created": created})
    db.session.commit()
    return address
