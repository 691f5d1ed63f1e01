"""Shortlists of providers a holder is considering, and job posts that providers reply to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UTCDateTime, utcnow
from app.models.listing import Listing
from app.models.provider import ProviderProfile
from app.models.user import User

JOB_STATUSES = ("open", "filled", "closed")
REPLY_STATUSES = ("interested", "withdrawn")


class ShortlistEntry(Base):
    """A provider (and, where chosen, one of their listings) that a holder's side is considering.

    The note is private to the holder's side: providers never see that they were shortlisted.
    """

    __tablename__ = "shortlist_entries"
    __table_args__ = (
        UniqueConstraint("holder_id", "profile_id", "listing_key", name="one_entry_per_item"),
        CheckConstraint("length(note) <= 500", name="note_length"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("provider_profiles.id", ondelete="CASCADE"))
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listings.id", ondelete="CASCADE"))
    # listing_id or 0: NULLs are never equal in a unique constraint, so the provider-only entry
    # needs a value the constraint can compare.
    listing_key: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str] = mapped_column(Text, default="")
    added_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    profile: Mapped[ProviderProfile] = relationship()
    listing: Mapped[Listing | None] = relationship()


class JobPost(Base):
    """Support a holder needs, described so that matching providers can reply.

    Providers see the district, the kind of help, the times and the rate, never the holder's
    name: the holder's side chooses whom to talk to.
    """

    __tablename__ = "job_posts"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'filled', 'closed')", name="status_known"),
        CheckConstraint("max_rate_pence > 0", name="rate_positive"),
        CheckConstraint("hours_per_week > 0 AND hours_per_week <= 168", name="hours_sensible"),
        Index("ix_job_posts_status_category_district", "status", "category", "district"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    posted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    category: Mapped[str] = mapped_column(String(30))
    district: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(120))
    details: Mapped[str] = mapped_column(Text, default="")
    # When the support is needed, in the holder's words ("Tuesday and Thursday mornings").
    when: Mapped[str] = mapped_column(String(200))
    hours_per_week: Mapped[int] = mapped_column(Integer)
    skills: Mapped[list] = mapped_column(JSON, default=list)  # specialism codes
    languages: Mapped[list] = mapped_column(JSON, default=list)
    # Only for personal care, where many people reasonably prefer a worker of their own gender.
    preferred_gender: Mapped[str | None] = mapped_column(String(40))
    max_rate_pence: Mapped[int] = mapped_column(Integer)  # per hour, what the budget allows
    status: Mapped[str] = mapped_column(String(10), default="open")
    filled_by_profile_id: Mapped[int | None] = mapped_column(ForeignKey("provider_profiles.id"))
    rounds_sent: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_round_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    holder: Mapped[User] = relationship(foreign_keys=[holder_id])
    posted_by: Mapped[User] = relationship(foreign_keys=[posted_by_id])
    replies: Mapped[list[JobReply]] = relationship(back_populates="job", order_by="JobReply.id")


class JobNotice(Base):
    """A provider was told about a job, in a given round: who hears first is decided fairly."""

    __tablename__ = "job_notices"
    __table_args__ = (
        UniqueConstraint("job_id", "profile_id", name="once_per_provider"),
        # "When was this provider last told about any job?" is asked for every candidate.
        Index("ix_job_notices_profile_sent", "profile_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("job_posts.id", ondelete="CASCADE"))
    profile_id: Mapped[int] = mapped_column(ForeignKey("provider_profiles.id", ondelete="CASCADE"))
    round: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class JobReply(Base):
    """A provider's interest in a job, with a message to the holder's side."""

    __tablename__ = "job_replies"
    __table_args__ = (
        UniqueConstraint("job_id", "profile_id", name="one_reply_per_provider"),
        CheckConstraint("status IN ('interested', 'withdrawn')", name="status_known"),
        CheckConstraint("length(message) BETWEEN 1 AND 2000", name="message_length"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("job_posts.id", ondelete="CASCADE"), index=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("provider_profiles.id", ondelete="CASCADE"))
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listings.id"))
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="interested")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    job: Mapped[JobPost] = relationship(back_populates="replies")
    profile: Mapped[ProviderProfile] = relationship()
    listing: Mapped[Listing | None] = relationship()


AGREEMENT_STATUSES = ("offered", "accepted", "changes_requested", "ended", "lapsed")
VERSION_STATUSES = ("offered", "accepted", "changes_requested", "superseded", "lapsed")


class ServiceAgreement(Base):
    """A written agreement between a holder and a provider for regular support; its terms live in
    versions (each kept), and the bookings it covers are linked to it."""

    __tablename__ = "service_agreements"
    __table_args__ = (
        CheckConstraint("status IN ('offered', 'accepted', 'changes_requested', 'ended', 'lapsed')",
                        name="status_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("provider_profiles.id"), index=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"))
    status: Mapped[str] = mapped_column(String(20), default="offered")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    holder: Mapped[User] = relationship(foreign_keys=[holder_id])
    profile: Mapped[ProviderProfile] = relationship()
    listing: Mapped[Listing] = relationship()
    versions: Mapped[list[ServiceAgreementVersion]] = relationship(
        back_populates="agreement", order_by="ServiceAgreementVersion.version")


class ServiceAgreementVersion(Base):
    """One version of an agreement's terms, never changed once offered except for its status."""

    __tablename__ = "service_agreement_versions"
    __table_args__ = (
        UniqueConstraint("agreement_id", "version", name="one_number_each"),
        CheckConstraint("status IN ('offered', 'accepted', 'changes_requested', 'superseded', 'lapsed')",
                        name="status_known"),
        CheckConstraint("rate_pence > 0", name="rate_positive"),
        CheckConstraint("rate_unit IN ('hour', 'session', 'day')", name="rate_unit_known"),
        CheckConstraint("exit_fee_pence = 0", name="no_exit_fee"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("service_agreements.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    services: Mapped[str] = mapped_column(Text)
    schedule: Mapped[str] = mapped_column(Text)
    rate_pence: Mapped[int] = mapped_column(Integer)
    rate_unit: Mapped[str] = mapped_column(String(10))
    bank_holiday_rate_pence: Mapped[int | None] = mapped_column(Integer)
    minimum_minutes: Mapped[int] = mapped_column(Integer, default=0)
    cancellation_notice_hours: Mapped[int] = mapped_column(Integer)
    cancellation_charge_pence: Mapped[int] = mapped_column(Integer, default=0)
    notice_days: Mapped[int] = mapped_column(Integer)
    complaints: Mapped[str] = mapped_column(Text)
    exit_fee_pence: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="offered")
    offered_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When its rate may apply to the holder without their acceptance (a rise after notice).
    effective_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    change_request: Mapped[str] = mapped_column(Text, default="")

    agreement: Mapped[ServiceAgreement] = relationship(back_populates="versions")


class AgreementBooking(Base):
    """A booking covered by an agreement (a link table, so the bookings table stays as it is)."""

    __tablename__ = "agreement_bookings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("service_agreements.id", ondelete="CASCADE"),
                                              index=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), unique=True)


