"""A standing for one person to act for a budget holder: authorised, nominated or circle."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.access import DelegateKind, LegalBasis, Share
from app.models.base import Base, UTCDateTime, utcnow
from app.models.user import User

KIND_VALUES = ", ".join(f"'{k.value}'" for k in DelegateKind)
BASIS_VALUES = ", ".join(f"'{b.value}'" for b in LegalBasis)

STATUS_INVITED = "invited"
STATUS_ACTIVE = "active"
STATUS_REVOKED = "revoked"


class Delegation(Base):
    __tablename__ = "delegations"
    __table_args__ = (
        CheckConstraint(f"kind IN ({KIND_VALUES})", name="kind_known"),
        CheckConstraint("status IN ('invited', 'active', 'revoked')", name="status_known"),
        CheckConstraint(
            f"kind != 'authorised' OR (legal_basis IN ({BASIS_VALUES}) AND review_date IS NOT NULL)",
            name="authorised_has_basis",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    delegate_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=STATUS_INVITED)
    invited_email: Mapped[str] = mapped_column(String(254))
    # Only a hash of the invitation token is stored: the link itself is the secret.
    invite_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    shares: Mapped[str] = mapped_column(String(200), default="")
    legal_basis: Mapped[str | None] = mapped_column(String(30))
    review_date: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    holder: Mapped[User] = relationship(foreign_keys=[holder_id])
    delegate: Mapped[User | None] = relationship(foreign_keys=[delegate_id])

    @property
    def kind_enum(self) -> DelegateKind:
        return DelegateKind(self.kind)

    @property
    def share_set(self) -> frozenset[Share]:
        return frozenset(Share(s) for s in self.shares.split(",") if s)

    @property
    def legal_basis_enum(self) -> LegalBasis | None:
        return LegalBasis(self.legal_basis) if self.legal_basis else None
