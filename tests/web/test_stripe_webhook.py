"""POST /api/stripe/webhook: signed deliveries from a real localstripe are handled exactly once; bad
signatures get the API's JSON error; a failing handler leaves the event for Stripe to redeliver."""

# ruff: noqa: F811  (pytest fixtures imported from tests.stripe_support are used as arguments)
from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from sqlalchemy import func, select

from app.models import ProcessedWebhookEvent
from app.services import stripe_webhooks
from tests.stripe_support import (  # noqa: F401  (fixtures)
    localstripe_server,
    localstripe_url,
    new_card,
    stripe_api,
    webhook_inbox,
)

pytestmark = pytest.mark.database

SECRET = "whsec_carefair_test"
URL = "/api/stripe/webhook"


@pytest.fixture
def configured(app, monkeypatch):
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", SECRET)


@pytest.fixture
def seen():
    """A handler registered for the test's event types, recording the event ids it handles."""
    calls: list[str] = []

    def handler(event) -> None:
        calls.append(event.id)

    types = ("payment_intent.succeeded", "charge.refunded")
    for event_type in types:
        stripe_webhooks.register(event_type, handler)
    yield calls
    for event_type in types:
        stripe_webhooks.unregister(event_type, handler)


def signed(payload: dict, secret: str = SECRET, timestamp: int | None = None) -> tuple[bytes, str]:
    body = json.dumps(payload).encode()
    t = timestamp or int(time.time())
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return body, f"t={t},v1={mac}"


def event(event_id: str = "evt_test_1", event_type: str = "charge.refunded") -> dict:
    return {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "data": {"object": {"id": "ch_test_1", "object": "charge", "amount_refunded": 500}},
    }


def post(client, body: bytes, signature: str | None):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return client.post(URL, data=body, headers=headers)


def processed(db_session) -> int:
    return db_session.scalar(select(func.count()).select_from(ProcessedWebhookEvent))


def test_a_real_localstripe_delivery_is_verified_and_handled_once(
    client, db_session, configured, seen, localstripe_server, webhook_inbox, stripe_api
):
    localstripe_server.register_webhook(
        "carefair", webhook_inbox.url, SECRET, ["payment_intent.succeeded"]
    )
    customer = stripe_api.v1.customers.create({"email": "hook@carefair.example"})
    card = new_card(stripe_api)
    stripe_api.v1.payment_methods.attach(card, {"customer": customer.id})
    intent = stripe_api.v1.payment_intents.create(
        {
            "amount": 1200,
            "currency": "gbp",
            "customer": customer.id,
            "payment_method": card,
            "capture_method": "manual",
            "confirm": True,
        }
    )
    stripe_api.v1.payment_intents.capture(intent.id)
    body, signature = webhook_inbox.wait_for("payment_intent.succeeded", intent.id)

    first = post(client, body, signature)
    again = post(client, body, signature)  # Stripe delivers at least once

    event_id = json.loads(body)["id"]
    assert first.status_code == 200 and first.json == {
        "received": True,
        "event": event_id,
        "duplicate": False,
    }
    assert again.status_code == 200 and again.json["duplicate"] is True
    assert seen == [event_id]
    row = db_session.scalar(select(ProcessedWebhookEvent))
    # Every registered handler ran once: this test's and the card payments' reconciler.
    assert (row.event_type, row.object_id, row.handled_by) == (
        "payment_intent.succeeded",
        intent.id,
        len(stripe_webhooks.handlers_for("payment_intent.succeeded")),
    )


def test_a_tampered_body_is_refused_with_the_api_error_shape(client, db_session, configured, seen):
    body, signature = signed(event())
    response = post(client, body.replace(b"500", b"50000"), signature)
    assert response.status_code == 400
    assert response.json == {
        "error": {
            "status": 400,
            "code": "invalid_signature",
            "field": None,
            "message": "The webhook signature could not be verified.",
        }
    }
    assert seen == [] and processed(db_session) == 0


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "t=1,v1=deadbeef",
        signed(event(), secret="whsec_someone_else")[1],
        signed(event(), timestamp=int(time.time()) - 3600)[
            1
        ],  # replayed long after (tolerance 5 min)
    ],
    # Fixed ids: the signatures carry the time, and xdist workers must collect the same names.
    ids=["missing", "empty", "malformed", "other_secret", "stale"],
)
def test_missing_wrong_or_stale_signatures_are_refused(
    client, db_session, configured, seen, signature
):
    body, _ = signed(event())
    response = post(client, body, signature)
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_signature"
    assert seen == [] and processed(db_session) == 0


