"""Booking use cases: quote, request, approve, accept, hold, deliver, confirm, dispute, cancel, pause, pool.

Transactions: each function commits its own booking changes once. Money moves through
app.services.ledger, whose operations commit themselves and are idempotent by key, so a
function that holds or captures money runs in steps: ledger calls first (keys derived from
the booking, session and `hold_round`, so a retry replays rather than doubles), then one
commit of the booking state. If a hold fails part-way, the holds already made in that round
are released and the booking is marked payment_failed: never booked but not funded, never
funded but not booked. Bookings on direct_payment budgets also authorise the holder's card per
session after the ledger hold, and capture, cancel or pay out through app.services.card_payments
(see its docstring); every other funding mode is held in the ledger only.

No double-booking: the provider profile row is locked (SELECT ... FOR UPDATE) and existing
sessions re-checked before new ones are written; on PostgreSQL an exclusion constraint is the
last word (a loser of the race gets Conflict).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TypedDict
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from app.adapters.remittance import RemittanceFile, RemittanceLine, build_monthly_remittances
from app.domain import bookings as rules
from app.domain.access import Role
from app.domain.booking_categories import plan_category_for
from app.domain.bookings import ActorKind, BookingState, Event, Session
from app.domain.budget import category_label
from app.domain.ledger import Account
from app.domain.notifications import Event as Notice
from app.errors import (
    Conflict,
    DomainError,
    InsufficientFunds,
    InvalidInput,
    NotFound,
    NotPermitted,
)
from app.extensions import db
from app.models import (
    Booking,
    BookingBackup,
    BookingSession,
    Budget,
    Delegation,
    HolderPause,
    LedgerTransaction,
    Listing,
    PoolParticipant,
    ProviderProfile,
    User,
)
from app.models.booking import NON_BLOCKING_STATES
from app.models.delegation import STATUS_ACTIVE
from app.services import audit, budgets, card_payments, ledger, notify

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
# pence) and returns plain-English reasons. The brokerage issue registers its checks here.
RULE_CHECKS: list[Callable[[User, Listing, int], list[str]]] = []


def _register_rule_checks() -> None:
    from app.services.flags import booking_hold_reasons

    RULE_CHECKS.append(booking_hold_reasons)


_register_rule_checks()


# ---------------------------------------------------------------- inputs and results


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


@dataclass
class JobReport:
    notices_sent: int = 0
    auto_confirmed: int = 0
    pools_run: int = 0
    pools_released: int = 0
    errors: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- helpers


def _now() -> datetime:
    return datetime.now(UTC)


def _settings():
    return current_app.config["COUNCIL"]


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
    return {
        "holder": f"/my/bookings/{booking.id}",
        "provider": f"/provider/bookings/{booking.id}",
        "broker": f"/broker/bookings/{booking.id}",
    }[side]


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
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if booking is None:
        raise NotFound("We could not find that booking.")
    return booking


def _session(session_id: int, *, lock: bool = True) -> BookingSession:
    query = select(BookingSession).where(BookingSession.id == session_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
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


def _terms(listing: Listing) -> rules.ListingTerms:
    minimum = listing.minimum_units * 60 if listing.price_unit == "hour" else 0
    return rules.ListingTerms(
        unit=rules.Unit(listing.price_unit),
        rate_pence=listing.price_pence,
        minimum_minutes=minimum,
        travel_flat_pence=listing.travel_charge_pence,
    )


def _policy(listing: Listing) -> rules.CancellationPolicy:
    return rules.CancellationPolicy(
        notice_hours=listing.cancellation_notice_hours,
        charge_pence=listing.cancellation_charge_pence or None,
    )


def _sessions_for(data: BookingInput, now: datetime) -> list[Session]:
    if data.kind not in KINDS:
        raise InvalidInput("Choose what kind of booking this is.", field="kind")
    if data.kind == "recurring":
        if data.pattern is None:
            raise InvalidInput(
                "A repeating booking needs a last date or a number of sessions.", field="until"
            )
        settings = _settings()
        return rules.expand_weekly(
            data.pattern,
            now,
            max_sessions=settings.max_recurring_sessions,
            max_weeks=settings.max_recurring_weeks,
        )
    if data.start is None:
        raise InvalidInput("Enter when the session starts.", field="start")
    if data.end is None:
        raise InvalidInput("Enter when the session ends.", field="end")
    session = Session(data.start, data.end)
    rules.validate_sessions([session], now)
    if data.kind == "meet_and_greet" and session.minutes > MEET_AND_GREET_MAX_MINUTES:
        raise InvalidInput(
            f"A free meet-and-greet lasts at most {MEET_AND_GREET_MAX_MINUTES} minutes.",
            field="end",
        )
    return [session]


def _check_availability(profile: ProviderProfile, sessions: Sequence[Session]) -> None:
    slots = [
        rules.WeeklySlot(
            s.weekday,
            s.start_time.hour * 60 + s.start_time.minute,
            s.end_time.hour * 60 + s.end_time.minute,
        )
        for s in profile.slots
    ]
    off = [rules.DatesOff(e.starts_on, e.ends_on) for e in profile.exceptions]
    if not slots and not off:
        return  # the provider has not described their week: they decide when accepting
    problems = rules.unavailable_sessions(sessions, slots, off)
    if problems:
        raise InvalidInput(problems[0].reason + " Choose another time.", field="start")


def _clashes(
    profile_id: int, sessions: Sequence[Session], exclude_booking: int | None = None
) -> None:
    lo = min(s.start for s in sessions)
    hi = max(s.end for s in sessions)
    query = select(BookingSession).where(
        BookingSession.provider_profile_id == profile_id,
        BookingSession.state.not_in(NON_BLOCKING_STATES),
        BookingSession.start_at < hi,
        BookingSession.end_at > lo,
    )
    if exclude_booking is not None:
        query = query.where(BookingSession.booking_id != exclude_booking)
    existing = [Session(s.start_at, s.end_at) for s in db.session.scalars(query)]
    clashes = rules.overlaps(existing, sessions)
    if clashes:
        raise Conflict(
            f"The provider is already booked on {clashes[0][1].describe()}. Choose another time.",
            field="start",
        )


def _bookable_listing(listing_id: int) -> Listing:
    listing = db.session.get(Listing, listing_id)
    if listing is None or not listing.is_live:
        raise InvalidInput(
            "This listing is no longer offered, so it cannot be booked. "
            "Nothing has been set aside.",
            field="listing_id",
        )
    return listing


def quote_booking(holder: User, data: BookingInput, *, now: datetime | None = None) -> BookingQuote:
    """What the booking would cost, what is left after it, and why a broker must approve it.

    Writes nothing. Raises InvalidInput (field named), Conflict (provider already booked),
    InsufficientFunds (more than the budget has), NotFound.
    """
    now = now or _now()
    listing = _bookable_listing(data.listing_id)
    sessions = _sessions_for(data, now)
    _check_availability(listing.profile, sessions)
    _clashes(listing.profile_id, sessions)
    free = data.kind == "meet_and_greet"
    terms = _terms(listing)
    prices = [0 if free else rules.quote(terms, s.start, s.end) for s in sessions]
    total = sum(prices)
    if data.expected_total_pence is not None and data.expected_total_pence != total:
        raise InvalidInput(
            "The price has changed since you last saw it: it is now "
            f"{_pounds(total)}. Check it and confirm again.",
            field="expected_total",
        )
    category = None if free else plan_category_for(listing.category, listing.profile.provider_type)
    budget = budgets.current_budget(holder.id)
    if budget is None and not free:
        raise InvalidInput(
            "There is no budget to pay from yet. Ask your council to set it up.", field="listing_id"
        )
    available = contingency = 0
    reasons: list[str] = []
    hold_now = total
    if budget is not None:
        balance = ledger.balances(budget.id)
        available = balance[Account.AVAILABLE] + balance[Account.CONTINGENCY]
        contingency = balance[Account.CONTINGENCY]
    if not free:
        assert budget is not None
        if budget.funding_mode not in listing.funding_modes:
            raise InvalidInput(
                "This provider does not take payment from your kind of budget.", field="listing_id"
            )
        if data.kind == "pooled":
            pool = _pool_terms(data, total)
            hold_now = pool.hold_per_person_pence
        if hold_now > available:
            raise InsufficientFunds(
                _not_enough_now(budget, sessions, prices, hold_now, available,
                                pooled=data.kind == "pooled"),
                field="start",
            )
        plan = ledger.current_plan(holder.id)
        first, last = sessions[0].start, sessions[-1].start
        request = rules.ApprovalRequest(
            total_pence=hold_now,
            category=category or "other",
            category_label=category_label(category),
            plan_categories=frozenset(plan.amounts) if plan else frozenset(),
            available_pence=available,
            contingency_pence=contingency,
            weekly_budget_pence=budget.annual_pence // 52,
            rule_holds=tuple(r for check in RULE_CHECKS for r in check(holder, listing, total)),
            weeks_spanned=(last - first).days // 7 + 1,
        )
        reasons = rules.needs_broker_approval(request, _settings())
    return BookingQuote(
        sessions,
        prices,
        total,
        available,
        available - hold_now,
        reasons,
        category,
        category_label(category) if category else "",
        budget.funding_mode if budget else None,
        hold_now,
        contingency,
    )


def _pool_terms(data: BookingInput, total: int) -> rules.PoolTerms:
    if data.min_participants is None or data.max_participants is None:
        raise InvalidInput(
            "Enter the smallest and largest number of people.", field="min_participants"
        )
    if data.join_deadline is None:
        raise InvalidInput("Enter when joining closes.", field="join_deadline")
    return rules.PoolTerms(total, data.min_participants, data.max_participants, data.join_deadline)


def _not_enough_now(budget: Budget, sessions: Sequence[Session], prices: Sequence[int],
                    hold_now: int, available: int, *, pooled: bool) -> str:
    """Why a booking cannot be afforded now, and what can be: for regular support, how many of
    the first sessions the money available now covers, and when the next payment comes in."""
    message = f"This booking costs {_pounds(hold_now)} but only {_pounds(available)} is available."
    due, _ = budgets.next_instalment(budget)
    when = (f"due on {due.day} {due:%B %Y}" if due >= _now().date()
            else f"which was due on {due.day} {due:%B %Y}")
    if pooled or len(sessions) < 2:
        return message + f" The next payment into the budget is {when}."
    affordable = 0
    running = 0
    for price in prices:
        running += price
        if running > available:
            break
        affordable += 1
    if affordable == 0:
        return message + f" The next payment into the budget is {when}."
    last = sessions[affordable - 1]
    return (message + f" The money available now covers the first {affordable} of these "
            f"{len(sessions)} sessions (up to {last.describe()}). You could book those now and the "
            f"rest after the next payment into the budget, {when}.")


def _pounds(pence: int) -> str:
    from app.domain.money import Money

    return str(Money(pence))


# ---------------------------------------------------------------- requesting


def request_booking(
    actor: User,
    holder: User,
    data: BookingInput,
    *,
    now: datetime | None = None,
    arranged_by: User | None = None,
    options_offered: Sequence[int] = (),
    options_note: str | None = None,
) -> Booking:
    """Ask the provider for a booking (a broker may arrange it for the holder).

    Nothing is held yet: money is held when the provider accepts. A booking outside the plan,
    from the contingency, above the council threshold or held by a rule waits for a broker.
    Raises what quote_booking raises, and Conflict when a racing request took the slot.
    """
    now = now or _now()
    if actor.role_enum is Role.PROVIDER:
        raise NotPermitted("Providers cannot book their own services.")
    listing = _bookable_listing(data.listing_id)
    # Lock the provider's profile row first: concurrent requests for this provider queue here.
    db.session.scalar(
        select(ProviderProfile.id).where(ProviderProfile.id == listing.profile_id).with_for_update()
    )
    quote = quote_booking(holder, data, now=now)
    budget = budgets.current_budget(holder.id) if quote.plan_category else None
    # A card that cannot be charged would only fail after the provider accepts: say so now.
    card_payments.check_can_pay(budget, kind=data.kind, total_pence=quote.total_pence)
    booking = Booking(
        holder_id=holder.id,
        listing_id=listing.id,
        provider_profile_id=listing.profile_id,
        budget_id=budget.id if budget else None,
        plan_category=quote.plan_category,
        kind=data.kind,
        state=S.REQUESTED.value,
        total_pence=quote.total_pence,
        funding_mode=quote.funding_mode,
        notes=(data.notes or "").strip()[:2000],
        created_by_id=actor.id,
        approval_reasons=quote.approval_reasons,
        from_contingency=any("contingency" in r for r in quote.approval_reasons),
        arranged_by_id=arranged_by.id if arranged_by else None,
        options_offered=list(options_offered),
        options_note=options_note,
        min_participants=data.min_participants if data.kind == "pooled" else None,
        max_participants=data.max_participants if data.kind == "pooled" else None,
        join_deadline=data.join_deadline if data.kind == "pooled" else None,
    )
    kind = _kind_of(actor, holder)
    state = rules.transition(S.ENQUIRY, Event.REQUEST, kind)
    if quote.approval_reasons:
        state = rules.transition(state, Event.HOLD_FOR_APPROVAL, ActorKind.SYSTEM)
    booking.state = state.value
    booking.sessions = [
        BookingSession(
            provider_profile_id=listing.profile_id,
            start_at=s.start,
            end_at=s.end,
            state=state.value,
            price_pence=p,
        )
        for s, p in zip(quote.sessions, quote.prices, strict=True)
    ]
    for rank, backup_id in enumerate(dict.fromkeys(data.backup_listing_ids), start=1):
        backup = db.session.get(Listing, backup_id)
        if backup is None or not backup.is_live or backup.id == listing.id:
            raise InvalidInput("Choose back-up providers from live listings.", field="backups")
        booking.backups.append(BookingBackup(listing_id=backup.id, rank=rank))
    db.session.add(booking)
    try:
        db.session.flush()
    except IntegrityError as err:
        # PostgreSQL's exclusion constraint: another request took the slot a moment ago.
        db.session.rollback()
        raise Conflict(
            "The provider was booked for that time a moment ago. Choose another time.",
            field="start",
        ) from err
    audit.record(
        actor,
        "booking.requested",
        "booking",
        booking.id,
        on_behalf_of=holder,
        details={
            "listing_id": listing.id,
            "kind": data.kind,
            "sessions": len(quote.sessions),
            "total_pence": quote.total_pence,
            "approval_reasons": quote.approval_reasons,
            "arranged_by_id": arranged_by.id if arranged_by else None,
            "options_offered": list(options_offered),
        },
    )
    if data.kind == "pooled":
        _join_pool_hold_pending(booking, holder)
    if state is S.AWAITING_APPROVAL:
        for broker in _brokers():
            notify.send(
                Notice.BOOKING_NEEDS_APPROVAL,
                broker,
                link=_link(booking, "broker"),
                context={"client": holder},
            )
    else:
        notify.send(
            Notice.BOOKING_REQUESTED,
            listing.profile.user,
            link=_link(booking, "provider"),
            context={"client": holder, "starts": quote.sessions[0].start},
        )
    try:
        db.session.commit()
    except IntegrityError as err:
        db.session.rollback()
        raise Conflict(
            "The provider was booked for that time a moment ago. Choose another time.",
            field="start",
        ) from err
    if data.kind == "pooled":
        _hold_pool_share(booking.id, holder.id, actor)
    return booking


def arrange_booking(
    broker: User,
    holder_id: int,
    data: BookingInput,
    *,
    options_offered: Sequence[int],
    options_note: str,
) -> Booking:
    """A broker books for a holder, recording the other options put to them. The broker's own
    arrangement counts as their approval of anything the plan would otherwise hold."""
    _require_broker(broker)
    holder = db.session.get(User, holder_id)
    if holder is None or holder.role_enum is not Role.HOLDER:
        raise NotFound("We could not find that budget holder.", field="holder_id")
    if not (options_note or "").strip():
        raise InvalidInput(
            "Say what other options were offered and why this one was chosen.", field="options_note"
        )
    booking = request_booking(
        broker,
        holder,
        data,
        arranged_by=broker,
        options_offered=options_offered,
        options_note=options_note.strip()[:1000],
    )
    if booking.state == S.AWAITING_APPROVAL.value:
        return approve(broker, booking.id, note="Arranged by the broker with the holder.")
    return booking


# ---------------------------------------------------------------- broker approval


def approval_queue() -> list[Booking]:
    return list(
        db.session.scalars(
            select(Booking)
            .where(Booking.state == S.AWAITING_APPROVAL.value)
            .order_by(Booking.created_at)
        )
    )


def approve(broker: User, booking_id: int, *, note: str = "") -> Booking:
    """Raises NotPermitted, NotFound, IllegalTransition."""
    return _decide_approval(broker, booking_id, Event.APPROVE, note)


def refuse_approval(broker: User, booking_id: int, *, note: str) -> Booking:
    """Raises InvalidInput (note), NotPermitted, NotFound, IllegalTransition."""
    if not (note or "").strip():
        raise InvalidInput(
            "Say why the booking is not approved: the holder will see it.", field="note"
        )
    return _decide_approval(broker, booking_id, Event.REFUSE_APPROVAL, note)


def _decide_approval(broker: User, booking_id: int, event: Event, note: str) -> Booking:
    _require_broker(broker)
    booking = _lock_booking(booking_id)
    state = rules.transition(booking.state, event, ActorKind.BROKER)
    booking.state = state.value
    booking.approved_by_id = broker.id
    booking.approval_note = (note or "").strip()[:500] or None
    for s in booking.sessions:
        if s.state == S.AWAITING_APPROVAL.value:
            s.state = state.value
    audit.record(
        broker,
        f"booking.{event.value}",
        "booking",
        booking.id,
        on_behalf_of=booking.holder,
        details={"note": booking.approval_note, "reasons": booking.approval_reasons},
    )
    if state is S.REQUESTED:
        notify.send(
            Notice.BOOKING_REQUESTED,
            booking.provider_profile.user,
            link=_link(booking, "provider"),
            context={"client": booking.holder, "starts": _starts(booking)},
        )
    else:
        notify.send(
            Notice.BOOKING_CANCELLED,
            booking.holder,
            about_holder=booking.holder,
            link=_link(booking),
            context={"by": broker, "starts": _starts(booking)},
        )
    db.session.commit()
    return booking


# ---------------------------------------------------------------- provider answers, holding money


def accept(provider: User, booking_id: int) -> Booking:
    """The provider accepts; money is then held per session (see the module docstring).

    Returns the booking in funds_held, or payment_failed when the budget or the card could not
    cover it (the holder side gets one notice saying so, not "accepted"; the reason is
    `card_payments.funding_failure`). Raises NotFound, IllegalTransition, NotYourMove.
    """
    booking = _lock_booking(booking_id)
    _require_provider(booking, provider)
    state = rules.transition(booking.state, Event.ACCEPT, ActorKind.PROVIDER)
    booking.state = state.value
    for s in booking.sessions:
        if s.state == S.REQUESTED.value:
            s.state = state.value
    audit.record(provider, "booking.accepted", "booking", booking.id, on_behalf_of=booking.holder)
    db.session.commit()
    return _fund(booking.id, provider, accepted_by=provider)


def retry_funding(actor: User, holder: User | None, booking_id: int) -> Booking:
    """Try again to hold the money after it failed (e.g. the budget has been topped up)."""
    booking = _lock_booking(booking_id)
    _require_holder_side(booking, holder, actor)
    rules.transition(booking.state, Event.HOLD_FUNDS, ActorKind.SYSTEM)
    booking.hold_round += 1
    db.session.commit()
    # Whoever pressed retry sees the outcome on the page: no notice on failure.
    return _fund(booking_id, actor, tell_failure=False)


def _fund(
    booking_id: int,
    actor: User | None = None,
    *,
    accepted_by: User | None = None,
    tell_failure: bool = True,
) -> Booking:
    """Hold the money (ledger, then card). `accepted_by`: the provider who just accepted, named
    in the holder side's "accepted" notice when the money is held."""
    booking = db.session.get(Booking, booking_id)
    assert booking is not None
    if booking.kind == "meet_and_greet" or booking.kind == "pooled":
        # Free, or each participant's share was held when they joined.
        return _mark_funded(booking, {}, accepted_by)
    held: dict[int, int] = {}
    approver = booking.approved_by if booking.approval_reasons else None
    try:
        card_payments.check_ready(booking)  # before the ledger: no hold to undo
        for s in booking.sessions:
            if s.state not in (S.ACCEPTED.value, S.PAYMENT_FAILED.value) or s.price_pence == 0:
                continue
            held[s.id] = _hold_session(booking, s, approver).id
        # The card is authorised after the ledger holds: a refusal releases them below.
        card_payments.authorise_sessions(booking_id, list(held), actor)
    except DomainError as err:
        db.session.rollback()
        booking = get_booking(booking_id)
        for hold_id in held.values():
            if ledger.held_remaining(hold_id) > 0:
                ledger.release(
                    hold_id,
                    idempotency_key=f"b{booking_id}-r{booking.hold_round}-undo-{hold_id}",
                    actor=None,
                    on_behalf_of=booking.holder,
                )
        booking = _lock_booking(booking_id)
        state = (
            rules.transition(booking.state, Event.PAYMENT_FAILED, ActorKind.SYSTEM)
            if booking.state == S.ACCEPTED.value
            else S.PAYMENT_FAILED
        )
        booking.state = state.value
        for s in booking.sessions:
            if s.state == S.ACCEPTED.value:
                s.state = state.value
        audit.record(
            None,
            "booking.payment_failed",
            "booking",
            booking.id,
            on_behalf_of=booking.holder,
            details={"reason": err.message, "code": err.code},
        )
        if tell_failure:
            # One notice: the money was never really set aside, so no "released" or "accepted".
            notify.send(
                Notice.PAYMENT_FAILED,
                booking.holder,
                about_holder=booking.holder,
                link=_link(booking),
                context={"provider": booking.provider_profile.user, "starts": _starts(booking)},
            )
        db.session.commit()
        return booking
    return _mark_funded(booking, held, accepted_by)


