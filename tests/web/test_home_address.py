"""A holder gives their address; the provider of an accepted home visit sees it while the
booking runs, each look recorded; nobody else does, and bad input is said beside the field."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from app import clock
from app.domain.access import DelegateKind
from app.models import AuditEvent, HomeAddress
from app.services import bookings
from tests.booking_helpers import holder_with_budget, live_listing, next_weekday, one_off
from tests.messaging_helpers import delegate

pytestmark = pytest.mark.database

ADDRESS = {"line1": "12 Abbey Foregate", "line2": "", "town": "Shrewsbury",
           "postcode": "sy2 6aa", "phone": "01743 123456"}


@pytest.fixture
def market(app, db_session, make_user):
    with app.app_context():
        provider, listing = live_listing(make_user)  # personal care: a visit at home
        holder, _ = holder_with_budget(make_user)
    return provider, listing, holder


def test_a_holder_saves_their_address_and_mistakes_are_shown_beside_the_field(
        client, login, market, db_session):
    _, _, holder = market
    login(holder)
    page = client.post("/my/address", data={**ADDRESS, "postcode": "nowhere"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Enter a full postcode, like SY1 1AA" in html
    assert 'value="12 Abbey Foregate"' in html  # what was typed is kept
    assert db_session.scalar(select(HomeAddress)) is None
    # Everything missing is named at once, not one field per try.
    empty = client.post("/my/address", data={"line1": "", "town": "", "postcode": ""})
    html = empty.get_data(as_text=True)
    for message in ("Enter the first line of the address", "Enter the town or city",
                    "Enter a full postcode, like SY1 1AA"):
        assert message in html, message
    assert client.post("/my/address", data=ADDRESS).status_code == 302
    saved = db_session.scalar(select(HomeAddress))
    assert saved.user_id == holder.id and saved.postcode == "SY2 6AA"
    event = db_session.scalars(select(AuditEvent).where(
        AuditEvent.action == "account.home_address_saved")).one()
    assert event.details == {"changed": ["address", "phone"]}  # never the address itself
    assert 'value="SY2 6AA"' in client.get("/my/address").get_data(as_text=True)


def test_a_nominated_person_can_enter_it_and_a_circle_member_cannot(
        client, login, market, make_user, db_session):
    _, _, holder = market
    nominated = delegate(make_user, holder, DelegateKind.NOMINATED)
    login(nominated)
    assert client.post("/my/address", data=ADDRESS).status_code == 302
    event = db_session.scalars(select(AuditEvent).where(
        AuditEvent.action == "account.home_address_saved")).one()
    assert event.actor_id == nominated.id and event.on_behalf_of_id == holder.id
    circle = delegate(make_user, holder, DelegateKind.CIRCLE, "bookings")
    login(circle)
    assert client.get("/my/address").status_code == 403


def test_the_provider_sees_where_to_go_only_once_accepted_and_it_is_recorded(
        client, login, market, app, db_session):
    provider, listing, holder = market
    login(holder)
    client.post("/my/address", data=ADDRESS)
    with app.app_context():
        booking = bookings.request_booking(holder, holder, one_off(listing, day=next_weekday(2)))
    login(provider)
    detail = client.get(f"/provider/bookings/{booking.id}").get_data(as_text=True)
    assert 'id="where-to-go"' not in detail and "Abbey Foregate" not in detail
    refused = client.get(f"/provider/bookings/{booking.id}/address", follow_redirects=True)
    assert "Abbey Foregate" not in refused.get_data(as_text=True)
    with app.app_context():
        bookings.accept(provider, booking.id)
    detail = client.get(f"/provider/bookings/{booking.id}").get_data(as_text=True)
    assert f'href="/provider/bookings/{booking.id}/address"' in detail
    html = client.get(f"/provider/bookings/{booking.id}/address").get_data(as_text=True)
    assert "12 Abbey Foregate" in html and "SY2 6AA" in html and 'href="tel:01743123456"' in html
    seen = db_session.scalars(select(AuditEvent).where(
        AuditEvent.action == "booking.address_seen")).all()
    assert len(seen) == 1 and seen[0].actor_id == provider.id
    # Once the booking is over (the clock moved on a day past the visit), it is not shown.
    with clock.frozen(booking.sessions[-1].end_at + timedelta(days=1)):
        detail = client.get(f"/provider/bookings/{booking.id}").get_data(as_text=True)
        assert 'id="where-to-go"' not in detail
        after = client.get(f"/provider/bookings/{booking.id}/address", follow_redirects=True)
        assert "Abbey Foregate" not in after.get_data(as_text=True)


def test_another_provider_never_sees_it(client, login, market, app, make_user):
    provider, listing, holder = market
    login(holder)
    client.post("/my/address", data=ADDRESS)
    with app.app_context():
        booking = bookings.request_booking(holder, holder, one_off(listing, day=next_weekday(2)))
        bookings.accept(provider, booking.id)
        other, _ = live_listing(make_user)
    login(other)
    assert client.get(f"/provider/bookings/{booking.id}/address").status_code == 404


def test_the_old_address_page_leads_holders_to_the_one_address_page(client, login, market):
    provider, _, holder = market
    login(holder)
    response = client.get("/home-address")
    assert response.status_code == 301 and response.headers["Location"].endswith("/my/address")
    login(provider)  # a provider's own address (for the same-household check) stays there
    assert client.get("/home-address").status_code == 200


def test_a_provider_finds_their_own_address_from_their_pages_and_is_told_what_it_is_for(
        client, login, market, db_session):
    provider, _, _ = market
    login(provider)
    for page in ("/provider/", "/provider/profile"):
        assert 'href="/home-address"' in client.get(page).get_data(as_text=True), page
    html = client.get("/home-address").get_data(as_text=True)
    assert "<title>Your home address (private)" in html
    assert 'href="/provider/"' in html and "Back to your provider home" in html
    # Spoken to a provider: not "a provider sees it for a home visit you have agreed".
    assert "a home visit you have agreed" not in html
    assert "never shown on your profile" in html and "live with someone you are paid to support" \
        in html
    saved = client.post("/home-address", data=ADDRESS, follow_redirects=True)
    assert "Your home address is saved. It stays private" in saved.get_data(as_text=True)
    assert db_session.scalar(select(HomeAddress)).user_id == provider.id


def test_the_provider_is_told_when_there_is_no_phone_and_how_to_reach_the_person(
        client, login, market, app):
    provider, listing, holder = market
    login(holder)
    client.post("/my/address", data={**ADDRESS, "phone": ""})
    with app.app_context():
        booking = bookings.request_booking(holder, holder, one_off(listing, day=next_weekday(2)))
        bookings.accept(provider, booking.id)
    login(provider)
    html = client.get(f"/provider/bookings/{booking.id}/address").get_data(as_text=True)
    assert "12 Abbey Foregate" in html and "No phone number given" in html
    assert 'href="/provider/messages"' in html
