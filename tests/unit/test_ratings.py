"""Ratings: criteria, the Bayesian average and the review period."""

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.errors import Conflict, InvalidInput
from app.domain.ratings import (
    Criterion,
    category_mean,
    check_may_review,
    review_period,
    summarise,
    validate_review,
)
from app.domain.settings import CouncilSettings

SETTINGS = CouncilSettings()
ALL_FOURS = {c.value: 4 for c in Criterion}


def test_bayesian_average_pulls_few_reviews_towards_the_category_mean():
    summary = summarise([5, 5], prior_mean=4.0, settings=SETTINGS)
    assert summary.bayesian == pytest.approx((5 * 4.0 + 10) / 7)
    assert summary.mean == 5.0 and summary.count == 2


def test_many_good_reviews_outrank_two_perfect_ones():
    two_perfect = summarise([5, 5], 4.0, SETTINGS)
    many_good = summarise([5] * 160 + [4] * 40, 4.0, SETTINGS)
    assert many_good.bayesian > two_perfect.bayesian


def test_no_reviews_means_the_category_mean_and_no_plain_mean():
    summary = summarise([], prior_mean=3.7, settings=SETTINGS)
    assert summary.bayesian == 3.7 and summary.mean is None and summary.count == 0
    assert summary.distribution == {1: 0, 2: 0, 3: 0, 4: 0, 5: 0}


def test_distribution_counts_each_score():
    assert summarise([1, 5, 5, 3], 3.0, SETTINGS).distribution == {1: 1, 2: 0, 3: 1, 4: 0, 5: 2}


def test_category_mean_falls_back_to_the_midpoint():
    assert category_mean([], SETTINGS) == 3.0
    assert category_mean([4, 5], SETTINGS) == 4.5


def test_prior_weight_is_a_council_setting():
    assert summarise([5], 3.0, CouncilSettings(rating_prior_weight=0)).bayesian == 5.0


@settings(deadline=None)
@given(st.lists(st.integers(1, 5), max_size=300), st.floats(1, 5))
def test_bayesian_average_lies_between_the_prior_and_the_plain_mean(scores, prior):
    summary = summarise(scores, prior, SETTINGS)
    low, high = sorted((prior, summary.mean if summary.mean is not None else prior))
    assert low - 1e-9 <= summary.bayesian <= high + 1e-9
    assert sum(summary.distribution.values()) == len(scores)


def test_scores_out_of_range_are_refused():
    with pytest.raises(InvalidInput):
        summarise([0, 5], 3.0, SETTINGS)
    with pytest.raises(InvalidInput):
        summarise([4.0], 3.0, SETTINGS)  # type: ignore[list-item]


def test_a_review_needs_every_criterion_scored_1_to_5():
    assert validate_review(ALL_FOURS, "Lovely.")[Criterion.RESPECT_DIGNITY] == 4
    with pytest.raises(InvalidInput) as err:
        validate_review({**ALL_FOURS, "listened": 6}, None)
    assert err.value.field == "listened"
    with pytest.raises(InvalidInput) as err:
        validate_review({k: v for k, v in ALL_FOURS.items() if k != "value"}, None)
    assert err.value.field == "value"


def test_over_long_comment_is_refused():
    with pytest.raises(InvalidInput) as err:
        validate_review(ALL_FOURS, "x" * 2001)
    assert err.value.field == "comment"


def test_easy_read_words_exist_for_every_criterion():
    assert all(c.easy_read.endswith("?") for c in Criterion)


def test_one_off_bookings_are_reviewed_once_and_recurring_support_monthly():
    start = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)  # already 1 April in London (BST)
    assert review_period(12, False, start) == "booking:12"
    assert review_period(12, True, start) == "booking:12:2026-04"


def test_reviews_come_only_from_settled_bookings_once_per_period():
    check_may_review("settled", "booking:12:2026-04", ["booking:12:2026-03"])
    with pytest.raises(Conflict, match="already been reviewed"):
        check_may_review("settled", "booking:12:2026-04", ["booking:12:2026-04"])
    with pytest.raises(Conflict, match="once it has been delivered"):
        check_may_review("delivered", "booking:12", [])
