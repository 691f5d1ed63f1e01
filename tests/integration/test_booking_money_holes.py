"""The booking holes issue 13 reproduced, closed: a refused pause changes nothing, a pause covers
waiting requests and stops new ones, a restricted provider cannot accept, hours not yet worked
cannot be recorded, and a refusal inside a use case leaves nothing half-written."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import clock
from app.domain.access import Role
from app.domain.bookings import IllegalTransition
from app.domain.flags import Effects
from app.domain.ledger import Account
from app.errors import Conflict, DomainError, InvalidInput, NotPermitted
from app.extensions import db
from app.models import Booking, BookingSession, HolderPause, Notification
from app.services import bookings, ledger, restrictions
from tests.booking_helpers import holder_with_budget, live_listing, one_off

pytestmark = pytest.mark.database


@pytest.fixture
def world(app_ctx, make_user):
    provider, listing = live_listing(make_user)
    holder, budget = holder_with_budget(make_user)
    return provider, listing, holder, budget


def _held(budget) -> int:
    return ledger.balances(budget.id)[Account.HELD]


def test_a_pause_the_database_cannot_store_changes_nothing(world):
    provider, listing, holder, budget = world
    booking = bookings.accept(provider, bookings.request_booking(holder, holder, one_off(listing)).id)
    assert _held(budget) == 3300

    # Before: a NUL byte in the reason was a 500 after every hold had been released, with the
    # bookings still marked funded and no pause recorded.
    with pytest.raises(InvalidInput) as refused:
        bookings.pause(holder, holder, reason="In hospital\x00 since Monday")
    assert refused.value.field == "reason"

    assert _held(budget) == 3300
    assert db.session.get(Booking, booking.id).state == "funds_held"
    assert db.session.get(BookingSession, booking.sessions[0].id).hold_id is not None
    assert bookings.current_pause(holder.id) is None
    assert db.session.scalar(select(func.count()).select_from(HolderPause)) == 0


def test_a_pause_covers_requests_still_waiting_and_resume_sends_them_back(world, db_session):
    provider, listing, holder, budget = world
    waiting = bookings.request_booking(holder, holder, one_off(listing))
    bookings.pause(holder, holder, reason="In hospital")
    assert db_session.get(Booking, waiting.id).state == "paused"

    # Before: the provider could accept it and the money was held while the holder was away.
    with pytest.raises(IllegalTransition):
        bookings.accept(provider, waiting.id)
    assert _held(budget) == 0

    [resumed] = bookings.resume(holder, holder)
    assert resumed.state == "requested"  # the provider still has to say yes
    assert _held(budget) == 0
    assert bookings.accept(provider, waiting.id).state == "funds_held"
    assert _held(budget) == 3300


def test_a_paused_holder_cannot_make_new_bookings_until_support_resumes(world):
    _, listing, holder, budget = world
    bookings.pause(holder, holder, reason="In hospital")
    with pytest.raises(Conflict, match="Support is paused"):
        bookings.request_booking(holder, holder, one_off(listing))
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 0
    bookings.resume(holder, holder)
    assert bookings.request_booking(holder, holder, one_off(listing)).state == "requested"


def test_a_restricted_provider_cannot_accept(world, make_user):
    provider, listing, holder, budget = world
    booking = bookings.request_booking(holder, holder, one_off(listing))
    broker = make_user(Role.BROKER)
    restrictions.apply(listing.profile, Effects(suspend_listings=True), actor=broker, flag=None)
    db.session.commit()

    with pytest.raises(NotPermitted, match="restricted"):
        bookings.accept(provider, booking.id)
    assert db.session.get(Booking, booking.id).state == "requested"
    assert _held(budget) == 0
    assert not db.session.scalars(select(Notification).where(
        Notification.user_id == holder.id, Notification.event == "booking_accepted")).all()


def test_payouts_held_also_stops_a_provider_accepting(world, make_user):
    provider, listing, holder, budget = world
    booking = bookings.request_booking(holder, holder, one_off(listing))
    restrictions.apply(listing.profile, Effects(hold_payouts=True), actor=make_user(Role.BROKER),
                       flag=None)
    db.session.commit()
    with pytest.raises(NotPermitted):
        bookings.accept(provider, booking.id)


def test_delivery_cannot_be_recorded_for_time_that_has_not_happened(world):
    provider, listing, holder, budget = world
    booking = bookings.accept(provider, bookings.request_booking(holder, holder, one_off(listing)).id)
    s = booking.sessions[0]
    with clock.frozen(s.start_at + timedelta(minutes=30)):  # half an hour into the session
        with pytest.raises(InvalidInput) as refused:
            bookings.record_delivery(provider, s.id, actual_start=s.start_at, actual_end=s.end_at)
        assert refused.value.field == "actual_end"
        assert db.session.get(BookingSession, s.id).state == "funds_held"
    with clock.frozen(s.end_at + timedelta(minutes=1)):
        done = bookings.record_delivery(provider, s.id, actual_start=s.start_at,
                                        actual_end=s.end_at)
    assert done.state == "delivered"


def test_a_join_that_reaches_the_pool_after_its_decision_is_refused(world, make_user):
    """A join checked against a moment before the deadline but locking the booking after the
    pool was decided used to get in with no share fixed and the most it could pay held."""
    from tests.booking_helpers import at, next_weekday

    provider, listing, holder, budget = world
    second, _ = holder_with_budget(make_user)
    late, late_budget = holder_with_budget(make_user)
    day = next_weekday(2, 2)
    deadline = at(day, 9) - timedelta(days=2)
    pool = bookings.request_booking(holder, holder, bookings.BookingInput(
        listing.id, kind="pooled", start=at(day, 10), end=at(day, 12), min_participants=2,
        max_participants=3, join_deadline=deadline))
    bookings.join_pool(second, second, pool.id)
    assert bookings.decide_pool(pool.id, now=deadline + timedelta(seconds=1)) is True

    with pytest.raises(Conflict, match="closed"):
        bookings.join_pool(late, late, pool.id, now=deadline - timedelta(milliseconds=1))
    assert ledger.balances(late_budget.id)[Account.HELD] == 0
    assert len(db.session.get(Booking, pool.id).participants) == 2


def _group(world, make_user, *, day_offset=2):
    """The holder's group session (£ total split between at least two) with a second holder in,
    accepted and decided; returns it and both budgets."""
    from tests.booking_helpers import at, next_weekday

    provider, listing, holder, budget = world
    second, second_budget = holder_with_budget(make_user)
    day = next_weekday(2, day_offset)
    deadline = at(day, 9) - timedelta(days=2)
    pool = bookings.request_booking(holder, holder, bookings.BookingInput(
        listing.id, kind="pooled", start=at(day, 10), end=at(day, 12), min_participants=2,
        max_participants=3, join_deadline=deadline))
    bookings.join_pool(second, second, pool.id)
    bookings.accept(provider, pool.id)
    assert bookings.decide_pool(pool.id, now=deadline + timedelta(seconds=1)) is True
    return db.session.get(Booking, pool.id), (budget, second_budget)


def _ledger_agrees() -> None:
    from app.services import ledger_check

    report = ledger_check.run()
    assert report.ok, "\n".join(str(d) for d in report.disagreements)


def test_a_group_dispute_settled_with_a_full_refund_charges_nobody(world, make_user):
    """It used to capture every participant's whole share whatever the broker decided."""
    pool, group_budgets = _group(world, make_user)
    s = pool.sessions[0]
    bookings.record_delivery(world[0], s.id, actual_start=s.start_at, actual_end=s.end_at,
                             now=s.end_at)
    bookings.dispute_session(world[2], world[2], s.id, reason="The session did not happen")
    bookings.resolve_dispute(make_user(Role.BROKER), s.id, outcome="full_refund")
    assert [ledger.balances(b.id)[Account.SPENT] for b in group_budgets] == [0, 0]
    assert [_held(b) for b in group_budgets] == [0, 0]
    _ledger_agrees()


