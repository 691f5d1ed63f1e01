"""Fair-exposure ranking: no provider crowds the first page, new providers get seen, and the
order of equal matches rotates per person per day."""

from dataclasses import replace
from datetime import date, timedelta

from app.domain.search import ListingDocument, parse_query
from app.domain.search_ranking import Candidate, RankingContext, gini, rank
from tests.search.corpus import TODAY


def _doc(listing_id, provider_id, **fields):
    base = dict(listing_id=listing_id, provider_id=provider_id, provider_name=f"P{provider_id}",
                provider_type="home_care_agency", title="Personal care", description="Care at home",
                category="personal_care", price_pence=2000, price_unit="hour",
                districts=("SY1",), provider_vetted_at=date(2024, 1, 1))
    base.update(fields)
    return ListingDocument(**base)


def _ids(hits):
    return [h.document.listing_id for h in hits]


def test_at_most_two_listings_per_provider_on_the_first_page():
    candidates = [Candidate(_doc(i, 1), 10 - i * 0.01) for i in range(1, 8)]
    candidates += [Candidate(_doc(100 + i, 10 + i), 1.0) for i in range(10)]
    hits = rank(candidates, parse_query({"q": "care"}), RankingContext(today=TODAY))
    first_page = hits[:10]
    assert sum(1 for h in first_page if h.document.provider_id == 1) == 2
    later = [h for h in hits[10:] if h.document.provider_id == 1]
    assert later and "at most 2 listings from each provider" in " ".join(later[0].explanation)


def test_a_provider_above_the_share_cap_is_shown_lower_and_told_why():
    big, small = _doc(1, 1, rating_mean=4.0, rating_count=10), _doc(2, 2, rating_mean=4.0,
                                                                     rating_count=10)
    candidates = [Candidate(big, 1.0), Candidate(small, 0.9)]
    query = parse_query({"q": "care", "district": "SY1"})
    plain = rank(candidates, query, RankingContext(today=TODAY))
    assert _ids(plain) == [1, 2]
    capped = rank(candidates, query, RankingContext(
        today=TODAY, market_share={(1, "personal_care", "SY1"): 60.0}, share_cap_percent=30))
    assert _ids(capped) == [2, 1]
    assert "60% of the spending on personal care in SY1" in " ".join(capped[1].explanation)


def test_newly_vetted_providers_get_a_bounded_number_of_places_per_page():
    old = [Candidate(_doc(i, i), 1.0 - i * 0.001) for i in range(1, 31)]
    new = [Candidate(_doc(100 + i, 100 + i, provider_vetted_at=TODAY - timedelta(days=10)), 0.1)
           for i in range(5)]
    hits = rank(old + new, parse_query({"q": "care"}), RankingContext(today=TODAY))
    first_page = hits[:10]
    promoted = [h for h in first_page if h.document.listing_id >= 100]
    assert len(promoted) == 2
    assert "vetted recently" in " ".join(promoted[0].explanation)
    assert len({h.document.listing_id for h in hits}) == len(hits) == 35


def test_providers_vetted_long_ago_get_no_new_provider_places():
    old = [Candidate(_doc(i, i), 1.0 - i * 0.001) for i in range(1, 31)]
    stale = [Candidate(_doc(100, 100, provider_vetted_at=TODAY - timedelta(days=91)), 0.1)]
    hits = rank(old + stale, parse_query({"q": "care"}), RankingContext(today=TODAY))
    assert 100 not in _ids(hits[:10])


def test_equal_matches_rotate_by_person_and_day_but_stay_put_within_a_day():
    candidates = [Candidate(_doc(i, i), 1.0) for i in range(1, 21)]
    query = parse_query({})
    monday = rank(candidates, query, RankingContext(user_key="user:1", today=TODAY))
    again = rank(candidates, query, RankingContext(user_key="user:1", today=TODAY))
    tuesday = rank(candidates, query, RankingContext(user_key="user:1",
                                                      today=TODAY + timedelta(days=1)))
    someone_else = rank(candidates, query, RankingContext(user_key="user:2", today=TODAY))
    assert _ids(monday) == _ids(again)
    assert _ids(monday) != _ids(tuesday)
    assert _ids(monday) != _ids(someone_else)
    assert "different order each day" in " ".join(monday[0].explanation)


def test_a_single_five_star_review_does_not_outrank_many_good_ones():
    one_review = _doc(1, 1, rating_mean=5.0, rating_count=1)
    many_reviews = _doc(2, 2, rating_mean=4.6, rating_count=40)
    hits = rank([Candidate(one_review, 1.0), Candidate(many_reviews, 1.0)], parse_query({}),
                RankingContext(today=TODAY))
    assert _ids(hits) == [2, 1]


def test_sorting_by_price_keeps_the_cheapest_first():
    docs = [Candidate(_doc(i, i, price_pence=3000 - i * 100), 0.0) for i in range(1, 6)]
    hits = rank(docs, parse_query({"sort": "price"}), RankingContext(today=TODAY))
    prices = [h.document.price_pence for h in hits]
    assert prices == sorted(prices)
    assert "sort by price" in hits[0].explanation[1]


def test_with_fair_ranking_off_the_backend_order_is_kept():
    candidates = [Candidate(_doc(i, 1), 1.0 - i * 0.01) for i in range(1, 8)]
    hits = rank(candidates, parse_query({"q": "care"}), RankingContext(today=TODAY, fair=False))
    assert _ids(hits) == list(range(1, 8))


def test_every_hit_explains_itself_and_says_nobody_paid():
    candidates = [Candidate(replace(_doc(i, i)), 1.0) for i in range(1, 4)]
    for hit in rank(candidates, parse_query({"q": "care"}), RankingContext(today=TODAY)):
        assert hit.explanation[0].startswith("It is shown because it contains the words")
        assert "pay to appear higher" in hit.explanation[-1]


def test_gini_is_zero_for_equal_exposure_and_high_for_one_winner():
    assert gini([5, 5, 5, 5]) == 0
    assert gini([0, 0, 0, 100]) == 0.75
