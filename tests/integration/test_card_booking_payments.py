"""Bookings on direct_payment budgets against a real localstripe (cards) and the Connect stub
(payouts): authorise on acceptance, capture on confirmation, cancel or charge under the policy,
refunds capped, declines and outages leaving a clear state, webhook replays handled once."""

# ruff: noqa: F811  (pytest fixtures imported from tests.stripe_support are used as arguments)
from __future__ import annotations

from datetime import timedelta

import pytest
import stripe
from sqlalchemy import func, select

from app.adapters.stripe_gateway import PaymentGateway
from app.domain.ledger import Account
from app.domain.payments import PaymentLimitExceeded
from app.errors import DomainError
from app.extensions import db
from app.models import (
    AuditEvent,
    Booking,
    BookingSession,
    LedgerTransaction,
    Notification,
    Payment,
    PaymentOperation,
    SessionCardPayment,
)
from app.services import bookings, card_payments, ledger, stripe_webhooks
from tests.booking_helpers import holder_with_budget, live_listing, next_weekday, one_off
from tests.stripe_support import (  # noqa: F401  (fixtures)
    DECLINED_ON_CHARGE,
    TEST_SECRET_KEY,
    connect_stub,
    localstripe_server,
    localstripe_url,
    new_card,
    stripe_api,
    unused_port,
    webhook_inbox,
)

pytestmark = pytest.mark.database

PRICE = 3300  # two hours at £16.50


@pytest.fixture
def stripe_config(app, app_ctx, localstripe_url, connect_stub, monkeypatch):
    """Carefair's own configuration pointed at localstripe (cards) and the stub (Connect)."""
    for name, value in {
        "STRIPE_SECRET_KEY": TEST_SECRET_KEY,
        "STRIPE_API_BASE": localstripe_url,
        "STRIPE_CONNECT_API_BASE": connect_stub.url,
        "STRIPE_MAX_NETWORK_RETRIES": 0,  # a fault test fails fast
        "STRIPE_TIMEOUT_SECONDS": 5,
    }.items():
        monkeypatch.setitem(app.config, name, value)
    return app.config


@pytest.fixture
def world(stripe_config, make_user, stripe_api):
    provider, listing = live_listing(make_user, charge="10.00", notice=24)
    holder, budget = holder_with_budget(make_user, mode="direct_payment")
    card_payments.add_card(holder, holder, new_card(stripe_api))
    return provider, listing, holder, budget


def accepted(world, **kw) -> Booking:
    provider, listing, holder, _ = world
    booking = bookings.request_booking(holder, holder, one_off(listing, **kw))
    return bookings.accept(provider, booking.id)


def delivered(world, booking: Booking) -> BookingSession:
    s = booking.sessions[0]
    return bookings.record_delivery(
        world[0], s.id, actual_start=s.start_at, actual_end=s.end_at, now=s.end_at
    )


def intent(stripe_api, payment: Payment):
    return stripe_api.v1.payment_intents.retrieve(payment.stripe_payment_intent_id)


def taken(stripe_api, payment: Payment) -> int:
    """What the card was actually charged, net (localstripe records a partial capture as a full
    charge plus a refund of the rest, and has no amount_received)."""
    charge = stripe_api.v1.charges.retrieve(payment.stripe_charge_id)
    return charge.amount - charge.amount_refunded if charge.captured else 0


def held(budget) -> int:
    return ledger.balances(budget.id)[Account.HELD]


def onboard(provider) -> None:
    card_payments.start_onboarding(
        provider, refresh_url="http://x/refresh", return_url="http://x/return"
    )


def test_saved_card_shows_its_last_digits(world):
    _, _, holder, budget = world
    card = card_payments.card_for_budget(budget.id)
    assert (card.last4, card.holder_id) == ("4242", holder.id)
    assert card.stripe_customer_id.startswith("cus_")
    saved = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "card.saved"))
    assert saved.details["last4"] == "4242" and saved.actor_id == holder.id


def test_accepting_authorises_the_card_alongside_the_ledger_hold(world, stripe_api):
    booking = accepted(world)
    s = booking.sessions[0]
    payment = card_payments.session_payment(s.id)
    assert booking.state == "funds_held"
    assert held(world[3]) == PRICE
    assert (payment.status, payment.authorised_pence, payment.captured_pence) == (
        "authorised",
        PRICE,
        0,
    )
    assert intent(stripe_api, payment).status == "requires_capture"
    row = db.session.scalar(select(SessionCardPayment).where(SessionCardPayment.session_id == s.id))
    assert row.authorise_key == f"b{booking.id}-s{s.id}-r0-card-authorise"
    assert "reserved on the card ending 4242" in card_payments.booking_card_status(booking)[0]


