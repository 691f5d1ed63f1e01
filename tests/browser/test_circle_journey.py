"""A circle-of-support member (Dee, in Alex's circle, shown his plan and bookings) at 375 px
and on a laptop: sees what is shared and nothing else, is told plainly (not a bare error) when
a page is not shared, can never book, cancel or confirm; and when Alex removes Dee (after a
question) and then undoes it within ten minutes, Dee's access goes and comes back.
Axe on every page, a screenshot of each step kept."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import assert_page_contains, sign_in

CIRCLE = "circle@carefair.example"
HOLDER = "holder@carefair.example"


def _dee_delegation(app):
    from app.extensions import db
    from app.models import Delegation, User

    with app.app_context():
        dee = db.session.scalar(select(User).where(User.email == CIRCLE))
        alex = db.session.scalar(select(User).where(User.email == HOLDER))
        row = db.session.scalar(select(Delegation).where(
            Delegation.delegate_id == dee.id, Delegation.holder_id == alex.id,
            Delegation.kind == "circle").order_by(Delegation.id))
        return row.id, row.status


def _restore_dee(app, delegation_id: int) -> None:
    """Leave the shared demo as it was if a step failed after the removal."""
    from app.extensions import db
    from app.models import Delegation

    with app.app_context():
        row = db.session.get(Delegation, delegation_id)
        if row.status == "revoked":
            row.status, row.revoked_at, row.revoked_by_id = "active", None, None
            db.session.commit()


@pytest.mark.parametrize("width", [375, 1280], ids=["phone", "laptop"])
def test_a_circle_member_sees_only_what_is_shared(browser, live_server, shots, width):
    viewport = {"width": width, "height": 900}
    circle_ctx = browser.new_context(base_url=live_server.url, viewport=viewport)
    holder_ctx = browser.new_context(base_url=live_server.url, viewport=viewport)
    delegation_id, status = _dee_delegation(live_server.app)
    assert status == "active"
    try:
        page = circle_ctx.new_page()
        sign_in(page, CIRCLE)
        assert page.get_by_role("heading", level=1).inner_text() == "Alex Morgan's home"
        assert "You are acting for Alex Morgan" in page.locator("#acting-for").inner_text()
        nav = page.locator("header nav, .govuk-service-navigation").first.inner_text()
        assert "Budget" not in nav.split() and "Messages" not in nav
        assert page.locator("#next-visit").count() == 1  # bookings are shared
        shots(page, "circle-home")

        # Shared: the support plan and the bookings, to read.
        page.goto("/my/plan")
        expect(page.get_by_role("heading", level=1)).to_have_count(1)
        expect(page.get_by_role("button", name="Change")).to_have_count(0)
        shots(page, "shared-plan")
        page.goto("/my/bookings")
        shots(page, "shared-bookings")
        first = page.locator("a[href^='/my/bookings/']").first
        if first.count():
            first.click()
            page.wait_for_load_state()
            html = page.content()
            assert "Confirm these hours" not in html and "/cancel" not in html
            assert "Pause" not in page.locator("main").inner_text()
            shots(page, "shared-booking")

        # Not shared: said plainly on a real page, with a way home.
        response = page.goto("/my/budget")
        assert response.status == 403
        assert page.get_by_role("heading", level=1).inner_text() == \
            "You do not have access to this page"
        assert "Alex Morgan has not shared their budget and spending with you" in \
            page.locator("main").inner_text()
        expect(page.get_by_role("link", name="Go to your home page")).to_have_count(1)
        shots(page, "budget-not-shared")
        response = page.goto("/my/messages")
        assert response.status == 403
        assert_page_contains(page, "has not shared their messages with providers")
        response = page.goto("/my/address")
        assert response.status == 403
        assert "only Alex Morgan or the people who manage their money can do this" in \
            page.content()
        shots(page, "address-not-for-the-circle")

        # Looking at services is fine; booking is Alex's.
        page.goto("/listings/1")
        expect(page.locator("#book")).to_have_count(0)
        assert "booking and messaging providers are for Alex Morgan" in \
            page.locator("#cannot-book").inner_text()
        shots(page, "listing-no-booking")
        response = page.goto("/my/book/1/how-often")
        assert response.status == 403
        page.goto("/my/people")
        assert "nominated@carefair.example" not in page.content()  # only Dee's own standing
        shots(page, "own-standing")

        # Alex removes Dee, after a question, then thinks better of it and undoes it.
        holder = holder_ctx.new_page()
        sign_in(holder, HOLDER)
        holder.goto("/my/people")
        holder.locator(f"a[href='/my/people/{delegation_id}/remove']").click()
        assert holder.get_by_role("heading", level=1).inner_text() == "Remove Dee Lewis?"
        shots(holder, "remove-question")
        holder.get_by_role("button", name="Yes, remove them").click()
        assert_page_contains(holder, "choose Undo beside them within 10 minutes")
        shots(holder, "removed-with-undo")
        page.goto("/my/plan")  # Dee can no longer open Alex's account
        assert "/acting-for" in page.url and "You are not acting for anyone" in page.content()
        holder.locator(f"#undo-{delegation_id}").click()
        assert_page_contains(holder, "can act for Alex Morgan again, as before.")
        shots(holder, "undone")
        page.goto("/my/plan")
        assert page.url.endswith("/my/plan")
        assert "You are acting for Alex Morgan" in page.locator("#acting-for").inner_text()
    finally:
        _restore_dee(live_server.app, delegation_id)
        circle_ctx.close()
        holder_ctx.close()
