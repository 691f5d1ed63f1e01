"""A council admin makes an API token without JavaScript, copies it once, and revokes it; the pages pass axe."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, assert_page_contains, sign_in

pytestmark = pytest.mark.browser


def test_admin_creates_and_revokes_a_token_without_javascript(no_js_context, live_server):
    page = no_js_context.new_page()
    sign_in(page, "admin@carefair.example")
    page.goto("/admin/api-tokens")
    assert_accessible(page)
    page.get_by_role("button", name="Create token").click()  # nothing filled in
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Name").fill("Case management system")
    page.get_by_label("Read budget holders and their districts (holders:read)").check()
    expiry = date.today() + timedelta(days=60)
    page.get_by_label("Day").fill(str(expiry.day))
    page.get_by_label("Month").fill(str(expiry.month))
    page.get_by_label("Year").fill(str(expiry.year))
    page.get_by_role("button", name="Create token").click()
    secret = page.get_by_label("Token").input_value()
    assert secret.startswith("cfk_")
    assert_accessible(page)

    api = no_js_context.request
    headers = {"Authorization": f"Bearer {secret}"}
    assert api.get("/api/v1/holders", headers=headers).status == 200
    page.goto("/admin/api-tokens")
    assert secret not in page.content()
    page.get_by_role("link", name="Revoke Case management system").click()
    assert_page_contains(page, "Revoke the token Case management system?")
    assert_accessible(page)
    page.get_by_role("button", name="Yes, revoke it").click()
    assert_page_contains(page, "no longer works")
    assert api.get("/api/v1/holders", headers=headers).status == 401


def test_api_reference_page_is_accessible(page, live_server):
    page.goto("/api/v1/reference")
    expect(page.get_by_role("heading", name="GET /api/v1/holders", exact=True)).to_be_visible()
    assert_accessible(page)
