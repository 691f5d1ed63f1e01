"""One piece of vetting evidence a provider sent, and the broker's decision on it."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.vetting import CheckKind, CheckStatus, Evidence
from app.models.base import Base, UTCDateTime, utcnow
from app.models.provider import ProviderProfile
from app.models.user import User

KIND_VALUES = ", ".join(f"'{k.value}'" for k in CheckKind)
STATUS_VALUES = ", ".join(f"'{s.value}'" for s in CheckStatus)


class VettingCheck(Base):
    """Evidence is added, never edited by the provider: a renewal is a new record."""

    __tablename__ = "vetting_checks"
    __table_args__ = (
        CheckConstraint(f"kind IN ({KIND_VALUES})", name="kind_known"),
        CheckConstraint(f"status IN ({STATUS_VALUES})", name="status_known"),
        CheckConstraint("status != 'rejected' OR rejection_reason IS NOT NULL", name="rejection_has_reason"),
        CheckConstraint("status != 'verified' OR verified_by_id IS NOT NULL", name="verified_has_broker"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("provider_profiles.id", ondelete="CASCADE"),
                                            index=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10), default=CheckStatus.PENDING.value, index=True)
    # Certificate number, CQC id, insurance policy number, referee's name, course name ...
    reference: Mapped[str] = mapped_column(String(120))
    details: Mapped[str] = mapped_column(Text, default="")  # referee contact, insurer, awarding body
    issued_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    update_service: Mapped[bool] = mapped_column(Boolean, default=False)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    rejection_reason: Mapped[str | None] = mapped_column(String(500))

    profile: Mapped[ProviderProfile] = relationship()
    verified_by: Mapped[User | None] = relationship()

    @property
    def kind_enum(self) -> CheckKind:
        return CheckKind(self.kind)

    @property
    def status_enum(self) -> CheckStatus:
        return CheckStatus(self.status)

    def as_evidence(self) -> Evidence:
        return Evidence(kind=self.kind_enum, status=self.status_enum, issued_on=self.issued_on,
                        expires_on=self.expires_on, update_service=self.update_service,
                        rejection_reason=self.rejection_reason)
