"""new_budget_refusals: every reason a new budget is refused, the same for the screen, the API and the import."""

from __future__ import annotations

from datetime import date

from app.domain.budget import EARLIEST_START, new_budget_refusals
from app.domain.errors import Conflict, InvalidInput

TODAY = date(2026, 5, 1)
GOOD = {"annual_pence": 1_200_000, "start_date": date(2026, 4, 1), "frequency": "monthly",
        "funding_mode": "council_managed", "contingency_weeks": 4, "contingency_pence": None}


def refusals(others=(), **changes):
    values = GOOD | changes
    return [(type(r), r.field) for r in new_budget_refusals(**values, others=others, today=TODAY)]


def test_a_good_budget_has_no_refusals():
    assert refusals() == []


def test_every_bad_value_is_named_by_its_field_in_form_order():
    assert refusals(annual_pence=0, start_date=None, frequency="weekly", funding_mode="cash",
                    contingency_weeks=30) == [
        (InvalidInput, "annual_amount"), (InvalidInput, "start_date"), (InvalidInput, "frequency"),
        (InvalidInput, "funding_mode"), (InvalidInput, "contingency_weeks")]


def test_start_dates_outside_the_window_are_refused():
    assert refusals(start_date=date(EARLIEST_START.year - 1, 12, 31)) == [(InvalidInput, "start_date")]
    assert refusals(start_date=date(2027, 5, 3)) == [(InvalidInput, "start_date")]
    assert refusals(start_date=date(2027, 5, 2)) == []  # today + 366 days


def test_contingency_is_weeks_or_an_amount_and_never_more_than_the_budget():
    assert refusals(contingency_weeks=None) == [(InvalidInput, "contingency_weeks")]
    assert refusals(contingency_pence=100) == [(InvalidInput, "contingency_weeks")]
    assert refusals(contingency_weeks=None, contingency_pence=1_200_001) == [(InvalidInput, "contingency_amount")]
    assert refusals(contingency_weeks=None, contingency_pence=1_200_000) == []


def test_an_overlapping_budget_is_a_conflict_and_a_neighbouring_one_is_not():
    assert refusals(others=[(date(2025, 4, 1), date(2026, 4, 1))]) == [(Conflict, "start_date")]
    assert refusals(others=[(date(2025, 4, 1), date(2026, 3, 31)), (date(2027, 4, 1), date(2028, 3, 31))]) == []


def test_a_true_or_a_float_is_not_an_amount_in_pence():
    assert refusals(annual_pence=True) == [(InvalidInput, "annual_amount")]
    assert refusals(annual_pence=12.5) == [(InvalidInput, "annual_amount")]
