"""PostgreSQL: two runs of the timed-exits job at once expire, remind and tell people exactly once."""

import pytest
from sqlalchemy import func, select

from app import clock
from app.extensions import db
from app.models import AuditEvent, Booking, Notification, User
from app.services import bookings
from tests.booking_helpers import holder_with_budget, live_listing, next_weekday, one_off
from tests.integration.test_booking_races import _make_user, _race, race_app  # noqa: F401

pytestmark = [pytest.mark.database, pytest.mark.postgres_only]


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_two_runs_at_once_expire_and_remind_once(race_app):  # noqa: F811
    from datetime import timedelta

    with race_app.app_context():
        made = clock.now()
        ids = []
        for weeks in (1, 2):
            provider, listing = live_listing(_make_user)
            holder, _ = holder_with_budget(_make_user)
            for day_offset in range(3):
                booking = bookings.request_booking(
                    holder, holder,
                    one_off(listing, day=next_weekday(day_offset, weeks_ahead=weeks)), now=made)
                ids.append(booking.id)
        # Half are reminded first (48 hours), then everything expires (72 hours).
        user_ids = [u for (u,) in db.session.execute(select(User.id))]

    def run(at_hours):
        def go():
            report = bookings.run_timers(made + timedelta(hours=at_hours))
            return (report.providers_reminded, report.expired, tuple(report.errors))
        return go

    reminded = _race(race_app, [run(48), run(48)])
    assert sum(r[0] for r in reminded) == len(ids), reminded
    assert all(r[2] == () for r in reminded)
    expired = _race(race_app, [run(72), run(72)])
    assert sum(r[1] for r in expired) == len(ids), expired
    with race_app.app_context():
        assert _count(Booking, Booking.id.in_(ids), Booking.state == "expired") == len(ids)
        new_users = Notification.user_id.in_(user_ids)
        assert _count(Notification, new_users, Notification.event == "request_expires_soon") \
            == len(ids)
        assert _count(Notification, new_users, Notification.event == "booking_expired") == len(ids)
        assert _count(AuditEvent, AuditEvent.action == "booking.expired",
                      AuditEvent.subject_id.in_([str(i) for i in ids])) == len(ids)
