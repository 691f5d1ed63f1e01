"""Asking for a booking: quoting the price and the money left, and writing the request."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.domain import bookings as rules
from app.domain.access import Role
from app.domain.approval import ApprovalCode, approval_reasons
from app.domain.bank_holidays import bank_holidays, holidays_touched
from app.domain.booking_categories import plan_category_for
from app.domain.bookings import ActorKind, Event, Session
from app.domain.budget import category_label
from app.domain.errors import InvariantBroken
from app.domain.ledger import Account
from app.domain.notifications import Event as Notice
from app.domain.vetting import ProviderType
from app.errors import (
    Conflict,
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
    Listing,
    ProviderProfile,
    User,
)
from app.models.booking import NON_BLOCKING_STATES
from app.services import (
    audit,
    budgets,
    card_payments,
    card_steps,
    conflicts,
    ledger,
    listings,
    notify,
    transaction,
)
from app.services.booked_policy import take_listing_terms
from app.services.bookings._common import (
    KINDS,
    MEET_AND_GREET_MAX_MINUTES,
    RULE_CHECKS,
    BookingInput,
    BookingQuote,
    S,
    _brokers,
    _kind_of,
    _link,
    _lock_holder,
    _now,
    _pounds,
    _require_broker,
    _settings,
    _terms,
)
from app.services.bookings.approval import _apply_decision
from app.services.bookings.horizon import horizon_end
from app.services.bookings.hour_caps import check_hour_cap
from app.services.bookings.pauses import current_pause
from app.services.bookings.pools import _join_pool_hold_pending


def _is_group(listing: Listing, kind: str) -> bool:
    return kind == "pooled" or listing.profile.provider_type == ProviderType.GROUP_ACTIVITY.value


def _sessions_for(data: BookingInput, now: datetime, listing: Listing | None = None
                  ) -> list[Session]:
    """The sessions asked for. A group that does not meet on bank holidays skips them in a
    series, and a single group session on one is refused (design.md, bank holidays)."""
    region = _settings().bank_holiday_region
    no_holidays = (listing is not None and _is_group(listing, data.kind)
                   and not listing.meets_on_bank_holidays)
    if data.kind not in KINDS:
        raise InvalidInput("Choose what kind of booking this is.", field="kind")
    if data.kind == "recurring":
        if data.pattern is None:
            raise InvalidInput(
                "A repeating booking needs a last date or a number of sessions.", field="until"
            )
        settings = _settings()
        skip: frozenset[date] = frozenset()
        if no_holidays:
            last = data.pattern.first_date + timedelta(weeks=settings.max_recurring_weeks)
            skip = frozenset(bank_holidays(region, data.pattern.first_date, last))
        return rules.expand_weekly(
            data.pattern,
            now,
            max_sessions=settings.max_recurring_sessions,
            max_weeks=settings.max_recurring_weeks,
            skip_days=skip,
        )
    if data.start is None:
        raise InvalidInput("Enter when the session starts.", field="start")
    if data.end is None:
        raise InvalidInput("Enter when the session ends.", field="end")
    session = Session(data.start, data.end)
    rules.validate_sessions([session], now)
    if no_holidays:
        touched = holidays_touched(session.start, session.end, region)
        if touched:
            day, name = next(iter(touched.items()))
            raise InvalidInput(
                f"This group does not meet on bank holidays, and {day:%A} {day.day} "
                f"{day:%B %Y} is {name}. Choose another day.", field="start")
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
    sessions = _sessions_for(data, now, listing)
    _check_availability(listing.profile, sessions)
    _clashes(listing.profile_id, sessions)
    free = data.kind == "meet_and_greet"
    # Each visit at the holder's own rate on its day: an existing client keeps an older price
    # until a rise reaches them (listings.client_rates); everyone else pays the listing's.
    rate_on = listings.client_rates(listing, holder.id)
    region = _settings().bank_holiday_region
    breakdowns = [rules.quote_breakdown(_terms(listing, rate_on(s.start)), s.start, s.end,
                                        bank_holiday_region=region)
                  for s in sessions]
    prices = [0 if free else q.total_pence for q in breakdowns]
    on_holidays = tuple(
        (s.start, ", ".join(holidays_touched(s.start, s.end, region).values()))
        for s, q in zip(sessions, breakdowns, strict=True) if q.on_bank_holiday and not free)
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
    codes: tuple[str, ...] = ()
    hold_now = total
    if budget is not None:
        balance = ledger.balances(budget.id)
        available = balance[Account.AVAILABLE] + balance[Account.CONTINGENCY]
        contingency = balance[Account.CONTINGENCY]
    if not free:
        if not (budget is not None):
            raise InvariantBroken("expected: budget is not None")
        if budget.funding_mode not in listing.funding_modes:
            raise InvalidInput(
                "This provider does not take payment from your kind of budget.", field="listing_id"
            )
        if data.kind == "pooled":
            pool = _pool_terms(data, total)
            hold_now = pool.hold_per_person_pence
        elif data.kind == "recurring":
            # Funded as money arrives (issue 18): only the sessions in the funding horizon are
            # held now, so only they must be affordable now; the rest are held as instalments come.
            hold_now = sum(p for s, p in zip(sessions, prices, strict=True)
                           if s.start < horizon_end(
                               now, card=budget.funding_mode == card_payments.CARD_MODE))
        if hold_now > available:
            raise InsufficientFunds(
                _not_enough_now(budget, sessions, prices, hold_now, available,
                                pooled=data.kind == "pooled"),
                field="start",
            )
        plan = ledger.current_plan(holder.id)
        if plan is not None and category is not None:
            check_hour_cap(holder.id, plan, category, sessions)
        first, last = sessions[0].start, sessions[-1].start
        request = rules.ApprovalRequest(
            total_pence=hold_now if data.kind == "pooled" else total,
            hold_now_pence=hold_now,
            category=category or "other",
            category_label=category_label(category),
            plan_categories=frozenset(plan.amounts) if plan else frozenset(),
            available_pence=available,
            contingency_pence=contingency,
            weekly_budget_pence=budget.annual_pence // 52,
            rule_holds=tuple(r for check in RULE_CHECKS for r in check(holder, listing, total)),
            weeks_spanned=(last - first).days // 7 + 1,
        )
        coded = approval_reasons(request, _settings())
        reasons = [r.text for r in coded]
        codes = tuple(r.code.value for r in coded)
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
        on_holidays,
        listing.bank_holiday_price_pence if on_holidays else None,
        codes,
    )


def _pool_terms(data: BookingInput, total: int) -> rules.PoolTerms:
    if data.min_participants is None or data.max_participants is None:
        raise InvalidInput(
            "Enter the smallest and largest number of people.", field="min_participants"
        )
    if data.join_deadline is None:
        raise InvalidInput("Enter when joining closes.", field="join_deadline")
    if data.start is not None and data.join_deadline > data.start:
        # The shares are fixed at the deadline: a session paid before then would take the most
        # anyone could pay from everyone.
        raise InvalidInput("Joining must close before the session starts.",
                           field="join_deadline")
    return rules.PoolTerms(total, data.min_participants, data.max_participants, data.join_deadline)


def _not_enough_now(budget: Budget, sessions: Sequence[Session], prices: Sequence[int],
                    hold_now: int, available: int, *, pooled: bool) -> str:
    """Why a booking cannot be afforded now, and what can be: for regular support, how many of
    the first sessions the money available now covers, and when the next payment comes in."""
    if not pooled and hold_now < sum(prices):
        # A weekly series: only the sessions in the funding horizon must be affordable now.
        message = (f"The sessions in the next {_settings().funding_horizon_weeks} weeks cost "
                   f"{_pounds(hold_now)} but only {_pounds(available)} is available.")
    else:
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


@transaction.use_case
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
    booking = _request(actor, holder, data, now=now, arranged_by=arranged_by,
                       options_offered=options_offered, options_note=options_note)
    _commit_request()
    if booking.kind == "pooled":
        # The organiser's share, held with the request: authorised on their card if it pays so.
        booking_id = booking.id
        card_steps.run(booking_id=booking_id)
        booking = db.session.get(Booking, booking_id) or booking
        db.session.refresh(booking)
    return booking


def _commit_request() -> None:
    try:
        transaction.commit()
    except IntegrityError as err:
        db.session.rollback()
        raise Conflict(
            "The provider was booked for that time a moment ago. Choose another time.",
            field="start",
        ) from err


def _request(
    actor: User,
    holder: User,
    data: BookingInput,
    *,
    now: datetime | None = None,
    arranged_by: User | None = None,
    options_offered: Sequence[int] = (),
    options_note: str | None = None,
    tell_provider: bool = True,
) -> Booking:
    """request_booking's work, in the caller's transaction. `tell_provider=False`: the caller
    tells the provider itself (cover: the provider already said yes)."""
    now = now or _now()
    if actor.role_enum is Role.PROVIDER:
        raise NotPermitted("Providers cannot book their own services.")
    listing = _bookable_listing(data.listing_id)
    # Lock the provider's profile row first: concurrent requests for this provider queue here.
    db.session.scalar(
        select(ProviderProfile.id)
        .where(ProviderProfile.id == listing.profile_id)
        .with_for_update(key_share=True)
    )
    # Then the holder: a pause in progress finishes first, and a paused holder books nothing.
    _lock_holder(holder.id)
    if current_pause(holder.id) is not None:
        raise Conflict(
            "Support is paused, so no new bookings can be made. Resume support first.",
            field="listing_id",
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
        state=S.ENQUIRY,  # every booking starts here; the events below move it on
        total_pence=quote.total_pence,
        funding_mode=quote.funding_mode,
        notes=(data.notes or "").strip()[:2000],
        created_by_id=actor.id,
        waiting_since=now,  # the request's timed exit counts from here (app.domain.waits)
        approval_reasons=quote.approval_reasons,
        approval_codes=list(quote.approval_codes),
        from_contingency=ApprovalCode.CONTINGENCY.value in quote.approval_codes,
        arranged_by_id=arranged_by.id if arranged_by else None,
        options_offered=list(options_offered),
        options_note=options_note,
        min_participants=data.min_participants if data.kind == "pooled" else None,
        max_participants=data.max_participants if data.kind == "pooled" else None,
        join_deadline=data.join_deadline if data.kind == "pooled" else None,
    )
    take_listing_terms(booking, listing)  # kept with the booking: later listing changes never reach it
    kind = _kind_of(actor, holder)
    steps = [(Event.REQUEST, kind)]
    if quote.approval_reasons:
        steps.append((Event.HOLD_FOR_APPROVAL, ActorKind.SYSTEM))
    booking.sessions = [
        BookingSession(
            provider_profile_id=listing.profile_id,
            start_at=s.start,
            end_at=s.end,
            state=S.ENQUIRY,
            price_pence=p,
        )
        for s, p in zip(quote.sessions, quote.prices, strict=True)
    ]
    for event, by in steps:
        state = rules.move(booking, event, by)
        for session in booking.sessions:
            rules.move(session, event, by)
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
            "approval_codes": list(quote.approval_codes),
            "arranged_by_id": arranged_by.id if arranged_by else None,
            "options_offered": list(options_offered),
        },
        at=now,
    )
    if data.kind == "pooled":
        _join_pool_hold_pending(booking, holder)  # the organiser's share, in this transaction
    if state is S.AWAITING_APPROVAL:
        for broker in _brokers():
            notify.send(
                Notice.BOOKING_NEEDS_APPROVAL,
                broker,
                link=_link(booking, "broker"),
                context={"client": holder},
            )
    elif tell_provider:
        notify.send(
            Notice.BOOKING_REQUESTED,
            listing.profile.user,
            link=_link(booking, "provider"),
            context={"client": holder, "starts": quote.sessions[0].start},
        )
    return booking


@transaction.use_case
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
    listing = db.session.get(Listing, data.listing_id)
    if listing is not None:
        conflicts.refuse_if_conflicted(broker, listing.profile_id, "arrange bookings with them")
    booking = _request(
        broker,
        holder,
        data,
        arranged_by=broker,
        options_offered=options_offered,
        options_note=options_note.strip()[:1000],
    )
    if booking.state == S.AWAITING_APPROVAL.value:
        _apply_decision(broker, booking, Event.APPROVE, "Arranged by the broker with the holder.")
    _commit_request()
    return booking
