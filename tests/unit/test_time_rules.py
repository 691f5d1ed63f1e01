"""Time that behaves: expiry deadlines, reminders, clock changes, bank holidays and weekly hour caps."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain import bank_holidays as bh
from app.domain import hour_caps, waits
from app.domain.booking_price import CancellationPolicy, ListingTerms, Unit, cancellation_charge
from app.domain.booking_price import quote_breakdown as qb
from app.domain.bookings import (
    BookingState,
    Event,
    IllegalTransition,
    NotYourMove,
    confirmation_plan,
    may_auto_confirm,
    transition,
)
from app.domain.errors import InvalidInput
from app.domain.schedule import Session, WeeklyPattern, expand_weekly
from app.domain.settings import CouncilSettings

UK = ZoneInfo("Europe/London")
CFG = CouncilSettings()
# The clocks change on the last Sunday of March (01:00 UTC, forward) and October (back).
SPRING_2026, AUTUMN_2026 = date(2026, 3, 29), date(2026, 10, 25)
SPRING_2027, AUTUMN_2027 = date(2027, 3, 28), date(2027, 10, 31)
CHANGE_DAYS = [SPRING_2026, AUTUMN_2026, SPRING_2027, AUTUMN_2027]


def uk(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UK)


def real_hours(a: datetime, b: datetime) -> float:
    return (b.astimezone(UTC) - a.astimezone(UTC)) / timedelta(hours=1)


# ------------------------------------------------------------- clock changes


@pytest.mark.parametrize("change", CHANGE_DAYS)
def test_weekly_series_keeps_its_wall_clock_time_across_the_change(change):
    pattern = WeeklyPattern(frozenset({change.weekday()}), time(10), 120,
                            change - timedelta(days=14), count=5)
    sessions = expand_weekly(pattern, uk(change, 0) - timedelta(days=30),
                             max_sessions=200, max_weeks=52)
    assert [s.start.astimezone(UK).time() for s in sessions] == [time(10)] * 5
    assert all(s.minutes == 120 for s in sessions)
    offsets = {s.start.astimezone(UK).utcoffset() for s in sessions}
    assert len(offsets) == 2  # both sides of the change, each at 10am local


@pytest.mark.parametrize(("night_before", "hours"), [
    (SPRING_2026, 7), (SPRING_2027, 7), (AUTUMN_2026, 9), (AUTUMN_2027, 9)])
def test_sleep_in_across_a_change_lasts_and_is_charged_its_real_length(night_before, hours):
    start = uk(night_before - timedelta(days=1), 23)
    end = uk(night_before, 7)
    session = Session(start, end)
    assert session.minutes == hours * 60
    q = qb(ListingTerms(Unit.HOUR, 1200), start, end)
    assert q.support_pence == 1200 * hours


@pytest.mark.parametrize(("change", "hours"), [
    (SPRING_2026, 7), (AUTUMN_2026, 9), (SPRING_2027, 7), (AUTUMN_2027, 9)])
def test_weekly_sleep_in_ends_at_its_wall_clock_time_and_lasts_7_or_9_hours(change, hours):
    saturday = change - timedelta(days=1)
    pattern = WeeklyPattern(frozenset({5}), time(23), 8 * 60, saturday - timedelta(days=7),
                            count=3, end_time=time(7))
    sessions = expand_weekly(pattern, uk(saturday, 0) - timedelta(days=30),
                             max_sessions=200, max_weeks=52)
    assert [s.minutes for s in sessions] == [8 * 60, hours * 60, 8 * 60]
    assert {s.end.astimezone(UK).time() for s in sessions} == {time(7)}
    assert {s.start.astimezone(UK).time() for s in sessions} == {time(23)}


@pytest.mark.parametrize("change", CHANGE_DAYS)
def test_auto_confirm_is_72_real_hours_across_a_change(change):
    delivered = uk(change - timedelta(days=1), 12)
    plan = confirmation_plan(delivered, False, CFG)
    assert real_hours(delivered, plan.auto_confirm_at) == 72
    assert real_hours(plan.notice_at, plan.auto_confirm_at) == 24
    just_before = plan.auto_confirm_at - timedelta(minutes=1)
    assert not may_auto_confirm(just_before.astimezone(UK), delivered, False, True, CFG)
    assert may_auto_confirm(plan.auto_confirm_at.astimezone(UK), delivered, False, True, CFG)


@pytest.mark.parametrize("change", [SPRING_2026, AUTUMN_2026])
def test_cancellation_notice_is_counted_in_real_hours(change):
    # 24 wall-clock hours before a 10am session the day after a change is 23 or 25 real hours.
    session = uk(change, 10)
    cancelled = uk(change - timedelta(days=1), 10)
    policy = CancellationPolicy(notice_hours=24, charge_pence=500)
    out = cancellation_charge(policy, 2000, session, cancelled, "holder")
    if change == SPRING_2026:
        assert out.charge_pence == 500  # only 23 real hours' notice
    else:
        assert out.charge_pence == 0  # 25 real hours


def test_a_time_the_spring_change_skips_is_taken_as_the_hour_after():
    pattern = WeeklyPattern(frozenset({6}), time(1, 30), 60, SPRING_2026, count=1)
    [s] = expand_weekly(pattern, uk(SPRING_2026, 0) - timedelta(days=1),
                        max_sessions=10, max_weeks=2)
    assert s.start.astimezone(UK).time() == time(2, 30)
    assert s.minutes == 60


@settings(max_examples=300, deadline=None)
@given(
    first=st.dates(min_value=date(2025, 1, 1), max_value=date(2030, 12, 31)),
    days=st.frozensets(st.integers(0, 6), min_size=1),
    start=st.times(),
    duration=st.integers(1, 24 * 60),
    count=st.integers(1, 60),
)
def test_series_expansion_property(first, days, start, duration, count):
    start = start.replace(second=0, microsecond=0, tzinfo=None)
    pattern = WeeklyPattern(days, start, duration, first, count=count)
    try:
        sessions = expand_weekly(pattern, uk(first, 0) - timedelta(days=1),
                                 max_sessions=200, max_weeks=60)
    except InvalidInput as err:
        # Sessions on consecutive days longer than the 23-hour spring day overlap: refused.
        assert "overlap" in err.message and duration > 23 * 60
        return
    assert len(sessions) == count
    for s in sessions:
        local = s.start.astimezone(UK)
        assert local.weekday() in days
        assert local.date() >= first
        # Real length is always the asked duration, whatever the clocks did.
        assert s.minutes == duration
        # The wall-clock time is kept, except a time the spring change skips (an hour later).
        if local.time() != start:
            asked = datetime.combine(local.date(), start, tzinfo=UK)
            assert asked.astimezone(UTC).astimezone(UK).time() != start  # it does not exist
            moved = datetime.combine(local.date(), start) + timedelta(hours=1)
            assert local.replace(tzinfo=None) == moved
    starts = [s.start.astimezone(UTC) for s in sessions]
    assert starts == sorted(starts)
    local_dates = [s.start.astimezone(UK).date() for s in sessions]
    assert len(set(local_dates)) == len(local_dates)  # never two on a day, never a day lost


@settings(max_examples=300, deadline=None)
@given(
    first=st.dates(min_value=date(2025, 1, 1), max_value=date(2030, 12, 31)),
    days=st.frozensets(st.integers(0, 6), min_size=1),
    start=st.times(),
    end=st.times(),
    count=st.integers(1, 60),
)
def test_series_with_an_end_time_keeps_both_wall_clock_times(first, days, start, end, count):
    start = start.replace(second=0, microsecond=0, tzinfo=None)
    end = end.replace(second=0, microsecond=0, tzinfo=None)
    wall = (datetime.combine(date(2001, 1, 1) + timedelta(days=end <= start), end)
            - datetime.combine(date(2001, 1, 1), start)) // timedelta(minutes=1)
    pattern = WeeklyPattern(days, start, wall, first, count=count, end_time=end)
    try:
        sessions = expand_weekly(pattern, uk(first, 0) - timedelta(days=1),
                                 max_sessions=200, max_weeks=60)
    except InvalidInput as err:
        # A session wholly inside the hour the spring change skips comes out empty, and
        # day-long sessions on consecutive days overlap on the 25-hour autumn day.
        assert (wall <= 60 and "after the start" in err.message) or (
            "overlap" in err.message and wall > 22 * 60)
        return
    assert len(sessions) == count
    for s in sessions:
        # The real length differs from the wall-clock length by at most the hour that changed.
        assert abs(s.minutes - wall) <= 60
        local_start, local_end = s.start.astimezone(UK), s.end.astimezone(UK)
        assert local_start.time() == start or _skipped(local_start.date(), start)
        end_day = local_start.date() + timedelta(days=end <= start)
        assert local_end.time() == end or _skipped(end_day, end)


def _skipped(day: date, at: time) -> bool:
    """Whether that wall-clock time does not exist on that day (the spring change)."""
    asked = datetime.combine(day, at, tzinfo=UK)
    return asked.astimezone(UTC).astimezone(UK).time() != at


# ------------------------------------------------------------- expiry and reminders


def test_request_expires_after_the_days_allowed_when_the_session_is_far_off():
    made = uk(date(2026, 6, 1), 9)
    deadline = waits.request_deadline(made, uk(date(2026, 6, 30), 10), CFG)
    assert real_hours(made, deadline) == 24 * CFG.request_expiry_days


def test_request_expires_before_a_near_first_session():
    made = uk(date(2026, 6, 1), 9)
    first = uk(date(2026, 6, 2), 10)
    deadline = waits.request_deadline(made, first, CFG)
    assert real_hours(deadline, first) == CFG.request_expiry_before_start_hours


def test_expiry_across_the_autumn_change_is_in_real_hours():
    made = uk(AUTUMN_2026 - timedelta(days=1), 9)
    deadline = waits.request_deadline(made, uk(date(2026, 11, 30), 9), CFG)
    assert real_hours(made, deadline) == 72
    assert deadline.astimezone(UK).hour == 8  # the wall clock shows an hour less


def test_provider_reminded_a_day_before_expiry_then_it_expires():
    made = uk(date(2026, 6, 1), 9)
    deadline = waits.request_deadline(made, uk(date(2026, 6, 30), 10), CFG)
    step = waits.request_step
    assert step(made + timedelta(hours=47), made, deadline, False, CFG) is waits.Step.NOTHING
    assert step(made + timedelta(hours=48), made, deadline, False, CFG) is waits.Step.REMIND_PROVIDER
    assert step(made + timedelta(hours=49), made, deadline, True, CFG) is waits.Step.NOTHING
    assert step(deadline, made, deadline, True, CFG) is waits.Step.EXPIRE
    # A job that was down past the deadline expires without a pointless reminder.
    assert step(deadline, made, deadline, False, CFG) is waits.Step.EXPIRE


def test_no_reminder_when_the_request_is_too_short_lived():
    made = uk(date(2026, 6, 1), 9)
    deadline = waits.request_deadline(made, uk(date(2026, 6, 1), 23), CFG)
    assert waits.provider_reminder_at(made, deadline, CFG) is None


def test_broker_queue_reminds_then_escalates_then_expires_before_the_session():
    made = uk(date(2026, 6, 1), 9)
    first = uk(date(2026, 6, 10), 9)
    step = waits.approval_step
    assert step(made + timedelta(hours=23), made, first, False, False, CFG) is waits.Step.NOTHING
    assert step(made + timedelta(hours=24), made, first, False, False, CFG) is waits.Step.REMIND_BROKERS
    assert step(made + timedelta(hours=71), made, first, True, False, CFG) is waits.Step.NOTHING
    assert step(made + timedelta(hours=72), made, first, True, False, CFG) is waits.Step.ESCALATE
    # Escalation waits for the reminder: a job down for days reminds first.
    assert step(made + timedelta(hours=80), made, first, False, False, CFG) is waits.Step.REMIND_BROKERS
    assert step(made + timedelta(hours=80), made, first, True, True, CFG) is waits.Step.NOTHING
    assert step(first - timedelta(hours=12), made, first, True, True, CFG) is waits.Step.EXPIRE


def test_only_the_system_expires_a_request_and_only_while_it_waits():
    assert transition(BookingState.REQUESTED, Event.EXPIRE, "system") is BookingState.EXPIRED
    assert transition(BookingState.AWAITING_APPROVAL, Event.EXPIRE, "system") is BookingState.EXPIRED
    with pytest.raises(NotYourMove):
        transition(BookingState.REQUESTED, Event.EXPIRE, "holder")
    with pytest.raises(IllegalTransition):
        transition(BookingState.FUNDS_HELD, Event.EXPIRE, "system")
    assert BookingState.EXPIRED.is_final


@pytest.mark.parametrize("change", CHANGE_DAYS)
def test_visit_reminder_is_due_the_real_day_before(change):
    start = uk(change, 10)
    due_from = start.astimezone(UTC) - timedelta(hours=24)
    assert not waits.visit_reminder_due(due_from - timedelta(minutes=1), start, CFG)
    assert waits.visit_reminder_due(due_from, start, CFG)
    assert not waits.visit_reminder_due(start, start, CFG)  # never after it started


def test_record_reminder_a_day_after_the_session_ended():
    end = uk(date(2026, 6, 1), 12)
    assert not waits.record_reminder_due(end + timedelta(hours=23), end, CFG)
    assert waits.record_reminder_due(end + timedelta(hours=24), end, CFG)


# ------------------------------------------------------------- bank holidays


@pytest.mark.parametrize(("region", "day", "name_has"), [
    ("ENG", date(2026, 12, 28), "Boxing Day"),  # Boxing Day falls on a Saturday: substitute
    ("ENG", date(2026, 8, 31), "Summer"),
    ("SCT", date(2026, 8, 3), "Summer"),  # Scotland's summer holiday is at the start of August
    ("SCT", date(2027, 1, 4), "New Year"),  # 2 January falls on a Saturday: substitute
    ("NIR", date(2026, 3, 17), "Patrick"),
    ("NIR", date(2026, 7, 13), "Boyne"),  # 12 July falls on a Sunday: substitute
])
def test_bank_holidays_per_nation_come_from_the_library(region, day, name_has):
    name = bh.holiday_name(region, day)
    assert name is not None and name_has in name


def test_nations_differ():
    assert bh.holiday_name("ENG", date(2026, 3, 17)) is None
    assert bh.holiday_name("ENG", date(2026, 8, 3)) is None
    assert bh.holiday_name("SCT", date(2026, 8, 31)) is None
    # The eight GOV.UK bank holidays, plus Boxing Day itself on the Saturday: the library keeps
    # the day and its Monday substitute, and care work on either is holiday work.
    england = bh.bank_holidays("ENG", date(2026, 1, 1), date(2026, 12, 31))
    assert len(england) == 9 and england[date(2026, 12, 26)] == "Boxing Day"


def test_an_unknown_region_is_refused_plainly():
    with pytest.raises(Exception, match="England and Wales, Scotland or Northern Ireland"):
        bh.bank_holidays("XX", date(2026, 1, 1), date(2026, 12, 31))


def test_hourly_session_on_a_bank_holiday_charges_the_holiday_rate():
    terms = ListingTerms(Unit.HOUR, 1600, bank_holiday_rate_pence=2400)
    q = qb(terms, uk(date(2026, 12, 25), 10), uk(date(2026, 12, 25), 12), bank_holiday_region="ENG")
    assert q.support_pence == 4800 and q.bank_holiday_minutes == 120 and q.on_bank_holiday
    ordinary = qb(terms, uk(date(2026, 12, 23), 10), uk(date(2026, 12, 23), 12),
                  bank_holiday_region="ENG")
    assert ordinary.support_pence == 3200 and not ordinary.on_bank_holiday


def test_night_into_a_bank_holiday_charges_only_its_hours_on_the_holiday():
    terms = ListingTerms(Unit.HOUR, 1200, bank_holiday_rate_pence=1800)
    q = qb(terms, uk(date(2026, 12, 24), 22), uk(date(2026, 12, 25), 7), bank_holiday_region="ENG")
    assert q.bank_holiday_minutes == 7 * 60
    assert q.support_pence == 2 * 1200 + 7 * 1800


def test_no_holiday_rate_means_the_ordinary_rate():
    q = qb(ListingTerms(Unit.HOUR, 1600), uk(date(2026, 12, 25), 10), uk(date(2026, 12, 25), 12),
           bank_holiday_region="ENG")
    assert q.support_pence == 3200 and not q.on_bank_holiday


def test_session_and_day_units_on_a_bank_holiday():
    session = ListingTerms(Unit.SESSION, 3000, bank_holiday_rate_pence=4500)
    q = qb(session, uk(date(2026, 5, 4), 10), uk(date(2026, 5, 4), 13), bank_holiday_region="ENG")
    assert q.support_pence == 4500 and q.bank_holiday_units == 1
    day = ListingTerms(Unit.DAY, 10000, bank_holiday_rate_pence=15000)
    q = qb(day, uk(date(2026, 5, 3), 10), uk(date(2026, 5, 5), 10), bank_holiday_region="ENG")
    assert q.units == 2 and q.support_pence == 10000 + 15000


def test_bank_holiday_skipped_in_a_series_that_does_not_meet_on_them():
    holidays = bh.bank_holidays("ENG", date(2026, 4, 1), date(2026, 6, 30))
    pattern = WeeklyPattern(frozenset({0}), time(14), 90, date(2026, 4, 27), count=4)
    sessions = expand_weekly(pattern, uk(date(2026, 4, 1), 0), max_sessions=200, max_weeks=52,
                             skip_days=frozenset(holidays))
    dates = [s.start.astimezone(UK).date() for s in sessions]
    assert date(2026, 5, 4) not in dates and date(2026, 5, 25) not in dates
    assert dates == [date(2026, 4, 27), date(2026, 5, 11), date(2026, 5, 18), date(2026, 6, 1)]


# ------------------------------------------------------------- hour caps


def _sessions(*spans):
    return [Session(uk(d, a), uk(d, b)) for d, a, b in spans]


def test_booking_within_the_weekly_cap_passes():
    existing = _sessions((date(2026, 6, 1), 9, 13))
    new = _sessions((date(2026, 6, 3), 9, 13))
    assert hour_caps.breaches(existing, new, 8 * 60) == []


def test_booking_past_the_cap_says_how_many_hours_are_left_that_week():
    existing = _sessions((date(2026, 6, 1), 9, 15))
    new = _sessions((date(2026, 6, 3), 9, 13), (date(2026, 6, 8), 9, 13))
    [breach] = hour_caps.breaches(existing, new, 8 * 60)
    assert breach.week_start == date(2026, 6, 1) and breach.left_minutes == 120
    text = breach.reason("personal care")
    assert "up to 8 hours a week of personal care" in text
    assert "Monday 1 June 2026" in text and "leaving 2 hours that week" in text
    assert "needs 4 hours" in text


def test_a_broker_exception_raises_the_cap_for_that_week_only():
    new = _sessions((date(2026, 6, 3), 9, 19), (date(2026, 6, 10), 9, 19))
    found = hour_caps.breaches([], new, 8 * 60, {date(2026, 6, 1): 120})
    assert [b.week_start for b in found] == [date(2026, 6, 8)]


def test_a_week_across_the_autumn_change_counts_real_hours():
    # Saturday 23:00 to Sunday 07:00 across the change is 9 real hours.
    new = [Session(uk(date(2026, 10, 24), 23), uk(AUTUMN_2026, 7))]
    [breach] = hour_caps.breaches([], new, 8 * 60)
    assert breach.adding_minutes == 9 * 60
    assert hour_caps.hours_text(90) == "1 hour 30 minutes"


def test_a_skipped_time_moves_an_hour_later_whatever_its_fold():
    # A time carrying fold=1 (as a parsed or generated time may) still lands at 02:00 on the
    # spring change, not at midnight: the fold is the caller's accident, not a choice.
    spring = date(2025, 3, 30)
    for fold in (0, 1):
        pattern = WeeklyPattern(frozenset({spring.weekday()}), time(1, 0, fold=fold), 60, spring,
                                count=1)
        [s] = expand_weekly(pattern, uk(spring, 0) - timedelta(days=1), max_sessions=10,
                            max_weeks=2)
        assert s.start.astimezone(UK).time() == time(2, 0)
