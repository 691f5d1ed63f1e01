"""POST /api/stripe/webhook and /api/stripe/connect-webhook: Stripe's signed event deliveries
(Carefair's own account, and its providers' connected accounts, each signed with its endpoint's
own secret), verified and handled once each."""

from __future__ import annotations

from flask import current_app, jsonify, request

from app.errors import error_body
from app.extensions import csrf
from app.services import stripe_webhooks
from app.web.api import bp
from app.web.context import public


def _receive(secret_setting: str):
    secret = current_app.config.get(secret_setting)
    if not secret:
        return jsonify(
            error_body(
                503, "webhooks_not_configured", "Stripe webhooks are not set up on this Carefair."
            )
        ), 503
    event = stripe_webhooks.verify(
        request.get_data(), request.headers.get("Stripe-Signature"), secret
    )
    handled = stripe_webhooks.process(event)
    return jsonify({"received": True, "event": event.id, "duplicate": not handled})


@bp.post("/stripe/webhook")
@public  # Stripe cannot sign in: the signature is the authentication
def stripe_webhook():
    return _receive("STRIPE_WEBHOOK_SECRET")


@bp.post("/stripe/connect-webhook")
@public  # as above: events about providers' connected accounts (account.updated)
def stripe_connect_webhook():
    return _receive("STRIPE_CONNECT_WEBHOOK_SECRET")


# Stripe posts without a CSRF token; the signature protects them.
csrf.exempt(stripe_webhook)
csrf.exempt(stripe_connect_webhook)