def test_confirming_captures_and_transfers_to_the_providers_account(
    world, stripe_api, connect_stub
):
    provider, _, holder, budget = world
    onboard(provider)
    booking = accepted(world)
    s = delivered(world, booking)
    bookings.confirm_session(holder, holder, s.id)

    payment = card_payments.session_payment(s.id)
    assert (payment.status, payment.captured_pence, payment.transferred_pence) == (
        "captured",
        PRICE,
        PRICE,
    )
    assert taken(stripe_api, payment) == PRICE
    assert ledger.balances(budget.id)[Account.SPENT] == PRICE and held(budget) == 0
    transfer = next(r for r in connect_stub.requests if r.path == "/v1/transfers")
    assert transfer.form["amount"] == str(PRICE)
    assert transfer.form["destination"] == card_payments.payout_account(provider).stripe_account_id
    assert transfer.form["source_transaction"] == payment.stripe_charge_id
    assert transfer.headers["idempotency-key"] == (
        f"b{booking.id}-s{s.id}-p{payment.id}-card-transfer"
    )
    assert db.session.get(BookingSession, s.id).state == "settled"
    steps = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action.in_(("booking.card_captured", "booking.provider_paid"))
        )
    ).all()
    assert {(e.action, e.actor_id, e.on_behalf_of_id) for e in steps} == {
        ("booking.card_captured", holder.id, None),
        ("booking.provider_paid", holder.id, None),
    }


def test_without_a_connected_account_the_payout_waits_then_goes_after_onboarding(
    world, connect_stub
):
    provider, _, holder, _ = world
    booking = accepted(world)
    s = delivered(world, booking)
    bookings.confirm_session(holder, holder, s.id)

    waiting = card_payments.waiting_payouts(provider.id)
    assert [(w.waiting_pence, w.reason) for w in waiting] == [
        (PRICE, "The provider has not set up how they get paid yet.")
    ]
    assert card_payments.waiting_payouts()[0].provider_name == provider.name  # broker's view
    assert (
        "waiting to be sent to the provider"
        in card_payments.booking_card_status(db.session.get(Booking, booking.id))[-1]
    )
    assert connect_stub.requests == []

    onboard(provider)
    assert [r.path for r in connect_stub.requests] == ["/v1/accounts", "/v1/account_links"]
    assert card_payments.pay_waiting(provider.id, actor=provider) == 1
    assert card_payments.waiting_payouts(provider.id) == []
    assert card_payments.session_payment(s.id).transferred_pence == PRICE


def test_cancelling_with_notice_cancels_the_authorisation(world, stripe_api):
    _, _, holder, budget = world
    booking = accepted(world)
    payment = card_payments.session_payment(booking.sessions[0].id)
    bookings.cancel_booking(holder, holder, booking.id)

    db.session.refresh(payment)
    assert (payment.status, payment.captured_pence) == ("canceled", 0)
    assert intent(stripe_api, payment).status == "canceled"
    assert held(budget) == 0 and ledger.balances(budget.id)[Account.SPENT] == 0


def test_late_cancellation_takes_only_the_policy_charge(world, stripe_api):
    _, _, holder, budget = world
    booking = accepted(world)
    s = booking.sessions[0]
    bookings.cancel_booking(holder, holder, booking.id, now=s.start_at - timedelta(hours=2))

    payment = card_payments.session_payment(s.id)
    assert (payment.status, payment.captured_pence) == ("captured", 1000)  # the £10 charge
    assert taken(stripe_api, payment) == 1000
    assert ledger.balances(budget.id)[Account.SPENT] == 1000 and held(budget) == 0
    assert db.session.get(BookingSession, s.id).charge_pence == 1000


