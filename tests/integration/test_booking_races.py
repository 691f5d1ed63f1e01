"""PostgreSQL races: two requests for one provider slot, two bookings for the last of a budget."""

import os
import threading

import pytest
from sqlalchemy import create_engine, inspect, text

from app.domain.access import Role
from app.domain.ledger import Account
from app.errors import Conflict
from app.extensions import db
from app.models import Booking, User
from app.services import bookings, ledger
from tests.booking_helpers import holder_with_budget, live_listing, next_weekday, one_off
from tests.factories import UserFactory

pytestmark = [pytest.mark.database, pytest.mark.postgres_only]


@pytest.fixture
def race_app(app, tmp_path):
    """A second app on the same database whose sessions really commit (no rolled-back test
    transaction); every row the test writes is deleted afterwards by id high-water mark."""
    from app import create_app
    from app.config import Config

    racing = create_app(
        Config.from_env(
            "test",
            SQLALCHEMY_DATABASE_URI=os.environ["TEST_DATABASE_URL"],
            INSTANCE_DIR=str(tmp_path),
            MAIL_OUTBOX_DIR=str(tmp_path / "outbox"),
            SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 6},
        )
    )
    engine = create_engine(os.environ["TEST_DATABASE_URL"])
    tables = [
        t
        for t in inspect(engine).get_table_names()
        if any(c["name"] == "id" for c in inspect(engine).get_columns(t))
    ]
    with engine.connect() as conn:
        marks = {
            t: conn.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {t}")).scalar() for t in tables
        }
    try:
        yield racing
    finally:
        with racing.app_context():
            db.engine.dispose()
        with engine.begin() as conn:
            conn.execute(
                text("SET LOCAL session_replication_role = replica")
            )  # past append-only guards
            conn.execute(
                text("DELETE FROM search_documents WHERE listing_id > :m"), {"m": marks["listings"]}
            )
            for table, mark in marks.items():
                conn.execute(text(f"DELETE FROM {table} WHERE id > :m"), {"m": mark})
        engine.dispose()


def _race(app, attempts):
    """Run each callable on its own thread and connection, released together."""
    barrier = threading.Barrier(len(attempts))
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(fn):
        with app.app_context():
            barrier.wait()
            try:
                result = fn()
            except Conflict as err:
                result = f"refused: {err.message}"
            finally:
                db.session.remove()
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=run, args=(fn,)) for fn in attempts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def _make_user(role: Role, **fields):
    return UserFactory(role=role.value, **fields)


def test_two_requests_racing_for_one_slot_exactly_one_wins(race_app):
    with race_app.app_context():
        _, listing = live_listing(_make_user)
        a, _ = holder_with_budget(_make_user)
        b, _ = holder_with_budget(_make_user)
        ids = (listing.id, a.id, b.id)
    day = next_weekday(1)

    def request(holder_id):
        def go():
            holder = db.session.get(User, holder_id)
            booking = bookings.request_booking(holder, holder, one_off(_Listing(ids[0]), day=day))
            return f"booked {booking.id}"

        return go

    outcomes = _race(race_app, [request(ids[1]), request(ids[2])])
    assert sorted(o.split()[0] for o in outcomes) == ["booked", "refused:"], outcomes
    with race_app.app_context():
        live = db.session.query(Booking).filter(Booking.listing_id == ids[0]).count()
    assert live == 1


def test_two_bookings_racing_for_the_last_of_a_budget_only_one_is_funded(race_app):
    with race_app.app_context():
        provider_a, listing_a = live_listing(_make_user)
        provider_b, listing_b = live_listing(_make_user)
        holder, budget = holder_with_budget(_make_user, funded=5000)  # enough for one £33 session
        first = bookings.request_booking(holder, holder, one_off(listing_a))
        second = bookings.request_booking(holder, holder, one_off(listing_b))
        ids = (provider_a.id, provider_b.id, first.id, second.id, budget.id)

    def accept(provider_id, booking_id):
        def go():
            booking = bookings.accept(db.session.get(User, provider_id), booking_id)
            return booking.state

        return go

    outcomes = _race(race_app, [accept(ids[0], ids[2]), accept(ids[1], ids[3])])
    assert sorted(outcomes) == ["funds_held", "payment_failed"], outcomes
    with race_app.app_context():
        balances = ledger.balances(ids[4])
        assert balances[Account.HELD] == 3300 and balances[Account.AVAILABLE] == 1700


class _Listing:
    """Just an id, so the racing threads never touch another session's objects."""

    def __init__(self, listing_id):
        self.id = listing_id


def test_database_itself_refuses_overlapping_sessions_for_one_provider(
    app_ctx, make_user, db_session
):
    from sqlalchemy.exc import IntegrityError

    provider, listing = live_listing(make_user)
    holder, _ = holder_with_budget(make_user)
    booking = bookings.request_booking(holder, holder, one_off(listing, start=10, end=12))
    s = booking.sessions[0]
    with pytest.raises(IntegrityError, match="no_double_booking"), db_session.begin_nested():
        db_session.execute(
            text(
                "INSERT INTO booking_sessions (booking_id, provider_profile_id, start_at, end_at, state, "
                "price_pence) VALUES (:b, :p, :s, :e, 'requested', 0)"
            ),
            {"b": booking.id, "p": listing.profile_id, "s": s.start_at, "e": s.end_at},
        )
    # A cancelled session no longer reserves the time.
    db_session.execute(
        text(
            "INSERT INTO booking_sessions (booking_id, provider_profile_id, start_at, end_at, state, "
            "price_pence) VALUES (:b, :p, :s, :e, 'cancelled', 0)"
        ),
        {"b": booking.id, "p": listing.profile_id, "s": s.start_at, "e": s.end_at},
    )