class _HoldArgs(TypedDict):
    """The ledger.hold arguments both attempts of _hold_session share."""

    category: str
    idempotency_key: str
    actor: User | None
    on_behalf_of: User | None
    approved_by: User | None
    reference: str


def _plan_category(booking: Booking) -> str:
    """The plan category a paid booking's money is held under.

    request_booking leaves it unset only on a free meet-and-greet, which never holds money. Were it
    missing, this refuses as ledger.hold would (a DomainError), so callers still undo the hold.
    """
    if booking.plan_category is None:
        raise InvalidInput("Choose a spending category from the list", field="category")
    return booking.plan_category


def _hold_session(booking: Booking, s: BookingSession, approver: User | None) -> LedgerTransaction:
    if booking.budget_id is None:
        # Only a free meet-and-greet has no budget (the budget_unless_free check) and _fund skips
        # those; refuse as ledger.hold would, so _fund still marks the payment failed.
        raise NotFound("There is no such budget.", field="budget")
    key = f"b{booking.id}-s{s.id}-r{booking.hold_round}-hold"
    common = _HoldArgs(
        category=_plan_category(booking),
        idempotency_key=key,
        actor=None,
        on_behalf_of=booking.holder,
        approved_by=approver,
        reference=f"{booking.reference} session {s.id}",
    )
    try:
        return ledger.hold(booking.budget_id, s.price_pence, **common)
    except InsufficientFunds:
        if approver is None or not booking.from_contingency:
            raise
        return ledger.hold(booking.budget_id, s.price_pence, from_contingency=True, **common)


