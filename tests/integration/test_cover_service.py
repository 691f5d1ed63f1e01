"""Last-minute cover on the database: a provider's late cancellation asks the holder's back-ups,
then matching providers after an hour; the holder's side accepts one in a single step; nobody
covering lapses at the start; brokers hear when the back-ups did not cover."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import clock
from app.domain.access import DelegateKind, Role
from app.domain.ledger import Account
from app.domain.notifications import Event as Notice
from app.errors import Conflict, NotFound
from app.models import Booking, Notification
from app.models.jobs import CoverOffer, CoverRequest
from app.services import bookings, cover, ledger
from tests.booking_helpers import at, holder_with_budget, live_listing, next_weekday
from tests.messaging_helpers import delegate

pytestmark = pytest.mark.database

DAY = next_weekday(1)  # a Tuesday at least a week ahead
BEFORE = at(DAY - timedelta(days=1), 12)  # the Monday noon before: the cancellation is late


@pytest.fixture(autouse=True)
def _clock():
    clock.travel_to(BEFORE)
    yield
    clock.travel_to(None)


def _inbox(user, event):
    from app.extensions import db

    return db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.event == event.value)) or 0


def _profile_id(user):
    from app.services.providers import profile_of

    return profile_of(user).id


@pytest.fixture
def world(app_ctx, make_user):
    """A funded holder in SY1 booked with one provider for Tuesday 10-12, with two named back-ups
    and two other providers in SY1 who are not back-ups (all personal care)."""
    broker = make_user(Role.BROKER)
    main, listing = live_listing(make_user, broker)
    first, first_listing = live_listing(make_user, broker, price="18.00")
    second, second_listing = live_listing(make_user, broker, price="15.00")
    other, _ = live_listing(make_user, broker)
    another, _ = live_listing(make_user, broker)
    holder, budget = holder_with_budget(make_user)
    holder.home_district = "SY1"
    booking = bookings.request_booking(holder, holder, bookings.BookingInput(
        listing_id=listing.id, start=at(DAY, 10), end=at(DAY, 12),
        backup_listing_ids=(first_listing.id, second_listing.id)))
    bookings.accept(main, booking.id)
    return dict(broker=broker, main=main, first=first, second=second, other=other,
                another=another, holder=holder, budget=budget, booking=booking)


def _cancel(w, now=BEFORE):
    bookings.cancel_booking(w["main"], None, w["booking"].id, reason="Unwell", now=now)
    return cover.of_holder(w["holder"], w["holder"])


def _asked(request_id):
    from app.extensions import db

    return {o.profile_id: o.wave for o in db.session.scalars(
        select(CoverOffer).where(CoverOffer.cover_id == request_id))}


def test_a_late_provider_cancellation_asks_the_back_ups_first_then_others_after_an_hour(world):
    [request] = _cancel(world)
    assert request.status == "open" and request.wave == "backups"
    assert _asked(request.id) == {_profile_id(world["first"]): "backups",
                                  _profile_id(world["second"]): "backups"}
    assert _inbox(world["first"], Notice.COVER_ASKED) == 1
    assert _inbox(world["holder"], Notice.COVER_NEEDED) == 1
    assert _inbox(world["other"], Notice.COVER_ASKED) == 0

    assert cover.run_due(BEFORE + timedelta(minutes=59)).asked == 0
    report = cover.run_due(BEFORE + timedelta(minutes=60))
    assert report.asked == 2
    asked = _asked(request.id)
    assert asked[_profile_id(world["other"])] == "matching"
    assert asked[_profile_id(world["another"])] == "matching"
    assert _profile_id(world["main"]) not in asked  # never the provider who cancelled
    assert _inbox(world["broker"], Notice.COVER_WAITING_BROKER) == 1
    assert cover.run_due(BEFORE + timedelta(minutes=65)).asked == 0  # once only


def test_a_cancellation_with_plenty_of_notice_needs_no_cover(world):
    assert _cancel(world, now=BEFORE - timedelta(days=3)) == []


def test_the_holder_accepts_a_back_up_in_one_step(world, db_session):
    [request] = _cancel(world)
    assert ledger.balances(world["budget"].id)[Account.HELD] == 0  # the cancellation released it
    offer = cover.answer(world["second"], request.id, can_cover=True)
    assert offer.price_pence == 3000  # £15.00 an hour for two hours, fixed when they said yes
    cover.answer(world["first"], request.id, can_cover=True)
    assert _inbox(world["holder"], Notice.COVER_OFFERED) == 2

    booking = cover.accept(world["holder"], world["holder"], request.id, offer.id,
                           expected_price_pence=3000)
    assert booking.state == "funds_held"
    assert booking.provider_profile_id == _profile_id(world["second"])
    assert (booking.sessions[0].start_at, booking.sessions[0].end_at) == (at(DAY, 10), at(DAY, 12))
    assert ledger.balances(world["budget"].id)[Account.HELD] == 3000
    db_session.refresh(request)
    assert request.status == "covered" and request.covered_booking_id == booking.id
    assert _inbox(world["second"], Notice.COVER_TAKEN) == 1
    assert _inbox(world["second"], Notice.BOOKING_REQUESTED) == 0  # no second round trip
    assert _inbox(world["first"], Notice.COVER_NOT_NEEDED) == 1
    with pytest.raises(Conflict, match="already covered"):
        cover.accept(world["holder"], world["holder"], request.id, offer.id)
    # Once covered, nobody more is asked and it never lapses.
    assert cover.run_due(at(DAY, 11)) == cover.RunReport(0, 0)


def test_someone_acting_for_the_holder_can_accept_and_a_circle_member_cannot(world, make_user):
    [request] = _cancel(world)
    offer = cover.answer(world["first"], request.id, can_cover=True)
    circle = delegate(make_user, world["holder"], DelegateKind.CIRCLE, shares="bookings")
    with pytest.raises(NotFound):
        cover.accept(circle, world["holder"], request.id, offer.id)
    nominated = delegate(make_user, world["holder"], DelegateKind.NOMINATED)
    booking = cover.accept(nominated, world["holder"], request.id, offer.id)
    assert booking.state == "funds_held" and booking.created_by_id == nominated.id


def test_only_providers_asked_can_answer_and_a_booked_one_cannot_cover(world, make_user):
    [request] = _cancel(world)
    with pytest.raises(NotFound):
        cover.answer(world["other"], request.id, can_cover=True)  # not asked (yet)
    # The first back-up takes another booking at that time, then says they can cover.
    someone, _ = holder_with_budget(make_user)
    theirs = bookings.request_booking(someone, someone, bookings.BookingInput(
        listing_id=_listing_of(world["first"]), start=at(DAY, 11), end=at(DAY, 13)))
    bookings.accept(world["first"], theirs.id)
    with pytest.raises(Conflict, match="already booked"):
        cover.answer(world["first"], request.id, can_cover=True)


def _listing_of(user):
    from app.services.providers import profile_of

    return profile_of(user).listings[0].id


def test_nobody_covering_lapses_at_the_start_and_the_holder_is_told(world):
    [request] = _cancel(world)
    cover.answer(world["first"], request.id, can_cover=True)
    report = cover.run_due(at(DAY, 10))
    assert report.lapsed == 1
    assert cover.for_holder(world["holder"], world["holder"], request.id).status == "lapsed"
    assert _inbox(world["holder"], Notice.COVER_LAPSED) == 1
    assert _inbox(world["first"], Notice.COVER_NOT_NEEDED) == 1
    offer = cover.offer_for_provider(world["first"], request.id)
    with pytest.raises(Conflict):
        cover.accept(world["holder"], world["holder"], request.id, offer.id)


def test_without_back_ups_matching_providers_are_asked_at_once(app_ctx, make_user, db_session):
    broker = make_user(Role.BROKER)
    main, listing = live_listing(make_user, broker)
    other, _ = live_listing(make_user, broker)
    holder, _ = holder_with_budget(make_user)
    booking = bookings.request_booking(holder, holder, bookings.BookingInput(
        listing_id=listing.id, start=at(DAY, 10), end=at(DAY, 12)))
    bookings.accept(main, booking.id)
    bookings.cancel_booking(main, None, booking.id)
    [request] = db_session.scalars(select(CoverRequest).where(CoverRequest.booking_id == booking.id)).all()
    assert request.wave == "matching" and request.next_wave_at is None
    assert _asked(request.id) == {_profile_id(other): "matching"}


def test_a_holder_cancelling_opens_no_cover(world, db_session):
    bookings.cancel_booking(world["holder"], world["holder"], world["booking"].id)
    assert db_session.scalar(select(func.count(CoverRequest.id))) == 0
    assert db_session.get(Booking, world["booking"].id).state == "cancelled"


def test_the_holder_can_withdraw_and_those_who_offered_are_told(world):
    [request] = _cancel(world)
    cover.answer(world["first"], request.id, can_cover=True)
    cover.answer(world["second"], request.id, can_cover=False)
    cover.withdraw(world["holder"], world["holder"], request.id)
    assert _inbox(world["first"], Notice.COVER_NOT_NEEDED) == 1
    assert _inbox(world["second"], Notice.COVER_NOT_NEEDED) == 0
    assert cover.run_due(BEFORE + timedelta(hours=2)).asked == 0


def test_cover_is_in_the_provider_list_and_the_cli(world, app):
    [request] = _cancel(world)
    assert [o.cover_id for o in cover.asked_of_provider(world["first"])] == [request.id]
    result = app.test_cli_runner().invoke(args=["jobs", "cover"])
    assert "Providers asked to cover" in result.output


def test_a_provider_cancelling_one_visit_of_a_series_late_gets_it_covered(app_ctx, make_user, db_session):
    from datetime import time

    from app.domain.bookings import WeeklyPattern

    broker = make_user(Role.BROKER)
    main, listing = live_listing(make_user, broker)
    backup, backup_listing = live_listing(make_user, broker)
    holder, budget = holder_with_budget(make_user)
    series = bookings.request_booking(holder, holder, bookings.BookingInput(
        listing.id, kind="recurring", backup_listing_ids=(backup_listing.id,),
        pattern=WeeklyPattern(frozenset({1}), time(10), 120, DAY, count=3)))
    bookings.accept(main, series.id)
    first = series.sessions[0]
    s = bookings.cancel_session(main, None, first.id, reason="Car broke down")
    assert s.state == "cancelled" and s.charge_pence == 0
    assert [x.state for x in bookings.get_booking(series.id).sessions] == [
        "cancelled", "funds_held", "funds_held"]
    assert _inbox(holder, Notice.SESSION_CANCELLED) == 1
    [request] = cover.open_for_booking(series.id)
    assert request.session_id == first.id and _asked(request.id) == {_profile_id(backup): "backups"}
    assert ledger.balances(budget.id)[Account.HELD] == 2 * 3300
    # A visit weeks away needs no cover: the holder can simply book again.
    bookings.cancel_session(main, None, series.sessions[2].id)
    assert len(cover.open_for_booking(series.id)) == 1


def test_a_restricted_provider_is_not_asked_to_cover_nor_booked_as_cover(world):
    """Issue 16: a provider whose payouts a broker holds takes on no new work. Before, cover
    asked them, let them say yes and booked them, bypassing the refusal at acceptance."""
    from app.domain.flags import Effects
    from app.extensions import db
    from app.models import ProviderProfile
    from app.services import restrictions

    def hold(user):
        restrictions.apply(db.session.get(ProviderProfile, _profile_id(user)),
                           Effects(hold_payouts=True), actor=world["broker"], flag=None)
        db.session.commit()

    hold(world["other"])
    [request] = _cancel(world)
    offer = cover.answer(world["first"], request.id, can_cover=True)
    cover.run_due(BEFORE + timedelta(minutes=60))
    assert _profile_id(world["other"]) not in _asked(request.id)  # never asked
    assert _inbox(world["other"], Notice.COVER_ASKED) == 0

    hold(world["first"])  # restricted after saying yes
    with pytest.raises(Conflict, match="can no longer cover"):
        cover.accept(world["holder"], world["holder"], request.id, offer.id)
    assert db.session.scalar(select(func.count(Booking.id))) == 1  # only the cancelled one
    with pytest.raises(Conflict, match="not live"):
        cover.answer(world["first"], request.id, can_cover=True)


def test_a_broker_accepting_cover_arranges_it_and_not_with_a_provider_they_are_conflicted_with(
        world, make_user):
    from app.services import conflicts
    from app.services.conflicts import ConflictOfInterest

    [request] = _cancel(world)
    first = cover.answer(world["first"], request.id, can_cover=True)
    second = cover.answer(world["second"], request.id, can_cover=True)
    broker = make_user(Role.BROKER)
    conflicts.declare(broker, str(_profile_id(world["first"])), "My sister works there")
    with pytest.raises(ConflictOfInterest, match="arrange cover with them"):
        cover.accept(broker, world["holder"], request.id, first.id)
    booking = cover.accept(broker, world["holder"], request.id, second.id)
    assert booking.arranged_by_id == broker.id  # counted among what this broker arranged
