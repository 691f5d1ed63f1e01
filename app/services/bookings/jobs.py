"""The scheduled job: automatic-confirmation notices and confirmations, and pool decisions at their deadline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from app.domain import bookings as rules
from app.domain.bookings import ActorKind, Event
from app.domain.notifications import Event as Notice
from app.errors import (
    DomainError,
)
from app.extensions import db
from app.models import (
    Booking,
    BookingSession,
)
from app.services import card_steps, notify, transaction
from app.services.bookings._common import (
    S,
    _link,
    _lock_session,
    _now,
    _settings,
    needs_cosign,
)
from app.services.bookings.delivery import _settle
from app.services.bookings.pools import decide_pool


@dataclass
class JobReport:
    notices_sent: int = 0
    auto_confirmed: int = 0
    pools_run: int = 0
    pools_released: int = 0
    errors: list[str] = field(default_factory=list)


def run_due(now: datetime | None = None) -> JobReport:
    """`carefair bookings auto-confirm`: notices, automatic confirmations and pool decisions.

    Each session and each pool is its own use case (locked, re-checked, one commit), so a
    holder confirming or disputing at the same moment either wins or finds it already done.
    """
    now = now or _now()
    report = JobReport()
    delivered = list(
        db.session.scalars(
            select(BookingSession.id)
            .where(BookingSession.state == S.DELIVERED.value)
            .order_by(BookingSession.id)
        )
    )
    for session_id in delivered:
        try:
            noticed, confirmed = _auto_confirm_step(session_id, now)
        except DomainError as err:
            report.errors.append(f"session {session_id}: {err.message}")
            continue
        report.notices_sent += noticed
        report.auto_confirmed += confirmed
    card_steps.run()  # the captures the confirmations recorded
    pools = list(
        db.session.scalars(
            select(Booking.id).where(
                Booking.kind == "pooled",
                Booking.pool_decided_at.is_(None),
                Booking.join_deadline <= now,
                Booking.state.not_in([S.CANCELLED.value, S.DECLINED.value, S.NOT_APPROVED.value]),
            )
        )
    )
    for booking_id in pools:
        outcome = decide_pool(booking_id, now=now)
        if outcome is True:
            report.pools_run += 1
        elif outcome is False:
            report.pools_released += 1
    return report


@transaction.use_case
def _auto_confirm_step(session_id: int, now: datetime) -> tuple[bool, bool]:
    """One delivered session: the notice before automatic confirmation, and the confirmation
    when it is due. (notice sent, confirmed); one commit, or none when nothing is due."""
    s = _lock_session(session_id)
    if s.state != S.DELIVERED.value:
        db.session.rollback()  # confirmed or disputed a moment ago
        return False, False
    settings = _settings()
    holder = s.booking.holder
    # record_delivery sets delivered_at as the session becomes delivered; nothing clears it.
    assert s.delivered_at is not None
    cosign = needs_cosign(s.booking)
    plan = rules.confirmation_plan(s.delivered_at, cosign, settings)
    if plan.auto_confirm_at is None or plan.notice_at is None:  # both None, or neither
        db.session.rollback()
        return False, False
    noticed = confirmed = False
    if s.auto_confirm_notice_at is None and now >= plan.notice_at:
        s.auto_confirm_notice_at = now
        notify.send(
            Notice.HOURS_AUTO_CONFIRM_SOON,
            holder,
            about_holder=holder,
            link=_link(s.booking),
            context={
                "provider": s.booking.provider_profile.user,
                "deadline": plan.auto_confirm_at,
            },
        )
        noticed = True
    if rules.may_auto_confirm(
        now, s.delivered_at, cosign, s.auto_confirm_notice_at is not None, settings
    ):
        _settle(s, s.price_pence, None, event=Event.AUTO_CONFIRM, kind=ActorKind.SYSTEM)
        confirmed = True
    if noticed or confirmed:
        transaction.commit()
    else:
        db.session.rollback()
    return noticed, confirmed
