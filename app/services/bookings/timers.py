"""The timed exits and reminders job: requests expire, broker queues escalate, visits are reminded.

`run_timers(now)` is the scheduled job (`carefair bookings run-due`, hourly from cron, with the
auto-confirm and pool run). When each step is due is decided by app.domain.waits; this module
records each step on the row it concerns (provider_reminded_at, expired_at, ...), so a second
run changes nothing.

Safe to run twice at once: each item is claimed with SELECT ... FOR UPDATE SKIP LOCKED (a row
another run holds is skipped, not waited for), re-checked inside the lock, acted on and
committed on its own (one item, one transaction: an expiry frees the slot, records the
alternatives offered, audits and notifies in one commit). SQLite has no row locks; there one
process runs at a time anyway.

Pooled bookings hold each participant's share from the moment they join; those holds are
released by the ledger (which commits each operation itself, idempotent by key) straight
after the expiry's commit. A run interrupted between the two finishes the release next time
(`_release_expired_pools`).

Issue 18 (agreements offered, cover requests) registers its lapse functions in LAPSE_STEPS
through `register_lapse` (called from create_app's wiring): each takes `now` and returns how
many items lapsed, owning its own transactions in the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from app import clock
from app.domain import bookings as rules
from app.domain import waits
from app.domain.access import Role
from app.domain.bookings import ActorKind, Event
from app.domain.notifications import Event as Notice
from app.domain.waits import Step
from app.errors import DomainError
from app.extensions import db
from app.models import Booking, BookingSession, Listing, PoolParticipant, User
from app.services import audit, card_steps, notify, transaction
from app.services.bookings._common import S, _brokers, _link, _lock_booking, _settings
from app.services.bookings.pools import _release_pool

# Lapse steps for other waiting states (issue 18: offered agreements, cover requests).
LAPSE_STEPS: dict[str, Callable[[datetime], int]] = {}


def register_lapse(name: str, step: Callable[[datetime], int]) -> None:
    """Add a waiting state's timed exit to the job (wired explicitly, never on import)."""
    LAPSE_STEPS[name] = step


@dataclass
class TimerReport:
    providers_reminded: int = 0
    expired: int = 0
    brokers_reminded: int = 0
    escalated: int = 0
    visit_reminders: int = 0
    record_reminders: int = 0
    lapsed: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return (self.providers_reminded + self.expired + self.brokers_reminded + self.escalated
                + self.visit_reminders + self.record_reminders + sum(self.lapsed.values()))


def _claim_booking(booking_id: int) -> Booking | None:
    """Lock one booking for this run, or None when another run holds it right now."""
    return db.session.scalar(
        select(Booking).where(Booking.id == booking_id)
        .with_for_update(skip_locked=True).execution_options(populate_existing=True))


def _claim_session(session_id: int) -> BookingSession | None:
    return db.session.scalar(
        select(BookingSession).where(BookingSession.id == session_id)
        .with_for_update(skip_locked=True).execution_options(populate_existing=True))


def _first_start(booking: Booking) -> datetime:
    return min(s.start_at for s in booking.sessions)


def _waiting_since(booking: Booking) -> datetime:
    # Bookings made before the timers existed have no waiting_since: the request began the wait.
    return booking.waiting_since or booking.created_at


def request_deadline(booking: Booking) -> datetime:
    """When this request expires if nobody answers it (shown on the booking pages)."""
    settings = _settings()
    if booking.state == S.AWAITING_APPROVAL.value:
        return waits.approval_times(_waiting_since(booking), _first_start(booking),
                                    settings).expires_at
    return waits.request_deadline(_waiting_since(booking), _first_start(booking), settings)


def similar_listings(booking: Booking, limit: int) -> list[Listing]:
    """Live listings in the same category from other providers, taking the holder's kind of
    budget: those covering the holder's postcode district first, then nearest in price (ties by
    id, so the offer is the same on every run)."""
    query = select(Listing).where(
        Listing.is_live.is_(True),
        Listing.category == booking.listing.category,
        Listing.profile_id != booking.provider_profile_id,
    ).order_by(func.abs(Listing.price_pence - booking.listing.price_pence), Listing.id)
    district = getattr(booking.holder, "home_district", None)
    candidates = [listing for listing in db.session.scalars(query.limit(limit * 10))
                  if not booking.funding_mode or booking.funding_mode in (listing.funding_modes or [])]
    if district:
        # A stable sort keeps the price order within each group.
        candidates.sort(key=lambda listing: district not in listing.profile.district_codes)
    return candidates[:limit]