def _mark_funded(
    booking: Booking, held: dict[int, int], accepted_by: User | None = None
) -> Booking:
    booking = _lock_booking(booking.id)
    if accepted_by is not None:
        notify.send(
            Notice.BOOKING_ACCEPTED,
            booking.holder,
            about_holder=booking.holder,
            link=_link(booking),
            context={"provider": accepted_by, "starts": _starts(booking)},
        )
    state = rules.transition(booking.state, Event.HOLD_FUNDS, ActorKind.SYSTEM)
    booking.state = state.value
    for s in booking.sessions:
        if s.state in (S.ACCEPTED.value, S.PAYMENT_FAILED.value):
            s.state = state.value
            s.hold_id = held.get(s.id, s.hold_id)
    audit.record(
        None,
        "booking.funds_held",
        "booking",
        booking.id,
        on_behalf_of=booking.holder,
        details={"holds": held},
    )
    if held:
        notify.send(
            Notice.MONEY_HELD,
            booking.holder,
            about_holder=booking.holder,
            link=_link(booking),
            context={"provider": booking.provider_profile.user, "starts": _starts(booking)},
        )
    db.session.commit()
    return booking


def decline(provider: User, booking_id: int, *, reason: str = "") -> Booking:
    """Raises NotFound, IllegalTransition."""
    booking = _lock_booking(booking_id)
    _require_provider(booking, provider)
    state = rules.transition(booking.state, Event.DECLINE, ActorKind.PROVIDER)
    booking.state = state.value
    booking.cancel_reason = (reason or "").strip()[:500] or None
    for s in booking.sessions:
        s.state = state.value
    audit.record(
        provider,
        "booking.declined",
        "booking",
        booking.id,
        on_behalf_of=booking.holder,
        details={"reason": booking.cancel_reason},
    )
    notify.send(
        Notice.BOOKING_DECLINED,
        booking.holder,
        about_holder=booking.holder,
        link=_link(booking),
        context={"provider": provider, "starts": _starts(booking)},
    )
    db.session.commit()
    if booking.kind == "pooled":
        _release_pool(booking.id, None)
    return booking


