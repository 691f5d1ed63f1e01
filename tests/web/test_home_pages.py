"""Home pages lead with what is next: the next visit, requests waiting, hours to confirm,
reviews to write and new messages, for the holder and for the provider."""

from datetime import timedelta

import pytest

from app.services import bookings
from tests.booking_helpers import holder_with_budget, live_listing, next_weekday, one_off

pytestmark = pytest.mark.database


@pytest.fixture
def market(app, db_session, make_user):
    with app.app_context():
        provider, listing = live_listing(make_user)
        holder, _ = holder_with_budget(make_user)
    return provider, listing, holder


def test_a_holder_with_nothing_booked_is_pointed_to_search(client, login, market):
    _, _, holder = market
    login(holder)
    html = client.get("/my/").get_data(as_text=True)
    assert "No visits booked." in html
    assert 'id="requests-waiting"' not in html and 'id="hours-to-confirm"' not in html


def test_a_request_shows_as_waiting_for_both_sides_then_as_the_next_visit(
        client, login, market, app):
    provider, listing, holder = market
    day = next_weekday(2)
    with app.app_context():
        booking = bookings.request_booking(holder, holder, one_off(listing, day=day))
    login(holder)
    html = client.get("/my/").get_data(as_text=True)
    assert "1 request waiting" in html and "Nothing is held from the budget until accepted" in html
    # Not "No visits booked" with a nudge to search, when one is only waiting for its answer.
    assert "No visits booked yet:" in html and "No visits booked." not in html
    login(provider)
    html = client.get("/provider/").get_data(as_text=True)
    assert "1 request to answer" in html
    assert f'href="/provider/bookings/{booking.id}"' in html

    with app.app_context():
        bookings.accept(provider, booking.id)
    html = client.get("/provider/").get_data(as_text=True)
    assert "No requests waiting for an answer." in html
    assert "Next visit:" in html and listing.title in html
    login(holder)
    html = client.get("/my/").get_data(as_text=True)
    assert 'id="requests-waiting"' not in html
    assert "Next visit:" in html and f"{day.day} " in html


def test_a_delivered_visit_asks_the_holder_to_confirm_hours(client, login, market, app):
    provider, listing, holder = market
    day = next_weekday(2)
    with app.app_context():
        booking = bookings.request_booking(holder, holder, one_off(listing, day=day))
        bookings.accept(provider, booking.id)
        session = booking.sessions[0]
        later = session.end_at + timedelta(hours=1)
        # The provider records it after it happened (the clock moved on, not real waiting).
        login(provider)
        html = client.get("/provider/").get_data(as_text=True)
        assert 'id="to-record"' not in html
        bookings.record_delivery(provider, session.id, actual_start=session.start_at,
                                 actual_end=session.end_at, now=later)
    login(holder)
    html = client.get("/my/").get_data(as_text=True)
    assert "1 visit to confirm" in html
    assert f"/my/bookings/{booking.id}#session-{session.id}" in html


def test_a_requested_booking_shows_on_the_budget_as_requested_not_held(client, login, market, app):
    provider, listing, holder = market
    with app.app_context():
        booking = bookings.request_booking(holder, holder, one_off(listing, day=next_weekday(2)))
    login(holder)
    html = client.get("/my/budget").get_data(as_text=True)
    assert "Requested, not held yet" in html
    assert f'href="/my/bookings/{booking.id}">{listing.title}</a>: £33.00' in html
    with app.app_context():
        bookings.accept(provider, booking.id)
    html = client.get("/my/budget").get_data(as_text=True)
    assert "Requested, not held yet" not in html


def test_every_page_has_the_crisis_line_and_a_holder_has_the_budget_in_the_menu(
        client, login, market):
    html = client.get("/accessibility").get_data(as_text=True)
    assert "116 123" in html and "NHS 111" in html and "option 2" in html and "999" in html
    assert 'href="/my/budget"' not in html
    login(market[2])
    html = client.get("/search").get_data(as_text=True)
    assert "116 123" in html
    assert 'class="govuk-service-navigation__link" href="/my/budget"' in html


def test_there_is_a_favicon(client):
    with client.get("/favicon.ico") as response:
        assert response.status_code == 200 and response.data[:4] == b"\x00\x00\x01\x00"
    assert 'rel="icon" href="/favicon.ico"' in client.get("/").get_data(as_text=True)
