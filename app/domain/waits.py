"""Every waiting state's timed exit: when requests expire, who is reminded when, and escalation.

Pure functions over instants. Every period is real elapsed time: instants are turned into UTC
before hours are added, because Python adds a timedelta to a Europe/London datetime on the wall
clock (02:00 + 24h across the spring change would be 23 real hours). The scheduled job asks
these functions what is due and records each step once, so running it twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from app.domain.settings import CouncilSettings


def utc(moment: datetime) -> datetime:
    """An aware instant in UTC (naive values are UTC already, as the models store them)."""
    return moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def after_real_hours(moment: datetime, hours: int | float) -> datetime:
    """`moment` plus real elapsed hours, in UTC (never wall-clock arithmetic)."""
    return utc(moment) + timedelta(hours=hours)


class Step(StrEnum):
    """What the job does next to a waiting booking; NOTHING means it is not due yet."""

    NOTHING = "nothing"
    REMIND_PROVIDER = "remind_provider"
    EXPIRE = "expire"
    REMIND_BROKERS = "remind_brokers"
    ESCALATE = "escalate"


def request_deadline(waiting_since: datetime, first_start: datetime,
                     settings: CouncilSettings) -> datetime:
    """When an unanswered request expires: N days after it was made (or approved), or a few
    hours before its first session, whichever is earlier (never before it was made)."""
    by_age = after_real_hours(waiting_since, settings.request_expiry_days * 24)
    by_start = after_real_hours(first_start, -settings.request_expiry_before_start_hours)
    return max(utc(waiting_since), min(by_age, by_start))


def provider_reminder_at(waiting_since: datetime, deadline: datetime,
                         settings: CouncilSettings) -> datetime | None:
    """When to remind the provider to answer: a day before the deadline; None when that moment
    is before the request was made (a request for tomorrow has no time for a reminder)."""
    at = after_real_hours(deadline, -settings.request_reminder_hours_before_expiry)
    return at if at > utc(waiting_since) else None


def request_step(now: datetime, waiting_since: datetime, deadline: datetime,
                 provider_reminded: bool, settings: CouncilSettings) -> Step:
    """The next step for a request waiting for its provider."""
    if utc(now) >= utc(deadline):
        return Step.EXPIRE
    remind_at = provider_reminder_at(waiting_since, deadline, settings)
    if not provider_reminded and remind_at is not None and utc(now) >= remind_at:
        return Step.REMIND_PROVIDER
    return Step.NOTHING


@dataclass(frozen=True, slots=True)
class ApprovalTimes:
    remind_brokers_at: datetime
    escalate_at: datetime
    expires_at: datetime  # nobody approved it before its first session: it cannot go ahead


def approval_times(waiting_since: datetime, first_start: datetime,
                   settings: CouncilSettings) -> ApprovalTimes:
    """When a booking waiting for a broker reminds brokers, escalates, and finally expires."""
    return ApprovalTimes(
        after_real_hours(waiting_since, settings.approval_reminder_hours),
        after_real_hours(waiting_since, settings.approval_escalation_hours),
        max(utc(waiting_since),
            after_real_hours(first_start, -settings.request_expiry_before_start_hours)),
    )


def approval_step(now: datetime, waiting_since: datetime, first_start: datetime,
                  brokers_reminded: bool, escalated: bool, settings: CouncilSettings) -> Step:
    """The next step for a booking waiting for a broker (one step a run; the next run does the
    next one, so a job that was down for a week still reminds before it escalates)."""
    times = approval_times(waiting_since, first_start, settings)
    if utc(now) >= times.expires_at:
        return Step.EXPIRE
    if not brokers_reminded and utc(now) >= times.remind_brokers_at:
        return Step.REMIND_BROKERS
    if brokers_reminded and not escalated and utc(now) >= times.escalate_at:
        return Step.ESCALATE
    return Step.NOTHING


def visit_reminder_due(now: datetime, start: datetime, settings: CouncilSettings) -> bool:
    """A reminder of a visit goes out in the day before it starts, never after it started."""
    return after_real_hours(start, -settings.visit_reminder_hours) <= utc(now) < utc(start)


def record_reminder_due(now: datetime, end: datetime, settings: CouncilSettings) -> bool:
    """A provider who has not recorded a finished session is reminded a day after it ended."""
    return utc(now) >= after_real_hours(end, settings.record_reminder_hours)
