"""What is next for a holder or a provider: what their home pages lead with, where a search starts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.clock import now as _now
from app.domain.bookings import BookingState as S
from app.domain.districts import uk_districts
from app.extensions import db
from app.models import Booking, BookingSession, Conversation, Message, ProviderProfile, User

UPCOMING = (S.FUNDS_HELD.value, S.ACCEPTED.value)
WAITING_FOR_PROVIDER = (S.REQUESTED.value, S.AWAITING_APPROVAL.value)


@dataclass(frozen=True)
class HolderNext:
    next_visit: BookingSession | None
    requests_waiting: int  # asked for, not yet accepted (by the provider or a broker)
    hours_to_confirm: list[BookingSession]  # delivered, waiting for the holder to say so
    reviews_to_write: int
    unread_messages: int


@dataclass(frozen=True)
class ProviderNext:
    next_visit: BookingSession | None
    requests_waiting: list[Booking]  # waiting for this provider to accept or decline
    to_record: list[BookingSession]  # past sessions whose delivery is not recorded yet
    unread_messages: int


def _next_session(*where, now: datetime) -> BookingSession | None:
    return db.session.scalars(
        select(BookingSession).join(Booking)
        .where(*where, BookingSession.state.in_(UPCOMING), BookingSession.end_at > now)
        .options(selectinload(BookingSession.booking).selectinload(Booking.listing),
                 selectinload(BookingSession.booking).selectinload(Booking.holder))
        .order_by(BookingSession.start_at).limit(1)).first()


def for_holder(holder: User, *, now: datetime | None = None) -> HolderNext:
    """What waits for the holder (or whoever acts for them) now."""
    from app.services import ratings

    now = now or _now()
    waiting = db.session.scalar(
        select(func.count()).select_from(Booking).where(
            Booking.holder_id == holder.id, Booking.state.in_(WAITING_FOR_PROVIDER))) or 0
    to_confirm = list(db.session.scalars(
        select(BookingSession).join(Booking)
        .where(Booking.holder_id == holder.id, BookingSession.state == S.DELIVERED.value)
        .options(selectinload(BookingSession.booking).selectinload(Booking.listing))
        .order_by(BookingSession.start_at)))
    unread = db.session.scalar(
        select(func.count()).select_from(Message).join(Conversation).where(
            Conversation.holder_id == holder.id, Message.from_provider.is_(True),
            Message.read_by_holder_at.is_(None))) or 0
    return HolderNext(
        next_visit=_next_session(Booking.holder_id == holder.id, now=now),
        requests_waiting=int(waiting),
        hours_to_confirm=to_confirm,
        reviews_to_write=len(ratings.reviewable(holder)),
        unread_messages=int(unread),
    )


def for_provider(provider: User, *, now: datetime | None = None) -> ProviderNext:
    """What waits for the provider now: requests to answer, visits to record, the next visit."""
    now = now or _now()
    profile_id = db.session.scalar(
        select(ProviderProfile.id).where(ProviderProfile.user_id == provider.id))
    if profile_id is None:
        return ProviderNext(None, [], [], 0)
    requests = list(db.session.scalars(
        select(Booking).where(Booking.provider_profile_id == profile_id,
                              Booking.state == S.REQUESTED.value)
        .options(selectinload(Booking.listing), selectinload(Booking.sessions))
        .order_by(Booking.created_at)))
    to_record = list(db.session.scalars(
        select(BookingSession).join(Booking)
        .where(Booking.provider_profile_id == profile_id, BookingSession.state.in_(UPCOMING),
               BookingSession.end_at <= now)
        .options(selectinload(BookingSession.booking).selectinload(Booking.listing))
        .order_by(BookingSession.start_at).limit(20)))
    unread = db.session.scalar(
        select(func.count()).select_from(Message).join(Conversation).where(
            Conversation.provider_profile_id == profile_id, Message.from_provider.is_(False),
            Message.read_by_provider_at.is_(None))) or 0
    return ProviderNext(
        next_visit=_next_session(Booking.provider_profile_id == profile_id, now=now),
        requests_waiting=requests, to_record=to_record, unread_messages=int(unread),
    )


def requested_not_held(holder_id: int) -> list[Booking]:
    """Bookings asked for but not yet accepted: shown on the budget, nothing held for them yet."""
    return list(db.session.scalars(
        select(Booking).where(Booking.holder_id == holder_id,
                              Booking.state.in_(WAITING_FOR_PROVIDER))
        .options(selectinload(Booking.listing), selectinload(Booking.sessions))
        .order_by(Booking.created_at)))


def search_start(holder: User) -> dict[str, str]:
    """Where a holder's search starts: listings that take their kind of budget, in their
    district (each a filter they can see and change)."""
    from app.services import budgets

    start: dict[str, str] = {}
    budget = budgets.current_budget(holder.id)
    if budget is not None and budget.funding_mode:
        start["funding"] = budget.funding_mode
    # A district recorded before districts were checked may be one not in use: starting there
    # would open the page on an error the holder did not make (a broker sees it to fix).
    if holder.home_district and holder.home_district in uk_districts():
        start["district"] = holder.home_district
    return start
