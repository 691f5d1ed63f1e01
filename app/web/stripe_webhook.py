"""POST /api/stripe/webhook: Stripe's signed event deliveries, verified and handled once each."""

from __future__ import annotations

from flask import current_app, jsonify, request

from app.errors import error_body
from app.extensions import csrf
from app.services import stripe_webhooks
from app.web.api import bp
from app.web.context import public


@bp.post("/stripe/webhook")
@public  # Stripe cannot sign in: the signature is the authentication
def stripe_webhook():
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
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


csrf.exempt(stripe_webhook)  # Stripe posts without a CSRF token; the signature protects it
