"""The payment gateway against a real localstripe server: authorise, capture, cancel, refund,
declines, idempotency and faults, each leaving a clear record."""

# ruff: noqa: F811  (pytest fixtures imported from tests.stripe_support are used as arguments)
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.adapters.stripe_gateway import PaymentGateway, operation
from app.domain.access import Role
from app.domain.payments import (
    IdempotencyKeyReused,
    PaymentDeclined,
    PaymentLimitExceeded,
    PaymentUnavailable,
)
from app.errors import Conflict
from app.extensions import db
from app.models import AuditEvent, Payment, PaymentOperation
from tests.stripe_support import (  # noqa: F401  (fixtures)
    DECLINED_ON_ATTACH,
    DECLINED_ON_CHARGE,
    LocalStripe,
    gateway,
    key,
    localstripe_server,
    localstripe_url,
    new_card,
    stripe_api,
    stripe_client,
    unused_port,
)

pytestmark = pytest.mark.database


@pytest.fixture
def holder(app_ctx, make_user):
    return make_user(Role.HOLDER, email="payer@carefair.example")


@pytest.fixture
def customer(gateway, holder):
    return gateway.create_customer(user=holder, idempotency_key=key()).stripe_id


@pytest.fixture
def card(gateway, stripe_api, customer):
    card_id = new_card(stripe_api)
    gateway.attach_payment_method(
        customer_id=customer, payment_method_id=card_id, idempotency_key=key()
    )
    return card_id


def authorise(gateway, holder, customer, card, amount=5000, idempotency_key=None):
    return gateway.authorise(
        payer=holder,
        amount_pence=amount,
        customer_id=customer,
        payment_method_id=card,
        reference="booking:1",
        idempotency_key=idempotency_key or key(),
    )


def test_authorise_then_capture_takes_the_full_amount(gateway, stripe_api, holder, customer, card):
    result = authorise(gateway, holder, customer, card)
    payment = db.session.get(Payment, result.payment_id)
    assert (payment.status, payment.authorised_pence, payment.captured_pence) == (
        "authorised",
        5000,
        0,
    )
    assert stripe_api.v1.payment_intents.retrieve(result.stripe_id).status == "requires_capture"

    gateway.capture(payment_id=payment.id, idempotency_key=key())

    db.session.refresh(payment)
    assert (payment.status, payment.captured_pence) == ("captured", 5000)
    assert stripe_api.v1.payment_intents.retrieve(result.stripe_id).status == "succeeded"
    actions = db.session.scalars(
        select(AuditEvent.action).where(
            AuditEvent.subject_type == "payment", AuditEvent.subject_id == str(payment.id)
        ).order_by(AuditEvent.id)
    ).all()
    assert actions == ["payment.authorised", "payment.captured"]


def test_partial_capture_takes_less_and_never_more_than_authorised(gateway, holder, customer, card):
    payment_id = authorise(gateway, holder, customer, card, amount=6000).payment_id
    with pytest.raises(PaymentLimitExceeded, match="only £60.00 was authorised"):
        gateway.capture(payment_id=payment_id, amount_pence=6001, idempotency_key=key())

    gateway.capture(payment_id=payment_id, amount_pence=4500, idempotency_key=key())

    payment = db.session.get(Payment, payment_id)
    assert (payment.status, payment.authorised_pence, payment.captured_pence) == (
        "captured",
        6000,
        4500,
    )


def test_cancel_releases_the_authorisation_and_blocks_capture(
    gateway, stripe_api, holder, customer, card
):
    result = authorise(gateway, holder, customer, card)
    gateway.cancel(payment_id=result.payment_id, idempotency_key=key())

    assert db.session.get(Payment, result.payment_id).status == "canceled"
    assert stripe_api.v1.payment_intents.retrieve(result.stripe_id).status == "canceled"
    with pytest.raises(Conflict, match="it is canceled"):
        gateway.capture(payment_id=result.payment_id, idempotency_key=key())


def test_refunds_never_exceed_what_was_captured(gateway, holder, customer, card):
    payment_id = authorise(gateway, holder, customer, card, amount=5000).payment_id
    gateway.capture(payment_id=payment_id, amount_pence=4000, idempotency_key=key())

    gateway.refund(payment_id=payment_id, amount_pence=1500, idempotency_key=key())
    with pytest.raises(PaymentLimitExceeded, match="only £25.00 of the £40.00 taken"):
        gateway.refund(payment_id=payment_id, amount_pence=2501, idempotency_key=key())
    last = gateway.refund(payment_id=payment_id, idempotency_key=key())  # the rest

    payment = db.session.get(Payment, payment_id)
    assert last.data["amount"] == 2500
    assert (payment.refunded_pence, payment.status) == (4000, "refunded")
    with pytest.raises(PaymentLimitExceeded):
        gateway.refund(payment_id=payment_id, amount_pence=1, idempotency_key=key())
    refused = db.session.scalar(
        select(func.count())
        .select_from(PaymentOperation)
        .where(PaymentOperation.payment_id == payment_id, PaymentOperation.kind == "payment.refund")
    )
    assert refused == 2  # refusals never reach Stripe and leave no operation behind


def test_refund_of_an_uncaptured_payment_is_refused(gateway, holder, customer, card):
    payment_id = authorise(gateway, holder, customer, card).payment_id
    with pytest.raises(Conflict, match="it is authorised, not captured"):
        gateway.refund(payment_id=payment_id, amount_pence=100, idempotency_key=key())


def test_card_declined_when_saved_says_so_plainly(gateway, stripe_api, customer):
    card_id = new_card(stripe_api, DECLINED_ON_ATTACH)
    idem = key()
    with pytest.raises(PaymentDeclined, match="Your card was declined. Nothing has been taken"):
        gateway.attach_payment_method(
            customer_id=customer, payment_method_id=card_id, idempotency_key=idem
        )
    op = operation(idem)
    assert (op.status, op.error_code) == ("declined", "card_declined")


