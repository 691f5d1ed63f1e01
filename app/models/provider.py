"""A provider's public profile, the postcode districts they cover and their weekly availability."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.vetting import ProviderType
from app.models.base import Base, UTCDateTime, utcnow
from app.models.user import User

if TYPE_CHECKING:
    from app.models.listing import Listing

TYPE_VALUES = ", ".join(f"'{t.value}'" for t in ProviderType)


class ProviderProfile(Base):
    """One per provider user. `display_name` is what the public sees (a person or a business)."""

    __tablename__ = "provider_profiles"
    __table_args__ = (CheckConstraint(f"provider_type IN ({TYPE_VALUES})", name="type_known"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    provider_type: Mapped[str] = mapped_column(String(30))
    display_name: Mapped[str] = mapped_column(String(120))
    about: Mapped[str] = mapped_column(Text, default="")
    # A generated file name under instance/uploads; never a name the user chose.
    photo_filename: Mapped[str | None] = mapped_column(String(64))
    languages: Mapped[list] = mapped_column(JSON, default=list)
    gender: Mapped[str | None] = mapped_column(String(40))
    specialisms: Mapped[list] = mapped_column(JSON, default=list)
    venue_accessibility: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship()
    districts: Mapped[list[ProviderDistrict]] = relationship(
        back_populates="profile", cascade="all, delete-orphan", order_by="ProviderDistrict.district")
    slots: Mapped[list[AvailabilitySlot]] = relationship(
        back_populates="profile", cascade="all, delete-orphan",
        order_by="(AvailabilitySlot.weekday, AvailabilitySlot.start_time)")
    exceptions: Mapped[list[AvailabilityException]] = relationship(
        back_populates="profile", cascade="all, delete-orphan",
        order_by="AvailabilityException.starts_on")
    listings: Mapped[list[Listing]] = relationship(
        back_populates="profile", cascade="all, delete-orphan", order_by="Listing.id")

    @property
    def type_enum(self) -> ProviderType:
        return ProviderType(self.provider_type)

    @property
    def district_codes(self) -> list[str]:
        return [d.district for d in self.districts]


class ProviderDistrict(Base):
    """A postcode district (SY1, TF2, SW1A) the provider covers: a row each, so search can join."""

    __tablename__ = "provider_districts"
    __table_args__ = (UniqueConstraint("profile_id", "district", name="uq_provider_districts_pair"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("provider_profiles.id", ondelete="CASCADE"),
                                            index=True)
    district: Mapped[str] = mapped_column(String(4), index=True)

    profile: Mapped[ProviderProfile] = relationship(back_populates="districts")


class AvailabilitySlot(Base):
    """A regular weekly time the provider is available (weekday 0 is Monday)."""

    __tablename__ = "availability_slots"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("end_time > start_time", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("provider_profiles.id", ondelete="CASCADE"),
                                            index=True)
    weekday: Mapped[int] = mapped_column(SmallInteger)
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)

    profile: Mapped[ProviderProfile] = relationship(back_populates="slots")


class AvailabilityException(Base):
    """Dates the provider is away (a holiday), whatever the weekly pattern says."""

    __tablename__ = "availability_exceptions"
    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("provider_profiles.id", ondelete="CASCADE"),
                                            index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200), default="")

    profile: Mapped[ProviderProfile] = relationship(back_populates="exceptions")