def test_a_provider_no_show_at_a_group_session_gives_every_share_back(world, make_user):
    """It used to end the session with every participant's share held for good."""
    pool, group_budgets = _group(world, make_user)
    s = pool.sessions[0]
    bookings.report_no_show(world[2], world[2], s.id, now=s.start_at + timedelta(minutes=30))
    assert [_held(b) for b in group_budgets] == [0, 0]
    assert [ledger.balances(b.id)[Account.SPENT] for b in group_budgets] == [0, 0]
    _ledger_agrees()


def test_cancelling_a_group_sessions_only_visit_gives_every_share_back(world, make_user):
    """Cancelling the one visit ended the booking with every participant's share held."""
    pool, group_budgets = _group(world, make_user)
    bookings.cancel_session(world[2], world[2], pool.sessions[0].id,
                            now=pool.sessions[0].start_at - timedelta(days=1))
    assert db.session.get(Booking, pool.id).state == "cancelled"
    assert [_held(b) for b in group_budgets] == [0, 0]
    _ledger_agrees()


def test_a_group_session_whose_joining_closes_after_it_starts_is_refused(world):
    """Shares are fixed at the deadline: a session delivered before it would be paid from the
    most each could pay."""
    from tests.booking_helpers import at, next_weekday

    provider, listing, holder, budget = world
    day = next_weekday(2, 2)
    with pytest.raises(InvalidInput, match="before the session starts") as refused:
        bookings.request_booking(holder, holder, bookings.BookingInput(
            listing.id, kind="pooled", start=at(day, 10), end=at(day, 12), min_participants=2,
            max_participants=3, join_deadline=at(day, 11)))
    assert refused.value.field == "join_deadline"
    assert _held(budget) == 0


