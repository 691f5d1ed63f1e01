"""Timed exits, reminders, clock changes, bank holidays and hour caps through the services.

The clock is always set by the test (a `now` passed in, or app.clock frozen): nothing waits.
"""

from datetime import UTC, date, time, timedelta

import pytest
from sqlalchemy import func, select

from app import clock
from app.domain import hour_caps
from app.domain.access import Role
from app.domain.bookings import IllegalTransition, WeeklyPattern
from app.domain.ledger import Account
from app.errors import InvalidInput, NotPermitted
from app.extensions import db
from app.models import AuditEvent, Listing, Notification, OutboundEmail
from app.services import bookings, budgets, ledger
from tests.booking_helpers import at, holder_with_budget, live_listing, next_weekday, one_off

pytestmark = pytest.mark.database
H = timedelta(hours=1)


def _notes(user, event=None) -> list[Notification]:
    query = select(Notification).where(Notification.user_id == user.id)
    if event is not None:
        query = query.where(Notification.event == event)
    return list(db.session.scalars(query.order_by(Notification.id)))


def _count_all(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def market(app_ctx, make_user):
    broker = make_user(Role.BROKER)
    provider, listing = live_listing(make_user, broker)
    other, alternative = live_listing(make_user, broker)
    holder, budget = holder_with_budget(make_user)
    return provider, listing, other, alternative, holder, budget, broker


# ------------------------------------------------------------------ requests expire


def test_unanswered_request_reminds_the_provider_a_day_before_then_expires(market):
    provider, listing, _, alternative, holder, _, _ = market
    made = clock.now()
    booking = bookings.request_booking(holder, holder, one_off(listing), now=made)

    assert bookings.run_timers(made + 47 * H).changed == 0
    report = bookings.run_timers(made + 48 * H)
    assert report.providers_reminded == 1
    [reminder] = _notes(provider, "request_expires_soon")
    assert holder.name in reminder.subject
    assert bookings.run_timers(made + 49 * H).changed == 0  # reminded once only

    report = bookings.run_timers(made + 72 * H)
    assert report.expired == 1
    db.session.refresh(booking)
    assert booking.state == "expired"
    assert {s.state for s in booking.sessions} == {"expired"}
    assert booking.alternatives_offered == [alternative.id]
    assert bookings.expired_alternatives(booking) == [alternative]
    [told] = _notes(holder, "booking_expired")
    assert "has expired" in told.subject
    assert _notes(provider, "request_expired_provider")
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "booking.expired"))
    assert audit is not None and audit.details["alternatives_offered"] == [alternative.id]
    with pytest.raises(IllegalTransition):
        bookings.accept(provider, booking.id)


def test_expiry_frees_the_slot_for_someone_else(market, make_user):
    _, listing, _, _, holder, _, _ = market
    made = clock.now()
    day = next_weekday(2)
    bookings.request_booking(holder, holder, one_off(listing, day=day), now=made)
    bookings.run_timers(made + 72 * H)
    second, _ = holder_with_budget(make_user)
    again = bookings.request_booking(second, second, one_off(listing, day=day), now=made + 73 * H)
    assert again.state == "requested"


def test_a_second_run_changes_nothing(market):
    _, listing, _, _, holder, _, _ = market
    made = clock.now()
    bookings.request_booking(holder, holder, one_off(listing), now=made)
    bookings.run_timers(made + 72 * H)
    before = (_count_all(Notification), _count_all(OutboundEmail), _count_all(AuditEvent))
    again = bookings.run_timers(made + 72 * H)
    assert again.changed == 0 and again.errors == []
    later = bookings.run_timers(made + 200 * H)
    assert later.changed == 0
    assert (_count_all(Notification), _count_all(OutboundEmail), _count_all(AuditEvent)) == before


def test_request_for_tomorrow_expires_shortly_before_it_without_a_reminder(market):
    provider, listing, _, _, holder, _, _ = market
    day = next_weekday(1)
    made = at(day - timedelta(days=1), 14)  # Monday 2pm for Tuesday 10am
    booking = bookings.request_booking(holder, holder, one_off(listing, day=day), now=made)
    deadline = bookings.request_deadline(booking)
    assert deadline == at(day, 10).astimezone(UTC) - 12 * H
    assert bookings.run_timers(deadline - timedelta(minutes=1)).changed == 0
    assert bookings.run_timers(deadline).expired == 1
    assert _notes(provider, "request_expires_soon") == []


