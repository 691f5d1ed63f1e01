"""Cover pages through the test client, without JavaScript: the back-up says they can cover, the
holder's side sees it on the booking and accepts in one step; others are kept out."""

from datetime import timedelta

import pytest

from app import clock
from app.domain.access import Role
from app.models import Booking
from app.models.jobs import CoverRequest
from app.services import bookings
from tests.booking_helpers import at, holder_with_budget, live_listing, next_weekday

pytestmark = pytest.mark.database

DAY = next_weekday(1)


@pytest.fixture
def cancelled(app, make_user):
    clock.travel_to(at(DAY - timedelta(days=1), 12))
    with app.app_context():
        broker = make_user(Role.BROKER)
        main, listing = live_listing(make_user, broker)
        backup, backup_listing = live_listing(make_user, broker, price="15.00")
        stranger, _ = live_listing(make_user, broker)
        holder, _ = holder_with_budget(make_user)
        booking = bookings.request_booking(holder, holder, bookings.BookingInput(
            listing_id=listing.id, start=at(DAY, 10), end=at(DAY, 12),
            backup_listing_ids=(backup_listing.id,)))
        bookings.accept(main, booking.id)
        bookings.cancel_booking(main, None, booking.id, reason="Unwell")
        found = dict(holder=holder, backup=backup, stranger=stranger, broker=broker, booking=booking)
    yield found  # outside the app context: each request then works out who is acting afresh
    clock.travel_to(None)


def test_a_back_up_says_yes_and_the_holder_accepts_in_one_step(client, login, cancelled, db_session):
    request = db_session.query(CoverRequest).one()
    login(cancelled["backup"])
    assert f"C-{request.id}" in client.get("/provider/cover").get_data(as_text=True)
    page = client.get(f"/provider/cover/{request.id}").get_data(as_text=True)
    assert "I can cover this" in page and cancelled["holder"].name not in page
    response = client.post(f"/provider/cover/{request.id}/answer", data={"answer": "yes"})
    assert response.status_code == 302
    assert "You said you can cover it, for £30.00" in client.get(
        f"/provider/cover/{request.id}").get_data(as_text=True)

    login(cancelled["holder"])
    detail = client.get(f"/my/bookings/{cancelled['booking'].id}").get_data(as_text=True)
    assert f'href="/my/cover/{request.id}"' in detail
    page = client.get(f"/my/cover/{request.id}").get_data(as_text=True)
    assert "Who can cover it (1)" in page and "£30.00" in page
    offer = request.offers[0]
    response = client.post(f"/my/cover/{request.id}/offers/{offer.id}/accept",
                           data={"expected_price": "3000"})
    made = db_session.query(Booking).filter(Booking.id != cancelled["booking"].id).one()
    assert response.headers["Location"].endswith(f"/my/bookings/{made.id}")
    assert made.state == "funds_held"
    assert "is covering the session" in client.get(response.headers["Location"]).get_data(as_text=True)
    again = client.post(f"/my/cover/{request.id}/offers/{offer.id}/accept", data={"expected_price": "3000"},
                        follow_redirects=True).get_data(as_text=True)
    assert "already covered" in again


def test_people_not_involved_cannot_see_or_answer(client, login, cancelled, db_session, make_user):
    request = db_session.query(CoverRequest).one()
    login(cancelled["stranger"])
    assert client.get(f"/provider/cover/{request.id}").status_code == 404
    assert client.post(f"/provider/cover/{request.id}/answer", data={"answer": "yes"},
                       follow_redirects=True).status_code == 404
    login(make_user(Role.HOLDER))
    assert client.get(f"/my/cover/{request.id}").status_code == 404
    login(cancelled["broker"])
    page = client.get(f"/broker/cover/{request.id}").get_data(as_text=True)
    assert "Looking for cover" in page and cancelled["holder"].name in page


def test_a_provider_cancels_one_visit_of_a_series_after_being_asked(client, login, app, make_user, db_session):
    from datetime import time

    from app.domain.bookings import WeeklyPattern

    clock.travel_to(at(DAY - timedelta(days=1), 12))
    try:
        with app.app_context():
            broker = make_user(Role.BROKER)
            main, listing = live_listing(make_user, broker)
            _, backup_listing = live_listing(make_user, broker)
            holder, _ = holder_with_budget(make_user)
            series = bookings.request_booking(holder, holder, bookings.BookingInput(
                listing.id, kind="recurring", backup_listing_ids=(backup_listing.id,),
                pattern=WeeklyPattern(frozenset({1}), time(10), 120, DAY, count=2)))
            bookings.accept(main, series.id)
            first_id, series_id = series.sessions[0].id, series.id
        login(main)
        page = client.get(f"/provider/bookings/{series_id}").get_data(as_text=True)
        assert f'href="/provider/sessions/{first_id}/cancel"' in page
        ask = client.get(f"/provider/sessions/{first_id}/cancel").get_data(as_text=True)
        assert "Yes, cancel this visit" in ask and "back-up providers are asked" in ask
        response = client.post(f"/provider/sessions/{first_id}/cancel", data={"reason": "Ill"})
        assert response.status_code == 302
        assert db_session.query(CoverRequest).filter_by(session_id=first_id).count() == 1
    finally:
        clock.travel_to(None)
