"""A person who signs in: budget holder, provider, broker, council admin or supporter."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.domain.access import Role
from app.models.base import Base, UTCDateTime, utcnow

ROLE_VALUES = ", ".join(f"'{r.value}'" for r in Role)


class User(UserMixin, Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(f"role IN ({ROLE_VALUES})", name="role_known"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Holders at risk never have delivered hours confirmed automatically (design.md).
    at_risk: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A holder's postcode district (the outward code, such as "LS6"): with a category, the market
    # they choose in (design.md, "Markets"). Not private; the full address is HomeAddress.
    home_district: Mapped[str | None] = mapped_column(String(8))

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class HomeAddress(Base):
    """A person's private home address and phone (holders and providers), kept apart from the
    account: shown to a provider only for an accepted home visit, read by the safeguarding rules
    (a shared address nobody declared), never public."""

    __tablename__ = "home_addresses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    line1: Mapped[str] = mapped_column(String(120))
    line2: Mapped[str] = mapped_column(String(120), default="")
    town: Mapped[str] = mapped_column(String(80))
    postcode: Mapped[str] = mapped_column(String(10))  # normalised: upper case, one space
    phone: Mapped[str] = mapped_column(String(30), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
