"""Stripe Checkout in setup mode (save a card by redirect, no JavaScript of ours) and card details.

localstripe has no Checkout, so this module is exercised only against real Stripe; the card-on-file
path the tests use is `PaymentGateway.attach_payment_method` with a PaymentMethod id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import stripe

from app.adapters.stripe_gateway import PaymentGateway
from app.domain.payments import UNAVAILABLE_MESSAGE, PaymentUnavailable

T = TypeVar("T")


def _stripe(call: Callable[[], T]) -> T:
    """Stripe's own errors become PaymentUnavailable with a plain message (nothing was saved)."""
    try:
        return call()
    except stripe.StripeError as err:
        raise PaymentUnavailable(UNAVAILABLE_MESSAGE) from err


@dataclass(frozen=True)
class CardDetails:
    payment_method_id: str
    brand: str | None
    last4: str | None


def create_setup_session(
    gateway: PaymentGateway,
    *,
    customer_id: str,
    success_url: str,
    cancel_url: str,
    idempotency_key: str,
) -> str:
    """A Checkout Session that saves a card to the customer; returns the URL to redirect to.

    `success_url` should contain `{CHECKOUT_SESSION_ID}`, which Stripe fills in.
    """
    session = _stripe(
        lambda: gateway.client.v1.checkout.sessions.create(
            {
                "mode": "setup",
                "currency": "gbp",
                "customer": customer_id,
                "payment_method_types": ["card"],
                "success_url": success_url,
                "cancel_url": cancel_url,
            },
            {"idempotency_key": idempotency_key},
        )
    )
    return session.url


def completed_setup_card(
    gateway: PaymentGateway, *, checkout_session_id: str, customer_id: str
) -> str:
    """The PaymentMethod a finished setup-mode Checkout Session saved for this customer.

    Raises ValueError if the session is not finished or belongs to someone else.
    """
    session = _stripe(
        lambda: gateway.client.v1.checkout.sessions.retrieve(
            checkout_session_id, {"expand": ["setup_intent"]}
        )
    )
    owner = session.customer if isinstance(session.customer, str) else session.customer.id
    if owner != customer_id or session.status != "complete" or session.setup_intent is None:
        raise ValueError("checkout session not complete for this customer")
    method = session.setup_intent.payment_method
    return method if isinstance(method, str) else method.id


def card_details(gateway: PaymentGateway, payment_method_id: str) -> CardDetails:
    """Brand and last four digits, to show the holder which card is on file (a read: no key)."""
    method = _stripe(lambda: gateway.client.v1.payment_methods.retrieve(payment_method_id))
    card = getattr(method, "card", None)
    return CardDetails(
        payment_method_id,
        getattr(card, "brand", None) if card is not None else None,
        getattr(card, "last4", None) if card is not None else None,
    )