def test_dispute_partial_refund_takes_less_and_refunds_never_exceed_what_was_taken(
    world, stripe_api, make_user
):
    from app.domain.access import Role

    _, _, holder, budget = world
    broker = make_user(Role.BROKER)
    booking = accepted(world)
    s = delivered(world, booking)
    bookings.dispute_session(holder, holder, s.id, reason="Left an hour early")
    bookings.resolve_dispute(broker, s.id, outcome="partial_refund", refund_pence=1300)

    payment = card_payments.session_payment(s.id)
    assert (payment.captured_pence, taken(stripe_api, payment)) == (2000, 2000)
    assert ledger.balances(budget.id)[Account.SPENT] == 2000

    with pytest.raises(PaymentLimitExceeded, match="only £20.00"):
        card_payments.refund_session(broker, s.id, 2001, reason="Complaint upheld")
    card_payments.refund_session(broker, s.id, 500, reason="Complaint upheld")
    card_payments.refund_session(broker, s.id, 1500, reason="The rest")
    with pytest.raises(PaymentLimitExceeded):
        card_payments.refund_session(broker, s.id, 1, reason="One penny too many")

    payment = db.session.get(Payment, payment.id)
    assert (payment.refunded_pence, payment.status) == (2000, "refunded")
    assert ledger.balances(budget.id)[Account.SPENT] == 0
    assert taken(stripe_api, payment) == 0


def test_only_a_broker_free_of_conflict_can_give_money_back(world, stripe_api, make_user):
    """refund_session trusted its caller to be a broker: anyone reaching it (a holder, the
    provider, a broker who declared a conflict with the provider) could move paid money back."""
    from app.domain.access import Role
    from app.errors import NotPermitted
    from app.services import conflicts

    provider, _, holder, budget = world
    booking = accepted(world)
    s = delivered(world, booking)
    bookings.confirm_session(holder, holder, s.id)
    for who in (holder, provider):
        with pytest.raises(NotPermitted):
            card_payments.refund_session(who, s.id, 500, reason="Give it back")
    conflicted = make_user(Role.BROKER)
    conflicts.declare(conflicted, str(booking.provider_profile_id), "My cousin runs it")
    with pytest.raises(DomainError, match="conflict of interest"):
        card_payments.refund_session(conflicted, s.id, 500, reason="Give it back")
    payment = card_payments.session_payment(s.id)
    assert (payment.refunded_pence, taken(stripe_api, payment)) == (0, PRICE)
    assert ledger.balances(budget.id)[Account.SPENT] == PRICE


def paid_out_session(world, make_user):
    """A session captured and paid out to the provider's connected account, and a broker."""
    from app.domain.access import Role

    provider, _, holder, _ = world
    onboard(provider)
    booking = accepted(world)
    s = delivered(world, booking)
    bookings.confirm_session(holder, holder, s.id)
    assert card_payments.session_payment(s.id).transferred_pence == PRICE
    return s, make_user(Role.BROKER)


def test_a_refund_after_the_payout_takes_that_much_back_from_the_provider(
    world, stripe_api, connect_stub, make_user
):
    _, _, holder, budget = world
    s, broker = paid_out_session(world, make_user)
    payment = card_payments.session_payment(s.id)
    (transfer,) = [r for r in connect_stub.requests if r.path == "/v1/transfers"]
    transfer_id = next(iter(connect_stub.transfer_left))

    outcome = card_payments.refund_session(broker, s.id, 1000, reason="Left an hour early")
    assert (outcome.taken_back_pence, outcome.still_to_take_back_pence) == (1000, 0)
    assert taken(stripe_api, payment) == PRICE - 1000  # the holder's card got £10 back
    assert (outcome.payment.refunded_pence, outcome.payment.transferred_pence) == (1000, PRICE - 1000)
    assert connect_stub.transfer_left[transfer_id] == PRICE - 1000  # and so did Carefair
    (reversal,) = [r for r in connect_stub.requests if r.path.endswith("/reversals")]
    assert reversal.path == f"/v1/transfers/{transfer_id}/reversals"
    assert reversal.form["amount"] == "1000"
    assert reversal.headers["idempotency-key"].startswith(f"b{s.booking_id}-s{s.id}-p{payment.id}-card-reverse-")
    steps = db.session.scalars(select(AuditEvent).where(AuditEvent.action.in_(
        ("payment.transfer_reversed", "booking.provider_payout_reversed")))).all()
    assert {(e.action, e.actor_id) for e in steps} == {
        ("payment.transfer_reversed", broker.id), ("booking.provider_payout_reversed", broker.id)}
    assert ledger.balances(budget.id)[Account.SPENT] == PRICE - 1000

    # The rest: the provider keeps nothing of a fully refunded session, and nothing is left over.
    rest = card_payments.refund_session(broker, s.id, PRICE - 1000, reason="The rest")
    assert (rest.payment.status, rest.payment.transferred_pence, rest.taken_back_pence) == (
        "refunded", 0, PRICE - 1000)
    assert connect_stub.transfer_left[transfer_id] == 0
    assert card_payments.waiting_takebacks() == [] and card_payments.waiting_payouts() == []
    assert transfer.form["amount"] == str(PRICE)


