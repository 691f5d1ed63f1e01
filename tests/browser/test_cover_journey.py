"""Last-minute cover in Chromium, axe on every page: Maria cancels the day before; the holder's
named back-up says they can cover; the holder accepts them in one step and the visit is booked."""

from __future__ import annotations

from datetime import date, time, timedelta

from app import clock
from tests.browser.conftest import assert_accessible, assert_page_contains, sign_in
from tests.factories import TEST_PASSWORD

COVER_EMAIL = "cora.cover@carefair.example"


def _tuesday_weeks_ahead(weeks: int) -> date:
    today = date.today()
    return today + timedelta(days=(1 - today.weekday()) % 7 + 7 * weeks)


def _set_up(app):
    """Alex Morgan booked with Maria for a Tuesday morning weeks ahead, with a vetted back-up."""
    from app.domain.listings import Category, Slot
    from app.errors import DomainError
    from app.extensions import db
    from app.models import Listing
    from app.services import accounts, bookings, providers
    from app.services.providers import profile_of
    from tests.factories import UserFactory
    from tests.provider_helpers import profile_input, verified_provider

    with app.app_context():
        broker = accounts.find_by_email("broker@carefair.example")
        cora, cora_listing = verified_provider(
            lambda role, **kw: UserFactory(role=role.value, email=COVER_EMAIL, name="Cora Cover", **kw),
            broker, category=Category.PERSONAL_CARE, price="15.00",
            funding_modes=["council_managed", "direct_payment"])
        providers.save_profile(cora, profile_input(display_name="Cora Cover", districts="SY1"))
        providers.set_availability(cora, [Slot(d, time(7, 0), time(21, 0)) for d in range(7)])
        maria = accounts.find_by_email("provider@carefair.example")
        alex = accounts.find_by_email("holder@carefair.example")
        maria_listing = db.session.scalar(db.select(Listing).where(
            Listing.profile_id == profile_of(maria).id, Listing.category == "personal_care"))
        booking = None
        # The first Monday to Wednesday morning weeks ahead that Maria has free (the demo has her
        # booked on some).
        for weeks in range(6, 12):
            for offset in (-1, 0, 1):
                for hour in (8, 10, 12):
                    day = _tuesday_weeks_ahead(weeks) + timedelta(days=offset)
                    try:
                        booking = bookings.request_booking(alex, alex, bookings.BookingInput(
                            listing_id=maria_listing.id, start=bookings.local(day, time(hour, 0)),
                            end=bookings.local(day, time(hour + 2, 0)),
                            backup_listing_ids=(cora_listing.id,)))
                    except DomainError:
                        continue
                    break
                if booking:
                    break
            if booking:
                break
        assert booking is not None
        day = booking.sessions[0].start_at.astimezone(bookings.UK).date()
        bookings.accept(maria, booking.id)
        assert bookings.get_booking(booking.id).state == "funds_held"
        return booking.id, day


def test_provider_cancels_late_and_a_back_up_covers(browser, live_server):
    booking_id, day = _set_up(live_server.app)
    clock.travel_to(bookings_local(day - timedelta(days=1), 12))
    contexts = [browser.new_context(base_url=live_server.url) for _ in range(3)]
    try:
        maria, cora, alex = (c.new_page() for c in contexts)
        sign_in(maria, "provider@carefair.example")
        maria.goto(f"/provider/bookings/{booking_id}")
        maria.locator("#cancel-link").click()
        assert_accessible(maria)
        maria.get_by_label("Reason (optional)").fill("I am unwell")
        maria.get_by_role("button", name="Yes, cancel this booking").click()
        assert_page_contains(maria, "The booking is cancelled")

        sign_in(cora, COVER_EMAIL, TEST_PASSWORD)
        cora.goto("/provider/cover")
        assert_accessible(cora)
        cora.locator("#cover-list a").first.click()
        assert_page_contains(cora, "named back-ups")
        assert "Alex Morgan" not in cora.content()  # the person's name is not shared yet
        assert_accessible(cora)
        cora.get_by_role("button", name="I can cover this").click()
        assert "You said you can cover it, for £30.00" in cora.locator("#cover-said-yes").inner_text()
        assert_accessible(cora)

        sign_in(alex, "holder@carefair.example")
        alex.goto(f"/my/bookings/{booking_id}")
        assert_accessible(alex)
        alex.locator("#cover-requests a").first.click()
        assert_page_contains(alex, "Who can cover it (1)")
        assert_accessible(alex)
        alex.get_by_role("button", name="Accept Cora Cover").click()
        assert_page_contains(alex, "Cora Cover is covering the session. It is booked.")
        assert_accessible(alex)

        cora.goto("/provider/cover")
        assert "You are covering it" in cora.locator("#cover-list").inner_text()
    finally:
        clock.travel_to(None)
        for c in contexts:
            c.close()


def bookings_local(day: date, hour: int):
    from app.services import bookings

    return bookings.local(day, time(hour, 0))
