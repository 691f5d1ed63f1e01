"""Card payment pages: the holder's card page and Checkout redirect, the booking's money message,
the provider's payouts page with Stripe Connect onboarding, and the broker's waiting payouts."""

# ruff: noqa: F811  (pytest fixtures imported from tests.stripe_support are used as arguments)
from __future__ import annotations

import pytest

from app.adapters import stripe_checkout
from app.domain.access import Role
from app.services import bookings, card_payments
from tests.booking_helpers import holder_with_budget, live_listing, one_off
from tests.stripe_support import (  # noqa: F401  (fixtures)
    DECLINED_ON_CHARGE,
    TEST_SECRET_KEY,
    connect_stub,
    localstripe_server,
    localstripe_url,
    new_card,
    stripe_api,
)

pytestmark = pytest.mark.database


@pytest.fixture
def stripe_config(app, localstripe_url, connect_stub, monkeypatch):
    for name, value in {
        "STRIPE_SECRET_KEY": TEST_SECRET_KEY,
        "STRIPE_API_BASE": localstripe_url,
        "STRIPE_CONNECT_API_BASE": connect_stub.url,
        "STRIPE_MAX_NETWORK_RETRIES": 0,
    }.items():
        monkeypatch.setitem(app.config, name, value)


@pytest.fixture
def card_holder(app, db_session, make_user, stripe_config):
    with app.app_context():
        holder, budget = holder_with_budget(make_user, mode="direct_payment")
    return holder


def test_card_page_says_no_card_yet_and_offers_to_add_one(client, login, card_holder):
    login(card_holder)
    page = client.get("/my/card").get_data(as_text=True)
    assert "No card is saved yet" in page and "Add a card" in page


def test_council_managed_holder_is_told_no_card_is_needed(client, login, app, make_user):
    with app.app_context():
        holder, _ = holder_with_budget(make_user, mode="council_managed")
    login(holder)
    page = client.get("/my/card").get_data(as_text=True)
    assert "no card is needed" in page and "Add a card" not in page


def test_adding_a_card_redirects_to_stripe_checkout(client, login, card_holder, monkeypatch):
    # localstripe has no Checkout: this checks our redirect wiring, not Stripe's page.
    asked = {}

    def fake_session(gateway, **kw):
        asked.update(kw)
        return "https://checkout.stripe.com/c/pay/cs_test_x"

    monkeypatch.setattr(stripe_checkout, "create_setup_session", fake_session)
    login(card_holder)
    response = client.post("/my/card/setup")
    assert response.status_code == 303
    assert response.headers["Location"] == "https://checkout.stripe.com/c/pay/cs_test_x"
    assert asked["success_url"].endswith("/my/card/done?session_id={CHECKOUT_SESSION_ID}")
    assert asked["customer_id"].startswith("cus_")