COVER_STATUSES = ("open", "covered", "lapsed", "withdrawn")
COVER_ANSWERS = ("asked", "can_cover", "cannot", "taken", "not_needed")


class CoverRequest(Base):
    """A session a provider cancelled at short notice, for which cover is being sought.

    One per cancelled session (unique): the holder's side accepts one provider's offer, and the
    booking made for it is recorded here.
    """

    __tablename__ = "cover_requests"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'covered', 'lapsed', 'withdrawn')", name="status_known"),
        CheckConstraint("wave IN ('backups', 'matching')", name="wave_known"),
        Index("ix_cover_requests_status_next_wave", "status", "next_wave_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)  # the cancelled one
    session_id: Mapped[int] = mapped_column(ForeignKey("booking_sessions.id"), unique=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"))  # what was cancelled
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10), default="open")
    wave: Mapped[str] = mapped_column(String(10), default="backups")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When other matching providers are asked (None once they have been, or when closed).
    next_wave_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    covered_booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"))
    covered_by_profile_id: Mapped[int | None] = mapped_column(ForeignKey("provider_profiles.id"))

    holder: Mapped[User] = relationship(foreign_keys=[holder_id])
    listing: Mapped[Listing] = relationship(foreign_keys=[listing_id])
    offers: Mapped[list[CoverOffer]] = relationship(back_populates="cover", order_by="CoverOffer.id")


class CoverOffer(Base):
    """A provider asked to cover a session, in a wave, and their answer."""

    __tablename__ = "cover_offers"
    __table_args__ = (
        UniqueConstraint("cover_id", "profile_id", name="cover_once_per_provider"),
        CheckConstraint("answer IN ('asked', 'can_cover', 'cannot', 'taken', 'not_needed')",
                        name="answer_known"),
        CheckConstraint("wave IN ('backups', 'matching')", name="wave_known"),
        # "Which cover requests was this provider asked about?" (their page), newest first.
        Index("ix_cover_offers_profile_asked", "profile_id", "asked_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cover_id: Mapped[int] = mapped_column(ForeignKey("cover_requests.id", ondelete="CASCADE"), index=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("provider_profiles.id", ondelete="CASCADE"))
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"))  # the service they would cover with
    wave: Mapped[str] = mapped_column(String(10))
    answer: Mapped[str] = mapped_column(String(12), default="asked")
    price_pence: Mapped[int | None] = mapped_column(Integer)  # their price for the session, when they said yes
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    cover: Mapped[CoverRequest] = relationship(back_populates="offers")
    profile: Mapped[ProviderProfile] = relationship()
    listing: Mapped[Listing] = relationship()
