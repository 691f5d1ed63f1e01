"""Pricing a session and a cancellation, in integer pence."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.booking_price import (
    CancellationPolicy,
    ListingTerms,
    Unit,
    cancellation_charge,
    pence_for_minutes,
    quote,
    quote_breakdown,
)
from app.domain.errors import InvalidInput

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(minutes):
    return START + timedelta(minutes=minutes)


def test_hourly_rate_times_hours():
    assert quote(ListingTerms(Unit.HOUR, 1600), START, at(150)) == 4000


def test_rounds_half_up_to_the_penny():
    assert pence_for_minutes(1000, 50) == 833  # 833.33
    assert pence_for_minutes(1001, 50) == 834  # 834.1666
    assert pence_for_minutes(1, 30) == 1  # exactly half a penny rounds up
    assert pence_for_minutes(1, 29) == 0


def test_minimum_booking_applies_to_short_hourly_visits():
    terms = ListingTerms(Unit.HOUR, 1600, minimum_minutes=120)
    assert quote(terms, START, at(45)) == 3200
    assert quote(terms, START, at(180)) == 4800


def test_session_price_does_not_depend_on_length():
    terms = ListingTerms(Unit.SESSION, 2500, minimum_minutes=600)
    assert quote(terms, START, at(90)) == quote(terms, START, at(240)) == 2500


def test_day_rate_charges_each_started_day():
    terms = ListingTerms(Unit.DAY, 9000)
    assert quote(terms, START, at(8 * 60)) == 9000
    assert quote(terms, START, at(48 * 60)) == 18000
    assert quote(terms, START, at(48 * 60 + 1)) == 27000


def test_travel_is_a_flat_fee_plus_miles_rounded_half_up():
    terms = ListingTerms(Unit.HOUR, 1200, travel_flat_pence=100, travel_pence_per_mile=45)
    q = quote_breakdown(terms, START, at(60), Decimal("3.5"))
    assert (q.support_pence, q.travel_pence, q.total_pence) == (1200, 258, 1458)  # 157.5 -> 158


def test_float_miles_are_refused():
    with pytest.raises(InvalidInput) as err:
        quote(ListingTerms(Unit.HOUR, 1200, travel_pence_per_mile=45), START, at(60), 3.5)
    assert err.value.field == "travel_miles"


def test_end_before_start_is_refused():
    with pytest.raises(InvalidInput, match="end time must be after") as err:
        quote(ListingTerms(Unit.HOUR, 1200), START, at(-30))
    assert err.value.field == "end"


def test_negative_or_float_rates_are_refused():
    with pytest.raises(InvalidInput):
        ListingTerms(Unit.HOUR, -1)
    with pytest.raises(InvalidInput):
        ListingTerms(Unit.HOUR, 12.5)  # type: ignore[arg-type]


def test_a_session_across_the_clocks_going_forward_charges_real_hours():
    london = ZoneInfo("Europe/London")
    start = datetime(2026, 3, 29, 0, 0, tzinfo=london)  # clocks go forward at 01:00
    end = datetime(2026, 3, 29, 4, 0, tzinfo=london)
    assert quote(ListingTerms(Unit.HOUR, 1000), start, end) == 3000


@settings(deadline=None)
@given(rate=st.integers(0, 100_000), minutes=st.integers(1, 24 * 60 * 3))
def test_hourly_price_matches_exact_decimal_rounding(rate, minutes):
    exact = (Decimal(rate) * minutes / 60).quantize(Decimal(1), rounding="ROUND_HALF_UP")
    assert quote(ListingTerms(Unit.HOUR, rate), START, at(minutes)) == int(exact)


@settings(deadline=None)
@given(rate=st.integers(0, 10_000), a=st.integers(1, 2000), b=st.integers(1, 2000))
def test_longer_sessions_never_cost_less(rate, a, b):
    terms = ListingTerms(Unit.HOUR, rate, minimum_minutes=60)
    short, long_ = sorted((a, b))
    assert quote(terms, START, at(short)) <= quote(terms, START, at(long_))


SESSION = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
POLICY = CancellationPolicy(notice_hours=24, charge_percent=50)


def test_cancel_with_enough_notice_releases_the_whole_hold():
    out = cancellation_charge(POLICY, 3201, SESSION, SESSION - timedelta(hours=24), "holder")
    assert (out.charge_pence, out.release_pence) == (0, 3201)


def test_late_cancel_charges_the_percentage_rounded_half_up():
    out = cancellation_charge(POLICY, 3201, SESSION, SESSION - timedelta(hours=23), "delegate")
    assert (out.charge_pence, out.release_pence) == (1601, 1600)


def test_fixed_charge_is_never_more_than_the_price():
    policy = CancellationPolicy(notice_hours=48, charge_pence=5000)
    out = cancellation_charge(policy, 3000, SESSION, SESSION - timedelta(hours=1), "holder")
    assert (out.charge_pence, out.release_pence) == (3000, 0)


def test_cancelling_after_the_start_is_late():
    out = cancellation_charge(POLICY, 2000, SESSION, SESSION + timedelta(hours=1), "holder")
    assert out.charge_pence == 1000


def test_provider_cancelling_costs_the_holder_nothing():
    out = cancellation_charge(POLICY, 2000, SESSION, SESSION - timedelta(minutes=5), "provider")
    assert (out.charge_pence, out.release_pence) == (0, 2000)


def test_paused_holder_pays_nothing_when_the_policy_waives():
    out = cancellation_charge(POLICY, 2000, SESSION, SESSION - timedelta(hours=1), "holder",
                              holder_paused=True)
    assert out.charge_pence == 0 and "paused" in out.reason


def test_paused_holder_pays_when_the_policy_does_not_waive():
    policy = CancellationPolicy(notice_hours=24, charge_percent=100, waive_when_paused=False)
    out = cancellation_charge(policy, 2000, SESSION, SESSION - timedelta(hours=1), "holder",
                              holder_paused=True)
    assert out.charge_pence == 2000


def test_policy_with_both_kinds_of_charge_is_refused():
    with pytest.raises(InvalidInput):
        CancellationPolicy(notice_hours=24, charge_pence=100, charge_percent=10)
    with pytest.raises(InvalidInput):
        CancellationPolicy(notice_hours=24, charge_percent=101)


@settings(deadline=None)
@given(price=st.integers(0, 1_000_000), percent=st.integers(0, 100),
       hours_before=st.integers(-48, 96), who=st.sampled_from(["holder", "delegate", "broker",
                                                                "provider", "system"]))
def test_charge_and_release_always_add_up_to_the_price(price, percent, hours_before, who):
    policy = CancellationPolicy(notice_hours=24, charge_percent=percent)
    out = cancellation_charge(policy, price, SESSION, SESSION - timedelta(hours=hours_before), who)
    assert out.charge_pence + out.release_pence == price
    assert 0 <= out.charge_pence <= price
