"""Regular support funded as money arrives, on the database: a weekly series holds only the four
weeks in the funded period; the daily job holds the next sessions across an instalment date, tells
the holder's side and brokers early when one cannot be funded, and calls one off a day before."""

from datetime import time, timedelta

import pytest
from sqlalchemy import func, select

from app import clock
from app.domain.access import Role
from app.domain.bookings import WeeklyPattern
from app.domain.ledger import Account
from app.domain.notifications import Event as Notice
from app.models import Notification
from app.services import bookings, budgets, ledger, ledger_check
from app.services.bookings import horizon
from tests.booking_helpers import at, holder_with_budget, live_listing, next_weekday
from tests.ledger_helpers import key

pytestmark = pytest.mark.database

MONDAY = next_weekday(0)
SUNDAY_BEFORE = at(MONDAY - timedelta(days=1), 12)
PRICE = 3300  # two hours at £16.50


@pytest.fixture(autouse=True)
def _clock():
    clock.travel_to(SUNDAY_BEFORE)
    yield
    clock.travel_to(None)


def _inbox(user, event):
    from app.extensions import db

    return db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.event == event.value)) or 0


def _series(make_user, *, funded, weeks=12):
    broker = make_user(Role.BROKER)
    admin = make_user(Role.COUNCIL_ADMIN)
    provider, listing = live_listing(make_user, broker)
    holder, budget = holder_with_budget(make_user, funded=funded)
    pattern = WeeklyPattern(frozenset({0}), time(10), 120, MONDAY, count=weeks)
    booking = bookings.request_booking(holder, holder, bookings.BookingInput(
        listing.id, kind="recurring", pattern=pattern))
    booking = bookings.accept(provider, booking.id)
    return dict(broker=broker, admin=admin, provider=provider, holder=holder, budget=budget,
                booking=booking)


def _states(booking):
    from app.extensions import db

    db.session.expire_all()
    return [s.state for s in bookings.get_booking(booking.id).sessions]


def test_a_weekly_series_holds_only_the_sessions_in_the_funded_period(app_ctx, make_user):
    # £200 would not hold twelve weeks (£396) but holds the four in the horizon.
    w = _series(make_user, funded=20_000)
    assert w["booking"].state == "funds_held"
    assert _states(w["booking"]) == ["funds_held"] * 4 + ["accepted"] * 8
    assert ledger.balances(w["budget"].id)[Account.HELD] == 4 * PRICE
    assert w["booking"].total_pence == 12 * PRICE  # the whole series is still agreed


def test_the_daily_job_holds_the_next_session_when_the_instalment_arrives(app_ctx, make_user):
    w = _series(make_user, funded=14_000)  # four sessions and £8 over
    # A week on, week five enters the horizon: not enough money, so everyone is told early.
    report = horizon.hold_ahead(SUNDAY_BEFORE + timedelta(days=7))
    assert (report.held, report.short, report.called_off) == (0, 1, 0)
    assert _inbox(w["holder"], Notice.FUNDING_SHORT) == 1
    assert _inbox(w["broker"], Notice.FUNDING_SHORT_BROKER) == 1
    again = horizon.hold_ahead(SUNDAY_BEFORE + timedelta(days=7, hours=1))
    assert again.short == 1 and _inbox(w["holder"], Notice.FUNDING_SHORT) == 1  # told once
    # The instalment arrives; the next daily run holds week five (and nothing twice).
    budgets.record_instalment(w["budget"].id, 50_000, idempotency_key=key("inst"), actor=w["admin"])
    report = horizon.hold_ahead(SUNDAY_BEFORE + timedelta(days=7, hours=2))
    assert report.held == 1
    assert _states(w["booking"])[:6] == ["funds_held"] * 5 + ["accepted"]
    assert ledger.balances(w["budget"].id)[Account.HELD] == 5 * PRICE
    assert horizon.hold_ahead(SUNDAY_BEFORE + timedelta(days=7, hours=3)).held == 0
    # Another week: week six in turn.
    assert horizon.hold_ahead(SUNDAY_BEFORE + timedelta(days=14)).held == 1
    assert ledger_check.rules.check(ledger_check.facts()).ok  # the ledger and bookings agree


def test_a_session_that_cannot_be_funded_is_called_off_a_day_before(app_ctx, make_user):
    w = _series(make_user, funded=14_000)
    week_five = bookings.get_booking(w["booking"].id).sessions[4]
    horizon.hold_ahead(SUNDAY_BEFORE + timedelta(days=7))
    # Three days before it is still only short; the run the day before calls it off.
    assert horizon.hold_ahead(week_five.start_at - timedelta(days=3)).called_off == 0
    report = horizon.hold_ahead(week_five.start_at - timedelta(hours=30))
    assert report.called_off == 1
    states = _states(w["booking"])
    assert states[4] == "cancelled" and states[:4] == ["funds_held"] * 4
    assert bookings.get_booking(w["booking"].id).state == "funds_held"  # the series goes on
    assert _inbox(w["holder"], Notice.SESSION_CALLED_OFF) == 1
    assert _inbox(w["provider"], Notice.SESSION_CALLED_OFF_PROVIDER) == 1
    assert ledger.balances(w["budget"].id)[Account.SPENT] == 0  # nothing charged
    assert ledger_check.rules.check(ledger_check.facts()).ok


def test_a_cancelled_series_leaves_nothing_for_the_daily_job(app_ctx, make_user):
    w = _series(make_user, funded=20_000)
    bookings.cancel_booking(w["holder"], w["holder"], w["booking"].id)
    assert set(_states(w["booking"])) == {"cancelled"}
    assert ledger.balances(w["budget"].id)[Account.HELD] == 0
    assert horizon.hold_ahead(SUNDAY_BEFORE + timedelta(days=7)) == horizon.HoldAheadReport()


def test_the_cli_runs_the_daily_job(app_ctx, make_user, app):
    _series(make_user, funded=20_000)
    result = app.test_cli_runner().invoke(args=["funding", "hold-ahead"])
    assert "Sessions held: 0." in result.output


def test_under_an_agreement_each_session_is_held_at_the_rate_in_force_on_its_day(app_ctx, make_user):
    from dataclasses import replace

    from app.services import agreements

    w = _series(make_user, funded=100_000)
    agreement = agreements.offer(w["provider"], w["booking"].id,
                                 agreements.suggested_terms(w["booking"]))
    agreements.accept(w["holder"], w["holder"], agreement.id)
    # A rise to £18.00 an hour: the council's 28 days' notice runs from today.
    rise = replace(agreements.terms_of(agreement.versions[0]), rate_pence=1800)
    version = agreements.offer_new_version(w["provider"], agreement.id, rise)
    assert version.effective_from == SUNDAY_BEFORE + timedelta(days=28)
    horizon.hold_ahead(SUNDAY_BEFORE + timedelta(days=7))
    sessions = bookings.get_booking(w["booking"].id).sessions
    # Weeks one to four were held at the old rate; week five starts after the notice ran out.
    assert [s.price_pence for s in sessions[:5]] == [PRICE] * 4 + [3600]
    assert sessions[4].state == "funds_held"
    assert ledger.balances(w["budget"].id)[Account.HELD] == 4 * PRICE + 3600
    assert bookings.get_booking(w["booking"].id).total_pence == 12 * PRICE + 300