def test_a_take_back_stripe_cannot_do_now_waits_and_pay_waiting_finishes_it_once(
    app, world, stripe_api, connect_stub, make_user
):
    s, broker = paid_out_session(world, make_user)
    transfer_id = next(iter(connect_stub.transfer_left))
    connect_stub.fail_with_status = 503

    outcome = card_payments.refund_session(broker, s.id, 1200, reason="Complaint upheld")
    # The holder is refunded whatever happens to the provider's side.
    assert taken(stripe_api, outcome.payment) == PRICE - 1200
    assert (outcome.taken_back_pence, outcome.still_to_take_back_pence) == (0, 1200)
    (waiting,) = card_payments.waiting_takebacks()
    assert waiting.waiting_pence == 1200 and waiting.payment.id == outcome.payment.id
    assert card_payments.waiting_payouts() == []  # nothing more is owed to the provider

    connect_stub.fail_with_status = None
    output = app.test_cli_runner().invoke(args=["payments", "pay-waiting"]).output
    assert "still to take back" not in output
    assert card_payments.waiting_takebacks() == []
    assert connect_stub.transfer_left[transfer_id] == PRICE - 1200
    reversals = [r for r in connect_stub.requests if r.path.endswith("/reversals")]
    assert len(reversals) == 2 and len({r.headers["idempotency-key"] for r in reversals}) == 1
    assert db.session.get(Payment, outcome.payment.id).transferred_pence == PRICE - 1200
    app.test_cli_runner().invoke(args=["payments", "pay-waiting"])
    assert len([r for r in connect_stub.requests if r.path.endswith("/reversals")]) == 2


def test_declined_card_leaves_the_booking_unpaid_and_unheld_until_a_retry(world, stripe_api):
    _, _, holder, budget = world
    card_payments.add_card(holder, holder, new_card(stripe_api, DECLINED_ON_CHARGE))
    booking = accepted(world)

    assert booking.state == "payment_failed"
    assert held(budget) == 0 and ledger.balances(budget.id)[Account.SPENT] == 0
    payment = card_payments.session_payment(booking.sessions[0].id)
    assert (payment.status, payment.captured_pence) == ("declined", 0)
    lines = card_payments.booking_card_status(booking)
    assert lines[0].startswith("Your card was declined. Nothing has been taken.")
    assert "not confirmed" in lines[1]

    card_payments.add_card(holder, holder, new_card(stripe_api))
    booking = bookings.retry_funding(holder, holder, booking.id)
    assert booking.state == "funds_held" and held(budget) == PRICE
    assert card_payments.session_payment(booking.sessions[0].id).status == "authorised"


def test_without_a_card_the_request_is_refused_before_the_provider_sees_it(
    stripe_config, make_user
):
    provider, listing = live_listing(make_user)
    holder, budget = holder_with_budget(make_user, mode="direct_payment")
    with pytest.raises(card_payments.NoCardOnFile, match="add a card before asking") as refused:
        bookings.request_booking(holder, holder, one_off(listing))
    assert refused.value.field == "card"
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 0
    assert held(budget) == 0
    # A free meet-and-greet needs no card.
    free = bookings.request_booking(holder, holder, one_off(listing, start=10, end=11, kind="meet_and_greet"))
    assert free.state == "requested"


def _notices(user) -> list[str]:
    return list(
        db.session.scalars(
            select(Notification.event).where(Notification.user_id == user.id).order_by(
                Notification.id
            )
        )
    )


def test_declined_card_at_acceptance_sends_one_payment_failed_notice_not_accepted_or_released(
    world, stripe_api
):
    provider, _, holder, budget = world
    card_payments.add_card(holder, holder, new_card(stripe_api, DECLINED_ON_CHARGE))
    booking = accepted(world)
    assert booking.state == "payment_failed"
    assert _notices(holder) == ["payment_failed"]
    code, reason = card_payments.funding_failure(booking.id)
    assert code == "payment_declined" and reason.startswith("Your card was declined")
    provider_lines = card_payments.booking_card_status(booking, for_provider=True)
    assert "the client's card was declined" in provider_lines[0]

    bookings.retry_funding(holder, holder, booking.id)  # still declined: the retrier is shown it
    assert _notices(holder) == ["payment_failed"]


