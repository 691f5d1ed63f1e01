"""Booking services on the database: request, approval, acceptance with holds, delivery, settlement."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app import clock
from app.domain.access import Role
from app.domain.bookings import IllegalTransition, WeeklyPattern
from app.domain.ledger import Account
from app.errors import Conflict, InsufficientFunds, InvalidInput
from app.models import AuditEvent, Booking, BookingSession, LedgerTransaction, Notification
from app.services import bookings, ledger
from tests.booking_helpers import at, holder_with_budget, live_listing, next_weekday, one_off

pytestmark = pytest.mark.database


@pytest.fixture
def setup(app_ctx, make_user):
    provider, listing = live_listing(make_user)
    holder, budget = holder_with_budget(make_user)
    return provider, listing, holder, budget


def _holds(db_session, budget):
    return db_session.scalar(
        select(func.count())
        .select_from(LedgerTransaction)
        .where(LedgerTransaction.budget_id == budget.id, LedgerTransaction.operation == "hold")
    )


def test_quote_shows_price_and_what_is_left(setup):
    _, listing, holder, budget = setup
    quote = bookings.quote_booking(holder, one_off(listing, start=10, end=13))
    assert quote.total_pence == 4950  # 3 hours at £16.50
    assert quote.available_pence == 100_000
    assert quote.left_after_pence == 100_000 - 4950
    assert quote.approval_reasons == []


def test_request_accept_deliver_confirm_settles_and_captures(setup, db_session):
    provider, listing, holder, budget = setup
    booking = bookings.request_booking(holder, holder, one_off(listing))
    assert booking.state == "requested"
    assert _holds(db_session, budget) == 0  # nothing held until the provider accepts
    assert (
        db_session.scalar(select(Notification).where(Notification.user_id == provider.id))
        is not None
    )
    booking = bookings.accept(provider, booking.id)
    assert booking.state == "funds_held"
    assert ledger.balances(budget.id)[Account.HELD] == 3300
    session = booking.sessions[0]
    with pytest.raises(InvalidInput) as err:
        bookings.record_delivery(
            provider, session.id, actual_start=session.start_at, actual_end=session.end_at
        )
    assert err.value.field == "actual_start"  # it has not happened yet
    later = session.end_at + timedelta(hours=1)
    bookings.record_delivery(
        provider,
        session.id,
        actual_start=session.start_at,
        actual_end=session.end_at,
        notes="Shopping and lunch",
        now=later,
    )
    settled = bookings.confirm_session(holder, holder, session.id)
    assert settled.state == "settled" and settled.charge_pence == 3300
    balances = ledger.balances(budget.id)
    assert (balances[Account.HELD], balances[Account.SPENT]) == (0, 3300)
    assert db_session.get(Booking, booking.id).state == "settled"
    actions = set(db_session.scalars(select(AuditEvent.action)))
    assert {
        "booking.requested",
        "booking.accepted",
        "booking.funds_held",
        "booking.delivered",
        "booking.settled",
        "ledger.hold",
        "ledger.capture",
    } <= actions


def test_recurring_pattern_makes_sessions_and_needs_an_end(setup):
    _, listing, holder, _ = setup
    first = next_weekday(0)
    pattern = WeeklyPattern(
        frozenset({0, 2}), at(first, 9).timetz().replace(tzinfo=None), 120, first, count=4
    )
    booking = bookings.request_booking(
        holder, holder, bookings.BookingInput(listing.id, kind="recurring", pattern=pattern)
    )
    assert len(booking.sessions) == 4 and booking.total_pence == 4 * 3300
    with pytest.raises(InvalidInput) as err:
        bookings.quote_booking(
            holder,
            bookings.BookingInput(
                listing.id,
                kind="recurring",
                pattern=WeeklyPattern(frozenset({1}), pattern.start_time, 120, first),
            ),
        )
    assert err.value.field == "until"


@pytest.mark.parametrize(
    "change, field",
    [
        (dict(start=9, end=8), "end"),
        (dict(day="past"), "start"),
    ],
)
def test_bad_times_are_refused_beside_the_field_and_nothing_is_written(
    setup, db_session, change, field
):
    _, listing, holder, _ = setup
    if change.get("day") == "past":
        data = bookings.BookingInput(
            listing.id,
            start=datetime.now(UTC) - timedelta(days=2),
            end=datetime.now(UTC) - timedelta(days=2, hours=-2),
        )
    else:
        data = one_off(listing, **change)
    with pytest.raises(InvalidInput) as err:
        bookings.request_booking(holder, holder, data)
    assert err.value.field == field
    assert db_session.scalar(select(func.count()).select_from(Booking)) == 0


def test_double_booking_the_provider_is_refused(setup, make_user):
    _, listing, holder, _ = setup
    other, _ = holder_with_budget(make_user)
    bookings.request_booking(holder, holder, one_off(listing, start=10, end=12))
    with pytest.raises(Conflict) as err:
        bookings.request_booking(other, other, one_off(listing, start=11, end=13))
    assert "already booked" in err.value.message and err.value.field == "start"
    # Back to back is fine: sessions are half-open.
    bookings.request_booking(other, other, one_off(listing, start=12, end=14))


def test_hidden_listing_and_changed_price_are_refused(setup, db_session):
    _, listing, holder, _ = setup
    with pytest.raises(InvalidInput) as err:
        bookings.request_booking(holder, holder, one_off(listing, expected_total_pence=3000))
    assert err.value.field == "expected_total"
    listing.is_live = False
    db_session.commit()
    with pytest.raises(InvalidInput) as err:
        bookings.request_booking(holder, holder, one_off(listing))
    assert "no longer offered" in err.value.message


def test_outside_availability_is_refused(setup):
    _, listing, holder, _ = setup
    saturday = next_weekday(5)
    with pytest.raises(InvalidInput) as err:
        bookings.quote_booking(holder, one_off(listing, day=saturday))
    assert "not usually available" in err.value.message


def test_outside_the_plan_waits_for_a_broker_who_approves(app_ctx, make_user, db_session):
    provider, listing = live_listing(make_user)
    holder, budget = holder_with_budget(make_user, categories={"transport": 300_000})
    broker = make_user(Role.BROKER)
    booking = bookings.request_booking(holder, holder, one_off(listing))
    assert booking.state == "awaiting_approval"
    assert "not one of the spending categories" in booking.approval_reasons[0]
    assert bookings.approval_queue() == [booking]
    with pytest.raises(IllegalTransition):
        bookings.accept(provider, booking.id)
    bookings.approve(broker, booking.id, note="Agreed at review")
    booking = bookings.accept(provider, booking.id)
    assert booking.state == "funds_held"
    assert (
        db_session.get(LedgerTransaction, booking.sessions[0].hold_id).approved_by_id == broker.id
    )


def test_not_enough_money_at_acceptance_leaves_booking_unfunded_and_nothing_held(
    setup, make_user, db_session
):
    provider, listing, _, _ = setup
    holder, budget = holder_with_budget(make_user, funded=5000)
    first = next_weekday(0)
    pattern = WeeklyPattern(
        frozenset({0}), at(first, 9).timetz().replace(tzinfo=None), 120, first, count=1
    )
    a = bookings.request_booking(
        holder, holder, bookings.BookingInput(listing.id, kind="recurring", pattern=pattern)
    )
    b = bookings.request_booking(holder, holder, one_off(listing, day=next_weekday(1)))
    bookings.accept(provider, a.id)
    b = bookings.accept(provider, b.id)
    assert b.state == "payment_failed"
    assert ledger.balances(budget.id)[Account.HELD] == 3300  # only the first booking's money
    assert b.sessions[0].hold_id is None


def test_too_expensive_is_refused_before_anything_is_written(setup, make_user, db_session):
    _, listing, _, _ = setup
    holder, _ = holder_with_budget(make_user, funded=1000)
    with pytest.raises(InsufficientFunds) as err:
        bookings.request_booking(holder, holder, one_off(listing))
    assert "only £10.00 is available. The next payment into the budget is" in err.value.message
    assert db_session.scalar(select(func.count()).select_from(Booking)) == 0


def test_regular_support_beyond_the_money_now_says_how_many_sessions_it_covers(
        setup, make_user, db_session):
    from app.services import budgets

    _, listing, _, _ = setup
    # Only the sessions in the four-week funding horizon must be affordable now (issue 18): £70
    # is two £33 sessions, and the horizon holds three.
    holder, budget = holder_with_budget(make_user, funded=7_000)
    first = next_weekday(0)
    clock.travel_to(at(first - timedelta(days=1), 12))  # the Sunday before: weeks 1-4 inside
    pattern = WeeklyPattern(
        frozenset({0}), at(first, 9).timetz().replace(tzinfo=None), 120, first, count=20
    )
    try:
        with pytest.raises(InsufficientFunds) as err:
            bookings.request_booking(
                holder, holder, bookings.BookingInput(listing.id, kind="recurring", pattern=pattern))
    finally:
        clock.travel_to(None)
    second = first + timedelta(weeks=1)
    due, _ = budgets.next_instalment(budget)
    assert err.value.message.startswith(
        "The sessions in the next 4 weeks cost £132.00 but only £70.00 is available.")
    assert "covers the first 2 of these 20 sessions (up to Monday " + f"{second.day} {second:%B %Y}" \
        in err.value.message
    assert f"{due.day} {due:%B %Y}" in err.value.message
    assert db_session.scalar(select(func.count()).select_from(Booking)) == 0


def test_late_cancellation_by_holder_charges_policy_and_provider_cancel_is_free(app_ctx, make_user):
    provider, listing = live_listing(make_user, charge="10.00", notice=24 * 14)
    holder, budget = holder_with_budget(make_user)
    booking = bookings.request_booking(holder, holder, one_off(listing))
    bookings.accept(provider, booking.id)
    booking = bookings.cancel_booking(holder, holder, booking.id, reason="Changed plans")
    assert booking.state == "cancelled" and booking.sessions[0].charge_pence == 1000
    balances = ledger.balances(budget.id)
    assert (balances[Account.HELD], balances[Account.SPENT]) == (0, 1000)
    again = bookings.request_booking(holder, holder, one_off(listing))
    bookings.accept(provider, again.id)
    again = bookings.cancel_booking(provider, None, again.id)
    assert again.sessions[0].charge_pence == 0
    assert ledger.balances(budget.id)[Account.SPENT] == 1000


def test_dispute_partial_refund_captures_the_rest(setup):
    provider, listing, holder, budget = setup
    broker_user = None
    booking = bookings.request_booking(holder, holder, one_off(listing))
    bookings.accept(provider, booking.id)
    s = booking.sessions[0]
    bookings.record_delivery(
        provider,
        s.id,
        actual_start=s.start_at,
        actual_end=s.end_at,
        now=s.end_at + timedelta(minutes=5),
    )
    bookings.dispute_session(holder, holder, s.id, reason="She left after an hour")
    from tests.factories import UserFactory

    broker_user = UserFactory(role="broker")
    with pytest.raises(InvalidInput) as err:
        bookings.resolve_dispute(broker_user, s.id, outcome="partial_refund", refund_pence=3300)
    assert err.value.field == "refund"
    s = bookings.resolve_dispute(
        broker_user, s.id, outcome="partial_refund", refund_pence=1650, note="One hour delivered"
    )
    assert s.state == "settled" and s.charge_pence == 1650
    balances = ledger.balances(budget.id)
    assert (balances[Account.SPENT], balances[Account.HELD]) == (1650, 0)


def test_at_risk_holder_never_auto_confirms_and_broker_cosigns(app_ctx, make_user, db_session):
    provider, listing = live_listing(make_user)
    holder, budget = holder_with_budget(make_user, at_risk=True)
    broker = make_user(Role.BROKER)
    booking = bookings.request_booking(holder, holder, one_off(listing))
    bookings.accept(provider, booking.id)
    s = booking.sessions[0]
    bookings.record_delivery(
        provider, s.id, actual_start=s.start_at, actual_end=s.end_at, now=s.end_at
    )
    report = bookings.run_due(now=s.end_at + timedelta(days=10))
    assert report.auto_confirmed == 0 and db_session.get(BookingSession, s.id).state == "delivered"
    bookings.confirm_session(holder, holder, s.id)
    assert db_session.get(BookingSession, s.id).state == "delivered"  # still waits for the broker
    assert s in bookings.cosign_queue()
    done = bookings.confirm_session(broker, None, s.id)
    assert done.state == "settled" and done.cosigned_by_id == broker.id


def test_others_auto_confirm_after_notice_and_72_hours(setup, db_session):
    provider, listing, holder, budget = setup
    booking = bookings.request_booking(holder, holder, one_off(listing))
    bookings.accept(provider, booking.id)
    s = booking.sessions[0]
    bookings.record_delivery(
        provider, s.id, actual_start=s.start_at, actual_end=s.end_at, now=s.end_at
    )
    early = bookings.run_due(now=s.end_at + timedelta(hours=10))
    assert (early.notices_sent, early.auto_confirmed) == (0, 0)
    notice = bookings.run_due(now=s.end_at + timedelta(hours=50))
    assert (notice.notices_sent, notice.auto_confirmed) == (1, 0)
    due = bookings.run_due(now=s.end_at + timedelta(hours=73))
    assert due.auto_confirmed == 1
    assert db_session.get(BookingSession, s.id).state == "settled"
    assert ledger.balances(budget.id)[Account.SPENT] == 3300


def test_pause_releases_holds_and_resume_keeps_the_provider(setup, db_session):
    provider, listing, holder, budget = setup
    booking = bookings.request_booking(holder, holder, one_off(listing))
    bookings.accept(provider, booking.id)
    bookings.pause(holder, holder, reason="In hospital")
    assert db_session.get(Booking, booking.id).state == "paused"
    assert ledger.balances(budget.id)[Account.HELD] == 0
    assert db_session.scalar(
        select(Notification).where(
            Notification.user_id == provider.id, Notification.event == "booking_paused"
        )
    )
    with pytest.raises(Conflict):
        bookings.pause(holder, holder, reason="again")
    [resumed] = bookings.resume(holder, holder)
    assert resumed.state == "funds_held" and resumed.provider_profile_id == listing.profile_id
    assert ledger.balances(budget.id)[Account.HELD] == 3300


def test_pooled_session_runs_at_minimum_else_releases_everyone(app_ctx, make_user, db_session):
    provider, listing = live_listing(make_user, price="30.00", minimum_units=1)
    a, budget_a = holder_with_budget(make_user)
    b, budget_b = holder_with_budget(make_user)
    c, budget_c = holder_with_budget(make_user)
    day = next_weekday(2)
    deadline = at(day, 9) - timedelta(days=2)
    data = bookings.BookingInput(
        listing.id,
        kind="pooled",
        start=at(day, 10),
        end=at(day, 12),
        min_participants=2,
        max_participants=3,
        join_deadline=deadline,
    )
    pool = bookings.request_booking(a, a, data)
    assert ledger.balances(budget_a.id)[Account.HELD] == 3000  # £60 split between the minimum 2
    bookings.join_pool(b, b, pool.id)
    bookings.join_pool(c, c, pool.id)
    with pytest.raises(Conflict):
        bookings.join_pool(b, b, pool.id)
    bookings.accept(provider, pool.id)
    report = bookings.run_due(now=deadline + timedelta(minutes=1))
    assert report.pools_run == 1
    s = pool.sessions[0]
    bookings.record_delivery(
        provider, s.id, actual_start=s.start_at, actual_end=s.end_at, now=s.end_at
    )
    bookings.confirm_session(a, a, s.id)
    assert [ledger.balances(x.id)[Account.SPENT] for x in (budget_a, budget_b, budget_c)] == [
        2000
    ] * 3
    assert sum(ledger.balances(x.id)[Account.HELD] for x in (budget_a, budget_b, budget_c)) == 0
    # A pool that does not fill releases every hold.
    lonely = bookings.request_booking(
        a,
        a,
        bookings.BookingInput(
            listing.id,
            kind="pooled",
            start=at(day, 14),
            end=at(day, 16),
            min_participants=3,
            max_participants=4,
            join_deadline=deadline,
        ),
    )
    assert bookings.run_due(now=deadline + timedelta(minutes=1)).pools_released == 1
    assert db_session.get(Booking, lonely.id).state == "cancelled"
    assert ledger.balances(budget_a.id)[Account.HELD] == 0


def test_broker_arranges_recording_other_options(setup, make_user, db_session):
    provider, listing, holder, _ = setup
    broker = make_user(Role.BROKER)
    with pytest.raises(InvalidInput) as err:
        bookings.arrange_booking(
            broker, holder.id, one_off(listing), options_offered=[], options_note=""
        )
    assert err.value.field == "options_note"
    booking = bookings.arrange_booking(
        broker,
        holder.id,
        one_off(listing),
        options_offered=[999],
        options_note="Also offered Shropshire Care; Joan chose Maria.",
    )
    assert booking.arranged_by_id == broker.id and booking.options_offered == [999]
    audit = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "booking.requested"))
    assert audit.actor_id == broker.id and audit.on_behalf_of_id == holder.id


def test_remittance_csv_lists_settled_council_managed_sessions(setup):
    provider, listing, holder, _ = setup
    booking = bookings.request_booking(holder, holder, one_off(listing))
    bookings.accept(provider, booking.id)
    s = booking.sessions[0]
    bookings.record_delivery(
        provider, s.id, actual_start=s.start_at, actual_end=s.end_at, now=s.end_at
    )
    bookings.confirm_session(holder, holder, s.id)
    today = datetime.now(UTC).date()
    [file] = bookings.remittance_files(today.year, today.month)
    assert file.total_pence == 3300 and f"B-{booking.id}/{s.id}" in file.content
    assert holder.name not in file.content and "2.00" in file.content


def test_an_open_flag_that_holds_makes_a_broker_approve_new_bookings(setup, db_session):
    from app.models import Flag

    _, listing, holder, _ = setup
    flag = Flag(rule="price_outlier", severity="high", subject_kind="provider",
                subject_id=str(listing.profile_id), explanation="Prices far above similar providers.",
                evidence={}, action="hold", provider_profile_id=listing.profile_id)
    db_session.add(flag)
    db_session.commit()
    booking = bookings.request_booking(holder, holder, one_off(listing))
    assert booking.state == "awaiting_approval"
    assert f"concern (F-{flag.id})" in " ".join(booking.approval_reasons)


def test_a_dismissed_or_advisory_flag_does_not_hold_bookings(setup, db_session):
    from app.models import Flag

    _, listing, holder, _ = setup
    db_session.add(Flag(rule="above_council_rate", severity="low", subject_kind="provider",
                        subject_id=str(listing.profile_id), explanation="Above the council rate.",
                        evidence={}, action="advise", provider_profile_id=listing.profile_id))
    db_session.commit()
    assert bookings.quote_booking(holder, one_off(listing)).approval_reasons == []


def _provider_acting_for(holder, provider):
    from app.domain.access import DelegateKind
    from app.services import delegation

    _, token = delegation.invite(holder, holder.id, provider.email, DelegateKind.NOMINATED, set())
    delegation.accept(provider, token)


def test_provider_acting_for_the_holder_cannot_confirm_their_own_hours(setup, db_session):
    from app.errors import NotPermitted

    provider, listing, holder, budget = setup
    booking = bookings.request_booking(holder, holder, one_off(listing))
    bookings.accept(provider, booking.id)
    s = booking.sessions[0]
    bookings.record_delivery(
        provider, s.id, actual_start=s.start_at, actual_end=s.end_at, now=s.end_at
    )
    _provider_acting_for(holder, provider)
    with pytest.raises(NotPermitted) as err:
        bookings.confirm_session(provider, holder, s.id)
    assert err.value.message == (
        f"You provided this support, so you cannot confirm it for {holder.name}. "
        "Someone else who acts for them, or their broker, must."
    )
    with pytest.raises(NotPermitted):
        bookings.dispute_session(provider, holder, s.id, reason="Too few hours")
    assert db_session.get(BookingSession, s.id).state == "delivered"
    assert ledger.balances(budget.id)[Account.HELD] == 3300  # nothing paid
    # The holder still confirms, and a broker co-signs, because the provider acts for them.
    assert bookings.confirm_session(holder, holder, s.id).state == "delivered"
    assert s in bookings.cosign_queue()


def test_hours_of_a_provider_who_acts_for_the_holder_never_confirm_themselves(
        setup, make_user, db_session):
    provider, listing, holder, budget = setup
    booking = bookings.request_booking(holder, holder, one_off(listing))
    bookings.accept(provider, booking.id)
    s = booking.sessions[0]
    bookings.record_delivery(
        provider, s.id, actual_start=s.start_at, actual_end=s.end_at, now=s.end_at
    )
    _provider_acting_for(holder, provider)
    # Their silence would be the provider's own say-so: no 72-hour automatic confirmation.
    report = bookings.run_due(now=s.end_at + timedelta(days=10))
    assert report.auto_confirmed == 0 and db_session.get(BookingSession, s.id).state == "delivered"
    assert ledger.balances(budget.id)[Account.HELD] == 3300
    assert s in bookings.cosign_queue()
    done = bookings.confirm_session(make_user(Role.BROKER), None, s.id)
    assert done.state == "settled" and ledger.balances(budget.id)[Account.SPENT] == 3300


def test_provider_acting_for_the_holder_cannot_cancel_or_report_a_no_show_for_them(
        setup, db_session):
    from app.errors import NotPermitted

    provider, listing, holder, budget = setup
    booking = bookings.request_booking(holder, holder, one_off(listing))
    bookings.accept(provider, booking.id)
    s = booking.sessions[0]
    _provider_acting_for(holder, provider)
    with pytest.raises(NotPermitted, match="cannot report a no-show for"):
        bookings.report_no_show(provider, holder, s.id, now=s.start_at + timedelta(hours=1))
    with pytest.raises(NotPermitted, match="cannot cancel it for"):
        bookings.cancel_booking(provider, holder, booking.id)
    assert db_session.get(BookingSession, s.id).state == "funds_held"
    assert ledger.balances(budget.id)[Account.HELD] == 3300
