"""A late cancellation is charged under the policy the holder booked under: a fee the provider
brings in or raises after the booking, or a longer notice, does not reach it (nor the fee the
holder is shown before cancelling). An agreement the holder accepted carries its own terms."""

from dataclasses import replace
from datetime import timedelta

import pytest

from app import clock
from app.domain.bookings import ActorKind
from app.domain.ledger import Account
from app.services import agreements, bookings, ledger, listings
from tests.booking_helpers import holder_with_budget, live_listing, next_weekday, one_off

pytestmark = pytest.mark.database


def _listing_input(listing, *, notice=48, charge="0"):
    return listings.ListingInput(
        category=listing.category, title=listing.title, description=listing.description,
        price="16.50", price_unit=listing.price_unit, minimum_units=listing.minimum_units,
        funding_modes=list(listing.funding_modes), cancellation_notice_hours=notice,
        cancellation_charge=charge)


def _booked(make_user, *, charge="10.00", notice=48):
    provider, listing = live_listing(make_user, charge=charge, notice=notice)
    holder, budget = holder_with_budget(make_user)
    booking = bookings.accept(provider, bookings.request_booking(holder, holder, one_off(
        listing, day=next_weekday(1, weeks_ahead=3))).id)
    return provider, listing, holder, budget, booking


def test_a_fee_raised_after_booking_is_not_charged_the_old_fee_is(app_ctx, make_user,
                                                                   db_session):
    provider, listing, holder, budget, booking = _booked(make_user, charge="10.00")
    available_before = ledger.balances(budget.id)[Account.AVAILABLE]
    listings.update_listing(provider, listing.id, _listing_input(listing, charge="30.00"))
    start = booking.sessions[0].start_at
    late = start - timedelta(hours=5)

    shown = bookings.cancellation_preview(booking, ActorKind.HOLDER, now=late)
    bookings.cancel_booking(holder, holder, booking.id, now=late)

    assert [charge for _, charge in shown] == [1000]
    assert booking.sessions[0].charge_pence == 1000  # £10 booked under, not the £30 now
    price = booking.sessions[0].price_pence
    # All but the £10 goes back to the holder's budget.
    assert ledger.balances(budget.id)[Account.AVAILABLE] == available_before + price - 1000


def test_a_fee_brought_in_after_booking_is_not_charged(app_ctx, make_user, db_session):
    provider, listing, holder, _, booking = _booked(make_user, charge="0")
    listings.update_listing(provider, listing.id, _listing_input(listing, charge="30.00"))
    visit = booking.sessions[0]
    bookings.cancel_session(holder, holder, visit.id, now=visit.start_at - timedelta(hours=5))
    assert visit.charge_pence == 0


def test_a_longer_notice_brought_in_after_booking_does_not_make_a_cancellation_late(
        app_ctx, make_user, db_session):
    provider, listing, holder, _, booking = _booked(make_user, charge="10.00", notice=24)
    listings.update_listing(provider, listing.id, _listing_input(listing, notice=96,
                                                                 charge="10.00"))
    start = booking.sessions[0].start_at
    bookings.cancel_booking(holder, holder, booking.id, now=start - timedelta(hours=30))
    assert booking.sessions[0].charge_pence == 0  # 30 hours' notice is enough under 24


def test_a_booking_made_after_the_change_is_charged_the_new_fee(app_ctx, make_user,
                                                                  db_session):
    provider, listing = live_listing(make_user, charge="10.00", notice=48)
    holder, _ = holder_with_budget(make_user)
    listings.update_listing(provider, listing.id, _listing_input(listing, charge="30.00"))
    booking = bookings.accept(provider, bookings.request_booking(holder, holder, one_off(
        listing, day=next_weekday(1, weeks_ahead=3))).id)
    start = booking.sessions[0].start_at
    bookings.cancel_booking(holder, holder, booking.id, now=start - timedelta(hours=5))
    assert booking.sessions[0].charge_pence == 3000


def test_the_holders_no_show_is_charged_the_fee_booked_under(app_ctx, make_user, db_session):
    provider, listing, holder, _, booking = _booked(make_user, charge="10.00")
    listings.update_listing(provider, listing.id, _listing_input(listing, charge="30.00"))
    visit = booking.sessions[0]
    bookings.report_no_show(provider, None, visit.id, now=visit.start_at + timedelta(minutes=30))
    assert visit.charge_pence == 1000


def test_an_accepted_agreement_carries_its_own_cancellation_terms(app_ctx, make_user,
                                                                   db_session):
    provider, listing, holder, _, booking = _booked(make_user, charge="20.00")
    terms = agreements.suggested_terms(booking)
    agreement = agreements.offer(provider, booking.id,
                                 replace(terms, cancellation_charge_pence=500))
    agreements.accept(holder, holder, agreement.id)
    listings.update_listing(provider, listing.id, _listing_input(listing, charge="30.00"))
    start = booking.sessions[0].start_at
    bookings.cancel_booking(holder, holder, booking.id, now=start - timedelta(hours=5))
    assert booking.sessions[0].charge_pence == 500