def test_card_payments_switched_off_after_a_request_fail_at_acceptance_without_touching_the_budget(
    world, app, monkeypatch
):
    provider, listing, holder, budget = world
    booking = bookings.request_booking(holder, holder, one_off(listing))
    before = db.session.scalar(select(func.count()).select_from(LedgerTransaction))
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", None)

    booking = bookings.accept(provider, booking.id)
    booking = bookings.retry_funding(holder, holder, booking.id)

    assert booking.state == "payment_failed" and held(budget) == 0
    # No set-aside-and-given-back pairs on the statement, however often it is retried.
    assert db.session.scalar(select(func.count()).select_from(LedgerTransaction)) == before
    assert card_payments.funding_failure(booking.id)[0] == "payments_not_set_up"
    assert "Contact your broker or the council" in card_payments.booking_card_status(booking)[0]
    assert _notices(holder) == ["payment_failed"]


def test_council_managed_bookings_never_call_stripe(app, app_ctx, make_user, monkeypatch):
    # Any Stripe call would fail: nothing listens on this port.
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", f"http://127.0.0.1:{unused_port()}")
    provider, listing = live_listing(make_user)
    holder, budget = holder_with_budget(make_user, mode="council_managed")
    booking = bookings.accept(
        provider, bookings.request_booking(holder, holder, one_off(listing)).id
    )
    s = booking.sessions[0]
    bookings.record_delivery(
        provider, s.id, actual_start=s.start_at, actual_end=s.end_at, now=s.end_at
    )
    bookings.confirm_session(holder, holder, s.id)
    assert db.session.get(BookingSession, s.id).state == "settled"
    assert db.session.scalar(select(func.count()).select_from(PaymentOperation)) == 0


def test_stripe_refusing_connections_at_capture_keeps_ledger_and_booking_consistent(
    world, stripe_api, app
):
    from app.models import CardStep
    from app.services import card_steps

    _, _, holder, budget = world
    booking = accepted(world)
    s = delivered(world, booking)
    payment = card_payments.session_payment(s.id)
    live = app.config["STRIPE_API_BASE"]

    app.config["STRIPE_API_BASE"] = f"http://127.0.0.1:{unused_port()}"  # Stripe unreachable
    # Stripe is not called inside the confirmation: it commits, and the card capture waits as a
    # recorded step (the holder is not asked to press confirm again).
    bookings.confirm_session(holder, holder, s.id)
    assert db.session.get(BookingSession, s.id).state == "settled"
    assert held(budget) == 0 and ledger.balances(budget.id)[Account.SPENT] == PRICE
    assert db.session.get(Payment, payment.id).status == "authorised"
    step = db.session.scalars(select(CardStep).where(CardStep.kind == "capture")).one()
    assert (step.status, step.attempts) == ("planned", 1)

    app.config["STRIPE_API_BASE"] = live
    report = card_steps.reconcile()  # `carefair payments reconcile`, from cron
    assert report.steps.done == 1
    payment = db.session.get(Payment, payment.id)
    assert (payment.status, payment.captured_pence) == ("captured", PRICE)
    assert taken(stripe_api, payment) == PRICE  # taken once
    captures = db.session.scalars(
        select(PaymentOperation).where(PaymentOperation.kind == "payment.capture")
    ).all()
    assert [(op.status, op.attempts) for op in captures] == [("succeeded", 2)]
    assert card_steps.reconcile().steps.done == 0  # nothing left: running it again is harmless
    assert taken(stripe_api, payment) == PRICE


class FlakyHttp(stripe.RequestsClient):
    """Refuses the n-th PaymentIntent creation as if the network dropped (then works again)."""

    def __init__(self, fail_on: int):
        super().__init__(timeout=5)
        self.fail_on, self.seen = fail_on, 0

    def request(self, method, url, headers, post_data=None):
        if method == "post" and url.endswith("/v1/payment_intents"):
            self.seen += 1
            if self.seen == self.fail_on:
                raise stripe.APIConnectionError("Connection refused (test)")
        return super().request(method, url, headers, post_data)