def test_a_refused_join_leaves_no_place_behind_for_a_later_commit(world, make_user):
    """join_pool wrote the place before its hold was refused and did not roll it back: the next
    commit on the same session (a job's loop, a later step in the same request) kept a place
    with no money held for it."""
    from app.models import PoolParticipant
    from tests.booking_helpers import at, next_weekday

    provider, listing, holder, budget = world
    poor, poor_budget = holder_with_budget(make_user, funded=1000)  # £10: less than a share
    day = next_weekday(2, 2)
    pool = bookings.request_booking(holder, holder, bookings.BookingInput(
        listing.id, kind="pooled", start=at(day, 10), end=at(day, 12), min_participants=2,
        max_participants=3, join_deadline=at(day, 9) - timedelta(days=2)))
    with pytest.raises(DomainError):
        bookings.join_pool(poor, poor, pool.id)
    db.session.commit()  # whatever the caller does next
    assert db.session.scalar(select(func.count()).select_from(PoolParticipant).where(
        PoolParticipant.holder_id == poor.id)) == 0
    assert _held(poor_budget) == 0
    _ledger_agrees()


def test_joining_a_group_is_refused_when_its_provider_does_not_take_that_kind_of_budget(
        app_ctx, make_user):
    """The organiser's request was checked against the kinds of budget the provider takes, but
    anyone could join with any budget and the provider was paid from it regardless."""
    from app.models import PoolParticipant
    from tests.booking_helpers import at, next_weekday

    provider, listing = live_listing(make_user, modes=("council_managed",))
    organiser, _ = holder_with_budget(make_user)
    fund_holder, fund_budget = holder_with_budget(make_user, mode="individual_service_fund")
    day = next_weekday(2, 2)
    pool = bookings.request_booking(organiser, organiser, bookings.BookingInput(
        listing.id, kind="pooled", start=at(day, 10), end=at(day, 12), min_participants=2,
        max_participants=3, join_deadline=at(day, 9) - timedelta(days=2)))
    with pytest.raises(InvalidInput, match="does not take payment from your kind of budget"):
        bookings.join_pool(fund_holder, fund_holder, pool.id)
    assert _held(fund_budget) == 0
    assert db.session.scalar(select(func.count()).select_from(PoolParticipant).where(
        PoolParticipant.holder_id == fund_holder.id)) == 0


def test_pausing_gives_back_a_place_in_someone_elses_group_and_a_paused_holder_cannot_join(
        world, make_user):
    """A pause released the holder's own holds but left their share of another holder's group
    session held (and a paused holder could join a group, though they could book nothing)."""
    provider, listing, organiser, organiser_budget = world
    pool, (_, joiner_budget) = _group(world, make_user)
    joiner = next(p.holder for p in pool.participants if p.holder_id != organiser.id)
    assert _held(joiner_budget) > 0

    bookings.pause(joiner, joiner, reason="In hospital")
    assert _held(joiner_budget) == 0
    assert _held(organiser_budget) > 0  # the organiser's group goes ahead for them
    assert db.session.get(Booking, pool.id).state == "funds_held"
    _ledger_agrees()

    # Someone else's open group: a paused holder is refused, with nothing written.
    from tests.booking_helpers import at, next_weekday

    day = next_weekday(3, 3)
    other_group = bookings.request_booking(organiser, organiser, bookings.BookingInput(
        listing.id, kind="pooled", start=at(day, 10), end=at(day, 12), min_participants=2,
        max_participants=3, join_deadline=at(day, 9) - timedelta(days=1)))
    with pytest.raises(Conflict, match="Support is paused"):
        bookings.join_pool(joiner, joiner, other_group.id)
    assert len(db.session.get(Booking, other_group.id).participants) == 1
    assert _held(joiner_budget) == 0
    bookings.resume(joiner, joiner)
    bookings.join_pool(joiner, joiner, other_group.id)
    assert _held(joiner_budget) > 0
