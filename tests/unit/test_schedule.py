"""Sessions, repeating patterns, double-booking and availability."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.errors import InvalidInput
from app.domain.schedule import (
    DatesOff,
    Session,
    WeeklyPattern,
    WeeklySlot,
    expand_weekly,
    overlaps,
    unavailable_sessions,
    validate_sessions,
)

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # a Sunday
BASE = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # Monday 2 March 2026


def s(start_min, end_min):
    return Session(BASE + timedelta(minutes=start_min), BASE + timedelta(minutes=end_min))


def expand(**kw):
    fields = dict(weekdays=frozenset({0}), start_time=time(9), duration_minutes=120,
                  first_date=date(2026, 3, 2))
    fields.update(kw)
    return expand_weekly(WeeklyPattern(**fields), NOW, max_sessions=200, max_weeks=52)


def test_weekly_pattern_for_a_number_of_sessions():
    sessions = expand(weekdays=frozenset({0, 3}), count=4)
    assert [x.start.strftime("%a %d %H:%M") for x in sessions] == [
        "Mon 02 09:00", "Thu 05 09:00", "Mon 09 09:00", "Thu 12 09:00"]


def test_weekly_pattern_until_a_date_includes_that_date():
    sessions = expand(until=date(2026, 3, 30))
    assert len(sessions) == 5 and sessions[-1].start.date() == date(2026, 3, 30)


def test_local_time_is_kept_when_the_clocks_change():
    sessions = expand(first_date=date(2026, 3, 23), count=2)
    assert [x.start.hour for x in sessions] == [9, 9]
    assert [x.start.utcoffset() for x in sessions] == [timedelta(0), timedelta(hours=1)]
    assert all(x.minutes == 120 for x in sessions)


def test_overnight_sessions_cross_midnight():
    sessions = expand(start_time=time(22), duration_minutes=600, count=2)
    assert sessions[0].end == datetime(2026, 3, 3, 8, 0, tzinfo=LONDON)


def test_pattern_with_no_end_is_refused():
    with pytest.raises(InvalidInput, match="needs an end") as err:
        expand()
    assert err.value.field == "until"


def test_pattern_with_both_ends_is_refused():
    with pytest.raises(InvalidInput):
        expand(count=3, until=date(2026, 4, 1))


def test_too_many_sessions_are_refused():
    with pytest.raises(InvalidInput, match="from 1 to 200"):
        expand(count=201)
    with pytest.raises(InvalidInput, match="more than 200 sessions"):
        expand(weekdays=frozenset(range(7)), until=date(2027, 1, 1))


def test_pattern_beyond_the_maximum_weeks_is_refused():
    with pytest.raises(InvalidInput, match="at most 52 weeks"):
        expand(until=date(2027, 6, 1))
    with pytest.raises(InvalidInput, match="beyond 52 weeks"):
        expand(count=60)


def test_pattern_starting_in_the_past_is_refused():
    with pytest.raises(InvalidInput, match="in the past"):
        expand(first_date=date(2026, 2, 23), count=3)


def test_day_long_sessions_that_overlap_when_the_clocks_go_forward_are_refused():
    # Saturday 08:00 GMT + 24 hours is Sunday 09:00 BST, past Sunday's 08:00 start.
    with pytest.raises(InvalidInput, match="overlap"):
        expand(weekdays=frozenset({5, 6}), start_time=time(8), duration_minutes=24 * 60,
               first_date=date(2026, 3, 28), count=2)
    assert len(expand(weekdays=frozenset({0, 1}), start_time=time(8), duration_minutes=24 * 60,
                      count=2)) == 2


def test_last_date_before_first_is_refused():
    with pytest.raises(InvalidInput, match="on or after"):
        expand(until=date(2026, 3, 1))


def test_end_before_start_is_refused():
    with pytest.raises(InvalidInput, match="end time must be after"):
        s(60, 30)


def test_validate_refuses_overlapping_one_off_sessions():
    with pytest.raises(InvalidInput, match="overlap"):
        validate_sessions([s(600, 720), s(700, 800)], NOW)
    validate_sessions([s(600, 720), s(720, 800)], NOW)  # back to back is fine


def test_mixing_aware_and_naive_times_is_refused():
    with pytest.raises(InvalidInput):
        Session(datetime(2026, 3, 2, 9), datetime(2026, 3, 2, 10, tzinfo=UTC))


def test_overlaps_finds_the_clashing_pairs_only():
    existing = [s(600, 720), s(900, 960)]
    assert overlaps(existing, [s(720, 780)]) == []
    assert overlaps(existing, [s(700, 910)]) == [(s(600, 720), s(700, 910)),
                                                 (s(900, 960), s(700, 910))]


intervals = st.tuples(st.integers(0, 2000), st.integers(1, 300)).map(lambda t: s(t[0], t[0] + t[1]))


@settings(deadline=None)
@given(st.lists(intervals, max_size=15), st.lists(intervals, max_size=15))
def test_overlaps_agrees_with_checking_every_pair(existing, new):
    brute = {(a, b) for a in existing for b in new if a.start < b.end and b.start < a.end}
    assert set(overlaps(existing, new)) == brute


@settings(deadline=None)
@given(st.sets(st.integers(0, 6), min_size=1), st.integers(1, 52), st.integers(0, 23))
def test_count_patterns_make_exactly_that_many_sessions_on_the_chosen_days(days, count, hour):
    sessions = expand(weekdays=frozenset(days), count=count, start_time=time(hour),
                      duration_minutes=60)
    assert len(sessions) == count
    assert {x.start.weekday() for x in sessions} <= days
    assert all(x.start.hour == hour or hour == 1 for x in sessions)  # 01:xx may not exist


WEEKDAYS_9_TO_5 = [WeeklySlot(d, 9 * 60, 17 * 60) for d in range(5)]


def local(day, hour, minutes):
    start = datetime(2026, 3, day, hour, 0, tzinfo=LONDON)
    return Session(start, start + timedelta(minutes=minutes))


def test_session_inside_a_slot_is_available():
    assert unavailable_sessions([local(2, 10, 60)], WEEKDAYS_9_TO_5) == []


def test_session_running_past_the_slot_is_not():
    problems = unavailable_sessions([local(2, 16, 120)], WEEKDAYS_9_TO_5)
    assert [p.reason for p in problems] == [
        "The provider is not usually available on Monday 2 March 2026 from 16:00 to 18:00."]


def test_adjoining_slots_join_up():
    slots = [WeeklySlot(0, 9 * 60, 12 * 60), WeeklySlot(0, 12 * 60, 17 * 60)]
    assert unavailable_sessions([local(2, 11, 120)], slots) == []


def test_overnight_session_needs_both_evenings_and_mornings():
    slots = [WeeklySlot(0, 20 * 60, 24 * 60), WeeklySlot(1, 0, 8 * 60)]
    assert unavailable_sessions([local(2, 22, 600)], slots) == []
    assert unavailable_sessions([local(2, 22, 600)], slots[:1]) != []


def test_sunday_night_into_monday_wraps_the_week():
    slots = [WeeklySlot(6, 20 * 60, 24 * 60), WeeklySlot(0, 0, 8 * 60)]
    assert unavailable_sessions([local(8, 22, 300)], slots) == []


def test_dates_off_override_the_weekly_slots():
    problems = unavailable_sessions([local(3, 10, 60), local(9, 10, 60)], WEEKDAYS_9_TO_5,
                                    [DatesOff(date(2026, 3, 3), date(2026, 3, 6))])
    assert len(problems) == 1 and "away from 03 March to 06 March 2026" in problems[0].reason


def test_slot_must_end_after_it_starts():
    with pytest.raises(InvalidInput):
        WeeklySlot(0, 600, 600)
