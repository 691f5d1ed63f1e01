"""Concerns anyone raised about a provider (safeguarding, complaint, possible fraud) and their triage."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.concerns import ConcernKind, ConcernStatus, ReporterKind
from app.models.base import Base, UTCDateTime, utcnow
from app.models.flag import Flag, SafeguardingReferral
from app.models.provider import ProviderProfile
from app.models.user import User

_KINDS = ", ".join(f"'{k.value}'" for k in ConcernKind)
_STATUSES = ", ".join(f"'{s.value}'" for s in ConcernStatus)
_REPORTERS = ", ".join(f"'{r.value}'" for r in ReporterKind)


class Concern(Base):
    """One concern about a provider. Who reported it is for brokers only: nothing the provider
    sees (pages, notifications, emails, upheld flags) is built from the reporter fields."""

    __tablename__ = "concerns"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_KINDS})", name="kind_known"),
        CheckConstraint(f"status IN ({_STATUSES})", name="status_known"),
        CheckConstraint(f"reporter_kind IN ({_REPORTERS})", name="reporter_kind_known"),
        # A member of the public has no account; everyone else reports from theirs.
        CheckConstraint("(reporter_kind = 'public') = (reporter_user_id IS NULL)",
                        name="reporter_account_iff_not_public"),
        Index("ix_concerns_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider_profile_id: Mapped[int] = mapped_column(ForeignKey("provider_profiles.id"),
                                                     index=True)
    kind: Mapped[str] = mapped_column(String(20))
    # For a safeguarding concern: abuse, neglect or financial abuse (domain.concerns.HARMS).
    harm: Mapped[str | None] = mapped_column(String(30))
    details: Mapped[str] = mapped_column(Text)
    # The holder it is about, where the reporter said (their own booking, a holder they help).
    holder_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    reporter_kind: Mapped[str] = mapped_column(String(20))
    reporter_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # Optional for the public: how to reach them to acknowledge and tell the outcome.
    reporter_name: Mapped[str] = mapped_column(String(120), default="")
    reporter_email: Mapped[str] = mapped_column(String(254), default="")
    reporter_phone: Mapped[str] = mapped_column(String(30), default="")
    # Where it was raised from ("booking:12", "message:40", "provider:3"), for the broker.
    raised_from: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[str] = mapped_column(String(20), default=ConcernStatus.OPEN.value)
    # The flag filed for it (the rules' finding) and, once referred, the referral.
    flag_id: Mapped[int | None] = mapped_column(ForeignKey("flags.id"))
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("safeguarding_referrals.id"))
    triaged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    triaged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The broker's reason (brokers only) and what the reporter may be told.
    triage_reason: Mapped[str | None] = mapped_column(Text)
    reporter_outcome: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    provider: Mapped[ProviderProfile] = relationship()
    holder: Mapped[User | None] = relationship(foreign_keys=[holder_id])
    reporter: Mapped[User | None] = relationship(foreign_keys=[reporter_user_id])
    triaged_by: Mapped[User | None] = relationship(foreign_keys=[triaged_by_id])
    flag: Mapped[Flag | None] = relationship()
    referral: Mapped[SafeguardingReferral | None] = relationship()

    @property
    def kind_enum(self) -> ConcernKind:
        return ConcernKind(self.kind)

    @property
    def status_enum(self) -> ConcernStatus:
        return ConcernStatus(self.status)

    @property
    def reporter_kind_enum(self) -> ReporterKind:
        return ReporterKind(self.reporter_kind)

    @property
    def reference(self) -> str:
        return f"C-{self.id}"
