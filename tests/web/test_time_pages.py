"""Time on the pages: expired requests offer alternatives, bank-holiday prices, weekly hour caps."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app import clock
from app.domain.access import Role
from app.extensions import db
from app.models import AuditEvent, HourCapException, Listing
from app.services import bookings, ledger
from tests.booking_helpers import holder_with_budget, live_listing, next_weekday, one_off

pytestmark = pytest.mark.database


@pytest.fixture
def market(app, db_session, make_user):
    with app.app_context():
        broker = make_user(Role.BROKER)
        provider, listing = live_listing(make_user, broker)
        _, alternative = live_listing(make_user, broker)
        holder, _ = holder_with_budget(make_user)
    return provider, listing, alternative, holder, broker


def test_expired_request_page_offers_similar_providers(app, client, login, market):
    _, listing, alternative, holder, _ = market
    with app.app_context():
        made = clock.now()
        booking = bookings.request_booking(holder, holder, one_off(listing), now=made)
        booking_id = booking.id
        page = None
    login(holder)
    page = client.get(f"/my/bookings/{booking_id}").get_data(as_text=True)
    assert "The provider has until" in page and "the request expires" in page
    with app.app_context():
        bookings.run_timers(made + timedelta(hours=72))
    page = client.get(f"/my/bookings/{booking_id}").get_data(as_text=True)
    assert "This request expired" in page
    assert f"/my/book/{alternative.id}" in page
    assert "Expired: not answered in time" in page


def test_price_check_shows_the_bank_holiday_rate(app, client, login, market):
    _, listing, _, holder, _ = market
    with app.app_context():
        db.session.get(Listing, listing.id).bank_holiday_price_pence = 2500
        db.session.commit()
    login(holder)
    day = date(2026, 12, 28)  # Boxing Day's substitute, a Monday
    if day <= clock.now().date():
        day = date(2027, 12, 27)
    form = {"kind": "one_off", "day": [str(day.day), str(day.month), str(day.year)],
            "start_time": "10:00", "end_time": "12:00", "check": "x"}
    page = client.post(f"/my/book/{listing.id}", data=form).get_data(as_text=True)
    assert 'id="bank-holiday-rate"' in page
    assert "bank-holiday rate of <strong>£25.00</strong> an hour (usually £16.50)" in page
    assert "Boxing Day" in page
    assert "£50.00" in page


def test_listing_form_saves_a_bank_holiday_price_and_explains_a_bad_one(
        app, client, login, market):
    provider, listing, _, _, _ = market
    login(provider)
    page = client.get(f"/provider/listings/{listing.id}/edit").get_data(as_text=True)
    assert "Price on bank holidays" in page
    form = {"category": "personal_care", "title": "Care at home", "description": "Help.",
            "price": "16.50", "price_unit": "hour", "minimum_units": "2", "travel_charge": "",
            "cancellation_notice_hours": "24", "cancellation_charge": "",
            "funding_modes": ["direct_payment", "council_managed"], "published": "y",
            "bank_holiday_price": "lots"}
    page = client.post(f"/provider/listings/{listing.id}/edit", data=form).get_data(as_text=True)
    assert 'value="lots"' in page and "govuk-error-message" in page
    form["bank_holiday_price"] = "24.75"
    assert client.post(f"/provider/listings/{listing.id}/edit", data=form).status_code == 302
    with app.app_context():
        assert db.session.get(Listing, listing.id).bank_holiday_price_pence == 2475
    public = client.get(f"/listings/{listing.id}").get_data(as_text=True)
    assert "Price on bank holidays" in public and "£24.75" in public


def test_availability_page_shows_coming_bank_holidays(client, login, market):
    provider, *_ = market
    login(provider)
    page = client.get("/provider/availability").get_data(as_text=True)
    assert 'id="bank-holidays"' in page
    assert "Christmas Day" in page or "New Year" in page or "Easter" in page


def test_plan_form_sets_weekly_hours_and_keeps_bad_input(app, client, login, market):
    _, _, _, holder, broker = market
    login(broker)
    url = f"/broker/holders/{holder.id}/plan"
    form = {"what_matters": "Seeing my friends", "outcomes": "Get out more",
            "amount_personal_assistant": "10000", "hours_personal_assistant": "ten"}
    page = client.post(url, data=form).get_data(as_text=True)
    assert "Enter the most hours a week for Personal assistant as a number" in page
    assert 'value="ten"' in page
    form["hours_personal_assistant"] = "7.5"
    assert client.post(url, data=form).status_code == 302
    with app.app_context():
        plan = ledger.current_plan(holder.id)
        assert {c.code: c.max_minutes_per_week for c in plan.categories} == {
            "personal_assistant": 450}
    login(holder)
    page = client.get("/my/plan").get_data(as_text=True)
    assert "7 hours 30 minutes" in page


def test_broker_agrees_extra_hours_for_a_week(app, client, login, market):
    _, _, _, holder, broker = market
    login(broker)
    url = f"/broker/holders/{holder.id}/extra-hours"
    day = next_weekday(2, weeks_ahead=2)
    form = {"category": "personal_assistant",
            "week_of": [str(day.day), str(day.month), str(day.year)],
            "extra_hours": "4", "reason": ""}
    page = client.post(url, data=form).get_data(as_text=True)
    assert "Say why more hours are needed" in page
    form["reason"] = "Family carer in hospital"
    response = client.post(url, data=form)
    assert response.status_code == 302
    with app.app_context():
        row = db.session.scalar(select(HourCapException).where(
            HourCapException.holder_id == holder.id))
        assert row.extra_minutes == 240 and row.week_start == day - timedelta(days=day.weekday())
        assert db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "hour_cap.exception_agreed")) is not None
    login(holder)
    assert client.get(url).status_code in (403, 404)


def test_provider_sees_when_a_request_must_be_answered(app, client, login, market):
    provider, listing, _, holder, _ = market
    with app.app_context():
        booking_id = bookings.request_booking(holder, holder, one_off(listing)).id
    login(provider)
    page = client.get(f"/provider/bookings/{booking_id}").get_data(as_text=True)
    assert 'id="respond-by"' in page and "Please accept or decline by" in page
