"""The Stripe payment gateway: card payments and Connect payouts, idempotent and recorded per call.

How it fits together
--------------------
* Every public method takes an `idempotency_key`. Before calling Stripe it records a
  `PaymentOperation` (status `pending`) with a fingerprint of the request and commits, then calls
  Stripe with the same key, then records the outcome (`succeeded`, `declined`, `failed`,
  `unavailable`) and commits again. A crash mid-call leaves a `pending` row: a visible trace,
  never a silent gap.
* A replay of a key whose outcome is final returns the stored result (or raises the stored
  refusal) without calling Stripe; a replay with a different request raises
  `IdempotencyKeyReused`. A key whose last attempt was `pending` or `unavailable` is retried with
  the same key (real Stripe then deduplicates; localstripe ignores keys, hence this table).
* Because each method commits, booking use cases never call the gateway: they record a card
  step (app.services.card_steps) in their one commit, and the card-step worker calls the
  gateway after that commit, then applies the answer to the booking in a transaction of its
  own (the gateway refuses if the session holds unflushed changes). That is how a booking is
  never charged but not booked, and never booked but not funded.
* Refunds never exceed what was captured minus what was refunded or is being refunded;
  transfers never exceed what was captured and not refunded or already paid out. localstripe
  enforces neither, so Carefair does (here, and in CHECK constraints on `payments`).
* Connect calls (accounts, onboarding links, transfers) use a second client whose API base is
  STRIPE_CONNECT_API_BASE (defaults to STRIPE_API_BASE): tests point it at a local stub, since
  localstripe has no Connect.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import stripe
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.domain import payments as rules
from app.domain.payments import (
    NOT_SET_UP_MESSAGE,
    CardPaymentsNotSetUp,
    IdempotencyKeyReused,
    PaymentDeclined,
    PaymentRefused,
    PaymentUnavailable,
)
from app.errors import Conflict, InvalidInput, NotFound
from app.extensions import db
from app.models import Payment, PaymentOperation, ProviderPaymentAccount, User, utcnow
from app.services import audit

CURRENCY = "gbp"

# Operation kinds, as stored in payment_operations.kind.
CUSTOMER_CREATE = "customer.create"
PAYMENT_METHOD_ATTACH = "payment_method.attach"
PAYMENT_AUTHORISE = "payment.authorise"
PAYMENT_CAPTURE = "payment.capture"
PAYMENT_CANCEL = "payment.cancel"
PAYMENT_REFUND = "payment.refund"
ACCOUNT_CREATE = "connect.account.create"
ACCOUNT_LINK_CREATE = "connect.account_link.create"
TRANSFER_CREATE = "connect.transfer.create"
TRANSFER_REVERSE = "connect.transfer.reverse"

# The parts of a Stripe object worth keeping as an operation's stored result.
_RESULT_FIELDS = (
    "id",
    "object",
    "status",
    "amount",
    "currency",
    "customer",
    "payment_method",
    "latest_charge",
    "capture_method",
    "payment_intent",
    "destination",
    "transfer",
    "url",
    "expires_at",
    "type",
    "email",
    "details_submitted",
    "payouts_enabled",
)


@dataclass(frozen=True)
class GatewayResult:
    """What a gateway call did. `replayed` is True when the stored result of an earlier call
    with the same idempotency key was returned and Stripe was not called."""

    operation_id: int
    kind: str
    stripe_id: str | None
    replayed: bool
    payment_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


def make_stripe_client(
    api_key: str, api_base: str, *, max_network_retries: int = 2, timeout_seconds: float = 30.0
) -> stripe.StripeClient:
    """An official-SDK client whose API base address can point at a local server."""
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base},
        max_network_retries=max_network_retries,
        http_client=stripe.RequestsClient(timeout=timeout_seconds),
    )


class PaymentGateway:
    """Carefair's only way to Stripe. See the module docstring for the transaction contract."""

    def __init__(
        self, client: stripe.StripeClient, connect_client: stripe.StripeClient | None = None
    ):
        self.client = client
        self.connect_client = connect_client or client

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> PaymentGateway:
        """Build from Flask config (STRIPE_SECRET_KEY, STRIPE_API_BASE, STRIPE_CONNECT_API_BASE)."""
        key = config.get("STRIPE_SECRET_KEY")
        if not key:
            raise CardPaymentsNotSetUp(NOT_SET_UP_MESSAGE)
        options = {
            "max_network_retries": int(config.get("STRIPE_MAX_NETWORK_RETRIES", 2)),
            "timeout_seconds": float(config.get("STRIPE_TIMEOUT_SECONDS", 30.0)),
        }
        base = config.get("STRIPE_API_BASE") or "https://api.stripe.com"
        connect_base = config.get("STRIPE_CONNECT_API_BASE") or base
        client = make_stripe_client(key, base, **options)
        connect = (
            client if connect_base == base else make_stripe_client(key, connect_base, **options)
        )
        return cls(client, connect)

    # ----- customers and cards -------------------------------------------------------------

    def create_customer(self, *, user: User, idempotency_key: str) -> GatewayResult:
        """A Stripe customer for a budget holder; `stripe_id` is the customer id (cus_...)."""
        params = {
            "email": user.email,
            "name": user.name,
            "metadata": {"carefair_user_id": str(user.id)},
        }
        return self._run(
            CUSTOMER_CREATE,
            idempotency_key,
            params,
            call=lambda key: self.client.v1.customers.create(params, _opts(key)),
        )

    def attach_payment_method(
        self, *, customer_id: str, payment_method_id: str, idempotency_key: str
    ) -> GatewayResult:
        """Save a card (a PaymentMethod from Stripe.js) to a customer. A card the issuer refuses
        raises PaymentDeclined."""
        params = {"customer": customer_id}
        return self._run(
            PAYMENT_METHOD_ATTACH,
            idempotency_key,
            {"payment_method": payment_method_id, **params},
            call=lambda key: self.client.v1.payment_methods.attach(
                payment_method_id, params, _opts(key)
            ),
        )

    # ----- card payments -------------------------------------------------------------------

    def authorise(
        self,
        *,
        payer: User,
        amount_pence: int,
        customer_id: str,
        payment_method_id: str,
        reference: str,
        idempotency_key: str,
        provider: User | None = None,
        actor: User | None = None,
    ) -> GatewayResult:
        """Reserve `amount_pence` on the card (PaymentIntent, manual capture, confirmed now).

        Returns the new Payment's id in `payment_id` (status `authorised`). Raises PaymentDeclined
        (payment `declined`), PaymentUnavailable (payment `unavailable`: retry with the same key),
        PaymentRefused, IdempotencyKeyReused, InvalidInput.
        """
        if not isinstance(amount_pence, int) or isinstance(amount_pence, bool) or amount_pence <= 0:
            raise InvalidInput(
                "The amount must be a whole number of pence above zero.", field="amount"
            )
        request = {
            "amount": amount_pence,
            "currency": CURRENCY,
            "customer": customer_id,
            "payment_method": payment_method_id,
            "reference": reference,
            "payer_id": payer.id,
            "provider_id": provider.id if provider else None,
        }

        def prepare() -> Payment:
            payment = Payment(
                reference=reference,
                payer_id=payer.id,
                provider_id=provider.id if provider else None,
                currency=CURRENCY,
                amount_pence=amount_pence,
                status=rules.PENDING,
                stripe_customer_id=customer_id,
                stripe_payment_method_id=payment_method_id,
            )
            db.session.add(payment)
            db.session.flush()
            return payment

        def call(key: str, payment: Payment):
            params = {
                "amount": amount_pence,
                "currency": CURRENCY,
                "customer": customer_id,
                "payment_method": payment_method_id,
                "payment_method_types": ["card"],
                "capture_method": "manual",
                "confirm": True,
                # Confirmed when the provider accepts: the holder is not at the card.
                "off_session": True,
                "metadata": {"carefair_payment_id": str(payment.id), "reference": reference},
            }
            intent = self.client.v1.payment_intents.create(params, _opts(key))
            payment.stripe_payment_intent_id = intent.id
            if intent.status != "requires_capture":
                code = "authentication_required" if intent.status == "requires_action" else None
                raise _NotAuthorised(code, intent)
            return intent

        def succeeded(payment: Payment, intent) -> None:
            payment.status = rules.move_payment(payment.status, rules.AUTHORISED)
            payment.authorised_pence = amount_pence
            payment.stripe_charge_id = _id_of(getattr(intent, "latest_charge", None))
            payment.last_error = None
            audit.record(
                actor,
                "payment.authorised",
                "payment",
                payment.id,
                on_behalf_of=payer,
                details={
                    "amount_pence": amount_pence,
                    "reference": reference,
                    "payment_intent": intent.id,
                },
            )

        def refused(payment: Payment, op: PaymentOperation, err: Exception | None) -> None:
            payment.status = rules.move_payment(payment.status, {
                rules.OP_DECLINED: rules.DECLINED,
                rules.OP_UNAVAILABLE: rules.UNAVAILABLE,
            }.get(op.status, rules.FAILED))
            payment.last_error = op.error_message
            intent_id = _payment_intent_from_error(err)
            if intent_id and not payment.stripe_payment_intent_id:
                payment.stripe_payment_intent_id = intent_id
            audit.record(
                actor,
                f"payment.{payment.status}",
                "payment",
                payment.id,
                on_behalf_of=payer,
                details={
                    "amount_pence": amount_pence,
                    "reference": reference,
                    "error_code": op.error_code,
                },
            )

        return self._run(
            PAYMENT_AUTHORISE,
            idempotency_key,
            request,
            prepare=prepare,
            call=call,
            succeeded=succeeded,
            refused=refused,
        )

    def capture(
        self,
        *,
        payment_id: int,
        idempotency_key: str,
        amount_pence: int | None = None,
        actor: User | None = None,
    ) -> GatewayResult:
        """Take `amount_pence` (default: all that was authorised) from an authorised payment; any
        remainder is released to the card. Raises PaymentLimitExceeded, Conflict, NotFound,
        PaymentUnavailable (payment stays `authorised`: retry with the same key), PaymentRefused."""
        payment = _payment(payment_id)
        amount = payment.authorised_pence if amount_pence is None else amount_pence
        request = {"payment_id": payment_id, "amount": amount}

        def prepare() -> Payment:
            _require_status(payment, rules.AUTHORISED, "take money from")
            rules.check_capture(payment.authorised_pence, amount)
            return payment

        def call(key: str, payment: Payment):
            return self.client.v1.payment_intents.capture(
                payment.stripe_payment_intent_id, {"amount_to_capture": amount}, _opts(key)
            )

        def succeeded(payment: Payment, intent) -> None:
            payment.status = rules.move_payment(payment.status, rules.CAPTURED)
            payment.captured_pence = amount
            payment.last_error = None
            audit.record(
                actor,
                "payment.captured",
                "payment",
                payment.id,
                details={
                    "amount_pence": amount,
                    "released_pence": payment.authorised_pence - amount,
                },
            )

        return self._run(
            PAYMENT_CAPTURE,
            idempotency_key,
            request,
            prepare=prepare,
            call=call,
            succeeded=succeeded,
            refused=_note_error,
            amount_pence=amount,
        )

    def cancel(
        self, *, payment_id: int, idempotency_key: str, actor: User | None = None
    ) -> GatewayResult:
        """Release an authorisation: nothing is taken from the card. Raises Conflict, NotFound,
        PaymentUnavailable (payment stays `authorised`), PaymentRefused."""
        payment = _payment(payment_id)

        def prepare() -> Payment:
            _require_status(payment, rules.AUTHORISED, "cancel")
            return payment

        def call(key: str, payment: Payment):
            return self.client.v1.payment_intents.cancel(
                payment.stripe_payment_intent_id, None, _opts(key)
            )

        def succeeded(payment: Payment, intent) -> None:
            payment.status = rules.move_payment(payment.status, rules.CANCELED)
            payment.last_error = None
            audit.record(
                actor,
                "payment.canceled",
                "payment",
                payment.id,
                details={"released_pence": payment.authorised_pence},
            )

        return self._run(
            PAYMENT_CANCEL,
            idempotency_key,
            {"payment_id": payment_id},
            prepare=prepare,
            call=call,
            succeeded=succeeded,
            refused=_note_error,
        )

    def refund(
        self,
        *,
        payment_id: int,
        idempotency_key: str,
        amount_pence: int | None = None,
        reason: str | None = None,
        actor: User | None = None,
    ) -> GatewayResult:
        """Give back `amount_pence` (default: all still refundable) of a captured payment.

        Never more than captured minus refunded minus refunds in flight. Raises
        PaymentLimitExceeded, Conflict, NotFound, PaymentUnavailable (the amount stays reserved
        until the same key is retried), PaymentRefused.
        """
        payment = _payment(payment_id, lock=True)
        in_flight = _in_flight(payment.id, PAYMENT_REFUND, exclude_key=idempotency_key)
        amount = (
            rules.refundable_pence(payment.captured_pence, payment.refunded_pence, in_flight)
            if amount_pence is None
            else amount_pence
        )
        request = {"payment_id": payment_id, "amount": amount, "reason": reason}

        def prepare() -> Payment:
            if payment.status not in (rules.CAPTURED, rules.REFUNDED):
                _require_status(payment, rules.CAPTURED, "refund")
            rules.check_refund(
                amount,
                captured=payment.captured_pence,
                refunded=payment.refunded_pence,
                reserved=in_flight,
            )
            return payment

        def call(key: str, payment: Payment):
            params = {
                "payment_intent": payment.stripe_payment_intent_id,
                "amount": amount,
                "metadata": {
                    "carefair_payment_id": str(payment.id),
                    "reason": (reason or "")[:200],
                },
            }
            return self.client.v1.refunds.create(params, _opts(key))

        def succeeded(payment: Payment, refund) -> None:
            db.session.refresh(payment, with_for_update=True)
            payment.refunded_pence += amount
            if payment.refunded_pence == payment.captured_pence:
                payment.status = rules.move_payment(payment.status, rules.REFUNDED)
            audit.record(
                actor,
                "payment.refunded",
                "payment",
                payment.id,
                details={"amount_pence": amount, "refund": refund.id, "reason": reason},
            )

        return self._run(
            PAYMENT_REFUND,
            idempotency_key,
            request,
            prepare=prepare,
            call=call,
            succeeded=succeeded,
            refused=_note_error,
            amount_pence=amount,
        )

    # ----- Stripe Connect (providers) ------------------------------------------------------

    def create_connected_account(
        self, *, provider: User, idempotency_key: str, actor: User | None = None
    ) -> GatewayResult:
        """An Express connected account for a provider, linked in provider_payment_accounts."""
        existing = db.session.scalar(
            select(ProviderPaymentAccount).where(ProviderPaymentAccount.provider_id == provider.id)
        )
        params = {
            "type": "express",
            "country": "GB",
            "email": provider.email,
            "business_type": "individual",
            "capabilities": {"transfers": {"requested": True}},
            "metadata": {"carefair_user_id": str(provider.id)},
        }

        def prepare() -> None:
            if existing is not None:
                raise Conflict("This provider already has a payment account.")

        def succeeded(_none, account) -> None:
            db.session.add(
                ProviderPaymentAccount(
                    provider_id=provider.id,
                    stripe_account_id=account.id,
                    details_submitted=bool(getattr(account, "details_submitted", False)),
                    payouts_enabled=bool(getattr(account, "payouts_enabled", False)),
                )
            )
            audit.record(
                actor,
                "payment_account.created",
                "user",
                provider.id,
                details={"stripe_account": account.id},
            )

        return self._run(
            ACCOUNT_CREATE,
            idempotency_key,
            {"provider_id": provider.id, **params},
            prepare=prepare,
            call=lambda key, _none: self.connect_client.v1.accounts.create(params, _opts(key)),
            succeeded=succeeded,
        )

    def create_onboarding_link(
        self, *, provider: User, refresh_url: str, return_url: str, idempotency_key: str
    ) -> GatewayResult:
        """A one-time Stripe onboarding URL for the provider (`data["url"]`). Links expire within
        minutes: use a fresh key each time the provider asks for one."""
        account = provider_account(provider)
        params = {
            "account": account.stripe_account_id,
            "refresh_url": refresh_url,
            "return_url": return_url,
            "type": "account_onboarding",
        }
        return self._run(
            ACCOUNT_LINK_CREATE,
            idempotency_key,
            params,
            call=lambda key: self.connect_client.v1.account_links.create(params, _opts(key)),
        )

    def transfer_to_provider(
        self,
        *,
        payment_id: int,
        idempotency_key: str,
        amount_pence: int | None = None,
        actor: User | None = None,
    ) -> GatewayResult:
        """Pay the payment's provider from a captured payment (default: all not yet refunded or
        paid out), into their connected account. Raises PaymentLimitExceeded, Conflict, NotFound,
        PaymentUnavailable (amount stays reserved until retried), PaymentRefused."""
        payment = _payment(payment_id, lock=True)
        if payment.provider_id is None:
            raise Conflict("This payment has no provider to pay.")
        account = provider_account(db.session.get(User, payment.provider_id))
        in_flight = _in_flight(payment.id, TRANSFER_CREATE, exclude_key=idempotency_key)
        available = (
            payment.captured_pence - payment.refunded_pence - payment.transferred_pence - in_flight
        )
        amount = max(available, 0) if amount_pence is None else amount_pence
        request = {
            "payment_id": payment_id,
            "amount": amount,
            "destination": account.stripe_account_id,
        }

        def prepare() -> Payment:
            if payment.status not in (rules.CAPTURED, rules.REFUNDED):
                _require_status(payment, rules.CAPTURED, "pay the provider from")
            rules.check_transfer(
                amount,
                captured=payment.captured_pence,
                refunded=payment.refunded_pence,
                transferred=payment.transferred_pence,
                reserved=in_flight,
            )
            return payment

        def call(key: str, payment: Payment):
            params: dict[str, Any] = {
                "amount": amount,
                "currency": payment.currency,
                "destination": account.stripe_account_id,
                "transfer_group": payment.reference,
                "metadata": {
                    "carefair_payment_id": str(payment.id),
                    "reference": payment.reference,
                },
            }
            if payment.stripe_charge_id:
                # Ties the payout to the card charge, so it waits for those funds to settle.
                params["source_transaction"] = payment.stripe_charge_id
            return self.connect_client.v1.transfers.create(params, _opts(key))

        def succeeded(payment: Payment, transfer) -> None:
            db.session.refresh(payment, with_for_update=True)
            payment.transferred_pence += amount
            audit.record(
                actor,
                "payment.transferred",
                "payment",
                payment.id,
                details={
                    "amount_pence": amount,
                    "transfer": transfer.id,
                    "destination": account.stripe_account_id,
                },
            )

        return self._run(
            TRANSFER_CREATE,
            idempotency_key,
            request,
            prepare=prepare,
            call=call,
            succeeded=succeeded,
            refused=_note_error,
            amount_pence=amount,
        )

    def reverse_transfer(
        self,
        *,
        payment_id: int,
        transfer_id: str,
        amount_pence: int,
        idempotency_key: str,
        actor: User | None = None,
    ) -> GatewayResult:
        """Take `amount_pence` back from the provider out of one of this payment's transfers
        (money refunded to the holder after it had been paid out). Never more than that transfer
        still holds, nor more than the payment has paid out less reversals in flight. Raises
        PaymentLimitExceeded, NotFound, PaymentUnavailable (retry with the same key),
        PaymentRefused."""
        payment = _payment(payment_id, lock=True)
        in_flight = _in_flight(payment.id, TRANSFER_REVERSE, exclude_key=idempotency_key)
        request = {"payment_id": payment_id, "transfer": transfer_id, "amount": amount_pence}

        def prepare() -> Payment:
            left = transfers_of(payment.id).get(transfer_id)
            if left is None:
                raise NotFound("That transfer was not made from this payment.")
            rules.check_reversal(amount_pence, transfer_left=left,
                                 transferred=payment.transferred_pence, reserved=in_flight)
            return payment

        def call(key: str, payment: Payment):
            params = {"amount": amount_pence,
                      "metadata": {"carefair_payment_id": str(payment.id),
                                   "reference": payment.reference}}
            return self.connect_client.v1.transfers.reversals.create(transfer_id, params, _opts(key))

        def succeeded(payment: Payment, reversal) -> None:
            db.session.refresh(payment, with_for_update=True)
            payment.transferred_pence -= amount_pence
            payment.last_error = None
            audit.record(
                actor,
                "payment.transfer_reversed",
                "payment",
                payment.id,
                details={"amount_pence": amount_pence, "transfer": transfer_id,
                         "reversal": reversal.id},
            )

        return self._run(
            TRANSFER_REVERSE,
            idempotency_key,
            request,
            prepare=prepare,
            call=call,
            succeeded=succeeded,
            refused=_note_error,
            amount_pence=amount_pence,
        )

    # ----- the idempotent, recorded call ---------------------------------------------------

    def _run(
        self,
        kind: str,
        key: str,
        request: Mapping[str, Any],
        *,
        call: Callable[..., Any],
        prepare: Callable[[], Payment | None] | None = None,
        succeeded: Callable[[Any, Any], None] | None = None,
        refused: Callable[[Any, PaymentOperation, Exception | None], None] | None = None,
        amount_pence: int | None = None,
    ) -> GatewayResult:
        if not key or len(key) > 255:
            raise InvalidInput("An idempotency key of 1 to 255 characters is required.")
        session = db.session
        if session.new or session.dirty or session.deleted or session.info.get(_UNCOMMITTED):
            raise RuntimeError(
                "Commit or roll back before calling the payment gateway: "
                "it commits its own records."
            )
        fingerprint = rules.request_fingerprint(kind, request)
        op = session.scalar(select(PaymentOperation).where(PaymentOperation.idempotency_key == key))
        if op is not None:
            if op.kind != kind or op.request_fingerprint != fingerprint:
                raise IdempotencyKeyReused(
                    "This idempotency key was already used for a different payment request."
                )
            if op.status in rules.FINAL_OPERATION_STATUSES:
                return _replay(op)
            subject = session.get(Payment, op.payment_id) if op.payment_id else None
        else:
            subject = prepare() if prepare else None
            op = PaymentOperation(
                idempotency_key=key,
                kind=kind,
                request_fingerprint=fingerprint,
                status=rules.OP_PENDING,
                amount_pence=amount_pence,
                payment_id=subject.id if isinstance(subject, Payment) else None,
            )
            session.add(op)
        op.attempts = (op.attempts or 0) + 1
        try:
            session.commit()  # the pending record exists before Stripe is called
        except IntegrityError:
            session.rollback()
            raise Conflict(
                "This payment request is already being processed. Wait a moment and check again."
            ) from None

        try:
            obj = call(key, subject) if prepare else call(key)
        except _NotAuthorised as err:
            return self._refused(op, subject, refused, rules.OP_DECLINED, err.code, err)
        except stripe.CardError as err:
            return self._refused(op, subject, refused, rules.OP_DECLINED, err.code, err)
        except stripe.StripeError as err:
            status = rules.OP_UNAVAILABLE if _is_outage(err) else rules.OP_FAILED
            return self._refused(op, subject, refused, status, err.code, err)

        op.status = rules.OP_SUCCEEDED
        op.stripe_object_id = getattr(obj, "id", None)  # account links have none
        op.result = _summary(obj)
        op.completed_at = utcnow()
        op.error_code = op.error_message = None
        if succeeded:
            succeeded(subject, obj)
        session.commit()
        return _result(op, replayed=False)

    def _refused(
        self,
        op: PaymentOperation,
        subject,
        refused,
        status: str,
        code: str | None,
        err: Exception | None,
    ):
        session = db.session
        op.status = status
        op.error_code = (code or (type(err).__name__ if err else None) or "")[:60] or None
        op.error_message = _plain_message(status, code, err)
        op.completed_at = utcnow() if status in rules.FINAL_OPERATION_STATUSES else None
        if refused and subject is not None:
            refused(subject, op, err)
        session.commit()
        _raise_for(op)