def test_answered_request_is_left_alone(market):
    provider, listing, _, _, holder, _, _ = market
    made = clock.now()
    booking = bookings.request_booking(holder, holder, one_off(listing), now=made)
    bookings.decline(provider, booking.id, reason="Away that week")
    assert bookings.run_timers(made + 100 * H).expired == 0
    db.session.refresh(booking)
    assert booking.state == "declined"


def test_expired_pooled_request_releases_the_share_it_held(app_ctx, make_user):
    provider, listing = live_listing(make_user)
    holder, budget = holder_with_budget(make_user)
    made = clock.now()
    day = next_weekday(1, weeks_ahead=2)
    data = one_off(listing, day=day, kind="pooled", min_participants=2, max_participants=4,
                   join_deadline=at(day - timedelta(days=2), 12))
    booking = bookings.request_booking(holder, holder, data, now=made)
    joined, other_budget = holder_with_budget(make_user)
    bookings.join_pool(joined, joined, booking.id, now=made + H)
    assert ledger.balances(budget.id)[Account.HELD] > 0
    assert ledger.balances(other_budget.id)[Account.HELD] > 0
    assert bookings.run_timers(made + 72 * H).expired == 1
    assert _notes(joined, "booking_expired")  # everyone in the group is told
    assert ledger.balances(other_budget.id)[Account.HELD] == 0
    db.session.refresh(booking)
    assert booking.state == "expired"
    assert ledger.balances(budget.id)[Account.HELD] == 0
    assert {p.state for p in booking.participants} == {"released"}
    assert bookings.run_timers(made + 73 * H).changed == 0


# ------------------------------------------------------------------ broker queue


def test_broker_queue_reminds_brokers_then_escalates_to_a_council_admin_then_expires(
        app_ctx, make_user):
    broker = make_user(Role.BROKER)
    admin = make_user(Role.COUNCIL_ADMIN)
    _, listing = live_listing(make_user, broker)
    # Transport only in the plan: personal assistance needs a broker's approval.
    holder, _ = holder_with_budget(make_user, categories={"transport": 300_000})
    made = clock.now()
    day = next_weekday(1, weeks_ahead=2)
    booking = bookings.request_booking(holder, holder, one_off(listing, day=day), now=made)
    assert booking.state == "awaiting_approval"

    assert bookings.run_timers(made + 23 * H).changed == 0
    assert bookings.run_timers(made + 24 * H).brokers_reminded == 1
    assert _notes(broker, "approval_waiting")
    assert bookings.run_timers(made + 25 * H).changed == 0
    assert bookings.run_timers(made + 72 * H).escalated == 1
    [escalation] = _notes(admin, "approval_escalated")
    assert holder.name in escalation.subject
    assert bookings.run_timers(made + 73 * H).changed == 0
    assert bookings.run_timers(at(day, 10) - 12 * H).expired == 1
    db.session.refresh(booking)
    assert booking.state == "expired"
    assert _notes(holder, "booking_expired")
    assert bookings.run_timers(at(day, 10)).changed == 0


def test_approval_restarts_the_providers_time_to_answer(app_ctx, make_user):
    broker = make_user(Role.BROKER)
    provider, listing = live_listing(make_user, broker)
    holder, _ = holder_with_budget(make_user, categories={"transport": 300_000})
    made = clock.now()
    day = next_weekday(1, weeks_ahead=2)
    booking = bookings.request_booking(holder, holder, one_off(listing, day=day), now=made)
    with clock.frozen(made + 60 * H):
        bookings.approve(broker, booking.id)
    # 72 hours after the request, but only 12 after the approval: not expired.
    assert bookings.run_timers(made + 72 * H).expired == 0
    assert bookings.run_timers(made + 60 * H + 48 * H).providers_reminded == 1
    assert bookings.run_timers(made + 60 * H + 72 * H).expired == 1


# ------------------------------------------------------------------ reminders before visits