# ---------------------------------------------------------------- delivery and confirmation


def record_delivery(
    provider: User,
    session_id: int,
    *,
    actual_start: datetime,
    actual_end: datetime,
    notes: str = "",
    now: datetime | None = None,
) -> BookingSession:
    """The provider records what happened. Raises InvalidInput (field), NotFound, IllegalTransition."""
    now = now or _now()
    s = _session(session_id)
    booking = s.booking
    _require_provider(booking, provider)
    if actual_end <= actual_start:
        raise InvalidInput("The end time must be after the start time.", field="actual_end")
    if actual_start > now:
        raise InvalidInput("You can only record support that has started.", field="actual_start")
    state = rules.transition(s.state, Event.RECORD_DELIVERY, ActorKind.PROVIDER)
    s.state = state.value
    s.actual_start_at, s.actual_end_at = actual_start, actual_end
    s.delivery_notes = (notes or "").strip()[:4000]
    s.delivered_at = now
    audit.record(
        provider,
        "booking.delivered",
        "booking_session",
        s.id,
        on_behalf_of=booking.holder,
        details={
            "booking_id": booking.id,
            "actual_start": actual_start.isoformat(),
            "actual_end": actual_end.isoformat(),
        },
    )
    notify.send(
        Notice.HOURS_TO_CONFIRM,
        booking.holder,
        about_holder=booking.holder,
        link=_link(booking),
        context={"provider": provider, "starts": s.start_at},
    )
    db.session.commit()
    return s


