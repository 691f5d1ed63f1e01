"""Reading bookings: a holder's, a provider's, settled sessions and the council's monthly remittance files."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from app.adapters.remittance import RemittanceFile, RemittanceLine, build_monthly_remittances
from app.domain import bookings as rules
from app.domain.errors import InvariantBroken
from app.errors import (
    InvalidInput,
    NotFound,
)
from app.extensions import db
from app.models import (
    Booking,
    BookingSession,
    Budget,
    PoolParticipant,
    ProviderProfile,
    User,
)
from app.services.bookings._common import (
    UK,
    S,
    _now,
    _require_provider,
)


def bookings_of_holder(holder_id: int) -> list[Booking]:
    joined = select(PoolParticipant.booking_id).where(PoolParticipant.holder_id == holder_id)
    return list(
        db.session.scalars(
            select(Booking)
            .where((Booking.holder_id == holder_id) | Booking.id.in_(joined))
            .order_by(Booking.created_at.desc())
        )
    )


def bookings_of_provider(provider: User) -> list[Booking]:
    return list(
        db.session.scalars(
            select(Booking)
            .join(ProviderProfile)
            .where(ProviderProfile.user_id == provider.id)
            .order_by(Booking.created_at.desc())
        )
    )


def booking_for_holder(holder: User, booking_id: int) -> Booking:
    booking = db.session.get(Booking, booking_id)
    if booking is None or (
        booking.holder_id != holder.id
        and holder.id not in {p.holder_id for p in booking.participants}
    ):
        raise NotFound("We could not find that booking.")
    return booking


def open_group_sessions(listing_id: int, holder_id: int) -> list[Booking]:
    """Group sessions of a listing that this holder could still join: asked for or going
    ahead, joining not yet closed, not full, and the holder not already in. Soonest first."""
    now = _now()
    rows = db.session.scalars(
        select(Booking).where(
            Booking.listing_id == listing_id, Booking.kind == "pooled",
            Booking.pool_decided_at.is_(None), Booking.join_deadline > now,
            Booking.state.in_([S.REQUESTED.value, S.ACCEPTED.value, S.FUNDS_HELD.value]),
            Booking.holder_id != holder_id,
        ).order_by(Booking.join_deadline, Booking.id))
    return [b for b in rows
            if holder_id not in {p.holder_id for p in b.participants}
            and sum(p.state == "joined" for p in b.participants) < (b.max_participants or 0)]


def group_session_for_joining(listing_id: int, holder_id: int, booking_id: int) -> Booking:
    """One of `open_group_sessions`, or NotFound (gone, full, closed or already joined)."""
    found = next((b for b in open_group_sessions(listing_id, holder_id) if b.id == booking_id),
                 None)
    if found is None:
        raise NotFound("That group session is full, has closed, or you have already joined it.")
    return found


def booking_for_provider(provider: User, booking_id: int) -> Booking:
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        raise NotFound("We could not find that booking.")
    _require_provider(booking, provider)
    return booking


def settled_sessions(
    holder_id: int | None = None, provider_profile_id: int | None = None
) -> list[BookingSession]:
    """Settled sessions (paid, ready to rate), optionally for one holder and/or provider."""
    query = select(BookingSession).join(Booking).where(BookingSession.state == S.SETTLED.value)
    if holder_id is not None:
        query = query.where(Booking.holder_id == holder_id)
    if provider_profile_id is not None:
        query = query.where(Booking.provider_profile_id == provider_profile_id)
    return list(db.session.scalars(query.order_by(BookingSession.start_at)))


def remittance_files(year: int, month: int) -> list[RemittanceFile]:
    """Monthly CSVs per provider for council finance: council_managed sessions settled that month,
    each marked when a broker holds that provider's payouts (so finance does not pay it yet)."""
    if not 1 <= month <= 12:
        raise InvalidInput("Choose a month from 1 to 12.", field="month")
    first = date(year, month, 1)
    last = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
    rows = db.session.execute(
        select(BookingSession, Booking)
        .join(Booking, Booking.id == BookingSession.booking_id)
        .join(Budget, Budget.id == Booking.budget_id)
        .where(
            Budget.funding_mode == "council_managed",
            BookingSession.settled_on >= first,
            BookingSession.settled_on <= last,
            BookingSession.charge_pence > 0,
        )
    ).all()
    lines = []
    for s, booking in rows:
        start, end = (s.actual_start_at or s.start_at), (s.actual_end_at or s.end_at)
        minutes = rules.minutes_between(start, end)
        # The query selects only sessions settled this month with a charge above zero.
        if not (s.settled_on is not None and s.charge_pence is not None):
            raise InvariantBroken("expected: s.settled_on is not None and s.charge_pence is not None")
        lines.append(
            RemittanceLine(
                provider_id=booking.provider_profile_id,
                provider_name=booking.provider_profile.display_name,
                holder_reference=f"H{booking.holder_id}",
                booking_reference=f"{booking.reference}/{s.id}",
                service_date=s.start_at.astimezone(UK).date(),
                settled_on=s.settled_on,
                hours=Decimal(minutes) / Decimal(60),
                amount_pence=s.charge_pence,
            )
        )
    from app.models import ProviderRestriction

    held = set(db.session.scalars(select(ProviderRestriction.provider_profile_id).where(
        ProviderRestriction.payouts_held.is_(True))))
    return [replace(f, payouts_held=f.provider_id in held)
            for f in build_monthly_remittances(lines, year, month)]
