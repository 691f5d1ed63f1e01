"""What every booking stage shares: constants, inputs and results, the clock, locks and who-may-act checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app import clock, links
from app.domain import bookings as rules
from app.domain.access import Role
from app.domain.bookings import ActorKind, BookingState, Session
from app.errors import (
    InvalidInput,
    NotFound,
    NotPermitted,
)
from app.extensions import db
from app.models import (
    Booking,
    BookingSession,
    Delegation,
    Listing,
    User,
)
from app.models.booking import NON_BLOCKING_STATES
from app.models.delegation import STATUS_ACTIVE
from app.services import council_settings, notify
from app.services.booked_policy import policy_booked_under

UK = ZoneInfo("Europe/London")
S = BookingState
KINDS = ("one_off", "recurring", "meet_and_greet", "pooled")


OPEN_SESSION_STATES = (
    S.REQUESTED,
    S.AWAITING_APPROVAL,
    S.ACCEPTED,
    S.PAYMENT_FAILED,
    S.FUNDS_HELD,
    S.PAUSED,
)
DISPUTE_OUTCOMES = ("full_refund", "partial_refund", "no_refund")
MEET_AND_GREET_MAX_MINUTES = 60


# Brokerage rules that may hold a booking for a broker: each takes (holder, listing, total
# pence) and returns plain-English reasons. Filled by register_rule_checks, which create_app
# calls (wiring is explicit, never an import side effect).
RULE_CHECKS: list[Callable[[User, Listing, int], list[str]]] = []


def register_rule_checks() -> None:
    """Register the brokerage checks that may hold a new booking for a broker (idempotent:
    create_app runs once per app, and tests build many apps in one process)."""
    from app.services.flags import booking_hold_reasons

    checks: list[Callable[[User, Listing, int], list[str]]] = [booking_hold_reasons]
    RULE_CHECKS[:] = checks


@dataclass(frozen=True)
class BookingInput:
    """What the holder asked for. Times are aware datetimes; a recurring booking has a pattern."""

    listing_id: int
    kind: str = "one_off"
    start: datetime | None = None
    end: datetime | None = None
    pattern: rules.WeeklyPattern | None = None
    expected_total_pence: int | None = None  # what the holder was shown; must still match
    notes: str = ""
    backup_listing_ids: tuple[int, ...] = ()
    min_participants: int | None = None
    max_participants: int | None = None
    join_deadline: datetime | None = None


@dataclass(frozen=True)
class BookingQuote:
    sessions: list[Session]
    prices: list[int]
    total_pence: int
    available_pence: int  # before this booking, contingency included
    left_after_pence: int
    approval_reasons: list[str]
    plan_category: str | None
    plan_category_label: str
    funding_mode: str | None
    hold_now_pence: int  # for a pooled booking, the holder's share held now
    contingency_pence: int = 0  # of available_pence, the contingency (a broker agrees its use)
    # Sessions charged at the listing's bank-holiday rate: (session start, holiday name).
    bank_holiday_sessions: tuple[tuple[datetime, str], ...] = ()
    bank_holiday_rate_pence: int | None = None
    approval_codes: tuple[str, ...] = ()  # the codes of approval_reasons: what decisions use

    @property
    def needs_approval(self) -> bool:
        return bool(self.approval_reasons)

    # The budget page's figures: "available to spend" leaves the contingency out, so the price
    # check says the same as the budget page, with the contingency shown beside it.
    @property
    def spendable_pence(self) -> int:
        return self.available_pence - self.contingency_pence

    @property
    def spendable_after_pence(self) -> int:
        return max(self.spendable_pence - self.hold_now_pence, 0)

    @property
    def contingency_after_pence(self) -> int:
        return self.contingency_pence - max(self.hold_now_pence - self.spendable_pence, 0)


def _now() -> datetime:
    """The services' one clock (app.clock), which tests can set."""
    return clock.now()


def _today() -> date:
    """Today in the UK, by the same clock."""
    return clock.now().astimezone(UK).date()


def _settings():
    return council_settings.current()


def _kind_of(actor: User | None, holder: User | None = None) -> ActorKind:
    if actor is None:
        return ActorKind.SYSTEM
    role = actor.role_enum
    if role is Role.BROKER:
        return ActorKind.BROKER
    if role is Role.PROVIDER:
        return ActorKind.PROVIDER
    if holder is not None and actor.id == holder.id:
        return ActorKind.HOLDER
    return ActorKind.DELEGATE


def _link(booking: Booking, side: str = "holder") -> str:
    # Built from the routes (app.links), not by hand, so a moved page cannot leave dead links.
    endpoint = {"holder": "holder.booking_detail", "provider": "provider.booking_detail",
                "broker": "broker.booking_detail"}[side]
    return links.path_for(endpoint, booking_id=booking.id)


def _brokers() -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(User.role == Role.BROKER.value, User.active.is_(True))
            .order_by(User.id)
        )
    )


def _lock_booking(booking_id: int) -> Booking:
    booking = db.session.scalar(
        select(Booking)
        .where(Booking.id == booking_id)
        .with_for_update(key_share=True)  # rows referring to the booking may still be added
        .execution_options(populate_existing=True)
    )
    if booking is None:
        raise NotFound("We could not find that booking.")
    return booking


def _lock_session(session_id: int) -> BookingSession:
    """Lock a session's booking, then the session: the same order as every booking use case
    (booking rows before budget rows), so two use cases on one booking queue, never deadlock."""
    booking_id = db.session.scalar(
        select(BookingSession.booking_id).where(BookingSession.id == session_id)
    )
    if booking_id is None:
        raise NotFound("We could not find that session.")
    _lock_booking(booking_id)
    return _session(session_id)


