"""Safeguarding records on the database: households and the council's agreement (bookings wait),
private addresses, listing price history with notice, held messages, and the snapshot carrying
all of it (concerns, plan changes, relationships, who booked, alternatives offered)."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app import clock
from app.domain.access import DelegateKind, Role
from app.domain.rules import evaluate
from app.errors import InvalidInput, NotFound
from app.extensions import db
from app.models import AuditEvent, Flag, Notification, PriceChange
from app.services import bookings, budgets, concerns, flags, households, listings, messaging
from app.services.market_snapshot import build_snapshot
from tests.booking_helpers import holder_with_budget, live_listing, one_off
from tests.messaging_helpers import delegate


def _actions(prefix):
    return list(db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.action.startswith(prefix)).order_by(AuditEvent.id)))


def _listing_input(listing, price, **kw):
    return listings.ListingInput(
        category=listing.category, title=listing.title, description=listing.description,
        price=price, price_unit=listing.price_unit, minimum_units=listing.minimum_units,
        funding_modes=list(listing.funding_modes), **kw)


# Households ---------------------------------------------------------------------------------

def test_paying_a_close_relative_at_home_waits_for_the_council(app_ctx, make_user, db_session):
    provider, listing = live_listing(make_user)
    holder, _ = holder_with_budget(make_user)
    messaging.start(holder, holder.id, listing.id, "Hello, it's me, your daughter.")
    households.add_member(holder, holder.id, name="Ann", relation="child", lives_with_holder=True,
                          provider_profile_id=listing.profile_id)
    booking = bookings.request_booking(holder, holder, one_off(listing))
    assert booking.state == "awaiting_approval"
    assert any("the council must agree" in r for r in booking.approval_reasons)
    snap = build_snapshot()
    assert [(lk.holder_id, lk.provider_id, lk.same_household, lk.council_agreed, lk.relationship)
            for lk in snap.household_links] == [(holder.id, listing.profile_id, True, False,
                                                 "child")]
    found = [f for f in evaluate(snap, app_ctx_settings()) if f.rule ==
             "paid_relative_in_household"]
    assert len(found) == 1
    # Once the council's agreement is recorded, new bookings go ahead and the rule is quiet.
    broker = make_user(Role.BROKER)
    member = households.members_of(holder, holder.id)[0]
    households.record_agreement(broker, member.id, note="Agreed by panel, ref DP-2231")
    second = bookings.request_booking(holder, holder, one_off(listing, day=date.today()
                                                              + timedelta(days=15)))
    assert second.state != "awaiting_approval"
    assert not [f for f in evaluate(build_snapshot(), app_ctx_settings())
                if f.rule == "paid_relative_in_household"]
    assert _actions("household.") == ["household.member_added", "household.council_agreed"]


def app_ctx_settings():
    from flask import current_app

    return current_app.config["COUNCIL"]


def test_a_friend_or_a_relative_elsewhere_does_not_hold_bookings(app_ctx, make_user, db_session):
    provider, listing = live_listing(make_user)
    holder, _ = holder_with_budget(make_user)
    messaging.start(holder, holder.id, listing.id, "Hello")
    households.add_member(holder, holder.id, name="Bob", relation="friend",
                          lives_with_holder=True, provider_profile_id=listing.profile_id)
    households.add_member(holder, holder.id, name="Cat", relation="sibling",
                          lives_with_holder=False, provider_profile_id=listing.profile_id)
    assert bookings.request_booking(holder, holder, one_off(listing)).state != \
        "awaiting_approval"


def test_household_records_are_checked(app_ctx, make_user, db_session):
    provider, listing = live_listing(make_user)
    holder, _ = holder_with_budget(make_user)
    with pytest.raises(InvalidInput) as err:
        households.add_member(holder, holder.id, name=" ", relation="child",
                              lives_with_holder=True)
    assert err.value.field == "name"
    with pytest.raises(InvalidInput) as err:  # not a provider they have dealt with
        households.add_member(holder, holder.id, name="Ann", relation="child",
                              lives_with_holder=True, provider_profile_id=listing.profile_id)
    assert err.value.field == "provider"
    with pytest.raises(NotFound):  # someone else's household
        households.add_member(make_user(Role.HOLDER), holder.id, name="Ann", relation="child",
                              lives_with_holder=True)
    circle = delegate(make_user, holder, DelegateKind.CIRCLE)
    with pytest.raises(Exception, match="Only the person"):
        households.members_of(circle, holder.id)


# Addresses ----------------------------------------------------------------------------------

def test_a_shared_address_nobody_declared_is_flagged_by_the_scan(app_ctx, make_user, db_session):
    provider, listing = live_listing(make_user)
    holder, _ = holder_with_budget(make_user)
    households.save_address(holder, line1="12 High Street", line2="", town="Shrewsbury",
                            postcode="sy1 1aa")
    households.save_address(provider, line1="12 High St.", line2="", town="Shrewsbury",
                            postcode="SY11AA")
    booking = bookings.request_booking(holder, holder, one_off(listing))
    bookings.accept(provider, booking.id)
    snap = build_snapshot()
    assert snap.holder_by_id[holder.id].address_key == \
        snap.provider_by_id[listing.profile_id].address_key == "SY11AA|12 high st"
    assert [f.rule for f in evaluate(snap, app_ctx_settings())
            if f.rule == "undeclared_shared_address"] == ["undeclared_shared_address"]
    # Declared (a lodger who is a friend): the rule is quiet.
    households.add_member(holder, holder.id, name="Sam", relation="friend",
                          lives_with_holder=True, provider_profile_id=listing.profile_id)
    assert not [f for f in evaluate(build_snapshot(), app_ctx_settings())
                if f.rule == "undeclared_shared_address"]
    assert "12 High" not in str(_actions("home_address."))  # the address stays out of the log
    with pytest.raises(InvalidInput) as err:
        households.save_address(holder, line1="1 Road", line2="", town="X", postcode="nonsense")
    assert err.value.field == "postcode"


# Price history ------------------------------------------------------------------------------

def test_a_rise_for_existing_clients_needs_notice_and_tells_them_first(app_ctx, make_user,
                                                                      db_session):
    provider, listing = live_listing(make_user)
    holder, _ = holder_with_budget(make_user)
    bookings.request_booking(holder, holder, one_off(listing))
    with pytest.raises(InvalidInput) as err:
        listings.update_listing(provider, listing.id, _listing_input(listing, "19.50"))
    assert err.value.field == "price_effective" and "28 days' notice" in err.value.message
    assert db_session.scalar(select(PriceChange)) is None  # nothing half-written
    effective = date.today() + timedelta(days=30)
    listings.update_listing(provider, listing.id, _listing_input(
        listing, "19.50", price_effective=effective))
    db_session.refresh(listing)
    assert listing.price_pence == 1950  # new clients pay the new price at once
    change = db_session.scalar(select(PriceChange))
    assert (change.old_rate_pence, change.new_rate_pence, change.notice_days,
            change.applies_to_existing, change.existing_clients_told) == (1650, 1950, 30, True, 1)
    told = db_session.scalar(select(Notification).where(
        Notification.user_id == holder.id, Notification.event == "price_rise_notice"))
    assert told is not None and "changing their price" in told.subject
    # The client told keeps the old rate until the day, then pays the new one.
    assert listings.rate_for_client(listing, holder.id) == 1650
    assert listings.rate_for_client(listing, holder.id,
                                    change.effective_at - timedelta(minutes=1)) == 1650
    assert listings.rate_for_client(listing, holder.id, change.effective_at) == 1950
    newcomer, _ = holder_with_budget(make_user)
    assert listings.rate_for_client(listing, newcomer.id) == 1950
    assert "listing.price_change_recorded" in _actions("listing.price")


def test_existing_clients_are_quoted_their_own_rate_and_new_clients_the_new_price(
        app_ctx, make_user, db_session):
    from tests.booking_helpers import next_weekday

    provider, listing = live_listing(make_user)
    holder, _ = holder_with_budget(make_user)
    bookings.request_booking(holder, holder, one_off(listing))
    effective = date.today() + timedelta(days=30)
    listings.update_listing(provider, listing.id, _listing_input(
        listing, "19.50", price_effective=effective))
    newcomer, _ = holder_with_budget(make_user)
    before = one_off(listing, day=next_weekday(2, weeks_ahead=1))
    after = one_off(listing, day=next_weekday(2, weeks_ahead=6))
    # Two hours a visit: the client's own rate before the day, the new one from it.
    assert bookings.quote_booking(holder, before).total_pence == 2 * 1650
    assert bookings.quote_booking(holder, after).total_pence == 2 * 1950
    assert bookings.quote_booking(newcomer, before).total_pence == 2 * 1950
    booked = bookings.request_booking(holder, holder, before)
    assert booked.sessions[0].price_pence == 2 * 1650
    price = listings.client_price(listing, holder.id)
    assert (price.rate_pence, price.next_rate_pence, price.next_from) == (1650, 1950, effective)
    assert listings.client_price(listing, newcomer.id) is None
    assert listings.rates_for_client([listing.id], holder.id) == {listing.id: 1650}
    assert listings.rates_for_client([listing.id], newcomer.id) == {}


def test_an_agreement_offered_to_an_existing_client_starts_from_their_own_rate(
        app_ctx, make_user, db_session):
    from app.services import agreements

    provider, listing = live_listing(make_user)
    holder, _ = holder_with_budget(make_user)
    booking = bookings.accept(provider, bookings.request_booking(
        holder, holder, one_off(listing)).id)
    listings.update_listing(provider, listing.id, _listing_input(
        listing, "19.50", price_applies_to_existing=False))
    assert agreements.suggested_terms(booking).rate_pence == 1650


def test_a_price_for_new_clients_only_or_a_cut_applies_at_once(app_ctx, make_user, db_session):
    provider, listing = live_listing(make_user)
    holder, _ = holder_with_budget(make_user)
    bookings.request_booking(holder, holder, one_off(listing))
    listings.update_listing(provider, listing.id, _listing_input(
        listing, "19.50", price_applies_to_existing=False))
    db_session.refresh(listing)
    assert listing.price_pence == 1950
    # A rise for new clients only: the existing client keeps their rate, now and later.
    assert listings.rate_for_client(listing, holder.id) == 1650
    assert listings.rate_for_client(listing, holder.id, clock.now() + timedelta(days=400)) == 1650
    listings.update_listing(provider, listing.id, _listing_input(listing, "15.00"))
    db_session.refresh(listing)
    assert listing.price_pence == 1500
    assert listings.rate_for_client(listing, holder.id) == 1500  # a cut reaches them too
    assert db_session.scalar(select(Notification).where(
        Notification.event == "price_rise_notice")) is None


def test_the_snapshot_carries_price_history_for_the_rate_rise_rule(app_ctx, make_user,
                                                                  db_session):
    """A client with support before and after a rise that was announced with notice: the scan
    after it takes effect finds it, however long before the window it was announced."""
    from tests.booking_helpers import next_weekday

    provider, listing = live_listing(make_user)
    holder, _ = holder_with_budget(make_user)
    for weeks in (1, 6):
        booking = bookings.request_booking(holder, holder, one_off(
            listing, day=next_weekday(1, weeks_ahead=weeks)))
        bookings.accept(provider, booking.id)
    listings.update_listing(provider, listing.id, _listing_input(
        listing, "21.00", price_effective=date.today() + timedelta(days=28)))
    change = db_session.scalar(select(PriceChange))
    snap = build_snapshot(change.effective_at + timedelta(days=20))
    assert [(c.listing_id, c.old_rate_pence, c.new_rate_pence) for c in snap.price_changes] == [
        (listing.id, 1650, 2100)]
    found = [f for f in evaluate(snap, app_ctx_settings())
             if f.rule == "rate_rise_for_existing_clients"]
    assert len(found) == 1 and found[0].numbers["notice_days"] == 28
    # Before it takes effect, nothing to flag yet.
    assert not [f for f in evaluate(build_snapshot(), app_ctx_settings())
                if f.rule == "rate_rise_for_existing_clients"]


# Held messages ------------------------------------------------------------------------------

def _as(login, user):
    """Sign in on the test client; the test's own app context keeps `g` between requests, so
    drop the acting context cached for the last person."""
    from flask import g

    login(user)
    g.pop("acting", None)
    g.pop("_login_user", None)


def test_a_message_asking_for_card_details_is_held_and_the_sender_is_not_told(
        app_ctx, client, login, make_user, db_session):
    provider, listing = live_listing(make_user)
    holder, _ = holder_with_budget(make_user)
    thread = messaging.start(holder, holder.id, listing.id, "Hello")
    held = messaging.reply_as_provider(provider, thread.id,
                                       "What's your PIN? Keep it between us.")
    assert held.held is True
    assert db_session.scalar(select(Notification).where(
        Notification.user_id == holder.id, Notification.event == "message_received")) is None
    _as(login, provider)
    sender_view = client.get(f"/provider/messages/{thread.id}").get_data(as_text=True)
    assert "What&#39;s your PIN?" in sender_view or "What's your PIN?" in sender_view
    main = sender_view.lower().split("<main")[1].split("</main>")[0]
    for word in ("held", "flag", "waiting for a broker", "warning", "not delivered"):
        assert word not in main
    _as(login, holder)
    holder_view = client.get(f"/my/messages/{thread.id}").get_data(as_text=True)
    assert "Hello" in holder_view and "your PIN" not in holder_view
    # A broker who finds it harmless dismisses the flag: the message goes through.
    flag = db_session.scalar(select(Flag).where(Flag.subject_kind == "message"))
    flags.dismiss(make_user(Role.BROKER), flag.id, reason="A PIN for the key safe, agreed.")
    db_session.refresh(held)
    assert held.held is False
    _as(login, holder)
    after = client.get(f"/my/messages/{thread.id}").get_data(as_text=True)
    assert "your PIN" in after, after.split("<main")[1][:1500]
    assert db_session.scalar(select(Notification).where(
        Notification.user_id == holder.id, Notification.event == "message_received"))


def test_a_single_request_for_cash_is_delivered_with_a_warning(app_ctx, make_user, db_session):
    provider, listing = live_listing(make_user)
    holder, _ = holder_with_budget(make_user)
    thread = messaging.start(holder, holder.id, listing.id, "Hello")
    message = messaging.reply_as_provider(provider, thread.id, "Cash in hand is easier for me.")
    assert message.held is False and message.flagged_categories == ["cash"]


# The snapshot -------------------------------------------------------------------------------

def test_snapshot_carries_concerns_plan_changes_relationships_who_booked_and_alternatives(
        app_ctx, make_user, db_session):
    provider, listing = live_listing(make_user)
    _, other = live_listing(make_user)
    holder, _ = holder_with_budget(make_user)
    helper = delegate(make_user, holder, DelegateKind.NOMINATED)
    broker = make_user(Role.BROKER)
    own = bookings.request_booking(holder, holder, one_off(listing))
    by_helper = bookings.request_booking(helper, holder, one_off(
        listing, day=date.today() + timedelta(days=16)))
    arranged = bookings.arrange_booking(broker, holder.id, one_off(
        listing, day=date.today() + timedelta(days=23)), options_offered=[listing.id, other.id],
        options_note="Two PAs near you")
    budgets.save_plan(holder.id, "Seeing my friends", "Get out more",
                      {"personal_assistant": 1_500_000, "transport": 300_000}, actor=broker)
    concern = concerns.raise_concern(holder, listing.profile_id, concerns.ConcernInput(
        kind="complaint", harm=None, details="Late again", holder_id=holder.id))
    snap = build_snapshot()
    kinds = {s.booking_id: (s.booked_by_user_id, s.booked_by_kind) for s in snap.sessions}
    assert kinds[own.id] == (holder.id, "holder")
    assert kinds[by_helper.id] == (helper.id, "delegate")
    assert kinds[arranged.id] == (broker.id, "broker")
    assert [(a.booking_id, a.broker_id, a.provider_ids) for a in snap.alternatives_offered] == [
        (arranged.id, broker.id, (listing.profile_id, other.profile_id))]
    assert [(c.holder_id, c.category, c.old_amount_pence, c.new_amount_pence)
            for c in snap.plan_changes] == [(holder.id, "personal_assistant", 1_000_000,
                                             1_500_000)]
    # The relationship begins with the first agreed session, not with the request.
    assert snap.relationships == ()
    first = own.sessions[0].start_at
    later = build_snapshot(first + timedelta(days=1))
    assert [(r.holder_id, r.provider_id, r.began_at) for r in later.relationships] == [
        (holder.id, listing.profile_id, first)]
    assert [(c.id, c.kind, c.reporter_kind, c.reporter_user_id, c.holder_id, c.open)
            for c in snap.concerns] == [(concern.id, "complaint", "holder", holder.id,
                                         holder.id, True)]