def expired_alternatives(booking: Booking) -> list[Listing]:
    """The similar listings offered when this request expired, those still live, in order."""
    ids = booking.alternatives_offered or []
    if booking.state != S.EXPIRED.value or not ids:
        return []
    found = {listing.id: listing for listing in db.session.scalars(
        select(Listing).where(Listing.id.in_(ids), Listing.is_live.is_(True)))}
    return [found[i] for i in ids if i in found]


def _expire(booking: Booking, now: datetime) -> None:
    """Expire a request nobody answered: free the slot, offer alternatives, tell both sides."""
    waited_for = "broker" if booking.state == S.AWAITING_APPROVAL.value else "provider"
    rules.move(booking, Event.EXPIRE, ActorKind.SYSTEM)
    booking.expired_at = now
    for s in booking.sessions:
        if s.state in (S.REQUESTED, S.AWAITING_APPROVAL):
            rules.move(s, Event.EXPIRE, ActorKind.SYSTEM)  # no longer blocks the provider's time
    if booking.kind == "pooled":
        booking.pool_decided_at = now  # the pool never runs; shares are released below
    offered = similar_listings(booking, _settings().expiry_alternatives)
    booking.alternatives_offered = [listing.id for listing in offered]
    audit.record(None, "booking.expired", "booking", booking.id, on_behalf_of=booking.holder,
                 details={"waited_for": waited_for, "waiting_since": _waiting_since(
                     booking).isoformat(), "alternatives_offered": booking.alternatives_offered}, at=now)
    starts = _first_start(booking)
    # The holder who asked, and anyone who joined the group session, with those acting for them.
    people = [booking.holder] + [p.holder for p in booking.participants
                                 if p.holder_id != booking.holder_id and p.state != "released"]
    for person in people:
        notify.send(Notice.BOOKING_EXPIRED, person, about_holder=person, link=_link(booking),
                    context={"provider": booking.provider_profile.user, "starts": starts})
    if waited_for == "provider":
        notify.send(Notice.REQUEST_EXPIRED_PROVIDER, booking.provider_profile.user,
                    link=_link(booking, "provider"),
                    context={"client": booking.holder, "starts": starts})


def _council_admins() -> list[User]:
    return list(db.session.scalars(select(User).where(
        User.role == Role.COUNCIL_ADMIN.value, User.active.is_(True)).order_by(User.id)))


def _step_request(booking_id: int, now: datetime, report: TimerReport) -> None:
    booking = _claim_booking(booking_id)
    if booking is None or booking.state != S.REQUESTED.value:
        return  # another run has it, or it was answered meanwhile
    settings = _settings()
    since = _waiting_since(booking)
    deadline = waits.request_deadline(since, _first_start(booking), settings)
    step = waits.request_step(now, since, deadline, booking.provider_reminded_at is not None,
                              settings)
    if step is Step.EXPIRE:
        _expire(booking, now)
        report.expired += 1
    elif step is Step.REMIND_PROVIDER:
        booking.provider_reminded_at = now
        notify.send(Notice.REQUEST_EXPIRES_SOON, booking.provider_profile.user,
                    link=_link(booking, "provider"),
                    context={"client": booking.holder, "starts": _first_start(booking),
                             "deadline": deadline})
        report.providers_reminded += 1
    db.session.commit()


def _step_approval(booking_id: int, now: datetime, report: TimerReport) -> None:
    booking = _claim_booking(booking_id)
    if booking is None or booking.state != S.AWAITING_APPROVAL.value:
        return
    settings = _settings()
    since = _waiting_since(booking)
    first = _first_start(booking)
    step = waits.approval_step(now, since, first, booking.brokers_reminded_at is not None,
                               booking.escalated_at is not None, settings)
    deadline = waits.approval_times(since, first, settings).expires_at
    context = {"client": booking.holder, "since": since, "deadline": deadline}
    if step is Step.EXPIRE:
        _expire(booking, now)
        report.expired += 1
    elif step is Step.REMIND_BROKERS:
        booking.brokers_reminded_at = now
        for broker in _brokers():
            notify.send(Notice.APPROVAL_WAITING, broker, link=_link(booking, "broker"),
                        context=context)
        report.brokers_reminded += 1
    elif step is Step.ESCALATE:
        booking.escalated_at = now
        audit.record(None, "booking.approval_escalated", "booking", booking.id,
                     on_behalf_of=booking.holder, details={"waiting_since": since.isoformat()}, at=now)
        for admin in _council_admins():
            notify.send(Notice.APPROVAL_ESCALATED, admin, link=_link(booking, "broker"),
                        context=context)
        report.escalated += 1
    db.session.commit()


