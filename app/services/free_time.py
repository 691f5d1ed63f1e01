"""A listing's next free times: the provider's week and dates away, less their booked visits."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from app import clock
from app.domain.bank_holidays import UK, bank_holidays
from app.domain.booking_categories import plan_category_for
from app.domain.free_slots import SlotRules, free_slots
from app.domain.schedule import DatesOff, Session, WeeklySlot
from app.domain.vetting import ProviderType
from app.extensions import db
from app.models import BookingSession, Listing
from app.models.booking import NON_BLOCKING_STATES
from app.services import council_settings, ledger
from app.services.bookings.hour_caps import weekly_room

# How long one visit of a listing lasts when the holder has not said: its minimum.
_DEFAULT_MINUTES = {"hour": 60, "session": 120, "day": 8 * 60}


def visit_minutes(listing: Listing) -> int:
    """The shortest visit the listing takes: its minimum hours, or a usual session or day."""
    if listing.price_unit == "hour":
        return max(listing.minimum_units, 1) * 60
    return _DEFAULT_MINUTES.get(listing.price_unit, 120)


def next_free(listing: Listing, *, minutes: int | None = None, limit: int = 8,
              now: datetime | None = None, holder_id: int | None = None,
              weeks: int = 1) -> list[Session]:
    """The listing's next free starts for a visit of `minutes` (default: its shortest visit).

    Empty when the provider has not set weekly times (then they decide on each request). A
    group that does not meet on bank holidays offers none on them; given the holder, a week
    where their support plan's hours for this kind of support are used up offers none either.
    With `weeks` > 1 (a weekly series), a start is offered only if the same time is free in
    every one of those weeks, so the series is not refused at the last step.
    """
    now = now or clock.now()
    settings = council_settings.current()
    profile = listing.profile
    slots = [WeeklySlot(s.weekday, s.start_time.hour * 60 + s.start_time.minute,
                        (s.end_time.hour * 60 + s.end_time.minute) or 24 * 60)
             for s in profile.slots]
    if not slots:
        return []
    later = 7 * (max(weeks, 1) - 1)  # the series' last visit is this many days after its first
    days_ahead = settings.free_slot_days_ahead + later
    off = [DatesOff(e.starts_on, e.ends_on) for e in profile.exceptions]
    today = now.astimezone(UK).date()
    last_day = today + timedelta(days=days_ahead + 1)
    skipped: set[date] = set()  # a group's series skips the bank holidays it does not meet on
    if profile.provider_type == ProviderType.GROUP_ACTIVITY.value \
            and not listing.meets_on_bank_holidays:
        skipped = set(bank_holidays(settings.bank_holiday_region, today, last_day))
        off += [DatesOff(day, day) for day in skipped]
    room = None
    if holder_id is not None:
        code = plan_category_for(listing.category, profile.provider_type)
        room = weekly_room(holder_id, ledger.current_plan(holder_id), code, today, last_day)
    horizon = now + timedelta(days=days_ahead + 1)
    busy = [Session(start, end) for start, end in db.session.execute(
        select(BookingSession.start_at, BookingSession.end_at).where(
            BookingSession.provider_profile_id == profile.id,
            BookingSession.state.not_in(NON_BLOCKING_STATES),
            BookingSession.end_at > now - timedelta(hours=1),
            BookingSession.start_at < horizon))]
    rules = SlotRules(duration_minutes=minutes or visit_minutes(listing),
                      min_notice=timedelta(hours=settings.free_slot_min_notice_hours),
                      days_ahead=days_ahead,
                      travel_buffer_minutes=settings.free_slot_travel_buffer_minutes,
                      step_minutes=settings.free_slot_step_minutes)
    if not later:
        return free_slots(slots, off, busy, now, rules, limit=limit, room=room)
    every = free_slots(slots, off, busy, now, rules, limit=100_000, room=room)
    starts = {s.start for s in every}
    first_days = today + timedelta(days=settings.free_slot_days_ahead)
    found = []
    for s in every:
        local = s.start.astimezone(UK)
        if local.date() > first_days:
            break
        # The same wall-clock time each week (a clock change moves it in UTC, not locally).
        repeats = [(local.replace(tzinfo=None) + timedelta(days=d)).replace(tzinfo=UK)
                   for d in range(7, later + 1, 7)]
        if all(r.astimezone(UTC) in starts or r.date() in skipped for r in repeats):
            found.append(s)
            if len(found) == limit:
                break
    return found
