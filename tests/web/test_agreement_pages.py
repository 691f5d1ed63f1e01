"""Agreement pages without JavaScript: the provider offers terms from a booking (unfair terms
explained beside the field), the holder reads and accepts them."""

import pytest
from sqlalchemy import select

from app.models.jobs import ServiceAgreement
from app.services import bookings
from tests.booking_helpers import holder_with_budget, live_listing, one_off

pytestmark = pytest.mark.database

TERMS = {"services": "Personal care at home", "schedule": "Tuesdays 10:00 for 2 hours", "rate": "16.50",
         "rate_unit": "hour", "bank_holiday_rate": "", "minimum_minutes": "120",
         "cancellation_notice_hours": "24", "cancellation_charge": "0", "notice_days": "14",
         "complaints": "Tell me first, then the broker"}


@pytest.fixture
def booked(app, make_user):
    with app.app_context():
        provider, listing = live_listing(make_user)
        holder, _ = holder_with_budget(make_user)
        booking = bookings.request_booking(holder, holder, one_off(listing))
        bookings.accept(provider, booking.id)
        return provider, holder, booking.id


def test_provider_offers_and_holder_accepts(client, login, booked, db_session):
    provider, holder, booking_id = booked
    login(provider)
    page = client.get(f"/provider/bookings/{booking_id}").get_data(as_text=True)
    assert 'id="offer-agreement"' in page
    form = client.get(f"/provider/bookings/{booking_id}/agreement").get_data(as_text=True)
    assert 'value="16.50"' in form  # built from the booking's listing
    refused = client.post(f"/provider/bookings/{booking_id}/agreement",
                          data={**TERMS, "notice_days": "90"}).get_data(as_text=True)
    assert "There is a problem" in refused and "days&#39; notice to end an agreement" in refused
    assert 'value="Tuesdays 10:00 for 2 hours"' in refused
    assert db_session.scalar(select(ServiceAgreement)) is None
    response = client.post(f"/provider/bookings/{booking_id}/agreement", data=TERMS)
    agreement = db_session.scalar(select(ServiceAgreement))
    assert response.status_code == 302 and agreement is not None
    login(holder)
    assert f"/my/agreements/{agreement.id}" in client.get(f"/my/bookings/{booking_id}").get_data(as_text=True)
    page = client.get(f"/my/agreements/{agreement.id}").get_data(as_text=True)
    assert "Tuesdays 10:00 for 2 hours" in page and 'id="accept-agreement"' in page
    client.post(f"/my/agreements/{agreement.id}", data={"answer": "accept"})
    db_session.refresh(agreement)
    assert agreement.status == "accepted"
    assert "Accepted" in client.get(f"/my/agreements/{agreement.id}").get_data(as_text=True)


def test_holder_asks_for_changes_with_a_reason(client, login, booked, db_session):
    provider, holder, booking_id = booked
    login(provider)
    client.post(f"/provider/bookings/{booking_id}/agreement", data=TERMS)
    agreement = db_session.scalar(select(ServiceAgreement))
    login(holder)
    empty = client.post(f"/my/agreements/{agreement.id}", data={"note": ""}).get_data(as_text=True)
    assert "Say what you would like changed" in empty
    client.post(f"/my/agreements/{agreement.id}", data={"note": "Could it be 11am?"})
    db_session.refresh(agreement)
    assert agreement.status == "changes_requested"
    login(provider)
    assert "Could it be 11am?" in client.get(f"/provider/agreements/{agreement.id}").get_data(as_text=True)


def test_changed_terms_offered_later_are_shown_as_waiting_for_acceptance_not_as_in_force(
        client, login, booked, db_session):
    provider, holder, booking_id = booked
    login(provider)
    client.post(f"/provider/bookings/{booking_id}/agreement", data=TERMS)
    agreement = db_session.scalar(select(ServiceAgreement))
    login(holder)
    client.post(f"/my/agreements/{agreement.id}", data={"answer": "accept"})
    login(provider)
    # A lower rate, but Sunday mornings at seven: more than a change of price.
    response = client.post(f"/provider/agreements/{agreement.id}/new-version",
                           data={**TERMS, "rate": "15.00", "schedule": "Sundays 07:00 for 2 hours"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    login(holder)
    page = client.get(f"/my/agreements/{agreement.id}").get_data(as_text=True)
    now_part, offered_part = page.split('id="offer-heading"', 1)
    assert "The terms that apply now (version 1)" in now_part and "Tuesdays 10:00 for 2 hours" in now_part
    assert "Sundays 07:00" not in now_part and "Sundays 07:00 for 2 hours" in offered_part
    assert "they apply only if they are accepted" in offered_part
