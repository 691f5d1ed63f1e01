"""The holder's private home address and phone: entered by them (or someone acting for them),
shown to the provider of an accepted home visit only, each showing recorded in the audit log."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select

from app import clock
from app.domain.access import Decision, Permission, Principal, decide
from app.domain.home_visits import may_see_address
from app.errors import InvalidInput, NotFound, NotPermitted
from app.extensions import db
from app.models import Booking, HomeAddress, ProviderProfile, User
from app.services import audit, council_settings
from app.services import delegation as delegation_service

_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][A-Z]{2})$")
_PHONE = re.compile(r"^\+?[0-9 ()-]{10,20}$")


@dataclass(frozen=True)
class AddressInput:
    line1: str
    line2: str
    town: str
    postcode: str
    phone: str


def normalise_postcode(raw: str) -> str:
    """'sy1 1aa' -> 'SY1 1AA', or InvalidInput beside the postcode field."""
    match = _POSTCODE.match((raw or "").strip().upper())
    if match is None:
        raise InvalidInput("Enter a full postcode, like SY1 1AA", field="postcode")
    return f"{match.group(1)} {match.group(2)}"


def _check(data: AddressInput) -> AddressInput:
    line1, line2, town = (" ".join((x or "").split()) for x in (data.line1, data.line2, data.town))
    if not line1:
        raise InvalidInput("Enter the first line of the address", field="line1")
    if not town:
        raise InvalidInput("Enter the town or city", field="town")
    phone = " ".join((data.phone or "").split())
    if phone and not _PHONE.match(phone):
        raise InvalidInput("Enter a phone number, like 01743 123456 or 07700 900123",
                           field="phone")
    return AddressInput(line1[:120], line2[:120], town[:80], normalise_postcode(data.postcode),
                        phone[:30])


def _require_may_manage(actor: User, holder_id: int) -> User:
    """The holder, or someone who may act for them on money and bookings (not a circle)."""
    grant = delegation_service.grant_for(actor, holder_id)
    principal = Principal(user_id=actor.id, role=actor.role_enum)
    if grant is None or decide(principal, Permission.HOLDER_SPEND, grant) is not Decision.ALLOW:
        raise NotPermitted("Only the person or someone acting for them can change their address.")
    holder = db.session.get(User, holder_id)
    if holder is None:
        raise NotFound("We could not find that person.")
    return holder


def address_of(actor: User, holder_id: int) -> HomeAddress | None:
    """The address, for the holder or someone acting for them. Raises NotPermitted."""
    _require_may_manage(actor, holder_id)
    return db.session.scalar(select(HomeAddress).where(HomeAddress.user_id == holder_id))


def save(actor: User, holder_id: int, data: AddressInput) -> HomeAddress:
    """Add or change the holder's address and phone. Raises InvalidInput (field), NotPermitted."""
    holder = _require_may_manage(actor, holder_id)
    clean = _check(data)
    address = db.session.scalar(
        select(HomeAddress).where(HomeAddress.user_id == holder_id).with_for_update())
    changed = []
    if address is None:
        address = HomeAddress(user_id=holder_id)
        db.session.add(address)
        changed = ["address", "phone"] if clean.phone else ["address"]
    else:
        if (address.line1, address.line2, address.town, address.postcode) != (
                clean.line1, clean.line2, clean.town, clean.postcode):
            changed.append("address")
        if address.phone != clean.phone:
            changed.append("phone")
    address.line1, address.line2, address.town = clean.line1, clean.line2, clean.town
    address.postcode, address.phone = clean.postcode, clean.phone
    # What changed, never the address itself: the audit log is read by more people.
    audit.record(actor, "account.home_address_saved", "user", holder_id, on_behalf_of=holder,
                 details={"changed": changed})
    db.session.commit()
    return address


def _hours_after() -> int:
    return council_settings.current().address_visible_hours_after


def _visible_for(provider: User, booking_id: int) -> Booking:
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        raise NotFound("We could not find that booking.")
    profile = db.session.get(ProviderProfile, booking.provider_profile_id)
    if profile is None or profile.user_id != provider.id:
        raise NotFound("We could not find that booking.")
    return booking


def provider_may_see(provider: User, booking: Booking) -> bool:
    """Whether the address would be shown for this booking now (without showing it)."""
    last = max((s.end_at for s in booking.sessions), default=None)
    return may_see_address(category=booking.listing.category, booking_state=booking.state,
                           last_visit_ends=last, now=clock.now(), hours_after=_hours_after())


def reveal_to_provider(provider: User, booking_id: int) -> HomeAddress | None:
    """The holder's address for the provider of an accepted home visit, recorded as seen.

    None when the holder has not given one. Raises NotFound (not their booking), NotPermitted
    (not a home visit, not accepted yet, or over).
    """
    booking = _visible_for(provider, booking_id)
    if not provider_may_see(provider, booking):
        raise NotPermitted("The address is shown only for an accepted visit at home, while the "
                           "booking runs.")
    address = db.session.scalar(
        select(HomeAddress).where(HomeAddress.user_id == booking.holder_id))
    audit.record(provider, "booking.address_seen", "booking", booking.id,
                 on_behalf_of=None, details={"holder": booking.holder_id,
                                             "given": address is not None})
    db.session.commit()
    return address
