"""Search input is read leniently: odd input gives a sensible search and a plain notice."""

from app.domain.search import MAX_QUERY_CHARS, parse_price_to_pence, parse_query
from tests.search.corpus import BY_ID


def test_query_syntax_characters_are_treated_as_punctuation():
    query = parse_query({"q": 'dementia AND (care* OR "night") -sitting:'})
    assert query.words == ("dementia", "care", "night", "sitting")
    assert query.notices == ()


def test_a_very_long_query_is_cut_short_with_a_notice():
    query = parse_query({"q": "care " * 500})
    assert len(query.text) <= MAX_QUERY_CHARS
    assert query.words == ("care",)
    assert "first 200 characters" in query.notices[0]


def test_unknown_filter_values_are_ignored_and_reported():
    query = parse_query({"category": ["transport", "spaceflight"], "day": ["mon", "funday"],
                         "funding": ["bitcoin"], "sort": "cheapest", "language": ["<script>"]})
    assert query.categories == ("transport",)
    assert query.days == ("mon",)
    assert query.funding_modes == ()
    assert query.sort == "best"
    assert query.languages == ()
    joined = " ".join(query.notices)
    for shown in ("spaceflight", "funday", "bitcoin", "sorted by best match", "<script>"):
        assert shown in joined


def test_page_numbers_that_make_no_sense_become_page_one():
    assert parse_query({"page": "-3"}).page == 1
    assert parse_query({"page": "abc"}).page == 1
    assert parse_query({"page": "99999999999"}).page == 1
    assert parse_query({"page": "4"}).page == 4


def test_prices_are_read_into_pence_without_floats():
    assert parse_price_to_pence("17.50") == 1750
    assert parse_price_to_pence("£20") == 2000
    assert parse_price_to_pence("17.5") == 1750
    assert parse_price_to_pence("17.505") is None
    assert parse_query({"max_price": "12.345"}).max_price_pence is None
    assert parse_query({"max_price": "25"}).max_price_pence == 2500


def test_postcode_districts_are_normalised_to_the_outward_code():
    assert parse_query({"district": " sy1 2ab"}).district == "SY1"
    assert parse_query({"district": "WV16"}).district == "WV16"
    nonsense = parse_query({"district": "shrewsbury!"})
    assert nonsense.district is None
    assert nonsense.district_typed == "shrewsbury!"
    assert "first part of a postcode" in nonsense.district_error


def test_a_district_that_only_looks_like_one_is_not_searched_and_says_why():
    made_up = parse_query({"district": " sy30 "})
    assert made_up.district is None
    assert made_up.district_typed == "sy30"
    assert made_up.district_error.startswith("SY30 is not a postcode district in use")
    real = parse_query({"district": "ls6"})
    assert (real.district, real.district_error, real.district_typed) == ("LS6", None, "")


def test_comma_separated_filter_values_are_accepted():
    assert parse_query({"category": "transport,advocacy"}).categories == ("transport", "advocacy")


def test_query_round_trips_through_its_link_arguments():
    args = {"q": "personal care", "category": ["personal_care"], "district": "SY1",
            "max_price": "17.50", "day": ["mon"], "time": ["evening"], "specialism": ["dementia"],
            "language": ["welsh"], "gender": "female", "min_rating": "4",
            "funding": ["direct_payment"], "sort": "price", "page": "2"}
    query = parse_query(args)
    again = {}
    for key, value in query.to_args():
        again.setdefault(key, []).append(value)
    assert parse_query(again) == query


def test_availability_counts_a_slot_covering_an_hour_of_the_part_of_day():
    doc = BY_ID[8]  # Wednesday 6pm to 8pm
    tokens = doc.facet_tokens()
    assert "day:wed" in tokens and "when:wed_evening" in tokens
    assert "time:morning" not in tokens and "day:mon" not in tokens
