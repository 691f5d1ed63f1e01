"""Markets: council setting overrides, brokers' declared conflicts and the stored market scans."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UTCDateTime, utcnow
from app.models.provider import ProviderProfile
from app.models.user import User


class CouncilSettingOverride(Base):
    """A council admin's value for one council setting, merged over the defaults in
    app.domain.settings (app.services.council_settings)."""

    __tablename__ = "council_setting_overrides"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[object] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ConflictDeclaration(Base):
    """A broker's declared conflict of interest with a provider (a relative, a former employer,
    a share in it). While it stands the broker cannot approve or arrange bookings with them."""

    __tablename__ = "conflict_declarations"
    __table_args__ = (Index("ix_conflict_declarations_broker_provider", "broker_id",
                            "provider_profile_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    broker_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    provider_profile_id: Mapped[int] = mapped_column(ForeignKey("provider_profiles.id"))
    description: Mapped[str] = mapped_column(String(500))
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_reason: Mapped[str] = mapped_column(String(500), default="")

    broker: Mapped[User] = relationship(foreign_keys=[broker_id])
    provider: Mapped[ProviderProfile] = relationship()


class MarketRun(Base):
    """One brokerage scan's market figures, kept so the market view answers fast with history."""

    __tablename__ = "market_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    as_of: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ran_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    window_days: Mapped[int] = mapped_column(Integer)
    share_cap_percent: Mapped[int] = mapped_column(Integer)
    hhi_line: Mapped[int] = mapped_column(Integer)
    markets: Mapped[int] = mapped_column(Integer, default=0)
    concentrated: Mapped[int] = mapped_column(Integer, default=0)
    steering_findings: Mapped[int] = mapped_column(Integer, default=0)
    unplaced_holders: Mapped[int] = mapped_column(Integer, default=0)


class MarketFigureRecord(Base):
    """One market's figures in one run (rules.markets.MarketFigure)."""

    __tablename__ = "market_figures"
    __table_args__ = (Index("ix_market_figures_market_run", "district", "category", "run_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("market_runs.id"), index=True)
    district: Mapped[str] = mapped_column(String(8))
    category: Mapped[str] = mapped_column(String(40))
    spend_pence: Mapped[int] = mapped_column(BigInteger)
    previous_spend_pence: Mapped[int] = mapped_column(BigInteger, default=0)
    holders: Mapped[int] = mapped_column(Integer)
    providers: Mapped[int] = mapped_column(Integer)
    hhi: Mapped[float] = mapped_column(Float)
    previous_hhi: Mapped[float | None] = mapped_column(Float)
    top_share_percent: Mapped[float] = mapped_column(Float)
    top_provider_id: Mapped[int | None] = mapped_column(ForeignKey("provider_profiles.id"))
    meets_minimums: Mapped[bool] = mapped_column(Boolean)
    above_cap: Mapped[int] = mapped_column(Integer, default=0)


class MarketShareRecord(Base):
    """A provider's share of one market in one run: the largest few, and all above the cap."""

    __tablename__ = "market_shares"
    __table_args__ = (Index("ix_market_shares_run_market", "run_id", "district", "category"),
                      Index("ix_market_shares_provider", "provider_profile_id", "run_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("market_runs.id"))
    district: Mapped[str] = mapped_column(String(8))
    category: Mapped[str] = mapped_column(String(40))
    provider_profile_id: Mapped[int] = mapped_column(ForeignKey("provider_profiles.id"))
    spend_pence: Mapped[int] = mapped_column(BigInteger)
    share_percent: Mapped[float] = mapped_column(Float)
    holders: Mapped[int] = mapped_column(Integer)
    above_cap: Mapped[bool] = mapped_column(Boolean)


class SteeringRecord(Base):
    """A broker's arranged support in one category with one provider, in one run."""

    __tablename__ = "steering_figures"
    __table_args__ = (Index("ix_steering_figures_run_broker", "run_id", "broker_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("market_runs.id"))
    broker_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    category: Mapped[str] = mapped_column(String(40))
    provider_profile_id: Mapped[int] = mapped_column(ForeignKey("provider_profiles.id"))
    holders_arranged: Mapped[int] = mapped_column(Integer)
    holders_to_provider: Mapped[int] = mapped_column(Integer)
    expected_percent: Mapped[float] = mapped_column(Float)
    p_value: Mapped[float] = mapped_column(Float)
    districts: Mapped[list] = mapped_column(JSON, default=list)
    finding: Mapped[bool] = mapped_column(Boolean)