def test_visit_reminders_go_to_both_sides_once_without_health_details(market):
    provider, listing, _, _, holder, _, _ = market
    booking = bookings.request_booking(
        holder, holder, one_off(listing, notes="Help with my insulin and personal care"))
    bookings.accept(provider, booking.id)
    start = booking.sessions[0].start_at
    assert bookings.run_timers(start - 25 * H).visit_reminders == 0
    assert bookings.run_timers(start - 24 * H).visit_reminders == 1
    [mine] = _notes(holder, "visit_reminder")
    [theirs] = _notes(provider, "visit_reminder_provider")
    for note in (mine, theirs):
        text = f"{note.subject} {note.body}".lower()
        for private in ("insulin", "personal care", listing.title.lower(), "£"):
            assert private not in text
    assert provider.name in mine.subject and holder.name in theirs.subject
    assert bookings.run_timers(start - 2 * H).visit_reminders == 0


def test_visit_reminder_is_emailed_as_the_holders_preferences_say(market):
    from app.domain.notifications import Category, Delivery
    from app.services import notify

    provider, listing, _, _, holder, _, _ = market
    notify.set_preferences(holder, {Category.BOOKINGS: Delivery.OFF})
    booking = bookings.request_booking(holder, holder, one_off(listing))
    bookings.accept(provider, booking.id)
    bookings.run_timers(booking.sessions[0].start_at - 20 * H)
    [mine] = _notes(holder, "visit_reminder")
    assert mine.email == "none"  # in the inbox only, as chosen
    [theirs] = _notes(provider, "visit_reminder_provider")
    assert theirs.email != "none"


def test_provider_reminded_once_to_record_a_finished_session(market):
    provider, listing, _, _, holder, _, _ = market
    booking = bookings.request_booking(holder, holder, one_off(listing))
    bookings.accept(provider, booking.id)
    s = booking.sessions[0]
    assert bookings.run_timers(s.end_at + 23 * H).record_reminders == 0
    assert bookings.run_timers(s.end_at + 24 * H).record_reminders == 1
    [note] = _notes(provider, "hours_to_record")
    assert holder.name in note.subject
    assert bookings.run_timers(s.end_at + 48 * H).record_reminders == 0
    bookings.record_delivery(provider, s.id, actual_start=s.start_at, actual_end=s.end_at,
                             now=s.end_at + 49 * H)
    assert bookings.run_timers(s.end_at + 50 * H).changed == 0


# ------------------------------------------------------------------ clock changes


CHANGES = [date(2026, 3, 29), date(2026, 10, 25), date(2027, 3, 28), date(2027, 10, 31)]


@pytest.mark.parametrize("change", CHANGES, ids=str)
def test_sleep_in_series_across_a_change_is_booked_recorded_charged_and_confirmed(
        app_ctx, make_user, change):
    provider, listing = live_listing(make_user, slots=False, minimum_units=1)
    holder, budget = holder_with_budget(make_user, funded=200_000)
    saturday = change - timedelta(days=1)
    made = at(saturday - timedelta(days=10), 9)
    pattern = WeeklyPattern(frozenset({5}), time(23), 8 * 60, saturday - timedelta(days=7),
                            count=3, end_time=time(7))
    data = bookings.BookingInput(listing.id, kind="recurring", pattern=pattern)
    booking = bookings.request_booking(holder, holder, data, now=made)
    spring = change.month == 3
    real = 7 if spring else 9
    assert [s.price_pence for s in booking.sessions] == [13200, real * 1650, 13200]
    assert [s.start_at.astimezone(bookings.UK).time() for s in booking.sessions] == [time(23)] * 3
    assert {s.end_at.astimezone(bookings.UK).time() for s in booking.sessions} == {time(7)}
    # Accepted on the day it was asked for: all three nights fall in the funding horizon.
    clock.travel_to(made)
    try:
        booking = bookings.accept(provider, booking.id)
    finally:
        clock.travel_to(None)
    assert ledger.balances(budget.id)[Account.HELD] == 2 * 13200 + real * 1650

    night = booking.sessions[1]
    delivered = night.end_at + timedelta(minutes=5)
    bookings.record_delivery(provider, night.id, actual_start=night.start_at,
                             actual_end=night.end_at, now=delivered)
    # Auto-confirm: 72 real hours after delivery, the notice 24 real hours before.
    assert bookings.run_due(delivered + 48 * H - timedelta(minutes=1)).notices_sent == 0
    assert bookings.run_due(delivered + 48 * H).notices_sent == 1
    assert bookings.run_due(delivered + 72 * H - timedelta(minutes=1)).auto_confirmed == 0
    assert bookings.run_due(delivered + 72 * H).auto_confirmed == 1
    db.session.refresh(night)
    assert night.state == "settled" and night.charge_pence == real * 1650

    first = booking.sessions[0]
    bookings.record_delivery(provider, first.id, actual_start=first.start_at,
                             actual_end=first.end_at, now=first.end_at)
    bookings.confirm_session(holder, holder, first.id)
    db.session.refresh(first)
    assert first.state == "settled" and first.charge_pence == 13200