def test_outage_midway_through_authorising_releases_everything_and_a_retry_never_doubles(
    world, stripe_api, localstripe_url, monkeypatch, request
):
    from datetime import time

    from app.domain.bookings import WeeklyPattern

    provider, listing, holder, budget = world
    flaky = PaymentGateway(
        stripe.StripeClient(
            TEST_SECRET_KEY,
            base_addresses={"api": localstripe_url},
            max_network_retries=0,
            http_client=FlakyHttp(fail_on=2),
        )
    )
    monkeypatch.setattr(card_payments, "gateway", lambda: flaky)
    # A card-paid series authorises only what falls in the card's window (a few days: card
    # authorisations lapse after about seven), so three visits on three days of one week, booked
    # the day before the first.
    first_day = next_weekday(1)
    from app import clock

    clock.travel_to(bookings.local(first_day - timedelta(days=1), time(12)))
    request.addfinalizer(lambda: clock.travel_to(None))
    pattern = WeeklyPattern(frozenset({1, 2, 3}), time(10), 120, first_day, count=3)
    booking = bookings.request_booking(
        holder, holder, bookings.BookingInput(listing.id, kind="recurring", pattern=pattern)
    )
    booking = bookings.accept(provider, booking.id)

    # Session 1 was authorised, session 2 hit the outage: session 1 was released again.
    assert booking.state == "payment_failed"
    assert held(budget) == 0 and ledger.balances(budget.id)[Account.SPENT] == 0
    first, second, third = (card_payments.session_payment(s.id) for s in booking.sessions)
    assert (first.status, second.status, third) == ("canceled", "unavailable", None)
    assert (
        "could not reach the card payment service" in card_payments.booking_card_status(booking)[0]
    )

    booking = bookings.retry_funding(holder, holder, booking.id)
    assert booking.state == "funds_held" and held(budget) == 3 * PRICE
    payments = [card_payments.session_payment(s.id) for s in booking.sessions]
    assert [p.status for p in payments] == ["authorised"] * 3
    # The unknown-outcome attempt was retried under its own key, not a new one.
    assert payments[1].id == second.id
    retried = db.session.scalar(
        select(PaymentOperation).where(PaymentOperation.payment_id == second.id)
    )
    assert (retried.idempotency_key, retried.attempts) == (
        f"b{booking.id}-s{booking.sessions[1].id}-r0-card-authorise",
        2,
    )
    everything = db.session.scalars(select(Payment).order_by(Payment.id)).all()
    states = [
        stripe_api.v1.payment_intents.retrieve(p.stripe_payment_intent_id).status
        for p in everything
    ]
    # Three live authorisations (one per session) and the one released after the outage.
    assert sorted(states) == ["canceled"] + ["requires_capture"] * 3


def test_a_capture_stripe_reports_by_webhook_is_recorded_once(
    world, stripe_api, localstripe_server, webhook_inbox, connect_stub
):
    secret = "whsec_card_payments"
    localstripe_server.register_webhook(
        "card-payments", webhook_inbox.url, secret, ["payment_intent.succeeded"]
    )
    provider, _, holder, budget = world
    onboard(provider)
    booking = accepted(world)
    s = delivered(world, booking)
    payment = card_payments.session_payment(s.id)
    # Stripe captured, but Carefair never heard back (a crash after the call).
    stripe_api.v1.payment_intents.capture(payment.stripe_payment_intent_id)
    body, signature = webhook_inbox.wait_for(
        "payment_intent.succeeded", payment.stripe_payment_intent_id
    )

    assert stripe_webhooks.process(stripe_webhooks.verify(body, signature, secret)) is True
    assert stripe_webhooks.process(stripe_webhooks.verify(body, signature, secret)) is False
    payment = db.session.get(Payment, payment.id)
    assert (payment.status, payment.captured_pence) == ("captured", PRICE)
    reconciled = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "payment.reconciled")
    ).all()
    assert len(reconciled) == 1

    # Confirming afterwards does not capture again; the ledger catches up and the provider is paid.
    bookings.confirm_session(holder, holder, s.id)
    assert taken(stripe_api, payment) == PRICE
    assert ledger.balances(budget.id)[Account.SPENT] == PRICE
    assert db.session.get(Payment, payment.id).transferred_pence == PRICE


