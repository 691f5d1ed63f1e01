"""PostgreSQL races issue 13 reproduced through the services, with real commits: two people act
on one booking or session at the same moment, and the money and the booking still agree."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.domain.access import Role
from app.domain.ledger import Account
from app.errors import DomainError
from app.extensions import db
from app.models import Booking, BookingSession, HolderPause, User
from app.services import bookings, ledger
from tests.booking_helpers import holder_with_budget, live_listing, next_weekday, one_off
from tests.factories import UserFactory
from tests.integration import test_booking_races as _races

pytestmark = [pytest.mark.database, pytest.mark.postgres_only]

race_app = _races.race_app  # the fixture: a second app whose sessions really commit
_Listing = _races._Listing

ROUNDS = 4


def _make_user(role: Role, **fields):
    return UserFactory(role=role.value, **fields)


def _race(app, attempts):
    """Each callable on its own thread and connection, released together; what each returned,
    or 'refused' for a DomainError (the use case rolled back)."""
    import threading

    barrier = threading.Barrier(len(attempts))
    outcomes: dict[int, str] = {}

    def run(n, fn):
        with app.app_context():
            barrier.wait()
            try:
                outcomes[n] = fn()
            except DomainError:
                outcomes[n] = "refused"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(n, fn)) for n, fn in enumerate(attempts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [outcomes[n] for n in range(len(attempts))]


def test_accept_racing_a_holders_cancel_never_leaves_a_hold_behind(race_app):
    """Before: both succeeded, the booking ended cancelled and a hold stayed for good."""
    with race_app.app_context():
        provider, listing = live_listing(_make_user)
        holder, budget = holder_with_budget(_make_user)
        ids = (provider.id, holder.id, budget.id, listing.id)
    for n in range(ROUNDS):
        with race_app.app_context():
            holder = db.session.get(User, ids[1])
            booking = bookings.request_booking(
                holder, holder, one_off(_Listing(ids[3]), day=next_weekday(n % 5, 2 + n)))
            booking_id = booking.id

        def accept(booking_id=booking_id):
            return bookings.accept(db.session.get(User, ids[0]), booking_id).state

        def cancel(booking_id=booking_id):
            holder = db.session.get(User, ids[1])
            return bookings.cancel_booking(holder, holder, booking_id).state

        _race(race_app, [accept, cancel])
        with race_app.app_context():
            state = db.session.get(Booking, booking_id).state
            held = ledger.balances(ids[2])[Account.HELD]
            assert state == "cancelled", state  # cancel wins whichever went first
            assert held == 0, f"round {n}: a hold of {held} was left on a cancelled booking"


def test_confirm_racing_a_dispute_exactly_one_wins_and_the_money_follows(race_app):
    """Before: the session ended disputed but the money had already been captured."""
    with race_app.app_context():
        provider, listing = live_listing(_make_user)
        holder, budget = holder_with_budget(_make_user)
        ids = (provider.id, holder.id, budget.id, listing.id)
    for n in range(ROUNDS):
        with race_app.app_context():
            holder = db.session.get(User, ids[1])
            provider = db.session.get(User, ids[0])
            booking = bookings.request_booking(
                holder, holder, one_off(_Listing(ids[3]), day=next_weekday(n % 5, 2 + n)))
            booking = bookings.accept(provider, booking.id)
            s = booking.sessions[0]
            bookings.record_delivery(provider, s.id, actual_start=s.start_at,
                                     actual_end=s.end_at, now=s.end_at + timedelta(hours=1))
            session_id = s.id
            before = ledger.balances(ids[2])

        def confirm(session_id=session_id):
            holder = db.session.get(User, ids[1])
            return bookings.confirm_session(holder, holder, session_id).state

        def dispute(session_id=session_id):
            holder = db.session.get(User, ids[1])
            return bookings.dispute_session(holder, holder, session_id, reason="Too short").state

        outcomes = _race(race_app, [confirm, dispute])
        assert sorted(outcomes) in (["refused", "settled"], ["disputed", "refused"]), outcomes
        with race_app.app_context():
            state = db.session.get(BookingSession, session_id).state
            after = ledger.balances(ids[2])
            spent = after[Account.SPENT] - before[Account.SPENT]
            released = before[Account.HELD] - after[Account.HELD]
            if state == "disputed":
                assert (spent, released) == (0, 0)  # nothing paid: the broker decides
            else:
                assert (state, spent, released) == ("settled", 3300, 3300)


def test_two_pauses_at_once_make_one_pause(race_app):
    with race_app.app_context():
        provider, listing = live_listing(_make_user)
        holder, budget = holder_with_budget(_make_user)
        booking = bookings.accept(provider, bookings.request_booking(
            holder, holder, one_off(listing)).id)
        ids = (holder.id, budget.id, booking.id)

    def pause():
        holder = db.session.get(User, ids[0])
        return bookings.pause(holder, holder, reason="In hospital").reason

    outcomes = _race(race_app, [pause, pause])
    assert sorted(outcomes) == ["In hospital", "refused"], outcomes
    with race_app.app_context():
        pauses = db.session.scalars(select(HolderPause).where(HolderPause.holder_id == ids[0]))
        assert len(pauses.all()) == 1
        assert db.session.get(Booking, ids[2]).state == "paused"
        assert ledger.balances(ids[1])[Account.HELD] == 0


def test_a_request_racing_a_pause_is_paused_or_refused(race_app):
    """Before: the new request stayed live and was funded while the holder was paused."""
    with race_app.app_context():
        provider, listing = live_listing(_make_user)
        holder, budget = holder_with_budget(_make_user)
        ids = (holder.id, listing.id)

    def request():
        holder = db.session.get(User, ids[0])
        return bookings.request_booking(holder, holder, one_off(_Listing(ids[1]))).state

    def pause():
        holder = db.session.get(User, ids[0])
        bookings.pause(holder, holder, reason="In hospital")
        return "paused"

    _race(race_app, [request, pause])
    with race_app.app_context():
        states = set(db.session.scalars(select(Booking.state).where(Booking.holder_id == ids[0])))
        assert states <= {"paused"}, states  # refused (nothing) or covered by the pause