@pytest.mark.parametrize("change", CHANGES, ids=str)
def test_a_request_made_before_a_change_expires_after_72_real_hours(market, change):
    _, listing, _, _, holder, _, _ = market
    made = at(change - timedelta(days=1), 9)
    booking = bookings.request_booking(
        holder, holder, one_off(listing, day=change + timedelta(days=16)), now=made)
    deadline = bookings.request_deadline(booking)
    assert deadline - made.astimezone(UTC) == 72 * H
    # On the wall clock the deadline moved an hour with the clocks.
    wall = deadline.astimezone(bookings.UK).hour
    assert wall == (10 if change.month == 3 else 8)
    assert bookings.run_timers(deadline - timedelta(minutes=1)).expired == 0
    assert bookings.run_timers(deadline).expired == 1


@pytest.mark.parametrize("change", CHANGES, ids=str)
def test_visit_reminder_the_day_before_a_change_day_session(market, change):
    provider, listing, _, _, holder, _, _ = market
    booking = bookings.request_booking(
        holder, holder, one_off(listing, day=change + timedelta(days=1)),
        now=at(change - timedelta(days=7), 9))
    bookings.accept(provider, booking.id)
    start = booking.sessions[0].start_at  # Monday 10am, after the change
    assert bookings.run_timers(start - 24 * H - timedelta(minutes=1)).visit_reminders == 0
    assert bookings.run_timers(start - 24 * H).visit_reminders == 1


# ------------------------------------------------------------------ bank holidays


def _set_listing(listing, **values):
    row = db.session.get(Listing, listing.id)
    for name, value in values.items():
        setattr(row, name, value)
    db.session.commit()


def test_price_check_shows_the_bank_holiday_rate_before_sending(app_ctx, make_user):
    _, listing = live_listing(make_user, slots=False)
    _set_listing(listing, bank_holiday_price_pence=2475)
    holder, _ = holder_with_budget(make_user)
    boxing_observed = date(2027, 12, 27)  # Boxing Day on Sunday: Monday 27th (substitute)
    quote = bookings.quote_booking(holder, one_off(listing, day=boxing_observed, start=10, end=13),
                                   now=at(date(2027, 12, 1), 9))
    assert quote.total_pence == 3 * 2475
    assert quote.bank_holiday_rate_pence == 2475
    [(start, name)] = quote.bank_holiday_sessions
    assert "Boxing Day" in name or "Christmas" in name
    ordinary = bookings.quote_booking(holder, one_off(listing, day=date(2027, 12, 29)),
                                      now=at(date(2027, 12, 1), 9))
    assert ordinary.total_pence == 2 * 1650 and ordinary.bank_holiday_sessions == ()


def test_group_session_on_a_bank_holiday_is_refused_unless_the_provider_says_so(
        app_ctx, make_user):
    _, listing = live_listing(make_user, slots=False)
    holder, _ = holder_with_budget(make_user)
    may_day = date(2027, 5, 3)
    data = one_off(listing, day=may_day, kind="pooled", min_participants=2, max_participants=4,
                   join_deadline=at(may_day - timedelta(days=2), 12))
    with pytest.raises(InvalidInput, match="does not meet on bank holidays") as err:
        bookings.quote_booking(holder, data, now=at(date(2027, 4, 1), 9))
    assert "Monday 3 May 2027" in err.value.message
    _set_listing(listing, meets_on_bank_holidays=True)
    assert bookings.quote_booking(holder, data, now=at(date(2027, 4, 1), 9)).total_pence > 0