_UNCOMMITTED = "carefair_flushed_uncommitted"


@event.listens_for(Session, "after_flush")
def _note_flushed(session: Session, _context) -> None:
    session.info[_UNCOMMITTED] = True


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _clear_flushed(session: Session, *_args) -> None:
    session.info.pop(_UNCOMMITTED, None)


class _NotAuthorised(Exception):
    """Stripe accepted the request but the card was not authorised (e.g. needs 3-D Secure)."""

    def __init__(self, code: str | None, intent):
        super().__init__(code)
        self.code = code or "card_declined"
        self.intent = intent


def provider_account(provider: User | None) -> ProviderPaymentAccount:
    """The provider's connected account, or NotFound with what to do about it."""
    account = None
    if provider is not None:
        account = db.session.scalar(
            select(ProviderPaymentAccount).where(ProviderPaymentAccount.provider_id == provider.id)
        )
    if account is None:
        raise NotFound("This provider has not set up how they get paid yet.")
    return account


def operation(idempotency_key: str) -> PaymentOperation | None:
    """The recorded operation for a key (for the booking layer to inspect an outcome)."""
    return db.session.scalar(
        select(PaymentOperation).where(PaymentOperation.idempotency_key == idempotency_key)
    )


def _payment(payment_id: int, *, lock: bool = False) -> Payment:
    query = select(Payment).where(Payment.id == payment_id)
    if lock:
        # Serialises refunds and transfers of one payment, so two cannot both pass the cap.
        query = query.with_for_update()
    payment = db.session.scalar(query)
    if payment is None:
        raise NotFound("That payment does not exist.")
    return payment


