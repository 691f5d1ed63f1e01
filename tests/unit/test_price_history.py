"""Which rate a client pays from a listing's price history: new clients the new price at once,
existing clients their own rate until a rise that applies to them takes effect."""

from datetime import UTC, datetime, timedelta

from app.domain.price_history import PriceStep, rate_for_client

T0 = datetime(2027, 1, 4, 9, tzinfo=UTC)


def step(old, new, announced_days, effective_days, existing=True):
    return PriceStep(old, new, T0 + timedelta(days=announced_days),
                     T0 + timedelta(days=effective_days), existing)


def test_a_new_client_pays_the_listing_price_at_once():
    rise = [step(1650, 1950, 0, 30)]
    assert rate_for_client(1950, rise, None, T0 + timedelta(days=1)) == 1950
    assert rate_for_client(1950, rise, T0 + timedelta(days=2), T0 + timedelta(days=3)) == 1950


def test_an_existing_client_keeps_their_rate_until_a_rise_takes_effect():
    rise = [step(1650, 1950, 10, 40)]
    since = T0
    assert rate_for_client(1950, rise, since, T0 + timedelta(days=39)) == 1650
    assert rate_for_client(1950, rise, since, T0 + timedelta(days=40)) == 1950


def test_a_rise_for_new_clients_only_never_reaches_an_existing_client():
    rise = [step(1650, 1950, 10, 10, existing=False)]
    assert rate_for_client(1950, rise, T0, T0 + timedelta(days=900)) == 1650


def test_a_cut_reaches_everyone_but_never_raises_an_older_rate():
    history = [step(1650, 1950, 10, 10, existing=False), step(1950, 1800, 20, 20)]
    assert rate_for_client(1800, history, T0, T0 + timedelta(days=25)) == 1650
    cut_below = [step(1650, 1500, 10, 10)]
    assert rate_for_client(1500, cut_below, T0, T0 + timedelta(days=11)) == 1500


def test_no_history_is_the_listing_price():
    assert rate_for_client(1650, [], T0, T0) == 1650
