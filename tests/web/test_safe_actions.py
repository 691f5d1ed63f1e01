"""Cancelling asks first: a page saying what would be cancelled and what it costs, for a whole
booking, for the end of a weekly series, and for one visit of a series (the rest go ahead)."""

from datetime import time, timedelta

import pytest
from sqlalchemy import select

from app.domain.bookings import ActorKind
from app.domain.ledger import Account
from app.domain.schedule import WeeklyPattern
from app.models import AuditEvent, BookingSession
from app.services import bookings, ledger
from tests.booking_helpers import holder_with_budget, live_listing, next_weekday, one_off

pytestmark = pytest.mark.database


@pytest.fixture
def market(app, db_session, make_user):
    with app.app_context():
        provider, listing = live_listing(make_user, charge="10.00", notice=24)
        holder, budget = holder_with_budget(make_user)
    return provider, listing, holder, budget


def _weekly(holder, provider, listing, sessions=3):
    first = next_weekday(1)
    pattern = WeeklyPattern(weekdays=frozenset({first.weekday()}), start_time=time(10),
                            duration_minutes=120, first_date=first, count=sessions)
    data = bookings.BookingInput(listing_id=listing.id, kind="recurring", pattern=pattern)
    booking = bookings.request_booking(holder, holder, data)
    bookings.accept(provider, booking.id)
    return booking


def test_cancel_booking_shows_a_question_before_anything_happens(client, login, market, app):
    provider, listing, holder, _ = market
    with app.app_context():
        booking = bookings.request_booking(holder, holder, one_off(listing))
    login(holder)
    detail = client.get(f"/my/bookings/{booking.id}").get_data(as_text=True)
    assert f'href="/my/bookings/{booking.id}/cancel"' in detail
    question = client.get(f"/my/bookings/{booking.id}/cancel").get_data(as_text=True)
    assert "Cancel this booking?" in question and "Yes, cancel this booking" in question
    assert "No, keep it" in question and 'id="cancel-charge">Nothing' in question
    assert bookings.get_booking(booking.id).state == "requested"
    client.post(f"/my/bookings/{booking.id}/cancel", data={"reason": "plans changed"})
    assert bookings.get_booking(booking.id).state == "cancelled"


def test_ending_a_series_says_so(client, login, market, app):
    provider, listing, holder, _ = market
    with app.app_context():
        booking = _weekly(holder, provider, listing)
    login(holder)
    detail = client.get(f"/my/bookings/{booking.id}").get_data(as_text=True)
    assert "End this series" in detail
    question = client.get(f"/my/bookings/{booking.id}/cancel").get_data(as_text=True)
    assert "End this series of visits?" in question and "3 visits, from" in question


def test_cancelling_one_visit_of_a_series_leaves_the_others_and_returns_its_money(
        client, login, market, app, db_session):
    provider, listing, holder, budget = market
    with app.app_context():
        booking = _weekly(holder, provider, listing)
        first, second, third = booking.sessions
        available_before = ledger.balances(budget.id)[Account.AVAILABLE]
    login(holder)
    detail = client.get(f"/my/bookings/{booking.id}").get_data(as_text=True)
    assert f'href="/my/sessions/{second.id}/cancel"' in detail
    question = client.get(f"/my/sessions/{second.id}/cancel").get_data(as_text=True)
    assert "Cancel this visit?" in question and "The other visits in this booking go ahead" in question
    assert 'id="cancel-charge">Nothing' in question  # more than 24 hours' notice
    page = client.post(f"/my/sessions/{second.id}/cancel", data={"reason": "away that week"},
                       follow_redirects=True).get_data(as_text=True)
    assert "is cancelled. The other visits go ahead." in page
    states = {s.id: s.state for s in db_session.scalars(
        select(BookingSession).where(BookingSession.booking_id == booking.id))}
    assert states[second.id] == "cancelled"
    assert states[first.id] == states[third.id] == "funds_held"
    assert bookings.get_booking(booking.id).state == "funds_held"
    with app.app_context():
        assert ledger.balances(budget.id)[Account.AVAILABLE] == available_before + second.price_pence
    event = db_session.scalars(select(AuditEvent).where(
        AuditEvent.action == "booking.session_cancelled")).one()
    assert event.actor_id == holder.id and event.details["session"] == second.id


def test_a_late_visit_cancellation_shows_the_charge_first(client, login, market, app):
    provider, listing, holder, _ = market
    with app.app_context():
        booking = _weekly(holder, provider, listing)
        s = booking.sessions[0]
        preview = bookings.cancellation_preview(booking, ActorKind.HOLDER,
                                                session_id=s.id,
                                                now=s.start_at - timedelta(hours=2))
    assert preview == [(s, 1000)]


def test_cancelling_the_last_open_visit_ends_the_booking(client, login, market, app):
    provider, listing, holder, _ = market
    with app.app_context():
        booking = _weekly(holder, provider, listing, sessions=1)
        [only] = booking.sessions
        bookings.cancel_session(holder, holder, only.id)
        assert bookings.get_booking(booking.id).state == "cancelled"


def test_a_provider_is_asked_before_cancelling_and_nothing_changes_until_they_confirm(
        client, login, market, app):
    provider, listing, holder, _ = market
    with app.app_context():
        booking = _weekly(holder, provider, listing)
    login(provider)
    detail = client.get(f"/provider/bookings/{booking.id}").get_data(as_text=True)
    assert f'href="/provider/bookings/{booking.id}/cancel"' in detail
    assert f'action="/provider/bookings/{booking.id}/cancel"' not in detail
    question = client.get(f"/provider/bookings/{booking.id}/cancel").get_data(as_text=True)
    assert "End this series of visits?" in question and "Yes, end the series" in question
    assert "3 visits, from" in question and f"{holder.name} is told at once" in question
    assert bookings.get_booking(booking.id).state == "funds_held"
    client.post(f"/provider/bookings/{booking.id}/cancel", data={"reason": "moving away"})
    assert bookings.get_booking(booking.id).state == "cancelled"
    # Once cancelled there is nothing to ask about.
    response = client.get(f"/provider/bookings/{booking.id}/cancel")
    assert response.status_code == 302


def test_a_provider_is_asked_before_declining_a_request_and_nothing_changes_until_they_say_yes(
        client, login, market, app):
    provider, listing, holder, _ = market
    with app.app_context():
        booking = bookings.request_booking(holder, holder, one_off(listing, day=next_weekday(2)))
    login(provider)
    detail = client.get(f"/provider/bookings/{booking.id}").get_data(as_text=True)
    assert f'href="/provider/bookings/{booking.id}/decline"' in detail
    assert f'action="/provider/bookings/{booking.id}/decline"' not in detail  # no one-tap decline
    question = client.get(f"/provider/bookings/{booking.id}/decline").get_data(as_text=True)
    question = question.replace("&#39;", "'")
    assert f"Decline {holder.name}'s request?" in question and "Yes, decline it" in question
    assert "cannot be taken back" in question
    assert f'action="/provider/bookings/{booking.id}/decline"' in question
    assert bookings.get_booking(booking.id).state == "requested"
    client.post(f"/provider/bookings/{booking.id}/decline", data={"reason": "fully booked"})
    assert bookings.get_booking(booking.id).state == "declined"
    # Once declined there is nothing to ask about.
    assert client.get(f"/provider/bookings/{booking.id}/decline").status_code == 302