def confirm_session(actor: User, holder: User | None, session_id: int) -> BookingSession:
    """The holder confirms delivered hours; a broker co-signs for a holder at risk.

    For a holder at risk the holder's own confirmation is recorded, and the money moves only
    when a broker co-signs. The booking's provider acting for the holder may not confirm
    their own hours. Raises NotFound, NotPermitted, IllegalTransition, NotYourMove.
    """
    s = _session(session_id)
    booking = s.booking
    _refuse_own_work(booking, holder, actor, "confirm it")
    _require_holder_side(booking, holder, actor)
    kind = _kind_of(actor, booking.holder)
    rules.transition(s.state, Event.CONFIRM, kind)
    cosign = needs_cosign(booking)
    if cosign and kind is not ActorKind.BROKER:
        s.confirmed_by_id = actor.id
        audit.record(
            actor,
            "booking.confirmed_awaiting_cosign",
            "booking_session",
            s.id,
            on_behalf_of=booking.holder,
            details={"booking_id": booking.id},
        )
        db.session.commit()
        return s
    if kind is ActorKind.BROKER:
        if not cosign:
            raise NotPermitted("Only the holder (or someone acting for them) confirms these hours.")
        s.cosigned_by_id = actor.id
    else:
        s.confirmed_by_id = actor.id
    db.session.commit()
    return _settle(s.id, s.price_pence, actor, event=Event.CONFIRM, kind=kind)


def cosign_queue() -> list[BookingSession]:
    """Delivered hours waiting for a broker: holders at risk, and providers who act for the
    holder (see `needs_cosign`)."""
    provider_acts_for_holder = (
        select(Delegation.id)
        .join(ProviderProfile, ProviderProfile.user_id == Delegation.delegate_id)
        .where(Delegation.holder_id == Booking.holder_id,
               ProviderProfile.id == Booking.provider_profile_id,
               Delegation.status == STATUS_ACTIVE)
        .exists()
    )
    return list(
        db.session.scalars(
            select(BookingSession)
            .join(Booking)
            .join(User, User.id == Booking.holder_id)
            .where(BookingSession.state == S.DELIVERED.value,
                   or_(User.at_risk.is_(True), provider_acts_for_holder))
            .order_by(BookingSession.delivered_at)
        )
    )


def dispute_session(
    actor: User, holder: User | None, session_id: int, *, reason: str
) -> BookingSession:
    """Raises InvalidInput (reason), NotFound, NotPermitted (the provider, acting for the
    holder), IllegalTransition."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say what is not right about the hours recorded.", field="reason")
    s = _session(session_id)
    booking = s.booking
    _refuse_own_work(booking, holder, actor, "dispute the hours")
    _require_holder_side(booking, holder, actor)
    s.state = rules.transition(s.state, Event.DISPUTE, _kind_of(actor, booking.holder)).value
    s.dispute_reason = reason[:1000]
    audit.record(
        actor,
        "booking.disputed",
        "booking_session",
        s.id,
        on_behalf_of=booking.holder,
        details={"booking_id": booking.id, "reason": s.dispute_reason},
    )
    for broker in _brokers():
        notify.send(
            Notice.BOOKING_DISPUTED,
            broker,
            link=_link(booking, "broker"),
            context={"client": booking.holder, "reference": booking.reference},
        )
    db.session.commit()
    return s


def disputes() -> list[BookingSession]:
    return list(
        db.session.scalars(
            select(BookingSession)
            .where(BookingSession.state == S.DISPUTED.value)
            .order_by(BookingSession.delivered_at)
        )
    )


def resolve_dispute(
    broker: User, session_id: int, *, outcome: str, refund_pence: int | None = None, note: str = ""
) -> BookingSession:
    """A broker settles: full refund (nothing paid), partial (price less refund), or no refund.

    Raises InvalidInput (outcome, refund), NotPermitted, NotFound, IllegalTransition.
    """
    _require_broker(broker)
    s = _session(session_id, lock=False)
    rules.transition(s.state, Event.RESOLVE_DISPUTE, ActorKind.BROKER)
    if outcome not in DISPUTE_OUTCOMES:
        raise InvalidInput("Choose how the dispute is settled.", field="outcome")
    if outcome == "full_refund":
        refund = s.price_pence
    elif outcome == "no_refund":
        refund = 0
    else:
        if refund_pence is None or not 0 < refund_pence < s.price_pence:
            raise InvalidInput(
                f"Enter a refund more than £0 and less than {_pounds(s.price_pence)}.",
                field="refund",
            )
        refund = refund_pence
    s.dispute_outcome, s.dispute_note, s.resolved_by_id = (
        outcome,
        (note or "").strip()[:1000],
        broker.id,
    )
    s.refund_pence = refund
    db.session.commit()
    return _settle(
        session_id,
        s.price_pence - refund,
        broker,
        event=Event.RESOLVE_DISPUTE,
        kind=ActorKind.BROKER,
    )


def _settle(
    session_id: int, charge: int, actor: User | None, *, event: Event, kind: ActorKind
) -> BookingSession:
    """Capture `charge` from the session's hold (the rest goes back) and mark it settled."""
    # The card first: if Stripe fails, nothing has moved and the same confirmation can be retried.
    card_payments.take_for_session(session_id, charge, actor)
    s = _session(session_id, lock=False)
    booking = s.booking
    capture_id = None
    if s.hold_id is not None:
        if charge > 0:
            capture_id = ledger.capture(
                s.hold_id,
                charge,
                idempotency_key=f"s{s.id}-capture",
                actor=actor,
                on_behalf_of=booking.holder,
                reference=booking.reference,
            ).id
        elif ledger.held_remaining(s.hold_id) > 0:
            ledger.release(
                s.hold_id,
                idempotency_key=f"s{s.id}-settle-release",
                actor=actor,
                on_behalf_of=booking.holder,
            )
    elif booking.kind == "pooled":
        _capture_pool(booking, s, actor)
    s = _session(session_id)
    state = rules.transition(s.state, event, kind)
    if state is S.CONFIRMED:
        state = rules.transition(state, Event.SETTLE, ActorKind.SYSTEM)
    s.state = state.value
    s.capture_id = capture_id
    s.charge_pence = charge
    s.confirmed_at = _now()
    s.settled_on = date.today()
    audit.record(
        actor,
        "booking.settled",
        "booking_session",
        s.id,
        on_behalf_of=booking.holder,
        details={
            "booking_id": booking.id,
            "charge_pence": charge,
            "capture_id": capture_id,
            "how": event.value,
        },
    )
    _close_if_done(booking)
    if charge > 0:
        notify.send(
            Notice.PAYMENT_SENT,
            booking.provider_profile.user,
            link=_link(booking, "provider"),
            context={"reference": booking.reference},
        )
    db.session.commit()
    if charge > 0:
        card_payments.pay_provider(session_id, actor)  # waits (visibly) without an account
    return _session(session_id, lock=False)


