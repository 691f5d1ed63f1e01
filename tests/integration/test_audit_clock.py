"""Audit times follow the use case's own clock: a cancellation made at an injected `now` is
recorded at that moment, so the cancellation rule judges the notice actually given."""

from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from app import clock
from app.domain.rules import evaluate
from app.extensions import db
from app.models import AuditEvent
from app.services import bookings
from app.services.market_snapshot import build_snapshot
from tests.booking_helpers import holder_with_budget, live_listing, next_weekday, one_off


def _event(action):
    return db.session.scalar(select(AuditEvent).where(AuditEvent.action == action)
                             .order_by(AuditEvent.id.desc()).limit(1))


def test_a_late_cancellation_is_audited_at_its_own_time_and_its_fair_fee_is_not_flagged(
        app_ctx, make_user, db_session):
    provider, listing = live_listing(make_user, charge="20.00", notice=48)
    holder, _ = holder_with_budget(make_user)
    booking = bookings.request_booking(holder, holder, one_off(
        listing, day=next_weekday(1, weeks_ahead=3)))
    booking = bookings.accept(provider, booking.id)
    start = booking.sessions[0].start_at
    late = start - timedelta(hours=5)  # inside the 48 hours' notice: the fee is fair

    bookings.cancel_booking(holder, holder, booking.id, reason="Changed my plans", now=late)

    event = _event("booking.cancelled")
    assert event.occurred_at == late
    assert booking.sessions[0].charge_pence == 2000
    snap = build_snapshot(start + timedelta(days=1))
    (session,) = [s for s in snap.sessions if s.booking_id == booking.id]
    assert session.cancelled_at == late
    assert [f for f in evaluate(snap, current_app.config["COUNCIL"])
            if f.rule == "cancellation_beyond_policy"] == []


def test_audit_times_follow_the_clock_a_test_sets(app_ctx, make_user, db_session):
    provider, listing = live_listing(make_user)
    holder, _ = holder_with_budget(make_user)
    moment = clock.now().replace(microsecond=0) + timedelta(days=2, hours=3)
    with clock.frozen(moment):
        booking = bookings.request_booking(holder, holder, one_off(
            listing, day=next_weekday(1, weeks_ahead=3)))
        bookings.accept(provider, booking.id)
    assert _event("booking.requested").occurred_at == moment
    assert _event("booking.accepted").occurred_at == moment


def _listing_input(listing, **kw):
    from app.services import listings

    return listings.ListingInput(
        category=listing.category, title=listing.title, description=listing.description,
        price="16.50", price_unit=listing.price_unit, minimum_units=listing.minimum_units,
        funding_modes=list(listing.funding_modes), cancellation_notice_hours=48, **kw)


def test_a_fee_raised_after_booking_and_then_charged_is_beyond_the_policy_booked_under(
        app_ctx, make_user, db_session):
    from app.services import listings

    provider, listing = live_listing(make_user, charge="0", notice=48)
    holder, _ = holder_with_budget(make_user)
    booking = bookings.accept(provider, bookings.request_booking(holder, holder, one_off(
        listing, day=next_weekday(1, weeks_ahead=3))).id)
    # After the booking, the provider brings in a £30 fee for late cancellations.
    listings.update_listing(provider, listing.id, _listing_input(
        listing, cancellation_charge="30.00"))
    start = booking.sessions[0].start_at
    bookings.cancel_booking(holder, holder, booking.id, now=start - timedelta(hours=5))
    # The booking service charges the policy booked under (nothing) ...
    assert booking.sessions[0].charge_pence == 0
    # ... so the later fee stands here for one charged before it did (a record from then):
    # the rule still judges it by the policy the holder booked under.
    booking.sessions[0].charge_pence = 3000
    db.session.commit()

    found = [f for f in evaluate(build_snapshot(start + timedelta(days=1)),
                                 current_app.config["COUNCIL"])
             if f.rule == "cancellation_beyond_policy"]
    assert [(f.numbers["charged_pence"], f.numbers["allowed_pence"]) for f in found] == [
        (3000, 0)]


def test_delegations_and_messages_take_their_times_from_the_clock(app_ctx, make_user,
                                                                  db_session):
    """The rules read these times (a new delegate then spending; recent messages)."""
    from datetime import date

    from app.domain.access import LegalBasis, Role
    from app.services import delegation, messaging

    provider, listing = live_listing(make_user)
    holder, _ = holder_with_budget(make_user)
    broker = make_user(Role.BROKER)
    moment = clock.now().replace(microsecond=0) - timedelta(days=40)
    with clock.frozen(moment):
        recorded, _ = delegation.record_authorised_person(
            broker, holder.id, "deputy@example.org", "Dee Puty", LegalBasis("lpa"),
            date.today() + timedelta(days=300), "")
        thread = messaging.start(holder, holder.id, listing.id, "Hello, are you free?")
    assert recorded.accepted_at == moment
    assert thread.messages[0].sent_at == moment


def test_one_visit_cancelled_on_its_own_is_judged_by_when_it_was_cancelled(
        app_ctx, make_user, db_session):
    from app.services import listings

    provider, listing = live_listing(make_user, charge="0", notice=48)
    holder, _ = holder_with_budget(make_user)
    before_fee = bookings.accept(provider, bookings.request_booking(holder, holder, one_off(
        listing, day=next_weekday(1, weeks_ahead=3))).id)
    listings.update_listing(provider, listing.id, _listing_input(
        listing, cancellation_charge="30.00"))
    after_fee = bookings.accept(provider, bookings.request_booking(holder, holder, one_off(
        listing, day=next_weekday(2, weeks_ahead=3))).id)
    # Both visits cancelled late, one at a time: the fee is beyond the policy only for the
    # visit booked before the fee came in.
    for booking in (before_fee, after_fee):
        visit = booking.sessions[0]
        bookings.cancel_session(holder, holder, visit.id,
                                now=visit.start_at - timedelta(hours=5))
    # The service charged the visit booked before the fee nothing; the fee stands here for one
    # charged before it charged by the policy booked under (a record from then).
    assert (before_fee.sessions[0].charge_pence, after_fee.sessions[0].charge_pence) == (0, 3000)
    before_fee.sessions[0].charge_pence = 3000
    db.session.commit()
    snap = build_snapshot(after_fee.sessions[0].start_at + timedelta(days=1))
    by_booking = {s.booking_id: s for s in snap.sessions}
    late = before_fee.sessions[0].start_at - timedelta(hours=5)
    assert by_booking[before_fee.id].cancelled_at == late
    found = [f for f in evaluate(snap, current_app.config["COUNCIL"])
             if f.rule == "cancellation_beyond_policy"]
    assert [str(f.subject) for f in found] == [f"session:{before_fee.sessions[0].id}"]
