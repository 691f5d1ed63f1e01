"""`carefair ledger check` on real data: bookings made through the services (council-managed, and
card bookings against localstripe) agree with the ledger; each way of coming apart is reported."""

# ruff: noqa: F811  (pytest fixtures imported from tests.stripe_support are used as arguments)
from __future__ import annotations

import pytest
from sqlalchemy import text

from app.domain.access import Role
from app.domain.ledger_check import Problem
from app.extensions import db
from app.services import bookings, card_payments, ledger_check
from tests.booking_helpers import holder_with_budget, live_listing, next_weekday, one_off
from tests.stripe_support import (  # noqa: F401  (fixtures)
    TEST_SECRET_KEY,
    connect_stub,
    localstripe_server,
    localstripe_url,
    new_card,
    stripe_api,
)

pytestmark = pytest.mark.database


@pytest.fixture
def stripe_config(app, app_ctx, localstripe_url, connect_stub, monkeypatch):
    for name, value in {
        "STRIPE_SECRET_KEY": TEST_SECRET_KEY,
        "STRIPE_API_BASE": localstripe_url,
        "STRIPE_CONNECT_API_BASE": connect_stub.url,
        "STRIPE_MAX_NETWORK_RETRIES": 0,
        "STRIPE_TIMEOUT_SECONDS": 5,
    }.items():
        monkeypatch.setitem(app.config, name, value)
    return app.config


def deliver(provider, s):
    return bookings.record_delivery(provider, s.id, actual_start=s.start_at,
                                    actual_end=s.end_at, now=s.end_at)


@pytest.fixture
def lived_in(stripe_config, make_user, stripe_api):
    """Bookings in most states, council-managed and by card, made through the services."""
    provider, listing = live_listing(make_user, charge="10.00", notice=24)
    broker = make_user(Role.BROKER)
    holder, _ = holder_with_budget(make_user)  # council_managed
    card_holder, _ = holder_with_budget(make_user, mode="direct_payment")
    card_payments.add_card(card_holder, card_holder, new_card(stripe_api))
    made = {}
    for who, tag, hour in ((holder, "council", 9), (card_holder, "card", 13)):
        def book(day, who=who, hour=hour):
            b = bookings.request_booking(
                who, who, one_off(listing, day=next_weekday(day), start=hour, end=hour + 2))
            return bookings.accept(provider, b.id)

        funded = book(0)
        settled = book(1)
        s = deliver(provider, settled.sessions[0])
        bookings.confirm_session(who, who, s.id)
        cancelled = book(2)
        bookings.cancel_booking(who, who, cancelled.id)
        disputed = book(3)
        s = deliver(provider, disputed.sessions[0])
        bookings.dispute_session(who, who, s.id, reason="Only one hour happened")
        bookings.resolve_dispute(broker, s.id, outcome="partial_refund", refund_pence=1650)
        declined = bookings.request_booking(
            who, who, one_off(listing, day=next_weekday(4), start=hour, end=hour + 2))
        bookings.decline(provider, declined.id)
        made[tag] = {"funded": funded.id, "settled": settled.id, "cancelled": cancelled.id,
                     "disputed": disputed.id, "declined": declined.id}
    settled_card = bookings.get_booking(made["card"]["settled"]).sessions[0]
    card_payments.refund_session(broker, settled_card.id, 1000, reason="Arrived late")
    return made


def run_cli(app):
    return app.test_cli_runner().invoke(args=["ledger", "check"])


def test_bookings_made_through_the_services_agree_with_the_ledger(app, lived_in):
    report = ledger_check.run()
    assert report.ok, [str(d) for d in report.disagreements]
    assert report.holds >= 8 and report.cards >= 4 and report.in_flight == 0
    result = run_cli(app)
    assert result.exit_code == 0, result.output
    assert result.output.count("\n") == 1 and result.output.startswith("Ledger check OK:")


def test_a_cancelled_session_still_holding_money_is_printed_and_fails(app, lived_in):
    booking = bookings.get_booking(lived_in["council"]["funded"])
    sid = booking.sessions[0].id
    db.session.execute(text("UPDATE booking_sessions SET state = 'cancelled', charge_pence = 0 "
                            "WHERE id = :id"), {"id": sid})
    result = run_cli(app)
    assert result.exit_code == 1
    assert (f"Booking B-{booking.id}, session {sid} is cancelled (booking funds_held), but "
            f"£33.00 is still held for it") in result.output
    assert "Ledger check found 1 disagreements" in result.output


def test_a_card_refund_missing_from_the_ledger_is_found(app, lived_in):
    s = bookings.get_booking(lived_in["card"]["funded"]).sessions[0]
    payment = card_payments.session_payment(s.id)
    # As if the card had been captured by someone outside Carefair (or a crash lost the ledger).
    db.session.execute(text("UPDATE payments SET status = 'captured', captured_pence = 3300 "
                            "WHERE id = :id"), {"id": payment.id})
    report = ledger_check.run()
    problems = {(d.problem, d.session_id) for d in report.disagreements}
    assert problems == {(Problem.CARD_NOT_LEDGER, s.id)}
    assert any("£33.00 taken from the card, but £0.00 captured in the ledger" in str(d)
               for d in report.disagreements)


def test_money_captured_while_the_session_says_disputed_is_found(app, lived_in):
    booking = bookings.get_booking(lived_in["council"]["settled"])
    sid = booking.sessions[0].id
    db.session.execute(text("UPDATE booking_sessions SET state = 'disputed' WHERE id = :id"),
                       {"id": sid})
    report = ledger_check.run()
    # The confirm/dispute race's footprint: disputed, with the money already taken.
    assert {d.problem for d in report.disagreements} == {Problem.CAPTURE_NOT_CHARGE,
                                                         Problem.FUNDED_NOT_HELD}
    assert any("is disputed and charged £0.00, but the ledger captured £33.00" in str(d)
               for d in report.disagreements)
