"""Payment rules in plain Python: payment errors, request fingerprints, refund and transfer caps."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from enum import StrEnum

from app.domain.errors import Conflict, DomainError


class PaymentStatus(StrEnum):
    """A payment's (one per PaymentIntent) status, as stored in payments.status."""

    PENDING = "pending"  # asked Stripe to authorise; no answer recorded yet
    AUTHORISED = "authorised"  # money reserved on the card (requires_capture), nothing taken
    DECLINED = "declined"  # the card was refused: nothing reserved, nothing taken
    UNAVAILABLE = "unavailable"  # Stripe could not be reached: nothing reserved as far as we know
    FAILED = "failed"  # Stripe refused the request for another reason
    CANCELED = "canceled"  # the authorisation was released: nothing taken
    CAPTURED = "captured"  # money taken (possibly less than authorised); may be partly refunded
    REFUNDED = "refunded"  # everything captured has been refunded


PENDING = PaymentStatus.PENDING
AUTHORISED = PaymentStatus.AUTHORISED
DECLINED = PaymentStatus.DECLINED
UNAVAILABLE = PaymentStatus.UNAVAILABLE
FAILED = PaymentStatus.FAILED
CANCELED = PaymentStatus.CANCELED
CAPTURED = PaymentStatus.CAPTURED
REFUNDED = PaymentStatus.REFUNDED
PAYMENT_STATUSES = tuple(s.value for s in PaymentStatus)

# How a payment's status may change; a status may always be recorded again (replays,
# webhooks arriving after the gateway's own answer). move_payment is the only way it changes.
_PAYMENT_MOVES: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    PENDING: frozenset({AUTHORISED, DECLINED, UNAVAILABLE, FAILED, CANCELED}),
    UNAVAILABLE: frozenset({PENDING, AUTHORISED, DECLINED, FAILED, CANCELED}),
    AUTHORISED: frozenset({CAPTURED, CANCELED}),
    CAPTURED: frozenset({REFUNDED}),
    DECLINED: frozenset(),
    FAILED: frozenset(),
    CANCELED: frozenset(),
    REFUNDED: frozenset(),
}


class IllegalPaymentMove(DomainError):
    """A payment was asked to go where its status cannot lead (a bug, or a stale webhook)."""

    status_code = 409
    code = "illegal_payment_move"


def move_payment(current: PaymentStatus | str, target: PaymentStatus | str) -> PaymentStatus:
    """The status a payment moves to, or IllegalPaymentMove: the one transition function for
    payment statuses (the gateway and the webhook handlers both go through it)."""
    current, target = PaymentStatus(current), PaymentStatus(target)
    if target == current or target in _PAYMENT_MOVES.get(current, frozenset()):
        return target
    raise IllegalPaymentMove(f"A payment cannot go from {current} to {target}.")


# Operation (one per idempotency key) statuses, as stored in payment_operations.status.
OP_PENDING = "pending"  # recorded before calling Stripe; outcome unknown (a crash mid-call)
OP_SUCCEEDED = "succeeded"
OP_DECLINED = "declined"
OP_FAILED = "failed"
OP_UNAVAILABLE = "unavailable"  # network failure or Stripe outage: safe to retry with the same key
OPERATION_STATUSES = (OP_PENDING, OP_SUCCEEDED, OP_DECLINED, OP_FAILED, OP_UNAVAILABLE)
# A replay of these returns the stored outcome without calling Stripe again.
FINAL_OPERATION_STATUSES = (OP_SUCCEEDED, OP_DECLINED, OP_FAILED)


class PaymentError(DomainError):
    """A payment could not be made. The message is plain English for the person paying."""

    status_code = 402
    code = "payment_error"


class PaymentDeclined(PaymentError):
    status_code = 402
    code = "payment_declined"


class PaymentUnavailable(PaymentError):
    status_code = 503
    code = "payment_unavailable"


class CardPaymentsNotSetUp(PaymentUnavailable):
    """This Carefair has no card payment service configured (no Stripe key): waiting will not
    help, so people are told to ask their broker or council instead of to try again."""

    code = "payments_not_set_up"


class PaymentRefused(PaymentError):
    """Stripe refused the request for a reason other than the card (for example an expired
    authorisation). Nothing changed."""

    status_code = 409
    code = "payment_refused"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


class PaymentLimitExceeded(Conflict):
    code = "payment_limit_exceeded"