def test_each_event_id_is_processed_once_even_with_a_fresh_signature(
    client, db_session, configured, seen
):
    body, signature = signed(event("evt_once"))
    assert post(client, body, signature).json["duplicate"] is False
    body, signature = signed(event("evt_once"), timestamp=int(time.time()) + 1)
    assert post(client, body, signature).json["duplicate"] is True
    assert seen == ["evt_once"] and processed(db_session) == 1


def test_an_event_with_no_handler_is_recorded_and_acknowledged(client, db_session, configured):
    body, signature = signed(event("evt_nobody", "customer.created"))
    response = post(client, body, signature)
    assert response.status_code == 200
    row = db_session.scalar(select(ProcessedWebhookEvent))
    assert (row.stripe_event_id, row.handled_by) == ("evt_nobody", 0)


def test_a_failing_handler_leaves_the_event_to_be_delivered_again(client, db_session, configured):
    attempts: list[str] = []

    def flaky(evt) -> None:
        attempts.append(evt.id)
        if len(attempts) == 1:
            raise RuntimeError("booking layer hiccup")

    stripe_webhooks.register("charge.refunded", flaky)
    try:
        body, signature = signed(event("evt_retry"))
        assert post(client, body, signature).status_code == 500
        assert processed(db_session) == 0
        assert post(client, body, signature).json["duplicate"] is False
    finally:
        stripe_webhooks.unregister("charge.refunded", flaky)
    assert attempts == ["evt_retry", "evt_retry"] and processed(db_session) == 1


def test_without_a_webhook_secret_nothing_is_accepted(client, db_session, app, monkeypatch):
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", None)
    body, signature = signed(event())
    response = post(client, body, signature)
    assert response.status_code == 503
    assert response.json["error"]["code"] == "webhooks_not_configured"


def test_connected_account_events_come_to_their_own_endpoint_with_their_own_secret(
    client, app, monkeypatch, db_session, seen
):
    connect_secret = "whsec_connect_test"
    monkeypatch.setitem(app.config, "STRIPE_CONNECT_WEBHOOK_SECRET", connect_secret)
    body, signature = signed(event("evt_connect_1"), secret=connect_secret)
    response = client.post("/api/stripe/connect-webhook", data=body,
                           headers={"Content-Type": "application/json", "Stripe-Signature": signature})
    assert response.status_code == 200 and response.get_json()["event"] == "evt_connect_1"
    assert seen == ["evt_connect_1"]
    # The platform endpoint's secret does not open the connected-accounts endpoint.
    body, signature = signed(event("evt_connect_2"), secret=SECRET)
    refused = client.post("/api/stripe/connect-webhook", data=body,
                          headers={"Content-Type": "application/json", "Stripe-Signature": signature})
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "invalid_signature"
    assert seen == ["evt_connect_1"]


@pytest.mark.parametrize("payload", [
    [], "an event", 12, {"type": "charge.refunded"}, {"id": "evt_x", "type": "charge.refunded"},
    {"id": "evt_x", "type": "charge.refunded", "data": {"object": "ch_1"}},
    {"id": ["evt_x"], "type": "charge.refunded", "data": {"object": {}}},
])
def test_a_signed_body_that_is_not_a_stripe_event_is_a_400_not_a_500(client, db_session,
                                                                      configured, payload):
    body, signature = signed(payload)  # type: ignore[arg-type]
    response = post(client, body, signature)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "malformed_event"
    assert processed(db_session) == 0


@pytest.mark.parametrize("event_type", ["payment_intent.succeeded", "payment_intent.payment_failed",
                                        "payment_intent.canceled", "charge.refunded",
                                        "account.updated"])
def test_a_signed_event_whose_object_is_malformed_is_a_400_and_writes_nothing(
        client, db_session, configured, event_type):
    payload = event(f"evt_bad_{event_type}", event_type)
    payload["data"] = {"object": {"id": 7, "metadata": "nope", "amount": "lots", "status": None}}
    response = post(client, *signed(payload))
    assert response.status_code in (200, 400)  # 200 only when the handler ignores the object
    if response.status_code == 400:
        assert response.json["error"]["code"] == "malformed_event"
        assert processed(db_session) == 0