def _close_if_done(booking: Booking) -> None:
    """A booking whose every session is over is settled (ready to rate) if any was paid."""
    states = {s.state for s in booking.sessions}
    final = {S.SETTLED.value, S.CANCELLED.value, S.NO_SHOW.value}
    if states <= final and booking.state not in (S.CANCELLED.value, S.DECLINED.value):
        booking.state = S.SETTLED.value if S.SETTLED.value in states else S.CANCELLED.value


# ---------------------------------------------------------------- cancelling and no-shows


def cancel_booking(
    actor: User,
    holder: User | None,
    booking_id: int,
    *,
    reason: str = "",
    now: datetime | None = None,
) -> Booking:
    """Either side cancels every session not yet delivered, under the listing's policy.

    The holder's side pays the listing's charge for late cancellations (unless paused); a
    provider's cancellation costs the holder nothing and offers the named back-ups first.
    Raises NotFound, NotPermitted (the provider, acting for the holder), IllegalTransition,
    NotYourMove.
    """
    now = now or _now()
    booking = _lock_booking(booking_id)
    # On the holder's side, a late cancellation charges the holder and pays the provider.
    _refuse_own_work(booking, holder, actor, "cancel it")
    if actor.role_enum is Role.PROVIDER:
        _require_provider(booking, actor)
    else:
        _require_holder_side(booking, holder, actor)
    kind = _kind_of(actor, booking.holder)
    rules.transition(booking.state, Event.CANCEL, kind)
    paused = booking.state == S.PAUSED.value
    outcomes: dict[int, int] = {}
    for s in booking.sessions:
        if s.state not in [x.value for x in OPEN_SESSION_STATES]:
            continue
        charge = 0
        if s.hold_id is not None and ledger.held_remaining(s.hold_id) > 0:
            out = rules.cancellation_charge(
                _policy(booking.listing),
                s.price_pence,
                s.start_at,
                now,
                kind.value,
                holder_paused=paused,
            )
            charge = out.charge_pence
            s.outcome_note = out.reason
        outcomes[s.id] = charge
    db.session.commit()
    for sid, charge in outcomes.items():
        _money_back(sid, charge, actor)
    if booking.kind == "pooled":
        _release_pool(booking.id, actor)
    booking = _lock_booking(booking_id)
    booking.state = S.CANCELLED.value
    booking.cancelled_by_id = actor.id
    booking.cancel_reason = (reason or "").strip()[:500] or None
    for s in booking.sessions:
        if s.id in outcomes:
            s.state = S.CANCELLED.value
            s.charge_pence = outcomes[s.id]
    audit.record(
        actor,
        "booking.cancelled",
        "booking",
        booking.id,
        on_behalf_of=booking.holder,
        details={"by": kind.value, "charges": outcomes, "reason": booking.cancel_reason},
    )
    other = booking.provider_profile.user if kind is not ActorKind.PROVIDER else booking.holder
    notify.send(
        Notice.BOOKING_CANCELLED,
        other,
        about_holder=booking.holder if other is booking.holder else None,
        link=_link(booking, "holder" if other is booking.holder else "provider"),
        context={"by": actor, "starts": _starts(booking)},
    )
    db.session.commit()
    return booking


def _money_back(session_id: int, charge: int, actor: User | None) -> None:
    # The card first (cancel, or capture the charge); it also releases an authorisation left over
    # from a failed funding round, which has no ledger hold.
    card_payments.take_for_session(session_id, charge, actor)
    s = db.session.get(BookingSession, session_id)
    if s is None or s.hold_id is None or ledger.held_remaining(s.hold_id) <= 0:
        return
    booking = s.booking
    if charge > 0:
        s.capture_id = ledger.capture(
            s.hold_id,
            charge,
            idempotency_key=f"s{s.id}-cancel-charge",
            actor=actor,
            on_behalf_of=booking.holder,
            reference=booking.reference,
        ).id
        db.session.commit()  # the payout call below needs a clean session
        card_payments.pay_provider(session_id, actor)
    else:
        ledger.release(
            s.hold_id,
            idempotency_key=f"s{s.id}-r{booking.hold_round}-release",
            actor=actor,
            on_behalf_of=booking.holder,
        )


def backup_offers(booking: Booking) -> list[Listing]:
    """The named back-ups still offered, in the holder's order: shown first after a provider cancels."""
    return [b.listing for b in booking.backups if b.listing.is_live]


def report_no_show(
    actor: User, holder: User | None, session_id: int, now: datetime | None = None
) -> BookingSession:
    """Either side reports the other did not turn up. A holder no-show is charged as a late
    cancellation; a provider no-show releases everything. Raises NotFound, IllegalTransition,
    InvalidInput (before the session started), NotPermitted (the provider, acting for the holder)."""
    now = now or _now()
    s = _session(session_id)
    booking = s.booking
    _refuse_own_work(booking, holder, actor, "report a no-show")
    if actor.role_enum is Role.PROVIDER:
        _require_provider(booking, actor)
    else:
        _require_holder_side(booking, holder, actor)
    kind = _kind_of(actor, booking.holder)
    rules.transition(s.state, Event.REPORT_NO_SHOW, kind)
    if now < s.start_at:
        raise InvalidInput(
            "You can report a no-show only once the session should have started.", field="session"
        )
    if kind is ActorKind.PROVIDER:
        out = rules.cancellation_charge(
            _policy(booking.listing), s.price_pence, s.start_at, s.start_at, ActorKind.HOLDER.value
        )
        charge, who = out.charge_pence, "holder"
    else:
        charge, who = 0, "provider"
    db.session.commit()
    _money_back(s.id, charge, actor)
    s = _session(session_id)
    s.state = S.NO_SHOW.value
    s.no_show_by, s.charge_pence = who, charge
    audit.record(
        actor,
        "booking.no_show",
        "booking_session",
        s.id,
        on_behalf_of=booking.holder,
        details={"booking_id": booking.id, "no_show_by": who, "charge_pence": charge},
    )
    _close_if_done(s.booking)
    db.session.commit()
    return s


