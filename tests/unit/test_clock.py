"""The one clock: real time by default, a test's time when set, real again afterwards."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from app import clock


def test_clock_is_real_time_by_default():
    before = datetime.now(UTC)
    assert before <= clock.now() <= datetime.now(UTC)


def test_frozen_clock_stands_still_and_comes_back():
    moment = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    with clock.frozen(moment):
        assert clock.now() == moment
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_clock_keeps_utc_whatever_zone_it_was_set_in():
    with clock.frozen(datetime(2026, 6, 1, 10, 0, tzinfo=timezone(timedelta(hours=1)))):
        assert clock.now() == datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
        assert clock.now().tzinfo is UTC


def test_clock_refuses_a_naive_time():
    with pytest.raises(ValueError):
        clock.travel_to(datetime(2026, 1, 1))
