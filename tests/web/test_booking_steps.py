"""Booking in short steps from the provider's free time: how often, when (free slots only),
check with one price and what is left (matching the budget page), send; easy read too."""

import re
from datetime import timedelta
from urllib.parse import quote

import pytest
from sqlalchemy import select

from app import clock
from app.models import Booking
from app.services import bookings, free_time
from tests.booking_helpers import holder_with_budget, live_listing, next_weekday, one_off

pytestmark = pytest.mark.database


@pytest.fixture
def market(app, db_session, make_user):
    with app.app_context():
        provider, listing = live_listing(make_user)  # weekdays 08:00-18:00, 2 hours minimum
        holder, _ = holder_with_budget(make_user)
    return provider, listing, holder


def _slots(html: str) -> list[str]:
    return re.findall(r'name="start" type="radio" value="([^"]+)"', html)


def test_a_holder_books_weekly_support_from_free_slots_in_three_steps(
        client, login, market, db_session):
    provider, listing, holder = market
    login(holder)
    listing_page = client.get(f"/listings/{listing.id}").get_data(as_text=True)
    assert 'id="free-slots"' in listing_page
    assert f'href="/my/book/{listing.id}/how-often"' in listing_page

    # Step 1: nothing chosen is an error beside the question, not a stack trace.
    page = client.get(f"/my/book/{listing.id}/how-often?next=1&minutes=120")
    assert "Choose once or every week" in page.get_data(as_text=True)
    response = client.get(f"/my/book/{listing.id}/how-often?next=1&often=weekly&weeks=4"
                          "&minutes=120")
    assert response.status_code == 302 and "/when?" in response.headers["Location"]

    # Step 2: only free times are offered; pick the first.
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    starts = _slots(page)
    assert len(starts) >= 10
    step3 = client.get(f"/my/book/{listing.id}/when?often=weekly&weeks=4&minutes=120&next=1"
                       f"&start={quote(starts[0])}")
    assert step3.status_code == 302 and "/check?" in step3.headers["Location"]

    # Step 3: one price and one "left after this" that matches the budget page's figure.
    check = client.get(step3.headers["Location"]).get_data(as_text=True)
    assert 'id="price"><strong>£132.00</strong>' in check  # 4 visits x 2 hours x £16.50
    left = re.search(r'id="left-after"><strong>(£[\d,.]+)</strong>', check).group(1)
    budget = client.get("/my/budget").get_data(as_text=True)
    available_now = re.search(r'id="available">(£[\d,.]+)<', budget).group(1)
    assert available_now == "£1,000.00" and left == "£868.00"
    assert 'href="/my/book/' in check and "Change" in check

    form = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">', check))
    form["notes"] = "Please ring the bell twice"
    sent = client.post(f"/my/book/{listing.id}/check", data=form)
    assert sent.status_code == 302
    booking = db_session.scalar(select(Booking))
    assert booking.kind == "recurring" and len(booking.sessions) == 4
    assert booking.sessions[0].start_at.isoformat() == starts[0].replace("+00:00", "+00:00")
    assert booking.notes == "Please ring the bell twice"
    # The slot just booked is no longer offered.
    again = client.get(f"/my/book/{listing.id}/when?often=once&minutes=120").get_data(as_text=True)
    assert starts[0] not in _slots(again)


def test_a_booked_visit_is_not_offered_as_free(app, market):
    provider, listing, holder = market
    with app.app_context():
        first = free_time.next_free(listing, limit=1)[0]
        day = first.start
        taken = bookings.request_booking(holder, holder, bookings.BookingInput(
            listing_id=listing.id, kind="one_off", start=first.start, end=first.end))
        assert taken.state == "requested"  # a request holds its slot until answered
        offered = [s.start for s in free_time.next_free(listing, limit=40)]
        assert day not in offered
        assert all(abs(s - day) >= timedelta(hours=2, minutes=30) for s in offered
                   if s.date() == day.date())


def test_the_easy_read_check_has_pictures_and_the_same_figures(client, login, market, app):
    _, listing, holder = market
    login(holder)
    with clock.frozen(clock.now()), app.app_context():
        start = free_time.next_free(listing, limit=1)[0].start
        url = (f"/my/book/{listing.id}/check?often=once&minutes=120&start={quote(start.isoformat())}")
        standard = client.get(url).get_data(as_text=True)
        easy = client.get(url + "&easy=1").get_data(as_text=True)
    assert "Is this right?" in easy and easy.count('class="carefair-picture"') == 4
    assert "It costs <strong>£33.00</strong>" in easy
    assert "you have <strong>£967.00</strong> left in your budget" in easy
    assert 'id="price"><strong>£33.00</strong>' in standard


def test_a_time_that_is_no_longer_free_is_said_plainly_on_the_check_page(
        client, login, market, app):
    provider, listing, holder = market
    with app.app_context():
        booking = bookings.request_booking(holder, holder, one_off(listing, day=next_weekday(2)))
        taken = booking.sessions[0].start_at
    login(holder)
    page = client.get(f"/my/book/{listing.id}/check?often=once&minutes=120"
                      f"&start={quote(taken.isoformat())}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "There is a problem" in html
    assert 'id="send"' not in html
