"""Last-minute cover: which cancelled sessions need it, who is asked in which wave, when it lapses.

When a provider cancels at short notice the holder is left without support they were counting
on. Cover asks the people the holder chose in advance first (their named back-ups, in the
holder's order), and only after `cover_backup_minutes` widens to other matching providers. The
holder's side accepts one provider who said they can cover, in one step; a request nobody
covered lapses when its session starts (a timed exit, like every waiting state).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from app.domain.settings import CouncilSettings


class CoverStatus(StrEnum):
    OPEN = "open"
    COVERED = "covered"  # the holder's side accepted a provider; a booking exists for it
    LAPSED = "lapsed"  # the session started with nobody accepted
    WITHDRAWN = "withdrawn"  # the holder's side said they no longer need cover


class Wave(StrEnum):
    BACKUPS = "backups"  # the holder's named back-ups
    MATCHING = "matching"  # other matching providers, after cover_backup_minutes


class Answer(StrEnum):
    ASKED = "asked"
    CAN_COVER = "can_cover"
    CANNOT = "cannot"
    TAKEN = "taken"  # the holder's side accepted this provider
    NOT_NEEDED = "not_needed"  # someone else covered, or the request lapsed


def needs_cover(start_at: datetime, now: datetime, settings: CouncilSettings) -> bool:
    """A session the provider cancels needs cover when it has not started and starts within the
    council's short-notice window: with more notice the holder can simply book again."""
    return now < start_at <= now + timedelta(hours=settings.cover_short_notice_hours)


def matching_wave_at(opened_at: datetime, had_backups: bool, settings: CouncilSettings) -> datetime:
    """When other matching providers are asked: at once when the holder named no back-ups,
    otherwise after the back-ups have had their time to answer."""
    if not had_backups:
        return opened_at
    return opened_at + timedelta(minutes=settings.cover_backup_minutes)
