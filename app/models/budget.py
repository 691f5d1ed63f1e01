"""A personal budget (annual amount, instalments, funding mode, contingency) and its support plan."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.budget import Frequency, FundingMode, budget_end
from app.models.audit import APPEND_ONLY_MODELS
from app.models.base import Base, UTCDateTime, utcnow
from app.models.user import User

FREQ_VALUES = ", ".join(f"'{f.value}'" for f in Frequency)
MODE_VALUES = ", ".join(f"'{m.value}'" for m in FundingMode)


class Budget(Base):
    __tablename__ = "budgets"
    __table_args__ = (
        CheckConstraint("annual_pence > 0", name="annual_positive"),
        CheckConstraint(f"frequency IN ({FREQ_VALUES})", name="frequency_known"),
        CheckConstraint(f"funding_mode IN ({MODE_VALUES})", name="funding_mode_known"),
        CheckConstraint(
            "(contingency_weeks IS NULL) != (contingency_pence IS NULL)", name="one_contingency_rule"),
        CheckConstraint("contingency_weeks IS NULL OR contingency_weeks BETWEEN 0 AND 26",
                        name="contingency_weeks_range"),
        CheckConstraint("contingency_pence IS NULL OR contingency_pence >= 0",
                        name="contingency_pence_range"),
        UniqueConstraint("holder_id", "start_date", name="uq_budgets_holder_start"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    annual_pence: Mapped[int] = mapped_column(Integer)
    start_date: Mapped[date] = mapped_column(Date)
    frequency: Mapped[str] = mapped_column(String(20))
    funding_mode: Mapped[str] = mapped_column(String(30))
    contingency_weeks: Mapped[int | None] = mapped_column(Integer)
    contingency_pence: Mapped[int | None] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    holder: Mapped[User] = relationship(foreign_keys=[holder_id])

    @property
    def end_date(self) -> date:
        return budget_end(self.start_date)

    @property
    def frequency_enum(self) -> Frequency:
        return Frequency(self.frequency)

    @property
    def funding_mode_enum(self) -> FundingMode:
        return FundingMode(self.funding_mode)


class SupportPlanVersion(Base):
    """One version of a holder's support plan. Versions are never edited: a change adds one."""

    __tablename__ = "support_plan_versions"
    __table_args__ = (UniqueConstraint("holder_id", "version", name="uq_support_plan_versions_holder_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    what_matters: Mapped[str] = mapped_column(Text)
    outcomes: Mapped[str] = mapped_column(Text)
    change_note: Mapped[str | None] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    categories: Mapped[list[PlanCategory]] = relationship(
        back_populates="plan", order_by="PlanCategory.id", cascade="all")
    # Only versions whose spending a broker has still to agree have a review; the rest are agreed.
    review: Mapped[PlanReview | None] = relationship(viewonly=True, uselist=False)

    @property
    def amounts(self) -> dict[str, int]:
        return {c.code: c.annual_pence for c in self.categories}

    @property
    def total_pence(self) -> int:
        return sum(c.annual_pence for c in self.categories)

    @property
    def status(self) -> str:
        """agreed, waiting (for a broker), declined or superseded (replaced before a decision)."""
        return self.review.status if self.review is not None else REVIEW_AGREED

    @property
    def agreed(self) -> bool:
        return self.status == REVIEW_AGREED


class PlanCategory(Base):
    __tablename__ = "plan_categories"
    __table_args__ = (
        UniqueConstraint("plan_id", "code", name="uq_plan_categories_plan_code"),
        CheckConstraint("annual_pence >= 0", name="amount_not_negative"),
        CheckConstraint("max_minutes_per_week IS NULL OR "
                        "(max_minutes_per_week > 0 AND max_minutes_per_week <= 10080)",
                        name="weekly_cap_in_a_week"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("support_plan_versions.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    annual_pence: Mapped[int] = mapped_column(Integer)
    # The most support a week in this category (app.domain.hour_caps); None: no weekly limit.
    max_minutes_per_week: Mapped[int | None] = mapped_column(Integer)

    plan: Mapped[SupportPlanVersion] = relationship(back_populates="categories")


REVIEW_WAITING = "waiting"
REVIEW_AGREED = "agreed"
REVIEW_DECLINED = "declined"
REVIEW_SUPERSEDED = "superseded"
REVIEW_STATUSES = (REVIEW_WAITING, REVIEW_AGREED, REVIEW_DECLINED, REVIEW_SUPERSEDED)


class PlanReview(Base):
    """A holder-side change to a plan's spending, waiting for a broker, and what was decided.

    The council agrees a support plan, so a version proposed from the holder's side with
    different spending only counts once a broker agrees it. Versions without a review (every
    version written by a broker, text-only changes, and all versions from before reviews
    existed) are agreed. The history of decisions is in the audit log.
    """

    __tablename__ = "plan_reviews"
    __table_args__ = (
        CheckConstraint("status IN ({})".format(", ".join(f"'{s}'" for s in REVIEW_STATUSES)),
                        name="status_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("support_plan_versions.id"), unique=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=REVIEW_WAITING, index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    plan: Mapped[SupportPlanVersion] = relationship(foreign_keys=[plan_id])
    holder: Mapped[User] = relationship(foreign_keys=[holder_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


# Plans keep every version: a change is a new version, never an edit.
APPEND_ONLY_MODELS.update({SupportPlanVersion, PlanCategory})


class HourCapException(Base):
    """A broker's agreement to more hours than the plan's weekly cap, for one category and week."""

    __tablename__ = "hour_cap_exceptions"
    __table_args__ = (
        UniqueConstraint("holder_id", "code", "week_start", name="uq_hour_cap_exceptions_week"),
        CheckConstraint("extra_minutes > 0", name="extra_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    week_start: Mapped[date] = mapped_column(Date)  # a Monday
    extra_minutes: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(500))
    agreed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
