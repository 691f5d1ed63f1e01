"""Notifications: the in-app inbox item, each person's email preferences, and the email outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.notifications import Category, Delivery
from app.models.base import Base, UTCDateTime, utcnow
from app.models.user import User

CATEGORY_VALUES = ", ".join(f"'{c.value}'" for c in Category)
DELIVERY_VALUES = ", ".join(f"'{d.value}'" for d in Delivery)

# Notification.email: what happens to the email copy of an inbox item.
EMAIL_NONE = "none"  # the person switched this category off
EMAIL_QUEUED = "queued"  # an OutboundEmail was written for it
EMAIL_DIGEST_PENDING = "digest_pending"  # waits for the next daily summary
EMAIL_DIGESTED = "digested"  # went out in a daily summary

# OutboundEmail.status
OUTBOX_QUEUED = "queued"
OUTBOX_SENT = "sent"
OUTBOX_FAILED = "failed"  # gave up after MAX_ATTEMPTS; a council admin can try again


class Notification(Base):
    """One item in one person's inbox. `about_holder` says which budget holder it concerns."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_created", "user_id", "created_at"),
        Index("ix_notifications_user_unread", "user_id", "read_at"),
        CheckConstraint(f"category IN ({CATEGORY_VALUES})", name="category_known"),
        CheckConstraint(
            "email IN ('none', 'queued', 'digest_pending', 'digested')", name="email_known"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    about_holder_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    event: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # A path inside Carefair ("/my/bookings/3"), never an outside address.
    link: Mapped[str] = mapped_column(String(500))
    action: Mapped[str] = mapped_column(String(80))
    email: Mapped[str] = mapped_column(String(20), default=EMAIL_NONE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    about_holder: Mapped[User | None] = relationship(foreign_keys=[about_holder_id])

    @property
    def unread(self) -> bool:
        return self.read_at is None


class NotificationPreference(Base):
    """How one person wants email for one category. No row means the default (straight away)."""

    __tablename__ = "notification_preferences"
    __table_args__ = (
        UniqueConstraint("user_id", "category", name="uq_notification_preferences_user_category"),
        CheckConstraint(f"category IN ({CATEGORY_VALUES})", name="category_known"),
        CheckConstraint(f"delivery IN ({DELIVERY_VALUES})", name="delivery_known"),
        # Safeguarding and security email cannot be switched off, in the database too.
        CheckConstraint(
            "delivery != 'off' OR category NOT IN ('safeguarding', 'security')",
            name="always_emailed",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    category: Mapped[str] = mapped_column(String(20))
    delivery: Mapped[str] = mapped_column(String(20))


class OutboundEmail(Base):
    """An email waiting to be sent, sent, or given up on: written in the transaction of the
    action that caused it, delivered after commit, retried with backoff when the server is down."""

    __tablename__ = "outbound_emails"
    __table_args__ = (
        Index("ix_outbound_emails_due", "status", "next_attempt_at"),
        CheckConstraint("status IN ('queued', 'sent', 'failed')", name="status_known"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    to_email: Mapped[str] = mapped_column(String(254))
    event: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(200))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=OUTBOX_QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
