"""The cancellation terms a booking carries: what a late cancellation of it is charged by.

A booking stores its own terms (Booking.cancellation_notice_hours and _charge_pence): the
listing's policy when the holder's side requested it, replaced by the terms of a service
agreement covering it when the holder's side accepts that agreement. Nothing else changes them,
so a fee the provider brings in or raises later, a longer notice, or an agreement offer nobody
accepted never reaches an existing booking: charging those would be a charge beyond what the
holder agreed to. (Before migration 0029 the terms were rebuilt from the audit log; that
migration stored what the rebuild gave.)
"""

from __future__ import annotations

from sqlalchemy import select

from app.domain.bookings import CancellationPolicy
from app.extensions import db
from app.models import Booking, Listing
from app.models.jobs import AgreementBooking, ServiceAgreementVersion


def listing_policy(notice_hours: int, charge_pence: int | None) -> CancellationPolicy:
    """A policy as the columns hold it (no charge is stored as 0)."""
    return CancellationPolicy(notice_hours=notice_hours, charge_pence=charge_pence or None)


def policy_booked_under(booking: Booking) -> CancellationPolicy:
    """The terms a late cancellation of `booking` is charged by: the ones it carries."""
    return listing_policy(booking.cancellation_notice_hours, booking.cancellation_charge_pence)


def take_listing_terms(booking: Booking, listing: Listing) -> None:
    """A new booking is made under the listing's cancellation policy as it stands now."""
    booking.cancellation_notice_hours = listing.cancellation_notice_hours
    booking.cancellation_charge_pence = listing.cancellation_charge_pence or 0


def take_agreed_terms(version: ServiceAgreementVersion) -> list[int]:
    """The holder's side accepted `version`: the bookings its agreement covers carry its
    cancellation terms from now on. Adds to the caller's session (no commit); returns the ids of
    the bookings whose terms changed, for the caller's audit entry."""
    changed: list[int] = []
    for booking in db.session.scalars(
            select(Booking).join(AgreementBooking, AgreementBooking.booking_id == Booking.id)
            .where(AgreementBooking.agreement_id == version.agreement_id)
            .order_by(Booking.id).with_for_update(of=Booking)):
        notice, charge = version.cancellation_notice_hours, version.cancellation_charge_pence or 0
        if (booking.cancellation_notice_hours, booking.cancellation_charge_pence) != (notice, charge):
            booking.cancellation_notice_hours, booking.cancellation_charge_pence = notice, charge
            changed.append(booking.id)
    return changed
