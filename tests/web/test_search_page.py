"""The public search page works without JavaScript and never shows an error for odd input."""

import re

import pytest

from app.services import search as search_service
from tests.search.corpus import CORPUS


@pytest.fixture
def indexed(app, db_session):
    with app.app_context():
        search_service.reindex(CORPUS)


def _ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'href="/listings/(\d+)"', html)]


def test_anyone_can_search_and_see_why_each_result_is_shown(client, indexed):
    response = client.get("/search?q=dementia&district=SY1")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert sorted(_ids(html)) == [1, 2, 3, 17, 33]
    assert html.count('summary-text">Why am I seeing this?') == 5
    assert "No provider can pay to appear higher" in html
    assert 'method="get"' in html


def test_filters_show_counts_and_stay_ticked(client, indexed):
    html = client.get("/search?category=transport&district=SY1").get_data(as_text=True)
    assert _ids(html) == [22]
    assert re.search(r'value="transport" checked>\s*<label[^>]*>Transport <span[^>]*>\(1\)', html)
    assert re.search(r'value="personal_care">\s*<label[^>]*>Personal care <span[^>]*>\(5\)', html)


def test_a_misspelling_that_finds_nothing_shows_results_for_the_likely_word(client, indexed):
    html = client.get("/search?q=demntia").get_data(as_text=True)
    assert "No listings matched “demntia”, so these are the results for “<strong>dementia</strong>”" in html
    assert _ids(html) and 'value="dementia"' in html
    assert "<title>Search results for “dementia”" in html


def test_a_misspelling_the_filters_leave_nothing_for_offers_a_did_you_mean_link(client, indexed):
    html = client.get("/search?q=swiming&district=TF9").get_data(as_text=True)
    assert "Did you mean" in html
    assert 'href="/search?q=swimming&amp;district=TF9"' in html


def test_nothing_matching_says_which_filter_to_remove(client, indexed):
    html = client.get("/search?q=swimming&district=TF9").get_data(as_text=True)
    assert "No listings match your search" in html
    assert "Remove the area (TF9)" in html


@pytest.mark.parametrize("query", [
    "q=%22AND+OR+(*+-", "q=" + "care+" * 400, "category=spaceflight", "page=999",
    "page=-1", "max_price=lots", "min_rating=11", "sort=random", "district=%3Cscript%3E",
    "day=funday&time=teatime", "q=%00%01",
])
def test_odd_input_gives_a_sensible_page_not_an_error(client, indexed, query):
    response = client.get(f"/search?{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<script>" not in html
    assert _ids(html) or "No listings match" in html


def test_a_page_past_the_end_shows_the_last_page(client, indexed):
    html = client.get("/search?page=50").get_data(as_text=True)
    assert "page 4 of 4" in html
    assert len(_ids(html)) == 10


def test_pages_link_to_each_other(client, indexed):
    html = client.get("/search?sort=price").get_data(as_text=True)
    assert 'href="/search?sort=price&amp;page=2"' in html
    prices = re.findall(r"<strong>£([\d.,]+)</strong>", html)
    assert prices[0] == "0.00"


def test_the_search_box_and_results_come_before_the_filters(client, indexed):
    html = client.get("/search?q=dementia").get_data(as_text=True)
    assert html.index('id="q"') < html.index('id="filters"')
    # On a phone the filters are behind a plain link that opens them without JavaScript.
    link = re.search(r'id="filter-link" href="([^"]+)"', html).group(1)
    assert "carefair-filters--closed" in html
    assert link == "/search?q=dementia&amp;filters=open#filters"
    opened = client.get("/search?q=dementia&filters=open").get_data(as_text=True)
    assert "carefair-filters--closed" not in opened
    assert re.search(r'id="filter-link" href="/search\?q=dementia">Hide filters', opened)
    assert sorted(_ids(opened)) == sorted(_ids(html))


def test_the_filter_link_says_how_many_filters_are_on(client, indexed):
    html = client.get("/search?category=transport&district=SY1").get_data(as_text=True)
    assert re.search(r'id="filter-link"[^>]*>Filter \(\d+ applied\)', html)


def test_a_holders_search_starts_with_listings_that_take_their_budget(
        client, indexed, make_user, login, db_session):
    from tests.ledger_helpers import funded_budget

    holder, _, budget = funded_budget(make_user, funded=0)
    budget.funding_mode = "council_managed"
    db_session.commit()
    everything = client.get("/search?all=1").get_data(as_text=True)
    login(holder)
    html = client.get("/search").get_data(as_text=True)
    assert "Showing listings that can be paid for with a council-managed budget." in html
    assert "budget budget" not in html
    assert re.search(r'value="council_managed" checked', html)  # the filter, visible and ticked
    assert len(_ids(html)) <= len(_ids(everything))
    # Sending the form (box unticked) is the person's own choice: no filter is put back.
    assert 'name="all" value="1"' in html
    unticked = client.get("/search?all=1").get_data(as_text=True)
    assert "Showing listings" not in unticked
    assert not re.search(r'value="council_managed" checked', unticked)


@pytest.mark.parametrize(("typed", "reason"), [
    ("lx6", "LX6 is not a postcode district in the UK"),
    ("sy30", "SY30 is not a postcode district in use"),
    ("QQ1", "QQ1 is not a postcode district in the UK"),
    ("shrewsbury!", "“shrewsbury!” is not a postcode district"),
])
def test_an_area_that_is_not_a_district_in_use_is_an_error_beside_the_field_as_typed(
        client, indexed, typed, reason):
    html = client.get("/search", query_string={"q": "care", "district": typed}).get_data(as_text=True)
    field = html[html.index('<label class="govuk-label govuk-label--s" for="district">'):]
    field = field[:field.index("</div>\n", field.index('id="district"'))]
    assert reason in field and 'id="district-error"' in field
    assert re.search(r'id="district" name="district" type="text" value="' + re.escape(typed), field)
    assert "govuk-input--error" in field
    assert "<title>Error: " in html
    assert f'<a href="#district">{reason}' in html  # the summary links to the field
    assert "carefair-filters--closed" not in html  # open on a phone too, so the error shows
    assert _ids(html)  # the rest of the search still runs


def test_a_district_in_use_searches_without_an_error(client, indexed):
    html = client.get("/search?q=care&district=sy1").get_data(as_text=True)
    assert "district-error" not in html and "<title>Error: " not in html
    assert 'name="district" type="text" value="SY1"' in html


def test_a_holders_stored_district_not_in_use_does_not_start_their_search_on_an_error(
        client, indexed, make_user, login, db_session):
    holder = make_user(home_district="LX6")  # recorded before districts were checked
    db_session.commit()
    login(holder)
    html = client.get("/search").get_data(as_text=True)
    assert "district-error" not in html and "<title>Error: " not in html
    assert "in LX6" not in html
