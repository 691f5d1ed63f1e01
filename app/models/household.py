"""Who lives with a budget holder and how they are related, with the council's agreement to pay one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.households import Relationship
from app.models.base import Base, UTCDateTime, utcnow
from app.models.provider import ProviderProfile
from app.models.user import User

_RELATIONSHIPS = ", ".join(f"'{r.value}'" for r in Relationship)


class HouseholdMember(Base):
    """A person a holder or broker recorded as living with the holder (or a relative who does
    not, when they are paid through Carefair), optionally linked to their provider profile."""

    __tablename__ = "household_members"
    __table_args__ = (
        CheckConstraint(f"relation IN ({_RELATIONSHIPS})", name="relation_known"),
        # An agreement is recorded with who recorded it and when, or not at all.
        CheckConstraint("(council_agreed_at IS NULL) = (council_agreed_by_id IS NULL)",
                        name="agreement_complete"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    relation: Mapped[str] = mapped_column(String(20))
    lives_with_holder: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set when this person is (also) a provider on Carefair.
    provider_profile_id: Mapped[int | None] = mapped_column(ForeignKey("provider_profiles.id"),
                                                            index=True)
    # The council's agreement to pay them (Direct Payments Regulations 2014, reg. 3).
    council_agreed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    council_agreed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    council_agreement_note: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    holder: Mapped[User] = relationship(foreign_keys=[holder_id])
    provider: Mapped[ProviderProfile | None] = relationship()
    council_agreed_by: Mapped[User | None] = relationship(foreign_keys=[council_agreed_by_id])
    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])

    @property
    def relationship_enum(self) -> Relationship:
        return Relationship(self.relation)
