"""A person who signs in: budget holder, provider, broker, council admin or supporter."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
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
    # Part of every session and remember-me cookie (get_id): raising it (sign-out, a password
    # change or reset, deactivation) makes every cookie issued before it worthless at once.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    def get_id(self) -> str:  # Flask-Login: what the session and the remember cookie carry
        return f"{self.id}.{self.session_generation or 0}"

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


class SignInThrottle(Base):
    """Failed sign-ins for one (email typed, client address) pair, and whether that pair has
    ever signed in: the backoff that slows a guesser without locking out the account's owner
    elsewhere (app.services.sign_in_limits)."""

    __tablename__ = "sign_in_throttles"
    __table_args__ = (UniqueConstraint("email_key", "address", name="uq_sign_in_throttles_pair"),
                      Index("ix_sign_in_throttles_address", "address", "last_failure_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # sha256 of the normalised email typed: someone's password typed into the email box is
    # never stored.
    email_key: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