def _event(event_type: str, obj: dict, event_id: str) -> stripe.Event:
    return stripe.Event.construct_from(
        {"id": event_id, "object": "event", "type": event_type, "data": {"object": obj}},
        TEST_SECRET_KEY,
    )


def test_canceled_and_refunded_events_update_the_payment_idempotently(world, stripe_api):
    booking = accepted(world)
    payment = card_payments.session_payment(booking.sessions[0].id)
    pi = payment.stripe_payment_intent_id

    cancelled = _event("payment_intent.canceled", {"id": pi, "object": "payment_intent"}, "evt_c1")
    assert stripe_webhooks.process(cancelled) is True
    assert stripe_webhooks.process(cancelled) is False
    assert db.session.get(Payment, payment.id).status == "canceled"

    # A lapsed authorisation is renewed when the visit is confirmed, then captured once.
    s = delivered(world, db.session.get(Booking, booking.id))
    bookings.confirm_session(world[2], world[2], s.id)
    renewed = card_payments.session_payment(s.id)
    assert renewed.id != payment.id and (renewed.status, renewed.captured_pence) == (
        "captured",
        PRICE,
    )

    refunded = {
        "id": renewed.stripe_charge_id,
        "object": "charge",
        "payment_intent": renewed.stripe_payment_intent_id,
        "amount_refunded": 99_999,  # more than captured: capped
    }
    stripe_webhooks.process(_event("charge.refunded", refunded, "evt_r1"))
    stripe_webhooks.process(_event("charge.refunded", refunded, "evt_r2"))
    renewed = db.session.get(Payment, renewed.id)
    assert (renewed.refunded_pence, renewed.status) == (PRICE, "refunded")
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action == "payment.reconciled", AuditEvent.subject_id == str(renewed.id)
            )
        )
        == 1
    )


def test_pay_waiting_command_sends_payouts_once_the_provider_has_an_account(world, app):
    provider, _, holder, _ = world
    booking = accepted(world)
    s = delivered(world, booking)
    bookings.confirm_session(holder, holder, s.id)
    runner = app.test_cli_runner()
    assert (
        "Payouts sent: 0. Still waiting: 1."
        in runner.invoke(args=["payments", "pay-waiting"]).output
    )
    onboard(provider)
    assert (
        "Payouts sent: 1. Still waiting: 0."
        in runner.invoke(args=["payments", "pay-waiting"]).output
    )


def test_pause_releases_the_card_and_resume_authorises_afresh(world, stripe_api):
    _, _, holder, budget = world
    booking = accepted(world)
    first = card_payments.session_payment(booking.sessions[0].id)
    bookings.pause(holder, holder, reason="In hospital")

    assert db.session.get(Payment, first.id).status == "canceled"
    assert intent(stripe_api, first).status == "canceled" and held(budget) == 0

    (resumed,) = bookings.resume(holder, holder)
    again = card_payments.session_payment(resumed.sessions[0].id)
    assert resumed.state == "funds_held" and held(budget) == PRICE
    assert again.id != first.id and again.status == "authorised"
    assert intent(stripe_api, again).status == "requires_capture"


def test_account_updated_keeps_the_providers_payout_state_and_says_why_money_waits(
    world, connect_stub
):
    provider, _, holder, _ = world
    onboard(provider)
    account = card_payments.payout_account(provider)
    connect_stub.fail_with_status = 400  # Stripe refuses transfers until onboarding is done
    booking = accepted(world)
    s = delivered(world, booking)
    bookings.confirm_session(holder, holder, s.id)
    payment = card_payments.session_payment(s.id)
    db.session.execute(  # the refusal's own message aside, the account state explains the wait
        Payment.__table__.update().where(Payment.id == payment.id).values(last_error=None))
    db.session.commit()
    assert [w.reason for w in card_payments.waiting_payouts(provider.id)] == [
        "Stripe still needs details from the provider before paying them."]

    updated = _event("account.updated", {"id": account.stripe_account_id, "object": "account",
                                         "details_submitted": True, "payouts_enabled": True},
                     "evt_acct_1")
    assert stripe_webhooks.process(updated) is True
    assert stripe_webhooks.process(updated) is False
    account = card_payments.payout_account(provider)
    assert (account.details_submitted, account.payouts_enabled) == (True, True)
    (changed,) = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "payment_account.updated")).all()
    assert changed.subject_id == str(provider.id) and changed.details["now"]["payouts_enabled"]
    assert [w.reason for w in card_payments.waiting_payouts(provider.id)] == ["Waiting to be sent."]

    connect_stub.fail_with_status = None
    assert card_payments.pay_waiting() == 1
    assert card_payments.session_payment(s.id).transferred_pence == PRICE
    # The refused attempt's key would replay its refusal: the retry has a key of its own.
    keys = [r.headers["idempotency-key"] for r in connect_stub.requests if r.path == "/v1/transfers"]
    assert keys == [keys[0], keys[0] + "-retry1"]
    # An event about an account Carefair does not know changes nothing.
    stripe_webhooks.process(_event("account.updated", {"id": "acct_other", "object": "account",
                                                       "payouts_enabled": False}, "evt_acct_2"))
    assert card_payments.payout_account(provider).payouts_enabled is True