def test_weekly_group_series_skips_bank_holidays(app_ctx, make_user):
    from app.domain.vetting import ProviderType
    from tests.provider_helpers import verified_provider

    broker = make_user(Role.BROKER)
    _, listing = verified_provider(make_user, broker, provider_type=ProviderType.GROUP_ACTIVITY,
                                   funding_modes=["council_managed"], minimum_units=1)
    holder, _ = holder_with_budget(make_user)
    pattern = WeeklyPattern(frozenset({0}), time(14), 90, date(2027, 4, 26), count=3)
    data = bookings.BookingInput(listing.id, kind="recurring", pattern=pattern)
    quote = bookings.quote_booking(holder, data, now=at(date(2027, 4, 1), 9))
    days = [s.start.astimezone(bookings.UK).date() for s in quote.sessions]
    assert days == [date(2027, 4, 26), date(2027, 5, 10), date(2027, 5, 17)]  # not 3 May


# ------------------------------------------------------------------ hour caps


def _capped_holder(make_user, hours=6):
    holder, budget = holder_with_budget(make_user)
    budgets.save_plan(holder.id, "Seeing my friends", "Get out more",
                      {"personal_assistant": 1_000_000, "transport": 300_000}, actor=None,
                      weekly_minutes={"personal_assistant": hours * 60})
    return holder, budget


def test_booking_past_the_weekly_cap_is_refused_saying_what_is_left(market, make_user):
    provider, listing, _, _, _, _, _ = market
    holder, _ = _capped_holder(make_user)
    day = next_weekday(0, weeks_ahead=2)
    bookings.request_booking(holder, holder, one_off(listing, day=day, start=9, end=13))
    with pytest.raises(bookings.OverHourCap) as err:
        bookings.request_booking(holder, holder,
                                 one_off(listing, day=day + timedelta(days=2), start=9, end=12))
    message = err.value.message
    assert "up to 6 hours a week" in message
    assert "4 hours booked already, leaving 2 hours that week" in message
    assert "this booking needs 3 hours" in message
    # Two hours still fit.
    ok = bookings.request_booking(holder, holder,
                                  one_off(listing, day=day + timedelta(days=2), start=9, end=11))
    assert ok.state == "requested"


def test_a_broker_agrees_more_hours_for_one_week_and_it_is_audited(market, make_user):
    _, listing, _, _, _, _, broker = market
    holder, _ = _capped_holder(make_user, hours=2)
    day = next_weekday(0, weeks_ahead=2)
    with pytest.raises(bookings.OverHourCap):
        bookings.quote_booking(holder, one_off(listing, day=day, start=9, end=13))
    with pytest.raises(NotPermitted):
        bookings.agree_exception(holder, holder, "personal_assistant", day, 120, "Respite week")
    bookings.agree_exception(broker, holder, "personal_assistant", day + timedelta(days=3), 120,
                             "Carer away that week")
    assert bookings.quote_booking(holder, one_off(listing, day=day, start=9, end=13)).total_pence
    with pytest.raises(bookings.OverHourCap):  # the following week keeps the plan's cap
        bookings.quote_booking(holder, one_off(listing, day=day + timedelta(days=7), start=9,
                                                 end=13))
    audit = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "hour_cap.exception_agreed"))
    assert audit.actor_id == broker.id and audit.details["extra_minutes"] == 120


def test_a_holder_changing_the_weekly_cap_is_a_proposal_for_a_broker(market, make_user):
    holder, _ = _capped_holder(make_user)
    plan = budgets.save_plan(holder.id, "Seeing my friends", "Get out more",
                             {"personal_assistant": 1_000_000, "transport": 300_000},
                             actor=holder, weekly_minutes={"personal_assistant": 40 * 60})
    assert plan.review is not None and plan.review.status == "waiting"
    agreed = ledger.current_plan(holder.id)
    caps = {c.code: c.max_minutes_per_week for c in agreed.categories}
    assert caps["personal_assistant"] == 6 * 60  # money decisions still read the agreed cap



def test_carefair_bookings_run_due_is_the_one_cron_job(app, market):
    _, listing, _, _, holder, _, _ = market
    booking = bookings.request_booking(holder, holder, one_off(listing),
                                       now=clock.now() - 80 * H)
    runner = app.test_cli_runner()
    with clock.frozen(clock.now()):
        result = runner.invoke(args=["bookings", "run-due"])
        assert result.exit_code == 0, result.output
        assert "Requests expired: 1." in result.output
        again = runner.invoke(args=["bookings", "run-due"])
    assert "Requests expired: 0." in again.output and "Visit reminders: 0." in again.output
    db.session.refresh(booking)
    assert booking.state == "expired"


