"""The cancellation policy a booking was made under: what a late cancellation is charged by."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select

from app.domain.bookings import CancellationPolicy
from app.extensions import db
from app.models import AuditEvent, Booking
from app.models.jobs import AgreementBooking, ServiceAgreementVersion

K = TypeVar("K", bound=Hashable)

POLICY_FIELDS = ("cancellation_notice_hours", "cancellation_charge_pence")


def listing_policy(notice_hours: int, charge_pence: int | None) -> CancellationPolicy:
    """A listing's policy as its columns hold it (no charge is stored as 0)."""
    return CancellationPolicy(notice_hours=notice_hours, charge_pence=charge_pence or None)


def listing_policies_when_booked(
        booked: Iterable[tuple[K, int, datetime, CancellationPolicy]]
) -> dict[K, CancellationPolicy]:
    """For each (key, listing id, when booked, the listing's policy now), the policy in force
    when it was booked, where the provider changed it since (from the audited listing.updated
    changes); keys whose policy has not changed since are left out.

    Charging a later, stricter policy would be a charge beyond what the holder agreed to."""
    booked = list(booked)
    if not booked:
        return {}
    changes: dict[str, list[tuple[datetime, dict]]] = defaultdict(list)
    for subject_id, occurred_at, details in db.session.execute(
            select(AuditEvent.subject_id, AuditEvent.occurred_at, AuditEvent.details).where(
                AuditEvent.action == "listing.updated", AuditEvent.subject_type == "listing",
                AuditEvent.subject_id.in_({str(listing_id) for _, listing_id, _, _ in booked}))
            .order_by(AuditEvent.occurred_at, AuditEvent.id)):
        changed = {k: v for k, v in ((details or {}).get("changes") or {}).items()
                   if k in POLICY_FIELDS}
        if changed:
            changes[subject_id].append((occurred_at, changed))
    if not changes:
        return {}
    out: dict[K, CancellationPolicy] = {}
    for key, listing_id, since, policy in booked:
        now_values = {"cancellation_notice_hours": policy.notice_hours,
                      "cancellation_charge_pence": policy.charge_pence or 0}
        then = dict(now_values)
        for field in POLICY_FIELDS:
            # The first change after the booking was made holds, as its old value, the policy
            # in force when it was made.
            first = next((c[field] for at, c in changes.get(str(listing_id), [])
                          if at > since and field in c), None)
            if first is not None:
                then[field] = first[0]
        if then != now_values:
            out[key] = listing_policy(int(then["cancellation_notice_hours"]),
                                      int(then["cancellation_charge_pence"]))
    return out


def agreement_policies(booking_ids: Iterable[int]) -> dict[int, CancellationPolicy]:
    """The cancellation terms of the agreement version the holder accepted, for each booking an
    agreement covers (only terms they accepted: an offer they have not answered never binds)."""
    ids = set(booking_ids)
    if not ids:
        return {}
    out: dict[int, CancellationPolicy] = {}
    for booking_id, notice, charge in db.session.execute(
            select(AgreementBooking.booking_id, ServiceAgreementVersion.cancellation_notice_hours,
                   ServiceAgreementVersion.cancellation_charge_pence)
            .join(AgreementBooking,
                  AgreementBooking.agreement_id == ServiceAgreementVersion.agreement_id)
            .where(AgreementBooking.booking_id.in_(ids),
                   ServiceAgreementVersion.status == "accepted")
            .order_by(ServiceAgreementVersion.version)):
        out[booking_id] = listing_policy(notice, charge)  # the newest accepted one last
    return out


def policies_booked_under(
        booked: Iterable[tuple[K, int, int, datetime, CancellationPolicy]]
) -> dict[K, CancellationPolicy]:
    """For each (key, booking id, listing id, when booked, the listing's policy now), the policy
    a late cancellation is charged by, where it is not the listing's policy now: the accepted
    agreement's terms where an agreement covers the booking, else the listing's policy when
    the booking was made."""
    booked = list(booked)
    agreed = agreement_policies(booking_id for _, booking_id, _, _, _ in booked)
    out: dict[K, CancellationPolicy] = {
        key: agreed[booking_id] for key, booking_id, _, _, _ in booked if booking_id in agreed}
    out.update(listing_policies_when_booked(
        (key, listing_id, since, policy) for key, booking_id, listing_id, since, policy in booked
        if booking_id not in agreed))
    return out


def policy_booked_under(booking: Booking) -> CancellationPolicy:
    """The policy a late cancellation of `booking` is charged by: the cancellation terms of the
    agreement version the holder accepted, where an agreement covers the booking; otherwise the
    listing's policy when the booking was made (a fee brought in or raised later, or a longer
    notice, does not reach it)."""
    listing = booking.listing
    now = listing_policy(listing.cancellation_notice_hours, listing.cancellation_charge_pence)
    return policies_booked_under(
        [(booking.id, booking.id, listing.id, booking.created_at, now)]).get(booking.id, now)
