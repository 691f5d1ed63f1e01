"""A service a provider offers: category, price in pence per unit, booking and cancellation terms."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.listings import Category, FundingMode, PriceUnit
from app.models.base import Base, UTCDateTime, utcnow
from app.models.provider import ProviderProfile

CATEGORY_VALUES = ", ".join(f"'{c.value}'" for c in Category)
UNIT_VALUES = ", ".join(f"'{u.value}'" for u in PriceUnit)


class Listing(Base):
    __tablename__ = "listings"
    __table_args__ = (
        CheckConstraint(f"category IN ({CATEGORY_VALUES})", name="category_known"),
        CheckConstraint(f"price_unit IN ({UNIT_VALUES})", name="unit_known"),
        CheckConstraint("price_pence > 0", name="price_positive"),
        CheckConstraint("travel_charge_pence >= 0", name="travel_not_negative"),
        CheckConstraint("cancellation_charge_pence >= 0", name="cancellation_not_negative"),
        CheckConstraint("cancellation_notice_hours >= 0", name="notice_not_negative"),
        CheckConstraint("minimum_units >= 1", name="minimum_at_least_one"),
        CheckConstraint("bank_holiday_price_pence IS NULL OR bank_holiday_price_pence > 0",
                        name="bank_holiday_price_positive"),
        # Only a published listing can be live; the vetting service maintains is_live.
        CheckConstraint("published OR NOT is_live", name="live_only_if_published"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("provider_profiles.id", ondelete="CASCADE"),
                                            index=True)
    category: Mapped[str] = mapped_column(String(30), index=True)
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    price_pence: Mapped[int] = mapped_column(Integer)
    price_unit: Mapped[str] = mapped_column(String(10))
    minimum_units: Mapped[int] = mapped_column(Integer, default=1)  # e.g. at least 2 hours
    travel_charge_pence: Mapped[int] = mapped_column(Integer, default=0)  # per visit
    cancellation_notice_hours: Mapped[int] = mapped_column(Integer, default=24)
    cancellation_charge_pence: Mapped[int] = mapped_column(Integer, default=0)
    # The price per unit on bank holidays (app.domain.bank_holidays); None: the usual price.
    bank_holiday_price_pence: Mapped[int | None] = mapped_column(Integer)
    # Group sessions do not meet on bank holidays unless the provider says they do.
    meets_on_bank_holidays: Mapped[bool] = mapped_column(Boolean, default=False)
    funding_modes: Mapped[list] = mapped_column(JSON, default=list)
    # The provider's choice to offer it; withdrawing hides it whatever the vetting says.
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    # Stored so search can filter cheaply; recomputed by services.vetting.refresh_visibility.
    is_live: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    profile: Mapped[ProviderProfile] = relationship(back_populates="listings")

    @property
    def category_enum(self) -> Category:
        return Category(self.category)

    @property
    def unit_enum(self) -> PriceUnit:
        return PriceUnit(self.price_unit)

    @property
    def funding_mode_enums(self) -> list[FundingMode]:
        return [FundingMode(m) for m in self.funding_modes]
