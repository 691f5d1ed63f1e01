"""Card payments for bookings: a budget's card on file and each session's card authorisation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    payment: Mapped[Payment | None] = relationship()
