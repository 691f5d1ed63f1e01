"""Searching the demo in a real browser: filters, "Why am I seeing this?", did-you-mean and
pages work with JavaScript switched off, and every search page passes axe."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible


@pytest.fixture(scope="module", autouse=True)
def demo_index(live_server):
    """The index as `carefair demo` leaves it: every live demo listing, after the seed."""
    from app.services import search

    with live_server.app.app_context():
        assert search.reindex() > 0


def _count(page) -> int:
    return int(re.match(r"(\d+) listing", page.locator("#result-count").inner_text()).group(1))


def _listing_links(page) -> list[str]:
    return [a.get_attribute("href") for a in page.locator(".carefair-result h3 a").all()]


def _prices(page) -> list[int]:
    """Each result's price in pence, in the order shown."""
    shown = page.locator(".carefair-result strong").all_inner_texts()
    return [int(re.sub(r"[£,.]", "", price)) for price in shown]


def test_a_holder_narrows_a_search_without_javascript(no_js_context):
    page = no_js_context.new_page()
    page.goto("/search")
    everything = _count(page)
    assert everything > 10

    page.get_by_label("What support are you looking for?").fill("personal care")
    page.get_by_label("Area you need support in").fill("SY3")
    page.get_by_role("button", name="Search").click()
    narrowed = _count(page)
    assert 0 < narrowed < everything
    assert page.get_by_label("What support are you looking for?").input_value() == "personal care"

    # Tick a language and apply: fewer results, the box stays ticked, Maria Santos is found.
    language = page.get_by_role("group", name="Language")
    portuguese = language.get_by_label(re.compile(r"^Portuguese \(\d+\)$"))
    expected = int(re.search(r"\((\d+)\)", portuguese.locator("xpath=..").inner_text()).group(1))
    portuguese.check()
    page.get_by_role("button", name="Apply filters").click()
    assert _count(page) == expected
    assert page.get_by_role("group", name="Language").get_by_label(
        re.compile(r"^Portuguese")).is_checked()
    first = page.locator(".carefair-result").first
    assert "Personal care" in first.get_by_role("heading").inner_text()

    # "Why am I seeing this?" is a <details>: it opens without JavaScript.
    why = first.get_by_text("Why am I seeing this?")
    explanation = first.locator(".govuk-details__text")
    assert not explanation.is_visible()
    why.click()
    expect(explanation).to_be_visible()
    assert "Your words are in its title" in explanation.inner_text()
    assert_accessible(page)


def test_pages_sort_and_listing_links_work_without_javascript(no_js_context):
    page = no_js_context.new_page()
    page.goto("/search")
    page.get_by_label("Sort by").select_option(label="Price (lowest first)")
    page.get_by_role("button", name="Search").click()
    assert re.search(r"page 1 of \d+", page.locator("#result-count").inner_text())
    prices = _prices(page)
    assert prices == sorted(prices)

    first_page = _listing_links(page)
    page.get_by_role("link", name="Next page").click()
    assert "page 2 of" in page.locator("#result-count").inner_text()
    assert set(_listing_links(page)).isdisjoint(first_page)
    assert _prices(page)[0] >= prices[-1]

    title = page.locator(".carefair-result h3").first.inner_text()
    page.locator(".carefair-result h3 a").first.click()
    assert page.get_by_role("heading", level=1).inner_text() == title


def test_a_misspelling_and_an_empty_result_guide_the_holder(page):
    page.goto("/search?q=caf%C3%A9+demntia")  # "café demntia": an accent and a slip
    assert "so these are the results for “cafe dementia”" in page.locator("#corrected").inner_text()
    assert page.get_by_label("What support are you looking for?").input_value() == "cafe dementia"
    assert _count(page) > 0
    assert_accessible(page)

    page.goto("/search?q=demntia&district=TF9")  # nothing near TF9 even spelt right
    page.get_by_role("link", name="dementia").click()
    assert page.get_by_label("What support are you looking for?").input_value() == "dementia"
    expect(page.get_by_role("heading", name="No listings match your search")).to_be_visible()
    loosen = page.locator("#loosen a").first
    assert loosen.inner_text().startswith("Remove")
    assert_accessible(page)
    loosen.click()
    assert _count(page) > 0