# ---------------------------------------------------------------- pause and resume


def current_pause(holder_id: int) -> HolderPause | None:
    return db.session.scalar(
        select(HolderPause).where(
            HolderPause.holder_id == holder_id, HolderPause.resumed_at.is_(None)
        )
    )


def pause(actor: User, holder: User, *, reason: str, until: date | None = None) -> HolderPause:
    """Pause every booking (crisis, hospital): holds released, no charges, providers told.

    Raises InvalidInput (reason, until), Conflict (already paused).
    """
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(
            "Say why support is paused (only brokers and the provider see that it "
            "is paused, not why).",
            field="reason",
        )
    if until is not None and until < date.today():
        raise InvalidInput("The date must be today or later.", field="until")
    if current_pause(holder.id) is not None:
        raise Conflict("Support is already paused.", field="reason")
    kind = _kind_of(actor, holder)
    candidates = list(
        db.session.scalars(
            select(Booking).where(
                Booking.holder_id == holder.id,
                Booking.state.in_([S.ACCEPTED.value, S.FUNDS_HELD.value, S.PAYMENT_FAILED.value]),
            )
        )
    )
    releases = []
    for booking in candidates:
        rules.transition(booking.state, Event.PAUSE, kind)
        for s in booking.sessions:
            if s.state in (S.FUNDS_HELD.value, S.ACCEPTED.value, S.PAYMENT_FAILED.value):
                releases.append(s.id)
    db.session.commit()
    for sid in releases:
        _money_back(sid, 0, actor)  # the policy waives charges while paused
    record = HolderPause(
        holder_id=holder.id,
        reason=reason[:500],
        until=until,
        paused_by_id=actor.id,
        booking_ids=[b.id for b in candidates],
    )
    db.session.add(record)
    for booking in candidates:
        booking = _lock_booking(booking.id)
        booking.state = S.PAUSED.value
        for s in booking.sessions:
            if s.id in releases:
                s.state = S.PAUSED.value
                s.hold_id = None
        notify.send(
            Notice.BOOKING_PAUSED,
            booking.provider_profile.user,
            link=_link(booking, "provider"),
            context={"by": actor, "reference": booking.reference},
        )
    audit.record(
        actor,
        "booking.paused",
        "holder",
        holder.id,
        on_behalf_of=holder,
        details={
            "bookings": [b.id for b in candidates],
            "until": until.isoformat() if until else None,
        },
    )
    db.session.commit()
    return record


def resume(actor: User, holder: User, *, now: datetime | None = None) -> list[Booking]:
    """Restart paused bookings with the same providers; sessions whose time passed are dropped
    free of charge and money is held again for the rest. Raises Conflict (not paused)."""
    now = now or _now()
    record = current_pause(holder.id)
    if record is None:
        raise Conflict("Support is not paused.")
    kind = _kind_of(actor, holder)
    record.resumed_at, record.resumed_by_id = now, actor.id
    resumed = []
    for booking_id in record.booking_ids:
        booking = _lock_booking(booking_id)
        if booking.state != S.PAUSED.value:
            continue
        booking.state = rules.transition(booking.state, Event.RESUME, kind).value
        booking.hold_round += 1
        for s in booking.sessions:
            if s.state == S.PAUSED.value:
                s.state = S.CANCELLED.value if s.start_at <= now else S.ACCEPTED.value
                if s.state == S.CANCELLED.value:
                    s.charge_pence, s.outcome_note = (
                        0,
                        "Missed while support was paused: nothing to pay.",
                    )
        notify.send(
            Notice.BOOKING_RESUMED,
            booking.provider_profile.user,
            link=_link(booking, "provider"),
            context={"by": actor, "reference": booking.reference},
        )
        resumed.append(booking.id)
    audit.record(
        actor,
        "booking.resumed",
        "holder",
        holder.id,
        on_behalf_of=holder,
        details={"bookings": resumed},
    )
    db.session.commit()
    return [_fund(booking_id, actor) for booking_id in resumed]


# ---------------------------------------------------------------- pooled bookings


