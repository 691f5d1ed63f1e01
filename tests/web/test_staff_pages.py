"""Staff pages speak to staff: who booked and the holder's money beside an approval, the
message behind a flag, the holder's budget for a broker, and no "your plan" on staff pages."""

import re

import pytest
from sqlalchemy import select

from app.domain.access import Role
from app.models import Booking, Conversation, Flag
from tests.booking_helpers import holder_with_budget, live_listing, next_weekday
from tests.messaging_helpers import CASH

pytestmark = pytest.mark.database


def _text(response) -> str:
    return re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))


def test_the_approval_page_says_who_booked_and_links_to_the_holders_budget_and_plan(
        app, client, login, make_user, db_session):
    with app.app_context():
        provider, listing = live_listing(make_user)
        holder, _ = holder_with_budget(make_user, categories={"transport": 300_000})
    login(holder)
    day = next_weekday(1)
    client.post(f"/my/book/{listing.id}", data={
        "kind": "one_off", "day": [str(day.day), str(day.month), str(day.year)],
        "start_time": "10:00", "end_time": "12:00", "confirm": "x", "expected_total": "3300"})
    booking = db_session.scalar(select(Booking))
    assert booking.state == "awaiting_approval"
    login(make_user(Role.BROKER))
    response = client.get(f"/broker/bookings/{booking.id}")
    html = response.get_data(as_text=True)
    assert f"{holder.name} (the budget holder)" in html
    assert f'href="/broker/holders/{holder.id}#budget"' in html
    assert f'href="/broker/holders/{holder.id}/plan"' in html
    assert "This kind of support is not in the plan" in html
    text = _text(response).lower()
    assert "your support plan" not in text and "their support plan" in text
    # The budget the link leads to, worded for the broker.
    page = client.get(f"/broker/holders/{holder.id}")
    assert 'id="budget"' in page.get_data(as_text=True) and "Available to spend" in _text(page)
    assert " your money" not in _text(page).lower()


def test_a_flag_about_a_message_shows_the_message(client, login, make_user, db_session, app):
    from tests.messaging_helpers import live_listing as messaging_listing

    with app.app_context():
        provider, listing = messaging_listing(make_user)
    holder = login(make_user(Role.HOLDER))
    client.post(f"/my/messages/new/{listing.id}", data={"body": "Are you free on Tuesdays?"})
    thread = db_session.scalar(select(Conversation))
    login(provider)
    client.post(f"/provider/messages/{thread.id}", data={"body": CASH})
    flag = db_session.scalar(select(Flag))
    login(make_user(Role.BROKER))
    html = client.get(f"/broker/flags/{flag.id}").get_data(as_text=True)
    assert 'id="flagged-message"' in html and "Please pay me in cash next time" in html
    assert f"From {provider.name}" in html and holder.name


def test_someone_acting_for_the_holder_reads_why_a_broker_must_approve_about_the_holder(
        app, client, login, make_user, db_session):
    from app.domain.access import DelegateKind
    from tests.messaging_helpers import delegate

    with app.app_context():
        provider, listing = live_listing(make_user)
        holder, _ = holder_with_budget(make_user, categories={"transport": 300_000})
    login(holder)
    day = next_weekday(1)
    client.post(f"/my/book/{listing.id}", data={
        "kind": "one_off", "day": [str(day.day), str(day.month), str(day.year)],
        "start_time": "10:00", "end_time": "12:00", "confirm": "x", "expected_total": "3300"})
    booking = db_session.scalar(select(Booking))
    assert "your support plan" in _text(client.get(f"/my/bookings/{booking.id}"))  # to the holder
    login(delegate(make_user, holder, DelegateKind.AUTHORISED))
    text = _text(client.get(f"/my/bookings/{booking.id}"))
    assert "agreed in their support plan" in text and "your support plan" not in text