def test_card_declined_at_authorisation_leaves_a_declined_payment(
    gateway, stripe_api, holder, customer
):
    card_id = new_card(stripe_api, DECLINED_ON_CHARGE)
    gateway.attach_payment_method(
        customer_id=customer, payment_method_id=card_id, idempotency_key=key()
    )
    idem = key()
    with pytest.raises(PaymentDeclined) as raised:
        authorise(gateway, holder, customer, card_id, idempotency_key=idem)

    assert raised.value.field == "payment_method"
    payment = db.session.get(Payment, operation(idem).payment_id)
    assert (payment.status, payment.authorised_pence, payment.captured_pence) == ("declined", 0, 0)
    assert payment.last_error.startswith("Your card was declined")
    # Replaying the key repeats the refusal from the record, without a second charge attempt.
    with pytest.raises(PaymentDeclined):
        authorise(gateway, holder, customer, card_id, idempotency_key=idem)
    assert operation(idem).attempts == 1


def test_replayed_key_returns_the_stored_result_without_calling_stripe(
    gateway, stripe_api, holder, customer, card, localstripe_url
):
    idem = key()
    first = authorise(gateway, holder, customer, card, idempotency_key=idem)
    # A gateway whose Stripe is unreachable proves the replay never leaves Carefair.
    offline = PaymentGateway(stripe_client(f"http://127.0.0.1:{unused_port()}"))
    again = authorise(offline, holder, customer, card, idempotency_key=idem)

    assert again.replayed and not first.replayed
    assert (again.payment_id, again.stripe_id) == (first.payment_id, first.stripe_id)
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1
    intents = stripe_api.v1.payment_intents.list({"limit": 100}).data
    assert [i.id for i in intents if i.customer == customer] == [first.stripe_id]


def test_reusing_a_key_for_a_different_request_is_refused(gateway, holder, customer, card):
    idem = key()
    authorise(gateway, holder, customer, card, amount=5000, idempotency_key=idem)
    with pytest.raises(IdempotencyKeyReused):
        authorise(gateway, holder, customer, card, amount=5001, idempotency_key=idem)
    assert db.session.get(Payment, operation(idem).payment_id).authorised_pence == 5000


def test_stripe_unreachable_leaves_an_unavailable_payment_that_a_retry_completes(
    gateway, holder, customer, card
):
    idem = key()
    offline = PaymentGateway(stripe_client(f"http://127.0.0.1:{unused_port()}"))
    with pytest.raises(PaymentUnavailable, match="nothing has been taken"):
        authorise(offline, holder, customer, card, idempotency_key=idem)

    op = operation(idem)
    payment = db.session.get(Payment, op.payment_id)
    assert (op.status, payment.status, payment.authorised_pence) == (
        "unavailable",
        "unavailable",
        0,
    )
    assert payment.stripe_payment_intent_id is None

    retried = authorise(gateway, holder, customer, card, idempotency_key=idem)
    db.session.refresh(payment)
    assert retried.payment_id == payment.id and not retried.replayed
    assert (payment.status, payment.authorised_pence, operation(idem).attempts) == (
        "authorised",
        5000,
        2,
    )


def test_server_stopped_midway_keeps_the_payment_authorised_and_uncaptured(holder, stripe_api):
    # A private localstripe, stopped between the authorisation and the capture.
    server = LocalStripe()
    try:
        own = PaymentGateway(stripe_client(server.url))
        customer_id = own.create_customer(user=holder, idempotency_key=key()).stripe_id
        card_id = new_card(stripe_client(server.url))
        own.attach_payment_method(
            customer_id=customer_id, payment_method_id=card_id, idempotency_key=key()
        )
        payment_id = authorise(own, holder, customer_id, card_id).payment_id
    finally:
        server.stop()

    idem = key()
    with pytest.raises(PaymentUnavailable):
        own.capture(payment_id=payment_id, idempotency_key=idem)

    payment = db.session.get(Payment, payment_id)
    assert (payment.status, payment.authorised_pence, payment.captured_pence) == (
        "authorised",
        5000,
        0,
    )
    assert payment.last_error.startswith("We could not reach the card payment service")
    assert operation(idem).status == "unavailable"
    assert "payment.captured" not in db.session.scalars(select(AuditEvent.action)).all()


def test_refund_in_flight_when_stripe_fails_stays_reserved(gateway, holder, customer, card):
    payment_id = authorise(gateway, holder, customer, card, amount=3000).payment_id
    gateway.capture(payment_id=payment_id, idempotency_key=key())
    offline = PaymentGateway(stripe_client(f"http://127.0.0.1:{unused_port()}"))
    idem = key()
    with pytest.raises(PaymentUnavailable):
        offline.refund(payment_id=payment_id, amount_pence=2000, idempotency_key=idem)

    # It may or may not have reached Stripe, so it still counts against the cap ...
    with pytest.raises(PaymentLimitExceeded, match="only £10.00"):
        gateway.refund(payment_id=payment_id, amount_pence=1500, idempotency_key=key())
    # ... until the same key is retried and completes.
    gateway.refund(payment_id=payment_id, amount_pence=2000, idempotency_key=idem)
    assert db.session.get(Payment, payment_id).refunded_pence == 2000


def test_gateway_refuses_to_run_inside_unfinished_work(gateway, holder, customer, card):
    holder.name = "Changed but not committed"
    with pytest.raises(RuntimeError, match="Commit or roll back"):
        authorise(gateway, holder, customer, card)
    db.session.rollback()
