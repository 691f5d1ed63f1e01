"""Reviews of settled support, the provider's one public reply, moderators' hiding, and reports.

Nobody edits or deletes a review. The review, its reply and the moderators' hidings of either
are append-only tables (flush guard below via APPEND_ONLY_MODELS, and database triggers in
migrations 0009_ratings and 0014_reply_hidings), so "changing" a review can only ever mean
adding a row beside it: a reply, or a moderator's decision to hide the review or the reply with
a recorded reason. Reports are the one mutable table: a broker closes them.
"""

from __future__ import annotations

import calendar
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.ratings import MAX_COMMENT_CHARS, Criterion
from app.models.audit import APPEND_ONLY_MODELS
from app.models.base import Base, UTCDateTime, utcnow
from app.models.booking import Booking
from app.models.listing import Listing
from app.models.provider import ProviderProfile
from app.models.user import User

MAX_REPLY_CHARS = 1000
MAX_NOTE_CHARS = 1000
HIDE_REASONS = ("abusive", "personal_data")
HIDE_REASON_VALUES = ", ".join(f"'{r}'" for r in HIDE_REASONS)
# "hidden": the review was hidden; "reply_hidden": only the provider's reply was; "kept": both stay.
REPORT_OUTCOMES = ("hidden", "reply_hidden", "kept")
REPORT_OUTCOME_VALUES = ", ".join(f"'{r}'" for r in REPORT_OUTCOMES)


def _score_check(column: str) -> CheckConstraint:
    return CheckConstraint(f"{column} BETWEEN 1 AND 5", name=f"{column}_in_range")


class Review(Base):
    """One review of one settled one-off booking, or of one month of recurring support."""

    __tablename__ = "reviews"
    __table_args__ = (
        # What app.domain.ratings.review_period returns: "booking:12" or "booking:12:2026-03".
        UniqueConstraint("booking_id", "period", name="uq_reviews_booking_period"),
        *(_score_check(c.value) for c in Criterion),
        CheckConstraint(
            f"comment IS NULL OR length(comment) <= {MAX_COMMENT_CHARS}", name="comment_length"
        ),
        Index("ix_reviews_provider_created", "provider_profile_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    period: Mapped[str] = mapped_column(String(40))
    month: Mapped[str | None] = mapped_column(String(7))  # "2026-03" for recurring support
    # Copied from the booking so aggregates need no join through bookings.
    provider_profile_id: Mapped[int] = mapped_column(ForeignKey("provider_profiles.id"))
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # Who wrote it: the holder, or a delegate on their behalf (then by_delegate is true).
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    by_delegate: Mapped[bool] = mapped_column(Boolean, default=False)
    easy_read: Mapped[bool] = mapped_column(Boolean, default=False)  # which form was used
    reliable: Mapped[int] = mapped_column(Integer)
    respect_dignity: Mapped[int] = mapped_column(Integer)
    listened: Mapped[int] = mapped_column(Integer)
    value: Mapped[int] = mapped_column(Integer)
    overall: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    booking: Mapped[Booking] = relationship()
    provider_profile: Mapped[ProviderProfile] = relationship()
    listing: Mapped[Listing] = relationship()
    holder: Mapped[User] = relationship(foreign_keys=[holder_id])
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    # Add replies and hidings by review_id, never `review.reply = ...`: setting the relationship
    # would mark the review itself as changed, and the append-only guard refuses that.
    reply: Mapped[ReviewReply | None] = relationship(back_populates="review", uselist=False)
    hidden: Mapped[ReviewHiding | None] = relationship(back_populates="review", uselist=False)

    def score(self, criterion: Criterion) -> int:
        return int(getattr(self, criterion.value))

    @property
    def month_label(self) -> str | None:
        """ "March 2026" for a month of recurring support."""
        if self.month is None:
            return None
        year, month = self.month.split("-")
        return f"{calendar.month_name[int(month)]} {year}"


class ReviewReply(Base):
    """The provider's one public reply (unique per review)."""

    __tablename__ = "review_replies"
    __table_args__ = (
        CheckConstraint(f"length(text) BETWEEN 1 AND {MAX_REPLY_CHARS}", name="text_length"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"), unique=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    review: Mapped[Review] = relationship(back_populates="reply")
    author: Mapped[User] = relationship()
    # Add a hiding by reply_id, never `reply.hidden = ...` (the append-only guard, as above).
    hidden: Mapped[ReplyHiding | None] = relationship(back_populates="reply", uselist=False)


class ReviewHiding(Base):
    """A broker's decision to hide a review, with the reason; then it shows as hidden."""

    __tablename__ = "review_hidings"
    __table_args__ = (
        CheckConstraint(f"reason IN ({HIDE_REASON_VALUES})", name="reason_known"),
        CheckConstraint(f"length(note) BETWEEN 1 AND {MAX_NOTE_CHARS}", name="note_length"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"), unique=True)
    broker_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    review: Mapped[Review] = relationship(back_populates="hidden")
    broker: Mapped[User] = relationship()


class ReplyHiding(Base):
    """A broker's decision to hide a provider's reply, with the reason; the review stays.

    The provider sees the reason; a hidden reply still counts as the review's one reply.
    """

    __tablename__ = "reply_hidings"
    __table_args__ = (
        CheckConstraint(f"reason IN ({HIDE_REASON_VALUES})", name="reason_known"),
        CheckConstraint(f"length(note) BETWEEN 1 AND {MAX_NOTE_CHARS}", name="note_length"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reply_id: Mapped[int] = mapped_column(ForeignKey("review_replies.id"), unique=True)
    broker_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    reply: Mapped[ReviewReply] = relationship(back_populates="hidden")
    broker: Mapped[User] = relationship()


class ReviewReport(Base):
    """Someone signed in thinks a review should not be shown; a broker closes it."""

    __tablename__ = "review_reports"
    __table_args__ = (
        CheckConstraint(
            f"outcome IS NULL OR outcome IN ({REPORT_OUTCOME_VALUES})", name="outcome_known"
        ),
        Index("ix_review_reports_open", "closed_at", "created_at"),
        # One open report per person and review, also when the same report is sent twice at once.
        Index("uq_review_reports_open_reporter", "review_id", "reporter_id", unique=True,
              postgresql_where=sql_text("closed_at IS NULL"),
              sqlite_where=sql_text("closed_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"), index=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(MAX_NOTE_CHARS))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    outcome: Mapped[str | None] = mapped_column(String(20))
    outcome_note: Mapped[str | None] = mapped_column(String(MAX_NOTE_CHARS))

    review: Mapped[Review] = relationship()
    reporter: Mapped[User] = relationship(foreign_keys=[reporter_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])


APPEND_ONLY_MODELS.update({Review, ReviewReply, ReviewHiding, ReplyHiding})
