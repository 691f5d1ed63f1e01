"""Card payments for bookings: a budget's card on file, each session's authorisation, recorded card steps."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UTCDateTime, utcnow
from app.models.payments import Payment


class BudgetCard(Base):
    """The card a direct_payment budget pays with: a Stripe customer and its default card.

    One per budget; a holder's later budgets reuse the same Stripe customer.
    """

    __tablename__ = "budget_cards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    budget_id: Mapped[int] = mapped_column(ForeignKey("budgets.id"), unique=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    stripe_customer_id: Mapped[str] = mapped_column(String(64))
    # None until a card is saved (the customer exists as soon as the holder starts adding one).
    stripe_payment_method_id: Mapped[str | None] = mapped_column(String(64))
    brand: Mapped[str | None] = mapped_column(String(20))
    last4: Mapped[str | None] = mapped_column(String(4))
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SessionCardPayment(Base):
    """One card authorisation (a Payment) for one booking session, in one funding round.

    The idempotency key is stored so an attempt whose outcome is unknown (Stripe unreachable) is
    retried with the same key rather than a new one: a retry never authorises twice.
    """

    __tablename__ = "session_card_payments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("booking_sessions.id"), index=True)
    hold_round: Mapped[int] = mapped_column(Integer)
    authorise_key: Mapped[str] = mapped_column(String(255), unique=True)
    # Set once the gateway has recorded the Payment (before Stripe is called).
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), unique=True)
    # A holder's share of a pooled (group) session: their own card pays it, so the session has
    # one payment per participant paying by card. None for a one-to-one session's payment.
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("pool_participants.id"),
                                                       index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    payment: Mapped[Payment | None] = relationship()


CARD_STEP_KINDS = ("authorise", "capture", "cancel", "refund", "transfer", "reverse")
CARD_STEP_STATUSES = ("planned", "done", "failed")


class CardStep(Base):
    """A card operation a booking use case decided on, recorded in the same commit as the state
    change it belongs to, and run against Stripe only after that commit (by the worker step
    right after the use case, or by `carefair payments reconcile`). Its idempotency key is
    fixed when it is recorded, so running it twice never moves money twice."""

    __tablename__ = "card_steps"
    __table_args__ = (
        CheckConstraint(
            "kind IN (" + ", ".join(f"'{k}'" for k in CARD_STEP_KINDS) + ")", name="kind_known"
        ),
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in CARD_STEP_STATUSES) + ")",
            name="status_known",
        ),
        CheckConstraint("amount_pence >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("booking_sessions.id"), index=True)
    # A step for one participant's share of a pooled session (their card, their payment).
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("pool_participants.id"),
                                                       index=True)
    kind: Mapped[str] = mapped_column(String(20))
    amount_pence: Mapped[int] = mapped_column(Integer, default=0)
    hold_round: Mapped[int] = mapped_column(Integer, default=0)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="planned", index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(String(300))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