def _in_flight(payment_id: int, kind: str, *, exclude_key: str) -> int:
    """Pence moved by operations of this kind still pending or unavailable (may have happened)."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(PaymentOperation.amount_pence), 0)).where(
            PaymentOperation.payment_id == payment_id,
            PaymentOperation.kind == kind,
            PaymentOperation.status.in_((rules.OP_PENDING, rules.OP_UNAVAILABLE)),
            PaymentOperation.idempotency_key != exclude_key,
        )
    )
    return int(total or 0)


def refused_attempts(payment_id: int, kind: str) -> int:
    """How many calls of this kind for this payment Stripe refused for good (failed or declined).
    A refused key replays its refusal forever, so a later attempt, once the cause is mended (say
    the provider finished onboarding), needs a key of its own: callers add this count to it.
    Nothing moved on a refused call, so a new key cannot pay twice."""
    return int(db.session.scalar(
        select(func.count()).select_from(PaymentOperation).where(
            PaymentOperation.payment_id == payment_id,
            PaymentOperation.kind == kind,
            PaymentOperation.status.in_((rules.OP_FAILED, rules.OP_DECLINED)),
        )
    ) or 0)


def transfers_of(payment_id: int) -> dict[str, int]:
    """Each transfer made from this payment (Stripe id, newest first) and what it still holds:
    its amount less the reversals of it that succeeded."""
    made = db.session.execute(
        select(PaymentOperation.stripe_object_id, PaymentOperation.amount_pence)
        .where(PaymentOperation.payment_id == payment_id,
               PaymentOperation.kind == TRANSFER_CREATE,
               PaymentOperation.status == rules.OP_SUCCEEDED)
        .order_by(PaymentOperation.id.desc())
    ).all()
    left = {transfer_id: int(amount or 0) for transfer_id, amount in made if transfer_id}
    for op in db.session.scalars(select(PaymentOperation).where(
            PaymentOperation.payment_id == payment_id,
            PaymentOperation.kind == TRANSFER_REVERSE,
            PaymentOperation.status == rules.OP_SUCCEEDED)):
        transfer_id = (op.result or {}).get("transfer")
        if transfer_id in left:
            left[transfer_id] -= int(op.amount_pence or 0)
    return left


def _require_status(payment: Payment, status: str, verb: str) -> None:
    if payment.status != status:
        raise Conflict(f"Cannot {verb} this payment: it is {payment.status}, not {status}.")


def _note_error(payment: Payment, op: PaymentOperation, err) -> None:
    payment.last_error = op.error_message


def _opts(key: str) -> dict[str, Any]:
    return {"idempotency_key": key}


def _is_outage(err: stripe.StripeError) -> bool:
    """Network failures, rate limits and Stripe's own 5xx: worth retrying with the same key."""
    if isinstance(err, stripe.APIConnectionError | stripe.RateLimitError):
        return True
    status = getattr(err, "http_status", None)
    return isinstance(err, stripe.APIError) and (status is None or status >= 500)