def test_when_checkout_cannot_start_the_holder_stays_with_a_plain_message(
    client, login, card_holder
):
    login(card_holder)  # localstripe answers Checkout with an error
    response = client.post("/my/card/setup", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.request.path == "/my/card"
    assert "We could not reach the card payment service" in page


def test_declined_card_booking_page_says_not_booked_and_not_charged(
    app, client, login, card_holder, make_user, stripe_api
):
    with app.app_context():
        provider, listing = live_listing(make_user)
        card_payments.add_card(card_holder, card_holder, new_card(stripe_api, DECLINED_ON_CHARGE))
        booking = bookings.request_booking(card_holder, card_holder, one_off(listing))
        booking_id = bookings.accept(provider, booking.id).id
    login(card_holder)
    page = client.get(f"/my/bookings/{booking_id}").get_data(as_text=True)
    assert "Payment did not go through" in page
    assert "Your card was declined. Nothing has been taken." in page
    assert "The booking is not confirmed" in page
    assert "Try setting the money aside again" in page
    assert 'href="/my/card"' in page  # where to sort it out


def test_provider_sets_up_payouts_through_stripe_connect(
    client, login, app, make_user, stripe_config, connect_stub
):
    with app.app_context():
        provider, _ = live_listing(make_user)
    login(provider)
    page = client.get("/provider/payouts").get_data(as_text=True)
    assert "Set up payouts with Stripe" in page and "Nothing is waiting" in page
    response = client.post("/provider/payouts/setup")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("https://connect.stripe.com/setup/e/acct_")
    account, link = connect_stub.requests
    assert (account.path, account.form["type"], account.form["country"]) == (
        "/v1/accounts",
        "express",
        "GB",
    )
    assert link.form["return_url"].endswith("/provider/payouts/return")
    page = client.get("/provider/payouts/return", follow_redirects=True).get_data(as_text=True)
    assert "Your Stripe account is set up" in page


def test_waiting_payouts_are_visible_to_the_provider_and_the_broker(
    app, client, login, card_holder, make_user, stripe_api
):
    with app.app_context():
        provider, listing = live_listing(make_user)
        card_payments.add_card(card_holder, card_holder, new_card(stripe_api))
        booking = bookings.accept(
            provider, bookings.request_booking(card_holder, card_holder, one_off(listing)).id
        )
        s = booking.sessions[0]
        bookings.record_delivery(
            provider, s.id, actual_start=s.start_at, actual_end=s.end_at, now=s.end_at
        )
        bookings.confirm_session(card_holder, card_holder, s.id)
        broker = make_user(Role.BROKER)
    login(provider)
    page = client.get("/provider/payouts").get_data(as_text=True)
    assert "£33.00" in page and "not set up how they get paid" in page
    login(broker)
    page = client.get("/broker/payouts").get_data(as_text=True)
    assert "£33.00" in page and provider.name in page


def test_broker_refund_form_refuses_a_third_decimal_place_beside_the_field(
    app, client, login, card_holder, make_user, stripe_api
):
    with app.app_context():
        provider, listing = live_listing(make_user)
        card_payments.add_card(card_holder, card_holder, new_card(stripe_api))
        booking = bookings.accept(
            provider, bookings.request_booking(card_holder, card_holder, one_off(listing)).id
        )
        s = booking.sessions[0]
        bookings.record_delivery(
            provider, s.id, actual_start=s.start_at, actual_end=s.end_at, now=s.end_at
        )
        bookings.confirm_session(card_holder, card_holder, s.id)
        session_id = s.id
        broker = make_user(Role.BROKER)
    login(broker)
    page = client.get(f"/broker/sessions/{session_id}/refund").get_data(as_text=True)
    assert "£33.00 was taken from the card" in page
    page = client.post(
        f"/broker/sessions/{session_id}/refund", data={"amount": "1.234", "reason": "Complaint"}
    ).get_data(as_text=True)
    assert "no more than 2 numbers after the decimal point" in page and 'value="1.234"' in page
    page = client.post(
        f"/broker/sessions/{session_id}/refund", data={"amount": "40.00", "reason": "Complaint"}
    ).get_data(as_text=True)
    assert "Cannot refund £40.00" in page
    response = client.post(
        f"/broker/sessions/{session_id}/refund", data={"amount": "3.00", "reason": "Complaint"}
    )
    assert response.status_code == 302


def test_broker_is_told_when_a_refund_was_taken_back_from_the_providers_payout(
    app, client, login, card_holder, make_user, stripe_api, connect_stub
):
    with app.app_context():
        provider, listing = live_listing(make_user)
        card_payments.start_onboarding(provider, refresh_url="http://x/r", return_url="http://x/d")
        card_payments.add_card(card_holder, card_holder, new_card(stripe_api))
        booking = bookings.accept(
            provider, bookings.request_booking(card_holder, card_holder, one_off(listing)).id
        )
        s = booking.sessions[0]
        bookings.record_delivery(
            provider, s.id, actual_start=s.start_at, actual_end=s.end_at, now=s.end_at
        )
        bookings.confirm_session(card_holder, card_holder, s.id)
        session_id = s.id
        broker = make_user(Role.BROKER)
    login(broker)
    page = client.post(f"/broker/sessions/{session_id}/refund",
                       data={"amount": "3.00", "reason": "Complaint"},
                       follow_redirects=True).get_data(as_text=True)
    assert "The provider had already been paid, so £3.00 was taken back from their payout." in page
    connect_stub.fail_with_status = 503
    page = client.post(f"/broker/sessions/{session_id}/refund",
                       data={"amount": "2.00", "reason": "Complaint"},
                       follow_redirects=True).get_data(as_text=True)
    assert "£2.00 could not be taken back from their payout yet" in page
    assert 'id="waiting-takebacks"' in page and provider.name in page


def _book_form(day, **extra):
    data = {
        "kind": "one_off",
        "day": [str(day.day), str(day.month), str(day.year)],
        "start_time": "10:00",
        "end_time": "12:00",
    }
    data.update(extra)
    return data


def test_booking_form_warns_before_anything_is_typed_that_a_card_is_needed_and_refuses_without(
    app, client, login, card_holder, make_user
):
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Booking
    from tests.booking_helpers import next_weekday

    with app.app_context():
        _, listing = live_listing(make_user)
        listing_id = listing.id
    login(card_holder)
    page = client.get(f"/my/book/{listing_id}").get_data(as_text=True)
    assert "There is no card saved for this budget yet" in page
    assert 'href="/my/card"' in page

    page = client.post(
        f"/my/book/{listing_id}",
        data=_book_form(next_weekday(1), confirm="x", expected_total="3300", notes="Mornings"),
    ).get_data(as_text=True)
    assert 'href="#card"' in page and "govuk-form-group--error" in page
    assert "add a card before asking for a paid booking" in page
    assert "Mornings" in page  # what was typed is kept
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Booking)) == 0


