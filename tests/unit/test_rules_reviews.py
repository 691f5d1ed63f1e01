"""Review rules: low respect-and-dignity scores, five-star bursts, reviews by linked people."""

import itertools

from app.domain.rules.model import MarketSnapshot, Review
from app.domain.rules.reviews import (
    five_star_burst,
    low_respect_and_dignity,
    review_by_linked_person,
)
from app.domain.settings import CouncilSettings
from tests.unit.market import AS_OF, days_ago, provider

SETTINGS = CouncilSettings()
_ids = itertools.count(1)


def review(holder=5, *, ago=10, overall=4, dignity=4, author=None, by_delegate=False,
           provider_id=1):
    return Review(next(_ids), provider_id, holder, author or holder, by_delegate, days_ago(ago),
                  overall, dignity)


def snap(*reviews, users=frozenset()):
    return MarketSnapshot(as_of=AS_OF, providers=(provider(1, users=users),), reviews=reviews)


def test_three_people_rating_dignity_low_is_flagged():
    found = low_respect_and_dignity(snap(*(review(h, dignity=2) for h in (5, 6, 7)),
                                         review(8, dignity=5)), SETTINGS)
    assert len(found) == 1
    assert found[0].numbers == {"low_reviews": 3, "people": 3, "reviews": 4}


def test_one_person_reviewing_monthly_counts_once():
    reviews = [review(5, ago=a, dignity=1) for a in (10, 40, 70)] + [review(6, dignity=2)]
    assert low_respect_and_dignity(snap(*reviews), SETTINGS) == []


def test_old_low_ratings_fall_out_of_the_window():
    reviews = [review(h, ago=200, dignity=1) for h in (5, 6, 7)]
    assert low_respect_and_dignity(snap(*reviews), SETTINGS) == []


def test_burst_of_five_star_reviews_is_flagged():
    steady = [review(h, ago=30 + 20 * i) for i, h in enumerate(range(10, 16))]
    burst = [review(h, ago=3 + i / 2, overall=5) for i, h in enumerate(range(20, 26))]
    found = five_star_burst(snap(*steady, *burst), SETTINGS)
    assert len(found) == 1 and found[0].numbers["burst"] == 6


def test_a_busy_provider_with_steady_five_stars_is_not_a_burst():
    # About two five-star reviews a day for six months: a week of them is normal.
    steady = [review(h, ago=h / 2, overall=5) for h in range(1, 350)]
    assert five_star_burst(snap(*steady), SETTINGS) == []


def test_four_five_star_reviews_are_not_a_burst():
    assert five_star_burst(snap(*(review(h, ago=2, overall=5) for h in range(4))), SETTINGS) == []


def test_review_by_a_delegate_linked_to_the_provider_is_flagged():
    linked = review(5, author=42, by_delegate=True)
    found = review_by_linked_person(snap(linked, review(6), users=frozenset({42})), SETTINGS)
    assert [str(f.subject) for f in found] == [f"review:{linked.id}"]
    assert "on behalf of the person supported" in found[0].explanation