def _lock_holder(holder_id: int) -> None:
    """Serialise what changes a holder's whole support (pause, resume) with new requests."""
    # FOR NO KEY UPDATE: other transactions may still insert rows that refer to the holder
    # (ledger, audit, notices take KEY SHARE on users); a plain FOR UPDATE deadlocked an accept
    # (booking locked, inserting a ledger row for the holder) against a pause (holder locked,
    # waiting for that booking).
    db.session.scalar(
        select(User.id).where(User.id == holder_id).with_for_update(key_share=True)
    )


def require_provider_not_suspended(booking: Booking) -> None:
    """A provider whose listings are suspended or payouts held (an upheld flag, a restriction)
    cannot take on more work until a broker lifts it. Raises NotPermitted."""
    from app.services import restrictions

    restriction = restrictions.restriction_of(booking.provider_profile_id)
    if restriction is not None and (restriction.listings_suspended or restriction.payouts_held):
        raise NotPermitted(
            "Your account is restricted while a broker looks into a concern, so you cannot "
            "accept bookings now. A broker will contact you."
        )


def _session(session_id: int, *, lock: bool = True) -> BookingSession:
    query = select(BookingSession).where(BookingSession.id == session_id)
    if lock:
        query = query.with_for_update(key_share=True).execution_options(populate_existing=True)
    found = db.session.scalar(query)
    if found is None:
        raise NotFound("We could not find that session.")
    return found


def _require_holder_side(booking: Booking, holder: User | None, actor: User) -> None:
    if actor.role_enum is Role.BROKER:
        return
    if holder is None or booking.holder_id != holder.id:
        raise NotFound("We could not find that booking.")


def _refuse_own_work(booking: Booking, holder: User | None, actor: User, doing: str) -> None:
    """Someone acting for the holder may not judge the work of the provider they also are:
    confirming their own hours would pay them on their own word. Only when acting for this
    booking's holder; other callers get the usual NotFound from the checks after this."""
    if holder is None or booking.holder_id != holder.id or actor.id == holder.id:
        return
    # The provider's own account is the one link to a provider recorded so far.
    if booking.provider_profile.user_id == actor.id:
        raise NotPermitted(f"You provided this support, so you cannot {doing} for {holder.name}. "
                           "Someone else who acts for them, or their broker, must.")


def _provider_acts_for_holder(booking: Booking) -> bool:
    """Whether the booking's provider is also an active delegate of its holder."""
    return db.session.scalar(select(Delegation.id).where(
        Delegation.holder_id == booking.holder_id,
        Delegation.delegate_id == booking.provider_profile.user_id,
        Delegation.status == STATUS_ACTIVE).limit(1)) is not None


def needs_cosign(booking: Booking) -> bool:
    """Hours a broker must co-sign before money moves, and which never confirm on their own:
    a holder at risk, or a provider who also acts for the holder (their silence would be the
    provider's own say-so, so the 72-hour automatic confirmation would pay them unchecked)."""
    return booking.holder.at_risk or _provider_acts_for_holder(booking)


def _require_provider(booking: Booking, actor: User) -> None:
    if actor.role_enum is not Role.PROVIDER or booking.provider_profile.user_id != actor.id:
        raise NotFound("We could not find that booking.")


def _require_broker(actor: User) -> None:
    if actor.role_enum is not Role.BROKER:
        raise NotPermitted("Only a broker can do that.")


def _starts(booking: Booking) -> datetime:
    first = next((s for s in booking.sessions if s.state not in NON_BLOCKING_STATES), None)
    return (first or booking.sessions[0]).start_at


def _tell_holder_about_money(notice, holder: User, booking: Booking) -> None:
    """A money notice (held, released, payment failed) to one holder of the booking (its
    organiser, or a participant of a group session): which provider and when it starts."""
    notify.send(notice, holder, about_holder=holder, link=_link(booking),
                context={"provider": booking.provider_profile.user, "starts": _starts(booking)})


def _terms(listing: Listing, rate_pence: int | None = None) -> rules.ListingTerms:
    """The listing's terms, at `rate_pence` when the client has their own rate (an existing
    client keeping an older price: listings.rate_for_client)."""
    minimum = listing.minimum_units * 60 if listing.price_unit == "hour" else 0
    return rules.ListingTerms(
        unit=rules.Unit(listing.price_unit),
        rate_pence=listing.price_pence if rate_pence is None else rate_pence,
        minimum_minutes=minimum,
        travel_flat_pence=listing.travel_charge_pence,
        bank_holiday_rate_pence=listing.bank_holiday_price_pence,
    )


def _policy(booking: Booking) -> rules.CancellationPolicy:
    """The policy the booking was made under (or its accepted agreement's terms), never a
    stricter one the provider brought in since: what a late cancellation is charged by."""
    return policy_booked_under(booking)


def _pounds(pence: int) -> str:
    from app.domain.money import Money

    return str(Money(pence))


def _plan_category(booking: Booking) -> str:
    """The plan category a paid booking's money is held under.

    request_booking leaves it unset only on a free meet-and-greet, which never holds money. Were it
    missing, this refuses as ledger.hold would (a DomainError), so callers still undo the hold.
    """
    if booking.plan_category is None:
        raise InvalidInput("Choose a spending category from the list", field="category")
    return booking.plan_category


def get_booking(booking_id: int) -> Booking:
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        raise NotFound("We could not find that booking.")
    return booking


def local(day: date, at: time) -> datetime:
    """A UK wall-clock date and time as an aware datetime (what the forms collect)."""
    return datetime.combine(day, at, tzinfo=UK)
