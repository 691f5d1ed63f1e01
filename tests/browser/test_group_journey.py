"""A group session through the steps, at 375 px: Alex starts one at a weekly group (the cost
shared, at most his share), the group accepts, Sam finds it on step 1 and joins it from its
easy-read page; joining closes, the session goes ahead and each pays half. Axe on every page,
a screenshot of each step kept."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import assert_page_contains, sign_in

ALEX = "holder@carefair.example"
SAM = "sam.holder@carefair.example"


def _group_both_can_use(app):
    """A live weekly group whose price both Alex's and Sam's budgets can pay without a broker."""
    from app.domain.vetting import ProviderType
    from app.extensions import db
    from app.models import Listing, User
    from app.services import bookings, budgets, free_time

    with app.app_context():
        people = [db.session.scalar(select(User).where(User.email == e)) for e in (ALEX, SAM)]
        modes = [budgets.current_budget(p.id).funding_mode for p in people]
        for listing in db.session.scalars(select(Listing).where(Listing.is_live.is_(True))
                                          .order_by(Listing.id)):
            if listing.profile.provider_type != ProviderType.GROUP_ACTIVITY.value:
                continue
            if not all(m in listing.funding_modes for m in modes):
                continue
            slots = free_time.next_free(listing, limit=40)
            late = [s for s in slots if s.start > slots[0].start + timedelta(days=4)]
            if not late:
                continue
            data = bookings.BookingInput(listing.id, kind="pooled", start=late[0].start,
                                         end=late[0].end, min_participants=2,
                                         max_participants=6,
                                         join_deadline=late[0].start - timedelta(hours=48))
            if all(not bookings.quote_booking(p, data).needs_approval for p in people):
                return listing.id
    raise AssertionError("the demo has no group both Alex and Sam could book")


def test_a_group_session_is_started_joined_and_shared(browser, live_server, shots):
    from app import clock
    from app.extensions import db
    from app.models import Booking
    from app.services import bookings

    listing_id = _group_both_can_use(live_server.app)
    viewport = {"width": 375, "height": 900}
    alex_ctx = browser.new_context(base_url=live_server.url, viewport=viewport)
    sam_ctx = browser.new_context(base_url=live_server.url, viewport=viewport)
    try:
        alex = alex_ctx.new_page()
        sign_in(alex, ALEX)
        alex.goto(f"/listings/{listing_id}")
        alex.locator("#book").click()
        alex.get_by_label("A group session: the cost is shared", exact=False).check()
        alex.get_by_label("the fewest people it needs", exact=False).select_option("2")
        alex.get_by_label("the most people", exact=False).select_option("6")
        shots(alex, "step-1-group")
        alex.get_by_role("button", name="Continue").click()
        assert_page_contains(alex, "When should the group session be?")
        shots(alex, "step-2-when")
        # A time at least four days off, so others have two days to join.
        radios = alex.locator("#free-slots input[name=start]")
        values = radios.evaluate_all("els => els.map(e => e.value)")
        first = datetime.fromisoformat(values[0])
        pick = next(v for v in values if datetime.fromisoformat(v) > first + timedelta(days=4))
        alex.locator(f"#free-slots input[value='{pick}']").check()
        alex.get_by_role("button", name="Continue").click()
        price = alex.locator("#price").inner_text()
        assert "at most" in price and "Your share of" in price
        shots(alex, "step-3-check")
        alex.get_by_role("button", name="Send the request").click()
        booking_id = int(re.search(r"/my/bookings/(\d+)", alex.url).group(1))
        assert_page_contains(alex, "Group session")
        shots(alex, "group-requested")

        with live_server.app.app_context():
            booking = db.session.get(Booking, booking_id)
            bookings.accept(booking.listing.profile.user, booking_id)  # the group says yes
            deadline, total = booking.join_deadline, booking.total_pence

        sam = sam_ctx.new_page()
        sign_in(sam, SAM)
        sam.goto(f"/my/book/{listing_id}/how-often?easy=1")
        shots(sam, "sam-step-1-easy")
        sam.locator(f"#open-groups a[href*='/join/{booking_id}']").click()
        assert sam.get_by_role("heading", level=1).inner_text() == "Join this group?"
        expect(sam.locator(".carefair-picture")).to_have_count(4)
        shots(sam, "sam-join-easy")
        sam.get_by_role("button", name="Join").click()
        assert sam.url.endswith(f"/my/bookings/{booking_id}")
        assert_page_contains(sam, "You have joined the group session")
        shots(sam, "sam-joined")

        # Joining closes; the hourly job's pool step decides (called alone, so the rest of the
        # shared demo is not moved on): it goes ahead with two, each paying half.
        clock.travel_to(deadline + timedelta(minutes=1))
        try:
            with live_server.app.app_context():
                assert bookings.decide_pool(booking_id, now=clock.now()) is True
                booking = db.session.get(Booking, booking_id)
                assert booking.pool_decided_at is not None
                shares = sorted(p.share_pence for p in booking.participants)
                assert len(shares) == 2 and sum(shares) == total
                assert shares[1] - shares[0] <= 1  # half each, to the penny
            alex.goto(f"/my/bookings/{booking_id}")
            assert_page_contains(alex, "2 joined")
            shots(alex, "group-goes-ahead")
        finally:
            clock.travel_to(None)
    finally:
        alex_ctx.close()
        sam_ctx.close()
