"""A holder's request that nobody answers expires, and the holder is offered similar providers."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.models import Booking, Listing, User
from app.services import bookings
from tests.browser.conftest import assert_accessible, assert_page_contains, sign_in

HOLDER = "holder@carefair.example"


def _bookable(app):
    """A live listing the demo holder can book at a free time, with a similar one beside it."""
    from app.services import budgets

    with app.app_context():
        holder = db.session.scalar(select(User).where(User.email == HOLDER))
        mode = budgets.current_budget(holder.id).funding_mode
        listings = list(db.session.scalars(select(Listing).where(Listing.is_live.is_(True))
                                           .order_by(Listing.id)))
        today = clock.now().astimezone(bookings.UK).date()
        for listing in listings:
            if listing.price_unit != "hour" or mode not in listing.funding_modes:
                continue
            similar = [other for other in listings if other.category == listing.category
                       and other.profile_id != listing.profile_id
                       and mode in other.funding_modes]
            if not similar:
                continue
            for offset in range(14, 60):
                day = today + timedelta(days=offset)
                data = bookings.BookingInput(listing.id, start=bookings.local(day, _t(10)),
                                             end=bookings.local(day, _t(12)))
                try:
                    quote = bookings.quote_booking(holder, data)
                except Exception:  # noqa: BLE001 - any refusal: try another day or listing
                    continue
                if not quote.needs_approval:
                    return listing.id, listing.title, day
    raise AssertionError("the demo data has no bookable listing with a similar one")


def _t(hour):
    from datetime import time

    return time(hour)


def test_unanswered_request_expires_and_the_holder_is_offered_alternatives(page, live_server):
    listing_id, title, day = _bookable(live_server.app)
    sign_in(page, HOLDER)
    page.goto(f"/my/book/{listing_id}")
    page.locator("#day-day").fill(str(day.day))
    page.locator("#day-month").fill(str(day.month))
    page.locator("#day-year").fill(str(day.year))
    page.get_by_label("Start time").fill("10:00")
    page.get_by_label("End time").fill("12:00")
    page.get_by_role("button", name="Check the price").click()
    expect(page.locator("#quote")).to_be_visible()
    page.get_by_role("button", name="Send the booking request").click()
    page.wait_for_load_state()
    assert "/my/bookings/" in page.url
    booking_id = int(page.url.rstrip("/").split("/")[-1])
    assert "the request expires" in page.locator("#respond-by").inner_text()
    assert_accessible(page)

    # Nobody answers: the scheduled job runs after the deadline (the clock set, not waited for).
    with live_server.app.app_context():
        booking = db.session.get(Booking, booking_id)
        deadline = bookings.request_deadline(booking)
        report = bookings.run_timers(deadline)
        assert report.expired >= 1 and report.errors == []
        assert bookings.run_timers(deadline).changed == 0  # a second run changes nothing

    page.reload()
    box = page.locator("#alternatives")
    assert "This request expired" in box.inner_text()
    assert_page_contains(page, "Expired: not answered in time")
    assert_accessible(page)
    # The holder was told in their inbox, with no detail of the support itself.
    page.goto("/inbox")
    assert_page_contains(page, "has expired")
    assert_accessible(page)
    page.goto(f"/my/bookings/{booking_id}")
    box = page.locator("#alternatives")
    first = box.get_by_role("link").first
    assert first.inner_text().startswith("Book ")
    first.click()
    page.wait_for_load_state()
    assert "/my/book/" in page.url and f"/my/book/{listing_id}" not in page.url
    assert_accessible(page)
