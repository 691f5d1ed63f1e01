"""Free slots: availability minus dates away and booked visits (with travel time), from the
minimum notice to the furthest day, on the local clock across the clocks changing."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from app.domain.free_slots import SlotRules, free_slots
from app.domain.schedule import DatesOff, Session, WeeklySlot

LONDON = ZoneInfo("Europe/London")
# Monday 2 March 2026, 08:00 in London (GMT).
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=LONDON)
RULES = SlotRules(duration_minutes=120, min_notice=timedelta(hours=24), days_ahead=14,
                  travel_buffer_minutes=30, step_minutes=60)
MON_WED_9_TO_13 = [WeeklySlot(0, 9 * 60, 13 * 60), WeeklySlot(2, 9 * 60, 13 * 60)]


def _local(s: Session) -> str:
    return s.start.astimezone(LONDON).strftime("%a %d %H:%M")


def test_slots_fill_the_weekly_times_after_the_minimum_notice():
    found = free_slots(MON_WED_9_TO_13, [], [], NOW, RULES, limit=6)
    # Monday today is inside the 24 hours' notice; Wednesday is the first day offered.
    assert [_local(s) for s in found] == [
        "Wed 04 09:00", "Wed 04 10:00", "Wed 04 11:00",
        "Mon 09 09:00", "Mon 09 10:00", "Mon 09 11:00",
    ]
    assert all(s.minutes == 120 for s in found)


def test_a_booked_visit_and_its_travel_time_are_not_offered():
    booked = Session(datetime(2026, 3, 4, 10, 0, tzinfo=LONDON),
                     datetime(2026, 3, 4, 11, 0, tzinfo=LONDON))
    found = free_slots(MON_WED_9_TO_13, [], [booked], NOW, RULES, limit=2)
    # 09:00-11:00 and 10:00-12:00 overlap it; 11:00-13:00 starts inside its 30 minutes' travel.
    assert [_local(s) for s in found] == ["Mon 09 09:00", "Mon 09 10:00"]


def test_a_visit_ending_just_before_the_travel_time_leaves_the_slot_free():
    booked = Session(datetime(2026, 3, 4, 7, 0, tzinfo=LONDON),
                     datetime(2026, 3, 4, 8, 30, tzinfo=LONDON))
    found = free_slots(MON_WED_9_TO_13, [], [booked], NOW, RULES, limit=1)
    assert [_local(s) for s in found] == ["Wed 04 09:00"]


def test_dates_away_are_skipped_and_nothing_beyond_the_furthest_day():
    away = [DatesOff(date(2026, 3, 4), date(2026, 3, 9))]
    found = free_slots(MON_WED_9_TO_13, away, [], NOW, RULES, limit=50)
    assert _local(found[0]) == "Wed 11 09:00"
    last_allowed = NOW.date() + timedelta(days=14)
    assert all(s.start.astimezone(LONDON).date() <= last_allowed for s in found)
    assert len(found) == 3 * 2  # Wed 11 and Mon 16 only (Mon 16 is the furthest day)


def test_no_weekly_times_means_no_slots():
    assert free_slots([], [], [], NOW, RULES) == []


def test_slots_keep_the_local_clock_across_the_spring_clock_change():
    # Clocks go forward on Sunday 29 March 2026: Monday 30 March 09:00 is 08:00 UTC.
    now = datetime(2026, 3, 26, 12, 0, tzinfo=UTC)
    rules = SlotRules(duration_minutes=60, min_notice=timedelta(hours=24), days_ahead=7,
                      step_minutes=60)
    found = free_slots([WeeklySlot(0, 9 * 60, 10 * 60)], [], [], now, rules)
    assert [s.start.astimezone(UTC).hour for s in found] == [8]
    assert _local(found[0]) == "Mon 30 09:00"


def test_a_week_whose_plan_hours_are_used_up_offers_nothing():
    from app.domain.free_slots import WeeklyRoom

    # Three hours a week; 2 already booked in the week of Monday 2 March, none the week after.
    room = WeeklyRoom(cap_minutes=180, booked_by_week={date(2026, 3, 2): 120})
    found = free_slots(MON_WED_9_TO_13, [], [], NOW, RULES, limit=3, room=room)
    assert [_local(s) for s in found] == ["Mon 09 09:00", "Mon 09 10:00", "Mon 09 11:00"]
    # A broker agreed an extra hour that week: a two-hour visit fits again.
    room = WeeklyRoom(cap_minutes=180, booked_by_week={date(2026, 3, 2): 120},
                      extra_by_week={date(2026, 3, 2): 60})
    assert _local(free_slots(MON_WED_9_TO_13, [], [], NOW, RULES, limit=1, room=room)[0]) \
        == "Wed 04 09:00"