def _plain_message(status: str, code: str | None, err: Exception | None) -> str:
    if status == rules.OP_DECLINED:
        return rules.decline_message(code)
    if status == rules.OP_UNAVAILABLE:
        return rules.UNAVAILABLE_MESSAGE
    return (
        "The card payment service refused this request, so nothing changed. "
        "If it keeps happening, contact the Carefair team."
    )


def _raise_for(op: PaymentOperation):
    message = op.error_message or rules.DEFAULT_DECLINE_MESSAGE
    if op.status == rules.OP_DECLINED:
        raise PaymentDeclined(message, field="payment_method")
    if op.status == rules.OP_UNAVAILABLE:
        raise PaymentUnavailable(message)
    raise PaymentRefused(message)


def _replay(op: PaymentOperation) -> GatewayResult:
    if op.status != rules.OP_SUCCEEDED:
        _raise_for(op)
    return _result(op, replayed=True)


def _result(op: PaymentOperation, *, replayed: bool) -> GatewayResult:
    return GatewayResult(
        operation_id=op.id,
        kind=op.kind,
        stripe_id=op.stripe_object_id,
        replayed=replayed,
        payment_id=op.payment_id,
        data=dict(op.result or {}),
    )


def _id_of(value) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return getattr(value, "id", None)


def _summary(obj) -> dict[str, Any]:
    data = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    summary = {k: data[k] for k in _RESULT_FIELDS if k in data}
    for k in ("latest_charge", "customer", "payment_method", "payment_intent", "destination",
              "transfer"):
        if isinstance(summary.get(k), dict):
            summary[k] = summary[k].get("id")
    return summary


def _payment_intent_from_error(err: Exception | None) -> str | None:
    if isinstance(err, _NotAuthorised):
        return _id_of(err.intent)
    body = getattr(err, "json_body", None) or {}
    intent = (body.get("error") or {}).get("payment_intent") if isinstance(body, dict) else None
    return _id_of(intent.get("id") if isinstance(intent, dict) else intent)
