"""Brokerage flags for brokers to review, and the restrictions and referrals that follow them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.flags import FlagStatus, Outcome
from app.domain.rules.model import Severity
from app.models.base import Base, UTCDateTime, utcnow
from app.models.provider import ProviderProfile
from app.models.user import User

STATUS_VALUES = ", ".join(f"'{s.value}'" for s in FlagStatus)
OUTCOME_VALUES = ", ".join(f"'{o.value}'" for o in Outcome)
SEVERITY_VALUES = ", ".join(f"'{s.value}'" for s in Severity)


class Flag(Base):
    """One finding of a brokerage rule, as filed for a broker, with its review."""

    __tablename__ = "flags"
    __table_args__ = (
        CheckConstraint(f"status IN ({STATUS_VALUES})", name="status_known"),
        CheckConstraint(f"severity IN ({SEVERITY_VALUES})", name="severity_known"),
        CheckConstraint(f"outcome IS NULL OR outcome IN ({OUTCOME_VALUES})", name="outcome_known"),
        # Upheld means an outcome was chosen; open means none yet.
        CheckConstraint("(status = 'upheld') = (outcome IS NOT NULL)", name="outcome_iff_upheld"),
        # At most one open flag per rule and subject, also when two scans race.
        Index("uq_flags_open_rule_subject", "rule", "subject_kind", "subject_id", unique=True,
              postgresql_where=text("status = 'open'"), sqlite_where=text("status = 'open'")),
        Index("ix_flags_status_severity", "status", "severity"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str] = mapped_column(String(60))
    severity: Mapped[str] = mapped_column(String(10))
    subject_kind: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[str] = mapped_column(String(64))
    explanation: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict] = mapped_column(JSON, default=dict)
    # What the council's settings say should happen (app.domain.rules.Action value).
    action: Mapped[str] = mapped_column(String(10))
    # Who it is about, where a provider or holder can be told from the subject.
    provider_profile_id: Mapped[int | None] = mapped_column(
        ForeignKey("provider_profiles.id"), index=True)
    holder_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default=FlagStatus.OPEN.value)
    outcome: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    provider_response: Mapped[str | None] = mapped_column(Text)
    provider_responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    provider_responded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    provider: Mapped[ProviderProfile | None] = relationship()
    holder: Mapped[User | None] = relationship(foreign_keys=[holder_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])

    @property
    def status_enum(self) -> FlagStatus:
        return FlagStatus(self.status)

    @property
    def severity_enum(self) -> Severity:
        return Severity(self.severity)

    @property
    def outcome_enum(self) -> Outcome | None:
        return Outcome(self.outcome) if self.outcome else None

    @property
    def reference(self) -> str:
        return f"F-{self.id}"


class ProviderRestriction(Base):
    """What brokers (or a critical finding) have stopped for a provider, pending review.

    Payment code checks `payouts_held` before paying a provider; the vetting service keeps a
    provider's listings hidden while `listings_suspended`. Neither touches the care itself.
    """

    __tablename__ = "provider_restrictions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider_profile_id: Mapped[int] = mapped_column(ForeignKey("provider_profiles.id"),
                                                     unique=True)
    listings_suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    payouts_held: Mapped[bool] = mapped_column(Boolean, default=False)
    # The flag that last changed it, for the console and the provider's page.
    flag_id: Mapped[int | None] = mapped_column(ForeignKey("flags.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    provider: Mapped[ProviderProfile] = relationship()
    flag: Mapped[Flag | None] = relationship()


class SafeguardingReferral(Base):
    """A flag referred to the council's safeguarding team (who decide what happens next)."""

    __tablename__ = "safeguarding_referrals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flag_id: Mapped[int] = mapped_column(ForeignKey("flags.id"), index=True)
    provider_profile_id: Mapped[int | None] = mapped_column(ForeignKey("provider_profiles.id"))
    holder_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    referred_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    summary: Mapped[str] = mapped_column(Text)
    referred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    flag: Mapped[Flag] = relationship()
    referred_by: Mapped[User] = relationship(foreign_keys=[referred_by_id])

    @property
    def reference(self) -> str:
        return f"SG-{self.id}"
