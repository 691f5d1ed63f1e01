"""Fair-exposure ranking: no provider crowds the first page, new providers get seen, and the
order of equal matches rotates per person per day."""

import json
from dataclasses import replace
from datetime import date, timedelta

from app.domain.listings import district_area, postcode_area
from app.domain.search import ListingDocument, parse_query
from app.domain.search_ranking import Candidate, RankingContext, gini, provider_share, rank
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
    assert "60% of the spending on personal care by people living in SY1" in " ".join(
        capped[1].explanation)
    assert "shown lower to give other providers a fair chance" in " ".join(capped[1].explanation)


def test_share_is_of_the_searched_district_where_holders_live():
    doc = _doc(1, 1, districts=("SY1", "TF2"))
    shares = {(1, "personal_care", "SY3"): 20.0, (1, "personal_care", "TF2"): 50.0,
              (1, "wellbeing", "SY3"): 90.0}
    assert provider_share(doc, parse_query({"district": "SY3"}), shares) == (20.0, "SY3")
    assert provider_share(doc, parse_query({"district": "LL11"}), shares) == (0.0, "LL11")
    # No district searched: the highest share among the districts the listing covers.
    assert provider_share(doc, parse_query({}), shares) == (50.0, "TF2")
    assert provider_share(doc, parse_query({}), {}) == (0.0, "SY1")


def test_a_share_in_another_area_or_category_dampens_nothing():
    big, small = _doc(1, 1, rating_mean=4.0, rating_count=10), _doc(2, 2, rating_mean=4.0,
                                                                     rating_count=10)
    candidates = [Candidate(big, 1.0), Candidate(small, 0.9)]
    hits = rank(candidates, parse_query({"q": "care", "district": "SY1"}), RankingContext(
        today=TODAY, market_share={(1, "personal_care", "TF2"): 90.0,
                                   (1, "wellbeing", "SY1"): 90.0}, share_cap_percent=30))
    assert _ids(hits) == [1, 2]
    assert not any("fair chance" in " ".join(h.explanation) for h in hits)


def test_postcode_areas_are_the_leading_letters_of_districts():
    assert [district_area(d) for d in ("SY1", "sy10", "SW1A", "E1W", "B5", "")] == [
        "SY", "SY", "SW", "E", "B", ""]
    assert postcode_area(["SY1", "SY3", "TF2"]) == "SY"
    assert postcode_area(["TF2", "SY1"]) == "SY"  # a tie goes to the first alphabetically
    assert postcode_area(["EC1A", "E1W", "E2"]) == "E"
    assert postcode_area([]) == ""


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


def test_a_document_stored_before_the_bayesian_field_reads_back_with_the_fallback_rating():
    rated = _doc(1, 1, rating_mean=4.0, rating_count=10, rating_bayesian=3.9)
    assert ListingDocument.from_json(rated.to_json()) == rated
    older = json.loads(rated.to_json())[:-1]  # the array as stored before the field existed
    restored = ListingDocument.from_json(json.dumps(older))
    assert restored.rating_bayesian is None
    assert restored.bayesian_rating == (5 * 3.5 + 4.0 * 10) / 15


def test_ranking_prefers_the_higher_bayesian_average_it_is_given():
    # Equal plain means: the ratings service's average (category prior) decides, as on the page.
    lower, higher = (_doc(1, 1, rating_mean=4.0, rating_count=3, rating_bayesian=3.2),
                     _doc(2, 2, rating_mean=4.0, rating_count=3, rating_bayesian=3.8))
    hits = rank([Candidate(lower, 1.0), Candidate(higher, 1.0)], parse_query({"q": "care"}),
                RankingContext(today=TODAY))
    assert _ids(hits) == [2, 1]
