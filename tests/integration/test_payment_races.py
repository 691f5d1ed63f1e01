"""Races on PostgreSQL with real commits: two refunds cannot together pass the cap, and a webhook
delivered twice at once is handled once. These tests clean up the rows they commit."""

# ruff: noqa: F811  (pytest fixtures imported from tests.stripe_support are used as arguments)
from __future__ import annotations

import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import stripe
from sqlalchemy import delete, or_, text

from app.adapters.stripe_gateway import PaymentGateway
from app.domain.payments import PaymentLimitExceeded
from app.extensions import db
from app.models import AuditEvent, Payment, PaymentOperation, ProcessedWebhookEvent, User
from app.services import stripe_webhooks
from tests.stripe_support import (  # noqa: F401  (fixtures)
    key,
    localstripe_server,
    localstripe_url,
    new_card,
    stripe_client,
)

pytestmark = [pytest.mark.database, pytest.mark.postgres_only]


def _cleanup(app, user_id: int | None, payment_id: int | None) -> None:
    with app.app_context():
        # The audit log is append-only by trigger; only this test's own rows are removed, with
        # triggers off for this one transaction (the test database user is a superuser).
        db.session.execute(text("SET LOCAL session_replication_role = replica"))
        if payment_id is not None:
            db.session.execute(delete(PaymentOperation).where(
                PaymentOperation.payment_id == payment_id))
            db.session.execute(delete(AuditEvent).where(
                AuditEvent.subject_type == "payment", AuditEvent.subject_id == str(payment_id)))
            db.session.execute(delete(Payment).where(Payment.id == payment_id))
        if user_id is not None:
            db.session.execute(delete(AuditEvent).where(or_(
                AuditEvent.actor_id == user_id, AuditEvent.on_behalf_of_id == user_id)))
            db.session.execute(delete(User).where(User.id == user_id))
        db.session.commit()
        db.session.remove()


def test_two_refunds_racing_cannot_together_exceed_the_capture(app, localstripe_url):
    gateway = PaymentGateway(stripe_client(localstripe_url))
    user_id = payment_id = None
    keys = [key(), key()]  # customer, card: operations without a payment, removed by key
    try:
        with app.app_context():
            user = User(email=f"race-{secrets.token_hex(4)}@carefair.example", name="Race Holder",
                        role="holder")
            db.session.add(user)
            db.session.commit()
            user_id = user.id
            customer = gateway.create_customer(user=user, idempotency_key=keys[0]).stripe_id
            card = new_card(stripe_client(localstripe_url))
            gateway.attach_payment_method(customer_id=customer, payment_method_id=card,
                                          idempotency_key=keys[1])
            payment_id = gateway.authorise(payer=user, amount_pence=5000, customer_id=customer,
                                           payment_method_id=card, reference="race:1",
                                           idempotency_key=key()).payment_id
            gateway.capture(payment_id=payment_id, idempotency_key=key())
            db.session.remove()

        barrier = threading.Barrier(2)

        def refund(_n: int) -> str:
            with app.app_context():
                try:
                    barrier.wait(timeout=10)
                    gateway.refund(payment_id=payment_id, amount_pence=3000,
                                   idempotency_key=key())
                    return "refunded"
                except PaymentLimitExceeded:
                    return "refused"
                finally:
                    db.session.remove()

        with ThreadPoolExecutor(2) as pool:
            outcomes = sorted(pool.map(refund, range(2)))

        assert outcomes == ["refunded", "refused"]
        with app.app_context():
            assert db.session.get(Payment, payment_id).refunded_pence == 3000
            db.session.remove()
    finally:
        _cleanup(app, None, payment_id)
        with app.app_context():
            db.session.execute(delete(PaymentOperation).where(
                PaymentOperation.idempotency_key.in_(keys)))
            db.session.commit()
            db.session.remove()
        _cleanup(app, user_id, None)


def test_the_same_event_delivered_twice_at_once_is_handled_once(app):
    event = stripe.Event.construct_from({
        "id": f"evt_race_{secrets.token_hex(4)}", "object": "event", "type": "charge.refunded",
        "data": {"object": {"id": "ch_race", "object": "charge"}}}, "sk_test_carefair")
    calls: list[str] = []

    def slow_handler(evt) -> None:
        calls.append(evt.id)
        time.sleep(0.3)  # holds the claim open while the other delivery arrives

    barrier = threading.Barrier(2)

    def deliver(_n: int) -> bool:
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                return stripe_webhooks.process(event)
            finally:
                db.session.remove()

    stripe_webhooks.register("charge.refunded", slow_handler)
    try:
        with ThreadPoolExecutor(2) as pool:
            results = sorted(pool.map(deliver, range(2)))
    finally:
        stripe_webhooks.unregister("charge.refunded", slow_handler)
        with app.app_context():
            db.session.execute(delete(ProcessedWebhookEvent).where(
                ProcessedWebhookEvent.stripe_event_id == event.id))
            db.session.commit()
            db.session.remove()

    assert results == [False, True]
    assert calls == [event.id]