DECLINE_MESSAGES = {
    "card_declined": "Your card was declined. Nothing has been taken. Try another card or "
    "contact your bank.",
    "insufficient_funds": "Your card was declined because there is not enough money on it. "
    "Nothing has been taken.",
    "expired_card": "Your card has expired. Nothing has been taken. Try another card.",
    "incorrect_cvc": "The security code on the card is wrong. Nothing has been taken.",
    "authentication_required": "Your bank wants you to confirm this payment yourself, so nothing "
    "has been taken. Sign in and pay again, or try another card.",
    "processing_error": "Your bank could not process the card just now. Nothing has been taken. "
    "Try again in a few minutes.",
}
DEFAULT_DECLINE_MESSAGE = DECLINE_MESSAGES["card_declined"]
UNAVAILABLE_MESSAGE = (
    "We could not reach the card payment service, so nothing has been "
    "taken. Try again in a few minutes."
)


NOT_SET_UP_MESSAGE = (
    "Card payments are not set up on this Carefair yet, so bookings from a budget paid by card "
    "cannot be paid. Contact your broker or the council to arrange how to pay for support."
)

# Why money could not be set aside when a provider accepted, as the provider is told it: the
# error code of the refusal -> what happened. Never the holder's card or bank details.
PROVIDER_FAILURE_WORDS = {
    "payment_declined": "the client's card was declined",
    "no_card": "the client has no card saved for their budget",
    "payments_not_set_up": "card payments are not set up on this Carefair yet",
    "payment_unavailable": "the card payment service could not be reached",
    "payment_refused": "the card payment service refused the payment",
    "insufficient_funds": "the client's budget could not cover it",
}


def provider_failure_cause(code: str | None) -> str:
    """Why the money for a booking could not be set aside, in words for its provider."""
    return PROVIDER_FAILURE_WORDS.get(code or "", "the payment did not go through")


def provider_failure_message(code: str | None) -> str:
    """What a provider is told after accepting a booking whose money could not be set aside."""
    return (
        f"Accepted, but {provider_failure_cause(code)}, so the booking is not confirmed yet. "
        "The client has been told."
    )


def decline_message(code: str | None) -> str:
    """A plain-English reason for a refused card, never Stripe's own wording."""
    return DECLINE_MESSAGES.get(code or "", DEFAULT_DECLINE_MESSAGE)


def request_fingerprint(kind: str, params: Mapping[str, object]) -> str:
    """A stable hash of what was asked, so a replayed key can be told apart from a reused one."""
    canonical = json.dumps(
        {"kind": kind, "params": params}, sort_keys=True, separators=(",", ":"), default=str
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def check_capture(authorised_pence: int, amount_pence: int) -> None:
    """Capture at least a penny and never more than was authorised."""
    if amount_pence <= 0:
        raise PaymentLimitExceeded("The amount to take must be more than £0.00.", field="amount")
    if amount_pence > authorised_pence:
        raise PaymentLimitExceeded(
            f"Cannot take {_pounds(amount_pence)}: "
            f"only {_pounds(authorised_pence)} was authorised.",
            field="amount",
        )


def refundable_pence(captured: int, refunded: int, reserved: int = 0) -> int:
    """What can still be refunded: captured, less refunded and less refunds already in flight."""
    return max(captured - refunded - reserved, 0)


def check_refund(amount_pence: int, *, captured: int, refunded: int, reserved: int = 0) -> None:
    """Refunds never exceed what was captured minus what was already refunded (or in flight)."""
    if amount_pence <= 0:
        raise PaymentLimitExceeded("The amount to refund must be more than £0.00.", field="amount")
    available = refundable_pence(captured, refunded, reserved)
    if amount_pence > available:
        raise PaymentLimitExceeded(
            f"Cannot refund {_pounds(amount_pence)}: only {_pounds(available)} of the "
            f"{_pounds(captured)} taken can still be refunded.",
            field="amount",
        )


def check_transfer(
    amount_pence: int, *, captured: int, refunded: int, transferred: int, reserved: int = 0
) -> None:
    """A provider is paid at most what was captured and not refunded or already paid out."""
    if amount_pence <= 0:
        raise PaymentLimitExceeded("The amount to pay must be more than £0.00.", field="amount")
    available = max(captured - refunded - transferred - reserved, 0)
    if amount_pence > available:
        raise PaymentLimitExceeded(
            f"Cannot pay the provider {_pounds(amount_pence)}: only {_pounds(available)} is "
            "available from this payment.",
            field="amount",
        )


def check_reversal(amount_pence: int, *, transfer_left: int, transferred: int,
                   reserved: int = 0) -> None:
    """Money is taken back from a provider only up to what that transfer still holds and what
    the payment has paid out (less reversals already in flight)."""
    if amount_pence <= 0:
        raise PaymentLimitExceeded("The amount to take back must be more than £0.00.",
                                   field="amount")
    available = max(min(transfer_left, transferred - reserved), 0)
    if amount_pence > available:
        raise PaymentLimitExceeded(
            f"Cannot take {_pounds(amount_pence)} back from the provider: only "
            f"{_pounds(available)} of that payout can be reversed.",
            field="amount",
        )


def _pounds(pence: int) -> str:
    from app.domain.money_format import format_pence

    return format_pence(pence)
