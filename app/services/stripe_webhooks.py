"""Stripe webhooks: signature check, once-only processing per event id, and a handler registry.

The booking layer registers handlers per event type:

    from app.services import stripe_webhooks

    @stripe_webhooks.handles("payment_intent.succeeded")
    def on_succeeded(event: stripe.Event) -> None:
        intent = event.data.object  # joins the transaction; never commit in a handler
        ...

`process` records the event id and runs every handler for its type in ONE transaction: if a
handler raises, nothing is recorded, the endpoint answers 500 and Stripe delivers it again; a
repeated delivery of a processed event does nothing.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable

import stripe
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.errors import DomainError
from app.extensions import db
from app.models import ProcessedWebhookEvent

log = logging.getLogger(__name__)

Handler = Callable[[stripe.Event], None]

# Event types the booking layer is expected to handle; any type may be registered.
PAYMENT_EVENTS = (
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "payment_intent.amount_capturable_updated",
    "charge.refunded",
    "charge.dispute.created",
    "account.updated",
    "transfer.created",
    "transfer.reversed",
)

_HANDLERS: dict[str, list[Handler]] = defaultdict(list)


class InvalidWebhook(DomainError):
    status_code = 400
    code = "invalid_signature"


class MalformedEvent(InvalidWebhook):
    """Signed, but not shaped like a Stripe event (or its object not like the type it names)."""

    code = "malformed_event"


def _check_shape(payload: bytes) -> None:
    try:
        event = json.loads(payload)
    except ValueError:
        event = None
    if not isinstance(event, dict):
        raise MalformedEvent("The webhook body is not a Stripe event.")
    event_id, event_type = event.get("id"), event.get("type")
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not (isinstance(event_id, str) and 0 < len(event_id) <= 255
            and isinstance(event_type, str) and 0 < len(event_type) <= 100
            and isinstance(obj, dict)):
        raise MalformedEvent("The webhook body is signed but is not a Stripe event "
                             "(it needs an id, a type and a data object).")


def register(event_type: str, handler: Handler) -> Handler:
    """Run `handler(event)` for every new event of this type (once per event id)."""
    if handler not in _HANDLERS[event_type]:
        _HANDLERS[event_type].append(handler)
    return handler


def unregister(event_type: str, handler: Handler) -> None:
    if handler in _HANDLERS.get(event_type, []):
        _HANDLERS[event_type].remove(handler)


def handles(event_type: str) -> Callable[[Handler], Handler]:
    """Decorator form of `register`."""
    return lambda handler: register(event_type, handler)


def handlers_for(event_type: str) -> list[Handler]:
    return list(_HANDLERS.get(event_type, []))


def verify(payload: bytes, signature_header: str | None, secret: str) -> stripe.Event:
    """The event, if the Stripe-Signature header proves it came from Stripe (or localstripe)
    with our endpoint secret within the tolerance window. Raises InvalidWebhook."""
    if not signature_header:
        raise InvalidWebhook("The Stripe-Signature header is missing.")
    try:
        event = stripe.Webhook.construct_event(payload, signature_header, secret)
    except stripe.SignatureVerificationError:
        raise InvalidWebhook("The webhook signature could not be verified.") from None
    except (ValueError, TypeError, AttributeError):
        raise MalformedEvent("The webhook body is not a Stripe event.") from None
    _check_shape(payload)
    return event


def process(event: stripe.Event) -> bool:
    """Handle a verified event once. True if handled now, False if it had been handled before."""
    session = db.session
    if (
        session.scalar(
            select(ProcessedWebhookEvent.id).where(
                ProcessedWebhookEvent.stripe_event_id == event.id
            )
        )
        is not None
    ):
        return False
    handlers = handlers_for(event.type)
    obj = event.data.object if getattr(event, "data", None) is not None else None
    record = ProcessedWebhookEvent(
        stripe_event_id=event.id,
        event_type=event.type,
        object_id=getattr(obj, "id", None),
        handled_by=len(handlers),
    )
    try:
        session.add(record)
        # Claim the id first: a concurrent delivery of the same event waits here on the unique
        # index and then fails, so handlers never run twice.
        session.flush()
        for handler in handlers:
            handler(event)
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    except (KeyError, TypeError, AttributeError, ValueError) as err:
        # A signed event whose object lacks what its type promises: refused (400, nothing
        # written) so Stripe's dashboard shows the failure, instead of a 500.
        session.rollback()
        log.warning("Stripe event %s (%s) is malformed: %r", event.id, event.type, err)
        raise MalformedEvent(f"The {event.type} event's object is not in the shape Stripe "
                             f"sends.") from err
    except Exception:
        session.rollback()
        raise
    return True
