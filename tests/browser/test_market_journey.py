"""A broker finds a concentrated market in a real browser: from the console to the market view,
into the district, to the dominant provider and its flag; every page passes axe."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, sign_in


def test_broker_reaches_the_flagged_provider_from_the_console(page):
    sign_in(page, "broker@carefair.example")
    page.goto("/broker/")
    page.get_by_role("link", name="Markets: concentration, share caps and steering").click()
    expect(page.get_by_role("heading", name="Markets", exact=True)).to_be_visible()
    assert_accessible(page)

    # Narrow to the district, then open its personal care market.
    page.get_by_label("District").select_option("SY3")
    page.get_by_role("button", name="Show markets").click()
    markets = page.locator("#markets")
    assert "Highly concentrated" in markets.inner_text()
    markets.get_by_role("link", name="SY3: Personal care").click()
    expect(page.get_by_role("heading", name="Personal care for people living in SY3")).to_be_visible()
    expect(page.locator("svg.carefair-chart")).to_have_count(1)
    assert page.locator("#trend-table tbody tr").count() >= 1
    assert_accessible(page)

    # The provider above the cap, and the flag about the market filed against it.
    providers = page.locator("#providers")
    assert "Above the cap" in providers.inner_text()
    providers.get_by_role("link", name="Severn Valley Home Care Ltd").click()
    expect(page.get_by_role("heading", name="Severn Valley Home Care Ltd in the markets")).to_be_visible()
    assert_accessible(page)
    flag = page.get_by_role("link", name=re.compile(r"^F-\d+$")).first
    flag.click()
    # The newest flag about them: the steering that fed the market, or the market itself.
    assert "Severn Valley Home Care Ltd" in page.locator("main").inner_text()
    # The demo broker did the steering, so a steering flag is another broker's to decide: the
    # page says so instead of offering forms that would be refused.
    decision = page.locator("#cannot-decide").or_(page.get_by_role("button", name="Uphold the flag"))
    expect(decision).to_be_visible()
    if page.locator("#cannot-decide").count():
        assert "another broker must review it" in page.locator("#cannot-decide").inner_text()
    assert_accessible(page)


def test_the_steering_page_shows_the_demo_brokers_pattern(page):
    sign_in(page, "broker@carefair.example")
    page.goto("/markets/steering")
    table = page.locator("#steering")
    assert "Steering" in table.inner_text() and "Severn Valley Home Care Ltd" in table.inner_text()
    assert_accessible(page)