def _join_pool_hold_pending(booking: Booking, holder: User) -> None:
    budget = budgets.current_budget(holder.id)
    assert budget is not None and booking.min_participants
    share = -(-booking.total_pence // booking.min_participants)
    booking.participants.append(
        PoolParticipant(holder_id=holder.id, budget_id=budget.id, held_pence=share)
    )


def _participant(booking_id: int, holder_id: int) -> PoolParticipant:
    part = db.session.scalar(
        select(PoolParticipant).where(
            PoolParticipant.booking_id == booking_id, PoolParticipant.holder_id == holder_id
        )
    )
    if part is None:
        raise NotFound("We could not find that place in the group session.")
    return part


def _pool_terms_of(booking: Booking) -> rules.PoolTerms:
    """A pooled booking's terms, as request_booking stored them."""
    # request_booking stores all three for every pooled booking (quote_booking refuses a pool
    # without them); callers check the booking is pooled first.
    assert (
        booking.min_participants is not None
        and booking.max_participants is not None
        and booking.join_deadline is not None
    )
    return rules.PoolTerms(
        booking.total_pence,
        booking.min_participants,
        booking.max_participants,
        booking.join_deadline,
    )


def _hold_pool_share(booking_id: int, holder_id: int, actor: User | None) -> None:
    part = _participant(booking_id, holder_id)
    booking = part.booking
    try:
        tx = ledger.hold(
            part.budget_id,
            part.held_pence,
            category=_plan_category(booking),
            idempotency_key=f"b{booking_id}-pool-h{holder_id}-hold",
            actor=actor,
            on_behalf_of=part.holder,
            reference=booking.reference,
        )
    except DomainError:
        db.session.rollback()
        db.session.delete(_participant(booking_id, holder_id))
        if booking.holder_id == holder_id:
            booking.state = S.CANCELLED.value
            for s in booking.sessions:
                s.state = S.CANCELLED.value
        db.session.commit()
        raise
    _participant(booking_id, holder_id).hold_id = tx.id
    db.session.commit()


def join_pool(
    actor: User, holder: User, booking_id: int, *, now: datetime | None = None
) -> PoolParticipant:
    """Join a pooled session: the most this holder could pay is held from their own budget.

    Raises Conflict (full, closed, already in), InsufficientFunds, NeedsApproval, NotFound.
    """
    now = now or _now()
    booking = _lock_booking(booking_id)
    if booking.kind != "pooled" or booking.state in (
        S.CANCELLED.value,
        S.DECLINED.value,
        S.NOT_APPROVED.value,
        S.SETTLED.value,
    ):
        raise NotFound("We could not find that group session.")
    terms = _pool_terms_of(booking)
    rules.check_can_join(terms, [p.holder_id for p in booking.participants], holder.id, now)
    budget = budgets.current_budget(holder.id)
    if budget is None:
        raise InvalidInput("There is no budget to pay from yet.", field="booking")
    booking.participants.append(
        PoolParticipant(
            holder_id=holder.id, budget_id=budget.id, held_pence=terms.hold_per_person_pence
        )
    )
    audit.record(
        actor,
        "booking.pool_joined",
        "booking",
        booking.id,
        on_behalf_of=holder,
        details={"held_pence": terms.hold_per_person_pence},
    )
    db.session.commit()
    _hold_pool_share(booking_id, holder.id, actor)
    return _participant(booking_id, holder.id)


def _release_pool(booking_id: int, actor: User | None) -> None:
    booking = get_booking(booking_id)
    for part in booking.participants:
        if part.hold_id is not None and ledger.held_remaining(part.hold_id) > 0:
            ledger.release(
                part.hold_id,
                idempotency_key=f"b{booking_id}-pool-h{part.holder_id}-release",
                actor=actor,
                on_behalf_of=part.holder,
            )
    booking = get_booking(booking_id)
    for part in booking.participants:
        part.state = "released"
    db.session.commit()


def _capture_pool(booking: Booking, s: BookingSession, actor: User | None) -> None:
    for part in booking.participants:
        if part.state != "joined" or part.hold_id is None:
            continue
        share = part.share_pence if part.share_pence is not None else part.held_pence
        part.capture_id = ledger.capture(
            part.hold_id,
            share,
            idempotency_key=f"b{booking.id}-pool-h{part.holder_id}-capture",
            actor=actor,
            on_behalf_of=part.holder,
            reference=booking.reference,
        ).id
    for part in get_booking(booking.id).participants:
        if part.state == "joined":
            part.state = "paid"


def decide_pool(booking_id: int, *, now: datetime | None = None) -> bool | None:
    """At the deadline: run (final shares fixed) or release every hold. None if not yet due."""
    now = now or _now()
    booking = _lock_booking(booking_id)
    if booking.pool_decided_at is not None or booking.kind != "pooled":
        return None
    terms = _pool_terms_of(booking)
    decision = rules.decide_pool(terms, [p.holder_id for p in booking.participants], now)
    if decision is None:
        db.session.rollback()
        return None
    booking.pool_decided_at = now
    if decision.runs:
        for part in booking.participants:
            part.share_pence = decision.shares[part.holder_id]
        audit.record(
            None, "booking.pool_runs", "booking", booking.id, details={"shares": decision.shares}
        )
        db.session.commit()
        return True
    audit.record(
        None, "booking.pool_released", "booking", booking.id, details={"reason": decision.reason}
    )
    db.session.commit()
    _release_pool(booking_id, None)
    booking = _lock_booking(booking_id)
    booking.state = S.CANCELLED.value
    booking.cancel_reason = decision.reason
    for s in booking.sessions:
        if s.state in [x.value for x in OPEN_SESSION_STATES]:
            s.state = S.CANCELLED.value
    for part in booking.participants:
        notify.send(
            Notice.MONEY_RELEASED,
            part.holder,
            about_holder=part.holder,
            link=_link(booking),
            context={"provider": booking.provider_profile.user, "starts": _starts(booking)},
        )
    db.session.commit()
    return False


# ---------------------------------------------------------------- the scheduled job


def run_due(now: datetime | None = None) -> JobReport:
    """`carefair bookings auto-confirm`: notices, automatic confirmations and pool decisions."""
    now = now or _now()
    report = JobReport()
    settings = _settings()
    delivered = list(
        db.session.scalars(
            select(BookingSession)
            .where(BookingSession.state == S.DELIVERED.value)
            .order_by(BookingSession.id)
        )
    )
    for s in delivered:
        holder = s.booking.holder
        # record_delivery sets delivered_at as the session becomes delivered; nothing clears it.
        assert s.delivered_at is not None
        cosign = needs_cosign(s.booking)
        plan = rules.confirmation_plan(s.delivered_at, cosign, settings)
        if plan.auto_confirm_at is None or plan.notice_at is None:  # both None, or neither
            continue
        try:
            if s.auto_confirm_notice_at is None and now >= plan.notice_at:
                s.auto_confirm_notice_at = now
                notify.send(
                    Notice.HOURS_AUTO_CONFIRM_SOON,
                    holder,
                    about_holder=holder,
                    link=_link(s.booking),
                    context={
                        "provider": s.booking.provider_profile.user,
                        "deadline": plan.auto_confirm_at,
                    },
                )
                db.session.commit()
                report.notices_sent += 1
            if rules.may_auto_confirm(
                now, s.delivered_at, cosign, s.auto_confirm_notice_at is not None, settings
            ):
                _settle(s.id, s.price_pence, None, event=Event.AUTO_CONFIRM, kind=ActorKind.SYSTEM)
                report.auto_confirmed += 1
        except DomainError as err:
            db.session.rollback()
            report.errors.append(f"session {s.id}: {err.message}")
    pools = list(
        db.session.scalars(
            select(Booking.id).where(
                Booking.kind == "pooled",
                Booking.pool_decided_at.is_(None),
                Booking.join_deadline <= now,
                Booking.state.not_in([S.CANCELLED.value, S.DECLINED.value, S.NOT_APPROVED.value]),
            )
        )
    )
    for booking_id in pools:
        outcome = decide_pool(booking_id, now=now)
        if outcome is True:
            report.pools_run += 1
        elif outcome is False:
            report.pools_released += 1
    return report


# ---------------------------------------------------------------- reading


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


def booking_for_provider(provider: User, booking_id: int) -> Booking:
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        raise NotFound("We could not find that booking.")
    _require_provider(booking, provider)
    return booking


def get_booking(booking_id: int) -> Booking:
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        raise NotFound("We could not find that booking.")
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
    """Monthly CSVs per provider for council finance: council_managed sessions settled that month."""
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
        assert s.settled_on is not None and s.charge_pence is not None
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
    return build_monthly_remittances(lines, year, month)


def local(day: date, at: time) -> datetime:
    """A UK wall-clock date and time as an aware datetime (what the forms collect)."""
    return datetime.combine(day, at, tzinfo=UK)