def test_the_cancel_page_shows_the_fee_booked_under(client, login, app, make_user, db_session):
    with app.app_context():
        provider, listing, holder, _, booking = _booked(make_user, charge="10.00")
        listings.update_listing(provider, listing.id, _listing_input(listing, charge="30.00"))
        start = booking.sessions[0].start_at
    login(holder)
    detail = client.get(f"/my/bookings/{booking.id}").get_data(as_text=True)
    assert "£10.00 a session" in detail and "£30.00" not in detail
    with clock.frozen(start - timedelta(hours=5)):
        question = client.get(f"/my/bookings/{booking.id}/cancel").get_data(as_text=True)
    assert 'id="cancel-charge">£10.00 (the charge you booked under' in question


def test_a_fee_in_an_agreement_the_holder_accepted_is_charged_and_not_flagged(
        app_ctx, make_user, db_session):
    from flask import current_app

    from app.domain.rules import evaluate
    from app.services.market_snapshot import build_snapshot

    provider, listing, holder, _, booking = _booked(make_user, charge="10.00")
    listings.update_listing(provider, listing.id, _listing_input(listing, charge="30.00"))
    # The provider offers the new fee in writing and the holder accepts it.
    agreement = agreements.offer(provider, booking.id, replace(
        agreements.suggested_terms(booking), cancellation_charge_pence=3000))
    agreements.accept(holder, holder, agreement.id)
    start = booking.sessions[0].start_at
    bookings.cancel_booking(holder, holder, booking.id, now=start - timedelta(hours=5))

    assert booking.sessions[0].charge_pence == 3000
    snap = build_snapshot(start + timedelta(days=1))
    assert [f for f in evaluate(snap, current_app.config["COUNCIL"])
            if f.rule == "cancellation_beyond_policy"] == []


def test_the_booking_keeps_its_terms_when_the_listing_changes_without_an_audit_entry(
        app_ctx, make_user, db_session):
    """The terms are stored with the booking, not rebuilt from the audit log: a change that left
    no listing.updated entry (a bulk update, a support fix in the database) cannot reach it."""
    from app.extensions import db

    provider, listing, holder, _, booking = _booked(make_user, charge="10.00", notice=24)
    assert (booking.cancellation_notice_hours, booking.cancellation_charge_pence) == (24, 1000)
    listing.cancellation_charge_pence, listing.cancellation_notice_hours = 3000, 96
    db.session.commit()
    db.session.expire_all()
    start = booking.sessions[0].start_at

    assert bookings.cancellation_policy(booking).charge_pence == 1000
    bookings.cancel_booking(holder, holder, booking.id, now=start - timedelta(hours=30))
    assert booking.sessions[0].charge_pence == 0  # 30 hours' notice is enough under 24


def test_an_offer_not_yet_accepted_does_not_change_the_bookings_terms_and_accepting_does(
        app_ctx, make_user, db_session):
    provider, listing, holder, _, booking = _booked(make_user, charge="20.00")
    terms = agreements.suggested_terms(booking)
    agreement = agreements.offer(provider, booking.id, replace(terms, cancellation_charge_pence=500))
    agreements.accept(holder, holder, agreement.id)
    assert booking.cancellation_charge_pence == 500
    # A second version raising the charge back waits for the holder's answer.
    agreements.offer_new_version(provider, agreement.id, replace(terms, cancellation_charge_pence=2000))
    assert bookings.cancellation_policy(booking).charge_pence == 500

    agreements.accept(holder, holder, agreement.id)
    assert bookings.cancellation_policy(booking).charge_pence == 2000


def test_the_migration_stores_what_the_audit_log_rebuild_gave(app_ctx, make_user, db_session):
    """Migration 0029's backfill gives each existing booking the terms the old rebuild derived:
    the listing's policy before a later audited change, or the accepted agreement's terms."""
    import importlib.util
    from pathlib import Path

    from sqlalchemy import update

    from app.extensions import db
    from app.models import Booking

    path = Path(__file__).parents[2] / "migrations" / "versions" / "0029_booked_terms.py"
    spec = importlib.util.spec_from_file_location("booked_terms_migration", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)

    provider, listing, holder, _, before_change = _booked(make_user, charge="10.00", notice=24)
    covered = bookings.accept(provider, bookings.request_booking(holder, holder, one_off(
        listing, day=next_weekday(2, weeks_ahead=3))).id)
    agreement = agreements.offer(provider, covered.id, replace(
        agreements.suggested_terms(covered), cancellation_charge_pence=400))
    agreements.accept(holder, holder, agreement.id)
    listings.update_listing(provider, listing.id, _listing_input(listing, notice=48, charge="30.00"))
    after_change = bookings.accept(provider, bookings.request_booking(holder, holder, one_off(
        listing, day=next_weekday(3, weeks_ahead=3))).id)
    ids = [before_change.id, covered.id, after_change.id]
    # As the rows stood before the migration: no terms of their own.
    db.session.execute(update(Booking).where(Booking.id.in_(ids)).values(
        cancellation_notice_hours=999, cancellation_charge_pence=999))

    migration._backfill(db.session.connection())
    db.session.expire_all()

    terms = {b.id: (b.cancellation_notice_hours, b.cancellation_charge_pence)
             for b in db.session.query(Booking).filter(Booking.id.in_(ids))}
    assert terms == {before_change.id: (24, 1000), covered.id: (24, 400),
                     after_change.id: (48, 3000)}
