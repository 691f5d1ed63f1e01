"""The ledger's pure rules: every operation's legs balance, and budget arithmetic adds up."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain import ledger as rules
from app.domain.budget import (
    Frequency,
    budget_end,
    contingency_share,
    current_period,
    forecast,
    instalment_amounts,
    instalment_dates,
)
from app.domain.ledger import Account

pence = st.integers(min_value=1, max_value=100_000_000)


@given(pence, st.integers(min_value=0, max_value=100_000_000))
def test_allocate_and_capture_legs_always_balance(amount, extra):
    share = min(extra, amount)
    assert sum(leg.pence for leg in rules.allocate(amount, share)) == 0
    legs = rules.capture(amount, amount + extra, category="transport")
    assert sum(leg.pence for leg in legs) == 0
    back = {leg.account: leg.pence for leg in legs}
    assert back[Account.SPENT] == amount and back.get(Account.AVAILABLE, 0) == extra


def test_capture_more_than_held_is_refused():
    with pytest.raises(ValueError):
        rules.capture(101, 100, category="transport")


def test_clawback_takes_available_first_then_contingency_never_held():
    legs = rules.clawback(150, available=100, contingency=80)
    balances = rules.apply({Account.AVAILABLE: 100, Account.CONTINGENCY: 80, Account.HELD: 40}, legs)
    assert balances == {Account.AVAILABLE: 0, Account.CONTINGENCY: 30, Account.HELD: 40, Account.COUNCIL: 150}
    with pytest.raises(ValueError):
        rules.clawback(181, available=100, contingency=80)


def test_unbalanced_or_float_legs_never_pass():
    with pytest.raises(rules.UnbalancedError):
        rules.check_balanced([rules.Leg(Account.AVAILABLE, 5), rules.Leg(Account.HELD, -4)])
    with pytest.raises(rules.UnbalancedError):
        rules.check_balanced([rules.Leg(Account.AVAILABLE, 0.5), rules.Leg(Account.HELD, -0.5)])


@given(st.integers(min_value=1, max_value=100_000_000), st.sampled_from(list(Frequency)))
def test_instalments_add_up_to_the_annual_amount_exactly(annual, frequency):
    dates = instalment_dates(date(2026, 1, 31), frequency)
    assert len(dates) == frequency.per_year
    assert sum(instalment_amounts(annual, len(dates))) == annual


def test_monthly_instalments_on_the_31st_fall_on_month_ends():
    dates = instalment_dates(date(2026, 1, 31), Frequency.MONTHLY)
    assert dates[1] == date(2026, 2, 28) and dates[-1] == date(2026, 12, 31)
    assert budget_end(date(2024, 2, 29)) == date(2025, 2, 27)


def test_current_period_is_the_instalment_period_containing_today():
    assert current_period(date(2026, 4, 1), Frequency.FOUR_WEEKLY, date(2026, 5, 1)) == (
        date(2026, 4, 29), date(2026, 5, 26))


def test_contingency_builds_up_with_each_instalment_to_its_target():
    assert contingency_share(100_000, 1_300_000, 100_000, 0) == 7693
    assert contingency_share(100_000, 1_300_000, 100_000, 99_000) == 1000


def test_forecast_says_when_the_money_runs_out_at_a_fast_rate():
    result = forecast(annual_pence=1_200_000, start=date(2026, 1, 1), today=date(2026, 3, 31),
                      used_pence=600_000)
    assert result.runs_out
    assert result.lasts_until == date(2026, 6, 29)  # 90 days gone, half left: 90 more
    assert "lasts until 29 June" in result.messages[0]


def test_forecast_names_the_underspend_the_council_may_take_back():
    result = forecast(annual_pence=1_200_000, start=date(2026, 1, 1), today=date(2026, 7, 1),
                      used_pence=400_000)
    assert not result.runs_out
    assert result.unspent_at_end == 1_200_000 - 400_000 * 365 // 182
    assert "on course to leave £3,97" in result.messages[1]
    assert "council may take back" in result.messages[1]
