"""A listing's price changes: old and new rate, when announced and effective, and for whom."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UTCDateTime, utcnow
from app.models.listing import Listing


class PriceChange(Base):
    """One change of a listing's price. New clients pay the new price at once; existing
    clients (holders with bookings on the listing when it was announced) from `effective_at`,
    when `applies_to_existing`, after being told at announcement."""

    __tablename__ = "price_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    provider_profile_id: Mapped[int] = mapped_column(ForeignKey("provider_profiles.id"),
                                                     index=True)
    old_rate_pence: Mapped[int] = mapped_column(Integer)
    new_rate_pence: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(10))
    announced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime)
    applies_to_existing: Mapped[bool] = mapped_column(Boolean, default=True)
    notice_days: Mapped[int] = mapped_column(Integer, default=0)
    existing_clients_told: Mapped[int] = mapped_column(Integer, default=0)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    listing: Mapped[Listing] = relationship()