def test_alternatives_covering_the_holders_district_come_first(market, make_user):
    from app.models import ProviderDistrict

    _, listing, _, alternative, holder, _, broker = market
    _, nearer_price = live_listing(make_user, broker, price="16.00")
    _, local = live_listing(make_user, broker, price="19.00")
    db.session.add(ProviderDistrict(profile_id=local.profile_id, district="TF9"))
    holder.home_district = "TF9"
    db.session.commit()
    booking = bookings.request_booking(holder, holder, one_off(listing), now=clock.now())
    assert [x.id for x in bookings.similar_listings(booking, 3)] == [
        local.id, alternative.id, nearer_price.id]


def test_everyone_in_a_group_session_is_reminded(app_ctx, make_user):
    provider, listing = live_listing(make_user)
    first, _ = holder_with_budget(make_user)
    second, _ = holder_with_budget(make_user)
    day = next_weekday(1, weeks_ahead=2)
    data = one_off(listing, day=day, kind="pooled", min_participants=2, max_participants=4,
                   join_deadline=at(day - timedelta(days=2), 12))
    booking = bookings.request_booking(first, first, data)
    bookings.join_pool(second, second, booking.id)
    bookings.accept(provider, booking.id)
    start = booking.sessions[0].start_at
    assert bookings.run_timers(start - 20 * H).visit_reminders == 1
    assert _notes(first, "visit_reminder") and _notes(second, "visit_reminder")
    assert len(_notes(provider, "visit_reminder_provider")) == 1


def test_free_slots_leave_out_weeks_the_plan_has_used_up(market, make_user):
    from app.services import free_time

    provider, listing, _, _, _, _, _ = market
    holder, _ = _capped_holder(make_user, hours=4)
    offered = free_time.next_free(listing, minutes=120, limit=200, holder_id=holder.id)
    first_week = hour_caps.week_of(offered[0].start)
    booked = [s for s in offered if hour_caps.week_of(s.start) == first_week]
    # Book two two-hour visits in the first week offered: its four hours are used.
    first = bookings.request_booking(holder, holder, bookings.BookingInput(
        listing.id, kind="one_off", start=booked[0].start, end=booked[0].end))
    later = next(s for s in booked if s.start >= first.sessions[0].end_at + timedelta(hours=3))
    bookings.request_booking(holder, holder, bookings.BookingInput(
        listing.id, kind="one_off", start=later.start, end=later.end))
    again = free_time.next_free(listing, minutes=120, limit=200, holder_id=holder.id)
    assert again and all(hour_caps.week_of(s.start) != first_week for s in again)
    # Anyone else still sees that week's free times.
    assert any(hour_caps.week_of(s.start) == first_week
               for s in free_time.next_free(listing, minutes=120, limit=200))


def test_a_group_that_does_not_meet_on_bank_holidays_offers_no_free_times_on_them(
        app_ctx, make_user):
    from app.domain.listings import Slot
    from app.domain.vetting import ProviderType
    from app.services import free_time, providers
    from tests.provider_helpers import verified_provider

    broker = make_user(Role.BROKER)
    user, listing = verified_provider(make_user, broker,
                                      provider_type=ProviderType.GROUP_ACTIVITY,
                                      funding_modes=["council_managed"], minimum_units=1)
    providers.set_availability(user, [Slot(0, time(10), time(12))])  # Mondays 10-12
    now = at(date(2027, 4, 20), 9)  # May Day is Monday 3 May 2027, Spring bank holiday 31 May

    def mondays():
        return {s.start.astimezone(bookings.UK).date()
                for s in free_time.next_free(listing, minutes=60, limit=50, now=now)}

    offered = mondays()
    assert date(2027, 4, 26) in offered and date(2027, 5, 10) in offered
    assert date(2027, 5, 3) not in offered and date(2027, 5, 31) not in offered
    _set_listing(listing, meets_on_bank_holidays=True)
    assert date(2027, 5, 3) in mondays()