def _visit_reminder(session_id: int, now: datetime, report: TimerReport) -> None:
    s = _claim_session(session_id)
    if (s is None or s.state != S.FUNDS_HELD.value or s.visit_reminder_sent_at is not None
            or not waits.visit_reminder_due(now, s.start_at, _settings())):
        return
    booking = s.booking
    s.visit_reminder_sent_at = now
    # Everyone in a group session is reminded, each with the people who act for them.
    people = [booking.holder] + [p.holder for p in booking.participants
                                 if p.holder_id != booking.holder_id and p.state != "released"]
    for person in people:
        notify.send(Notice.VISIT_REMINDER, person, about_holder=person, link=_link(booking),
                    context={"provider": booking.provider_profile.user, "starts": s.start_at})
    notify.send(Notice.VISIT_REMINDER_PROVIDER, booking.provider_profile.user,
                link=_link(booking, "provider"),
                context={"client": booking.holder, "starts": s.start_at})
    report.visit_reminders += 1
    db.session.commit()


def _record_reminder(session_id: int, now: datetime, report: TimerReport) -> None:
    s = _claim_session(session_id)
    if (s is None or s.state != S.FUNDS_HELD.value or s.record_reminder_sent_at is not None
            or not waits.record_reminder_due(now, s.end_at, _settings())):
        return
    booking = s.booking
    s.record_reminder_sent_at = now
    notify.send(Notice.HOURS_TO_RECORD, booking.provider_profile.user,
                link=_link(booking, "provider"),
                context={"client": booking.holder, "starts": s.start_at})
    report.record_reminders += 1
    db.session.commit()


def _release_expired_pools(report: TimerReport) -> None:
    """Release the shares still held for expired pooled bookings (idempotent ledger keys)."""
    ids = db.session.scalars(select(Booking.id).join(PoolParticipant).where(
        Booking.kind == "pooled", Booking.state == S.EXPIRED.value,
        PoolParticipant.state == "joined").distinct()).all()
    for booking_id in ids:
        try:
            # The ledger adds to this transaction (issue 13): lock, release, commit once.
            _release_pool(_lock_booking(booking_id), None)
            transaction.commit()
            card_steps.run(booking_id=booking_id)  # and the shares' card authorisations
        except DomainError as err:
            db.session.rollback()
            report.errors.append(f"booking {booking_id}: {err.message}")


def _each(ids, work: Callable[[int], None], what: str, report: TimerReport) -> None:
    for item_id in ids:
        try:
            work(item_id)
        except DomainError as err:
            db.session.rollback()
            report.errors.append(f"{what} {item_id}: {err.message}")


def run_timers(now: datetime | None = None) -> TimerReport:
    """Expire unanswered requests, remind and escalate, remind before visits and to record.

    Candidates are read first (cheap, unlocked), then each is claimed and re-checked under its
    own lock, so a concurrent run or a provider answering meanwhile is respected.
    """
    now = waits.utc(now or clock.now())
    settings = _settings()
    report = TimerReport()
    requested = db.session.scalars(select(Booking.id).where(
        Booking.state == S.REQUESTED.value).order_by(Booking.id)).all()
    _each(requested, lambda i: _step_request(i, now, report), "booking", report)
    waiting = db.session.scalars(select(Booking.id).where(
        Booking.state == S.AWAITING_APPROVAL.value).order_by(Booking.id)).all()
    _each(waiting, lambda i: _step_approval(i, now, report), "booking", report)
    _release_expired_pools(report)
    soon = waits.after_real_hours(now, settings.visit_reminder_hours)
    visits = db.session.scalars(select(BookingSession.id).where(
        BookingSession.state == S.FUNDS_HELD.value,
        BookingSession.visit_reminder_sent_at.is_(None),
        BookingSession.start_at > now, BookingSession.start_at <= soon,
    ).order_by(BookingSession.start_at)).all()
    _each(visits, lambda i: _visit_reminder(i, now, report), "session", report)
    ended_before = waits.after_real_hours(now, -settings.record_reminder_hours)
    unrecorded = db.session.scalars(select(BookingSession.id).where(
        BookingSession.state == S.FUNDS_HELD.value,
        BookingSession.record_reminder_sent_at.is_(None),
        BookingSession.end_at <= ended_before,
    ).order_by(BookingSession.end_at)).all()
    _each(unrecorded, lambda i: _record_reminder(i, now, report), "session", report)
    for name, step in LAPSE_STEPS.items():
        try:
            report.lapsed[name] = step(now)
        except DomainError as err:
            db.session.rollback()
            report.errors.append(f"{name}: {err.message}")
    return report
