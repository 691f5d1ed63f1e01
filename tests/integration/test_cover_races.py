"""PostgreSQL race: the holder and the person acting for them accept cover at the same moment,
each choosing a different provider; exactly one booking is made and one hold written."""

import threading
from datetime import timedelta

import pytest

from app import clock
from app.domain.access import DelegateKind, Role
from app.domain.ledger import Account
from app.errors import Conflict
from app.extensions import db
from app.models import Booking, User
from app.services import bookings, cover, ledger
from tests.booking_helpers import at, holder_with_budget, live_listing, next_weekday
from tests.factories import UserFactory
from tests.messaging_helpers import delegate
from tests.race_support import Marks, committed_app

pytestmark = [pytest.mark.database, pytest.mark.postgres_only]


@pytest.fixture
def race_app(app, tmp_path):
    marks = Marks()
    racing = committed_app(tmp_path, pool_size=6)
    try:
        yield racing
    finally:
        clock.travel_to(None)
        with racing.app_context():
            db.engine.dispose()
        marks.rewind()
        marks.close()


def _make_user(role: Role, **fields):
    return UserFactory(role=role.value, **fields)


def test_two_people_accepting_cover_at_once_make_one_booking(race_app):
    day = next_weekday(1)
    clock.travel_to(at(day - timedelta(days=1), 12))
    with race_app.app_context():
        broker = _make_user(Role.BROKER)
        main, listing = live_listing(_make_user, broker)
        first, first_listing = live_listing(_make_user, broker)
        second, second_listing = live_listing(_make_user, broker)
        holder, budget = holder_with_budget(_make_user)
        helper = delegate(_make_user, holder, DelegateKind.NOMINATED)
        booking = bookings.request_booking(holder, holder, bookings.BookingInput(
            listing_id=listing.id, start=at(day, 10), end=at(day, 12),
            backup_listing_ids=(first_listing.id, second_listing.id)))
        bookings.accept(main, booking.id)
        bookings.cancel_booking(main, None, booking.id)
        [request] = cover.of_holder(holder, holder)
        offers = [cover.answer(p, request.id, can_cover=True).id for p in (first, second)]
        ids = dict(holder=holder.id, helper=helper.id, cover=request.id, budget=budget.id,
                   booking=booking.id)

    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    lock = threading.Lock()

    def accept(actor_id: int, offer_id: int):
        with race_app.app_context():
            actor = db.session.get(User, actor_id)
            holder_row = db.session.get(User, ids["holder"])
            barrier.wait()
            try:
                made = cover.accept(actor, holder_row, ids["cover"], offer_id)
                result = f"booked {made.state}"
            except Conflict as err:
                result = f"refused: {err.message}"
            finally:
                db.session.remove()
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=accept, args=(ids["holder"], offers[0])),
               threading.Thread(target=accept, args=(ids["helper"], offers[1]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["booked funds_held", "refused: This session is already covered."], outcomes
    with race_app.app_context():
        made = db.session.query(Booking).filter(Booking.holder_id == ids["holder"],
                                                Booking.id != ids["booking"]).all()
        assert len(made) == 1 and made[0].state == "funds_held"
        balances = ledger.balances(ids["budget"])
        assert balances[Account.HELD] == made[0].total_pence
