"""One run of a scheduled job for one due time: the claim that stops two schedulers running it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime


class ScheduledJobRun(Base):
    __tablename__ = "scheduled_job_runs"
    # The claim: one row per job and due time, whichever scheduler inserts it first.
    __table_args__ = (UniqueConstraint("job", "due_at", name="uq_scheduled_job_runs_job_due"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(60))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ok: Mapped[bool | None] = mapped_column(Boolean)
    outcome: Mapped[str | None] = mapped_column(String(500))
    host: Mapped[str] = mapped_column(String(100), default="")
