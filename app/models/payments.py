"""Card payment records: Stripe operations by key, payments, connected accounts, webhook events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.domain.payments import OPERATION_STATUSES, PAYMENT_STATUSES, PaymentStatus
from app.models.base import Base, StrEnumType, UTCDateTime, utcnow

_PAYMENT_STATUS_VALUES = ", ".join(f"'{s}'" for s in PAYMENT_STATUSES)
_OPERATION_STATUS_VALUES = ", ".join(f"'{s}'" for s in OPERATION_STATUSES)


class Payment(Base):
    """One card payment (one Stripe PaymentIntent with manual capture), amounts in pence."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint(f"status IN ({_PAYMENT_STATUS_VALUES})", name="status_known"),
        CheckConstraint("amount_pence > 0", name="amount_positive"),
        CheckConstraint(
            "authorised_pence >= 0 AND authorised_pence <= amount_pence",
            name="authorised_within_amount",
        ),
        CheckConstraint(
            "captured_pence >= 0 AND captured_pence <= authorised_pence",
            name="captured_within_authorised",
        ),
        # Stripe itself does not stop this on localstripe: Carefair refuses it twice.
        CheckConstraint(
            "refunded_pence >= 0 AND refunded_pence <= captured_pence",
            name="refunded_within_captured",
        ),
        CheckConstraint(
            "transferred_pence >= 0 AND transferred_pence <= captured_pence",
            name="transferred_within_captured",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The caller's reference, e.g. "booking:42"; shown in Stripe metadata and remittances.
    reference: Mapped[str] = mapped_column(String(80), index=True)
    payer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3), default="gbp")
    amount_pence: Mapped[int] = mapped_column(Integer)
    authorised_pence: Mapped[int] = mapped_column(Integer, default=0)
    captured_pence: Mapped[int] = mapped_column(Integer, default=0)
    refunded_pence: Mapped[int] = mapped_column(Integer, default=0)
    transferred_pence: Mapped[int] = mapped_column(Integer, default=0)
    # Changed only through app.domain.payments.move_payment (tests/unit/test_state_changes.py).
    status: Mapped[PaymentStatus] = mapped_column(StrEnumType(PaymentStatus),
                                                  default=PaymentStatus.PENDING, index=True)
    stripe_customer_id: Mapped[str] = mapped_column(String(64))
    stripe_payment_method_id: Mapped[str] = mapped_column(String(64))
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    stripe_charge_id: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PaymentOperation(Base):
    """One call to Stripe, keyed by its idempotency key: what was asked (fingerprint) and what
    came back. A replay returns the stored result; localstripe ignores keys, so this is the
    guarantee (and on real Stripe, a second line of defence)."""

    __tablename__ = "payment_operations"
    __table_args__ = (
        CheckConstraint(f"status IN ({_OPERATION_STATUS_VALUES})", name="status_known"),
        CheckConstraint("amount_pence IS NULL OR amount_pence > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    # For refunds and transfers: the amount this operation moves (reserved while pending).
    amount_pence: Mapped[int | None] = mapped_column(Integer)
    stripe_object_id: Mapped[str | None] = mapped_column(String(64))
    result: Mapped[dict | None] = mapped_column(JSON)
    error_code: Mapped[str | None] = mapped_column(String(60))
    error_message: Mapped[str | None] = mapped_column(String(300))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ProviderPaymentAccount(Base):
    """A provider's Stripe Connect (Express) account, to which payouts are transferred."""

    __tablename__ = "provider_payment_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    stripe_account_id: Mapped[str] = mapped_column(String(64), unique=True)
    details_submitted: Mapped[bool] = mapped_column(default=False)
    payouts_enabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProcessedWebhookEvent(Base):
    """A Stripe event already handled: the unique event id makes handling happen once."""

    __tablename__ = "processed_webhook_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stripe_event_id: Mapped[str] = mapped_column(String(255), unique=True)
    event_type: Mapped[str] = mapped_column(String(100), index=True)
    object_id: Mapped[str | None] = mapped_column(String(64), index=True)
    handled_by: Mapped[int] = mapped_column(Integer, default=0)  # how many handlers ran
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
