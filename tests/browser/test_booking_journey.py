"""The whole journey in Chromium, at 375 px and on a laptop, axe on every page, a screenshot of
each step kept under tests/browser/artefacts/ (git-ignored): the holder gives their address and
books weekly support from free slots in three steps; the provider accepts and sees where to go;
a visit is delivered (the clock moved by the test, not real waiting); the holder confirms it,
writes an easy-read review and cancels one later visit of the series."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from app import clock
from tests.browser.conftest import assert_page_contains, sign_in


@pytest.mark.parametrize("width", [375, 1280], ids=["phone", "laptop"])
def test_book_weekly_support_from_free_slots_to_a_review(browser, live_server, shots, width):
    from app.models import Booking
    from app.services import accounts, bookings

    viewport = {"width": width, "height": 900}
    holder_ctx = browser.new_context(base_url=live_server.url, viewport=viewport)
    provider_ctx = browser.new_context(base_url=live_server.url, viewport=viewport)
    try:
        page = holder_ctx.new_page()
        sign_in(page, "holder@carefair.example")
        shots(page, "holder-home")
        page.goto("/my/address")
        page.get_by_label("Address line 1").fill("4 Castle Street")
        page.get_by_label("Town or city").fill("Shrewsbury")
        page.get_by_label("Postcode").fill("SY1 2BB")
        page.get_by_label("Phone number (optional)").fill("01743 555123")
        page.get_by_role("button", name="Save the address").click()
        assert_page_contains(page, "The address is saved.")

        page.goto("/listings/1")
        shots(page, "listing-free-times")
        page.locator("#book").click()
        page.get_by_label("Every week, at the same time").check()
        page.get_by_label("If every week: for how many weeks?").select_option("4")
        shots(page, "step-1-how-often")
        page.get_by_role("button", name="Continue").click()
        shots(page, "step-2-when")
        page.locator("#free-slots input").first.check()
        page.get_by_role("button", name="Continue").click()
        assert page.locator("#price").inner_text().startswith("£")
        left = page.locator("#left-after strong").inner_text()
        shots(page, "step-3-check")
        page.locator("#easy-read-link").click()
        assert left in page.locator("#easy-read").inner_text()
        shots(page, "step-3-easy-read")
        page.go_back()
        page.get_by_role("button", name="Send the request").click()
        assert_page_contains(page, "Your booking request has been sent.")
        booking_id = int(re.search(r"/my/bookings/(\d+)", page.url).group(1))
        shots(page, "booking-requested")

        provider = provider_ctx.new_page()
        sign_in(provider, "provider@carefair.example")
        assert "to answer" in provider.locator("#requests-waiting").inner_text()
        shots(provider, "provider-home")
        provider.goto(f"/provider/bookings/{booking_id}")
        provider.get_by_role("button", name="Accept").click()
        provider.locator("#where-to-go a").click()
        assert "4 Castle Street" in provider.locator("#holder-address").inner_text()
        shots(provider, "provider-sees-address")

        with live_server.app.app_context():
            booking = bookings.get_booking(booking_id)
            assert booking.state == "funds_held" and len(booking.sessions) == 4
            first, second = booking.sessions[0], booking.sessions[1]
            maria = accounts.find_by_email("provider@carefair.example")
            first_id, second_id, first_end = first.id, second.id, first.end_at
        # The first visit happens: the clock moves past it, and Maria records it.
        clock.travel_to(first_end + timedelta(hours=2))
        try:
            with live_server.app.app_context():
                s = bookings.get_booking(booking_id).sessions[0]
                bookings.record_delivery(maria, s.id, actual_start=s.start_at,
                                         actual_end=s.end_at, notes="Shopping in town.",
                                         now=clock.now())
            page.goto("/my/")
            assert "1 visit to confirm" in page.locator("#hours-to-confirm").inner_text() or \
                "visits to confirm" in page.locator("#hours-to-confirm").inner_text()
            page.goto(f"/my/bookings/{booking_id}")
            page.locator(f"#session-{first_id}").get_by_role(
                "button", name="Confirm these hours").click()
            shots(page, "hours-confirmed")

            page.goto("/my/reviews")
            page.locator(f"a[href*='/my/reviews/{booking_id}/easy-read']").first.click()
            for name in ("reliable", "respect_dignity", "listened", "value", "overall"):
                page.locator(f"input[name='{name}'][value='5']").check()
            shots(page, "easy-read-review")
            page.get_by_role("button", name="Send").click()
            expect(page.get_by_role("heading", level=1)).to_have_count(1)
            shots(page, "review-sent")

            page.goto(f"/my/bookings/{booking_id}")
            page.locator(f"a[href='/my/sessions/{second_id}/cancel']").click()
            shots(page, "cancel-one-visit-question")
            page.get_by_role("button", name="Yes, cancel this visit").click()
            assert_page_contains(page, "The other visits go ahead.")
            shots(page, "one-visit-cancelled")
        finally:
            clock.travel_to(None)
        with live_server.app.app_context():
            from app.extensions import db

            states = [s.state for s in db.session.get(Booking, booking_id).sessions]
            assert states[1] == "cancelled" and states[2] == states[3] == "funds_held"
    finally:
        holder_ctx.close()
        provider_ctx.close()
