"""Bookings: the agreement with a provider, its sessions, back-up providers, pooled participants and pauses.

No double-booking: on PostgreSQL an exclusion constraint (btree_gist over the provider and a
tstzrange of each session, created by hand in migration 0007_bookings) refuses overlapping
sessions that still block the provider's time; the service also locks the provider profile
row and re-checks, which is what protects SQLite.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.bookings import BookingState
from app.domain.pooling import ShareState
from app.models.base import Base, StrEnumType, UTCDateTime, utcnow
from app.models.budget import Budget
from app.models.listing import Listing
from app.models.provider import ProviderProfile
from app.models.user import User

STATE_VALUES = ", ".join(f"'{s.value}'" for s in BookingState)
KINDS = ("one_off", "recurring", "meet_and_greet", "pooled")
KIND_VALUES = ", ".join(f"'{k}'" for k in KINDS)
# Sessions in these states no longer reserve the provider's time.
NON_BLOCKING_STATES = ("cancelled", "declined", "not_approved", "expired")
NON_BLOCKING_SQL = ", ".join(f"'{s}'" for s in NON_BLOCKING_STATES)


class Booking(Base):
    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint(f"state IN ({STATE_VALUES})", name="state_known"),
        CheckConstraint(f"kind IN ({KIND_VALUES})", name="kind_known"),
        CheckConstraint("total_pence >= 0", name="total_not_negative"),
        # A free meet-and-greet is the only booking that costs nothing and needs no budget.
        CheckConstraint(
            "kind = 'meet_and_greet' OR budget_id IS NOT NULL", name="budget_unless_free"
        ),
        CheckConstraint(
            "min_participants IS NULL OR (min_participants >= 1 AND "
            "max_participants >= min_participants)",
            name="pool_sizes",
        ),
        CheckConstraint("cancellation_notice_hours >= 0", name="cancellation_notice_not_negative"),
        CheckConstraint("cancellation_charge_pence >= 0", name="cancellation_charge_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    provider_profile_id: Mapped[int] = mapped_column(ForeignKey("provider_profiles.id"), index=True)
    budget_id: Mapped[int | None] = mapped_column(ForeignKey("budgets.id"), index=True)
    plan_category: Mapped[str | None] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))
    # Changed only through app.domain.bookings.move (tests/unit/test_state_changes.py checks).
    state: Mapped[BookingState] = mapped_column(StrEnumType(BookingState), index=True)
    total_pence: Mapped[int] = mapped_column(Integer)
    funding_mode: Mapped[str | None] = mapped_column(String(30))
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Why a broker must approve it (plain English, shown to the holder) and who decided.
    approval_reasons: Mapped[list] = mapped_column(JSON, default=list)
    # The code of each reason above, in the same order (app.domain.approval.ApprovalCode):
    # what decisions read, so none depends on the wording of a sentence.
    approval_codes: Mapped[list] = mapped_column(JSON, default=list)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approval_note: Mapped[str | None] = mapped_column(String(500))
    from_contingency: Mapped[bool] = mapped_column(Boolean, default=False)
    # Bumped each time money is held afresh (retry after a failed hold, resume after a pause),
    # so each round's ledger idempotency keys are new while retries within a round replay.
    hold_round: Mapped[int] = mapped_column(Integer, default=0)
    # A broker arranging for a holder records the other options put to them (listing ids + a note).
    arranged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    options_offered: Mapped[list] = mapped_column(JSON, default=list)
    options_note: Mapped[str | None] = mapped_column(String(1000))
    # Pooled bookings: the group's size and when joining closes.
    min_participants: Mapped[int | None] = mapped_column(Integer)
    max_participants: Mapped[int | None] = mapped_column(Integer)
    join_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pool_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # While paused: the state it was paused from (requested, awaiting_approval, accepted...), so
    # resuming a request sends it back to the provider rather than skipping their acceptance.
    paused_from: Mapped[str | None] = mapped_column(String(20))
    # The cancellation terms that apply to this booking: the listing's when it was requested,
    # or the terms of the service agreement the holder's side accepted for it, set then
    # (app.services.booked_policy). Kept here so that a later change to the listing, or an
    # agreement offer nobody accepted, never changes what a late cancellation is charged.
    cancellation_notice_hours: Mapped[int] = mapped_column(Integer)
    cancellation_charge_pence: Mapped[int] = mapped_column(Integer)  # 0: no charge
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    # Timed exits (app.domain.waits): when the current wait began (the request, or a broker's
    # approval), and each step the scheduled job took, recorded so it happens once.
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    provider_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    brokers_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Similar live listings offered to the holder's side when the request expired.
    alternatives_offered: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    holder: Mapped[User] = relationship(foreign_keys=[holder_id])
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    arranged_by: Mapped[User | None] = relationship(foreign_keys=[arranged_by_id])
    listing: Mapped[Listing] = relationship()
    provider_profile: Mapped[ProviderProfile] = relationship()
    budget: Mapped[Budget | None] = relationship()
    sessions: Mapped[list[BookingSession]] = relationship(
        back_populates="booking", order_by="BookingSession.start_at", cascade="all"
    )
    backups: Mapped[list[BookingBackup]] = relationship(
        back_populates="booking", order_by="BookingBackup.rank", cascade="all"
    )
    participants: Mapped[list[PoolParticipant]] = relationship(
        back_populates="booking", order_by="PoolParticipant.id", cascade="all"
    )

    @property
    def state_enum(self) -> BookingState:
        return BookingState(self.state)  # a new row not yet flushed may still hold a string

    @property
    def reference(self) -> str:
        return f"B-{self.id}"


class BookingSession(Base):
    """One visit. Money is held per session, so each can be confirmed, disputed or cancelled alone."""

    __tablename__ = "booking_sessions"
    __table_args__ = (
        CheckConstraint(f"state IN ({STATE_VALUES})", name="state_known"),
        CheckConstraint("end_at > start_at", name="ends_after_start"),
        CheckConstraint("price_pence >= 0", name="price_not_negative"),
        CheckConstraint(
            "actual_end_at IS NULL OR actual_end_at > actual_start_at",
            name="actual_ends_after_start",
        ),
        CheckConstraint(
            "refund_pence IS NULL OR (refund_pence >= 0 AND refund_pence <= price_pence)",
            name="refund_within_price",
        ),
        Index("ix_booking_sessions_provider_start", "provider_profile_id", "start_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    # Copied from the booking so the database can refuse a provider's overlapping sessions.
    provider_profile_id: Mapped[int] = mapped_column(ForeignKey("provider_profiles.id"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[BookingState] = mapped_column(StrEnumType(BookingState), index=True)
    price_pence: Mapped[int] = mapped_column(Integer)
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    capture_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    # What the provider records after the visit.
    actual_start_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    actual_end_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivery_notes: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    auto_confirm_notice_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cosigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dispute_reason: Mapped[str | None] = mapped_column(String(1000))
    dispute_outcome: Mapped[str | None] = mapped_column(String(20))
    dispute_note: Mapped[str | None] = mapped_column(String(1000))
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    refund_pence: Mapped[int | None] = mapped_column(Integer)
    charge_pence: Mapped[int | None] = mapped_column(
        Integer
    )  # what was finally paid to the provider
    outcome_note: Mapped[str | None] = mapped_column(String(500))
    no_show_by: Mapped[str | None] = mapped_column(String(20))  # which side did not turn up
    settled_on: Mapped[date | None] = mapped_column(Date)
    # Reminders sent once each (app.services.bookings.reminders).
    visit_reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    record_reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The funding horizon (issue 18): when the holder's side and brokers were told that this
    # session of a weekly series could not be funded yet (once).
    funding_short_told_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    booking: Mapped[Booking] = relationship(back_populates="sessions")

    @property
    def state_enum(self) -> BookingState:
        return BookingState(self.state)

    @property
    def blocks_provider(self) -> bool:
        return self.state not in NON_BLOCKING_STATES


class BookingBackup(Base):
    """A named back-up provider for a recurring booking, offered first if the provider cancels."""

    __tablename__ = "booking_backups"
    __table_args__ = (UniqueConstraint("booking_id", "listing_id", name="uq_booking_backups_pair"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"))
    rank: Mapped[int] = mapped_column(Integer, default=1)

    booking: Mapped[Booking] = relationship(back_populates="backups")
    listing: Mapped[Listing] = relationship()


class PoolParticipant(Base):
    """A holder in a pooled session: their share is held from their own budget."""

    __tablename__ = "pool_participants"
    __table_args__ = (
        UniqueConstraint("booking_id", "holder_id", name="uq_pool_participants_pair"),
        CheckConstraint("held_pence >= 0", name="held_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    budget_id: Mapped[int] = mapped_column(ForeignKey("budgets.id"))
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    capture_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    held_pence: Mapped[int] = mapped_column(Integer)
    share_pence: Mapped[int | None] = mapped_column(Integer)  # set when the pool is decided
    # Changed only through app.domain.pooling.move_share.
    state: Mapped[ShareState] = mapped_column(StrEnumType(ShareState), default=ShareState.JOINED)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    booking: Mapped[Booking] = relationship(back_populates="participants")
    holder: Mapped[User] = relationship()


class HolderPause(Base):
    """A holder's pause (crisis, hospital): every booking paused until resumed."""

    __tablename__ = "holder_pauses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    reason: Mapped[str] = mapped_column(String(500))
    until: Mapped[date | None] = mapped_column(Date)
    booking_ids: Mapped[list] = mapped_column(JSON, default=list)
    paused_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    paused_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resumed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