def test_a_take_back_stripe_refused_is_tried_again_with_a_new_key_and_done_once(
    world, connect_stub, make_user
):
    s, broker = paid_out_session(world, make_user)
    connect_stub.fail_with_status = 400
    assert card_payments.refund_session(broker, s.id, 700, reason="Late").still_to_take_back_pence == 700
    connect_stub.fail_with_status = None
    card_payments.pay_waiting()
    card_payments.pay_waiting()
    keys = [r.headers["idempotency-key"] for r in connect_stub.requests if r.path.endswith("/reversals")]
    assert len(keys) == 2 and "-retry1-" in keys[1] and keys[1].replace("-retry1", "") == keys[0]
    assert card_payments.waiting_takebacks() == []
    assert card_payments.session_payment(s.id).transferred_pence == PRICE - 700


def test_a_card_paid_series_is_authorised_only_inside_the_card_window(world, request):
    """Issue 18: card authorisations lapse after about seven days, so a weekly series authorises
    each visit when the daily job holds it, not the whole series at booking."""
    from datetime import time

    from app import clock
    from app.domain.bookings import WeeklyPattern
    from app.services.bookings import horizon

    provider, listing, holder, budget = world
    monday = next_weekday(0)
    clock.travel_to(bookings.local(monday - timedelta(days=1), time(12)))
    request.addfinalizer(lambda: clock.travel_to(None))
    pattern = WeeklyPattern(frozenset({0}), time(10), 120, monday, count=3)
    booking = bookings.request_booking(
        holder, holder, bookings.BookingInput(listing.id, kind="recurring", pattern=pattern))
    booking = bookings.accept(provider, booking.id)
    assert booking.state == "funds_held"
    assert [s.state for s in booking.sessions] == ["funds_held", "accepted", "accepted"]
    assert held(budget) == PRICE
    payments = [card_payments.session_payment(s.id) for s in booking.sessions]
    assert payments[0].status == "authorised" and payments[1:] == [None, None]

    report = horizon.hold_ahead(clock.now() + timedelta(days=7))
    assert report.held == 1
    db.session.expire_all()
    booking = bookings.get_booking(booking.id)
    assert [s.state for s in booking.sessions] == ["funds_held", "funds_held", "accepted"]
    assert card_payments.session_payment(booking.sessions[1].id).status == "authorised"
    assert held(budget) == 2 * PRICE


def test_a_safeguarding_concern_holds_the_providers_card_payouts_until_a_broker_lifts_it(
    world, connect_stub, make_user
):
    """Issue 16: a safeguarding concern holds the provider's payouts at once. Before, the hold
    was recorded but the card payout went to the provider anyway."""
    from app.domain.access import Role
    from app.services import concerns, restrictions

    provider, listing, holder, _ = world
    onboard(provider)
    booking = accepted(world)
    s = delivered(world, booking)
    concerns.raise_concern(None, listing.profile_id, concerns.ConcernInput(
        kind="safeguarding", harm="financial_abuse", details="She asked my neighbour for cash."))

    bookings.confirm_session(holder, holder, s.id)
    card_payments.pay_waiting()

    assert card_payments.session_payment(s.id).transferred_pence == 0
    assert not [r for r in connect_stub.requests if r.path == "/v1/transfers"]
    assert [w.reason for w in card_payments.waiting_payouts(provider.id)] == [
        card_payments.PAYOUT_HELD_REASON]

    restrictions.lift(make_user(Role.BROKER), listing.profile_id, reason="Council found nothing")
    assert card_payments.pay_waiting() == 1
    assert card_payments.session_payment(s.id).transferred_pence == PRICE