def test_booking_form_says_to_contact_the_broker_when_card_payments_are_not_set_up(
    app, client, login, make_user
):
    with app.app_context():
        _, listing = live_listing(make_user)
        holder, _ = holder_with_budget(make_user, mode="direct_payment")  # no Stripe key here
        listing_id = listing.id
    login(holder)
    page = client.get(f"/my/book/{listing_id}").get_data(as_text=True)
    assert "Card payments are not set up on this Carefair yet" in page
    assert "Contact your broker or the council" in page
    page = client.get("/my/card").get_data(as_text=True)
    assert "Card payments are not set up on this Carefair yet" in page and "Add a card" not in page


def test_council_managed_booking_form_says_nothing_about_cards(app, client, login, make_user):
    with app.app_context():
        _, listing = live_listing(make_user)
        holder, _ = holder_with_budget(make_user, mode="council_managed")
        listing_id = listing.id
    login(holder)
    page = client.get(f"/my/book/{listing_id}").get_data(as_text=True)
    assert "Paying by card" not in page


def test_provider_and_retry_messages_name_the_declined_card_not_the_budget(
    app, client, login, card_holder, make_user, stripe_api
):
    with app.app_context():
        provider, listing = live_listing(make_user)
        card_payments.add_card(card_holder, card_holder, new_card(stripe_api, DECLINED_ON_CHARGE))
        booking_id = bookings.request_booking(card_holder, card_holder, one_off(listing)).id
    login(provider)
    page = client.post(
        f"/provider/bookings/{booking_id}/accept", follow_redirects=True
    ).get_data(as_text=True)
    assert "Accepted, but the client&#39;s card was declined" in page
    assert "budget could not cover" not in page
    assert "Your card was declined" not in page  # the holder's words are not shown to them

    login(card_holder)
    page = client.post(f"/my/bookings/{booking_id}/retry", follow_redirects=True).get_data(
        as_text=True
    )
    assert "Your card was declined. Nothing has been taken." in page
    assert "not enough money in the budget" not in page


def test_holder_with_no_budget_is_told_they_have_none_yet(client, login_as):
    login_as(Role.HOLDER)
    page = client.get("/my/card").get_data(as_text=True)
    assert "no budget on Carefair yet" in page
    assert "the council pays providers directly" not in page and "Add a card" not in page
