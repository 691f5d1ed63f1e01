"""A small market loaded through the services, with every pattern of design.md planted among
clean providers and holders: one scan flags every planted pattern and at most 2% of the clean
providers and of the clean holders.

Planted here: a safeguarding concern, possible fraud, complaints from three holders, a message
asking for cash, a paid close relative at home without the council's agreement, a shared address
nobody declared, a provider who is also the holder's authorised person, a new nominated person
followed by new spending, a price far above like-for-like peers, a rate rise for existing clients
(from the price history), hours billed beyond hours booked, one person in two places at once, a
provider whose clients are mostly people at risk at high prices, and another at ordinary prices,
a holder's spending suddenly far above their own history, a charge for a cancelled session beyond
the policy it was booked under, a district one agency has taken over (concentration, and its
share above the cap in the stored market view, which advises by default), one where
concentration is rising against the window before, a broker steering people to one provider, a
broker who declared a conflict of interest after arranging support (and is refused from then on),
repeated low ratings for respect and dignity, a burst of five-star reviews, and a review written
by the provider for the person they support. Lock-in terms are refused when offered, so they
never reach a scan.
"""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.domain.access import DelegateKind, LegalBasis, Role
from app.domain.agreements import Terms
from app.errors import InvalidInput
from app.extensions import db
from app.models import Flag, MarketRun
from app.services import (
    agreements,
    bookings,
    brokerage,
    concerns,
    conflicts,
    delegation,
    households,
    listings,
    market_view,
    messaging,
    providers,
    ratings,
)
from tests.booking_helpers import at, holder_with_budget, live_listing, next_weekday, one_off
from tests.messaging_helpers import delegate
from tests.provider_helpers import profile_input
from tests.review_helpers import scores, settled_one_off

CLEAN_PROVIDERS = 20
CLEAN_HOLDERS = 40
INNOCENT = ["My rate is £18 an hour, and Carefair takes care of the payment.",
            "Are you free on the bank holiday Monday?",
            "I would never ask for your PIN.",
            "It's a surprise party for your granddaughter, so don't tell her!",
            "Can I borrow your ladder to change the bulb?"]


def _book(actor, holder, listing, provider, *, weeks, start=10, end=12, accept=True, weekday=1):
    booking = bookings.request_booking(actor, holder, one_off(
        listing, day=next_weekday(weekday, weeks_ahead=weeks), start=start, end=end))
    if accept and booking.state == "requested":
        booking = bookings.accept(provider, booking.id)
    return booking


def _listing_input(listing, price, **kw):
    return listings.ListingInput(
        category=listing.category, title=listing.title, description=listing.description,
        price=price, price_unit=listing.price_unit, minimum_units=listing.minimum_units,
        funding_modes=list(listing.funding_modes), **kw)


def test_every_planted_pattern_is_flagged_and_clean_people_are_left_alone(app_ctx, make_user,
                                                                          db_session):
    broker = make_user(Role.BROKER)

    def provider(price="16.50"):
        return live_listing(make_user, broker, price=price)

    def holder(district=None, **kw):
        person = holder_with_budget(make_user, funded=kw.pop("funded", 200_000), **kw)[0]
        if district:
            person.home_district = district
            db.session.commit()
        return person

    def named(name, district, price="16.50"):
        user, listing = provider(price)
        providers.save_profile(user, profile_input(display_name=name, districts=district))
        return user, listing

    # The clean market: PAs at ordinary prices, holders (one in ten at risk) with a few
    # bookings each in the rule window and everyday messages.
    clean_providers = [provider(f"{15.50 + (i % 5) * 0.50:.2f}") for i in range(CLEAN_PROVIDERS)]
    clean_holders = []
    for i in range(CLEAN_HOLDERS):
        person = holder("SY1", at_risk=i % 10 == 0)
        clean_holders.append(person)
        first = clean_providers[i % CLEAN_PROVIDERS]
        second = clean_providers[(i + 7) % CLEAN_PROVIDERS]
        hour = 8 + 2 * (i // CLEAN_PROVIDERS)
        _book(person, person, first[1], first[0], weeks=10, start=hour, end=hour + 2)
        _book(person, person, second[1], second[0], weeks=11, start=hour + 4, end=hour + 6)
        if i % 4 == 0:
            thread = messaging.start(person, person.id, first[1].id, INNOCENT[i % len(INNOCENT)])
            messaging.reply_as_provider(first[0], thread.id, INNOCENT[(i + 1) % len(INNOCENT)])

    expected: dict[str, object] = {}

    # A safeguarding concern from a member of the public; possible fraud from another provider.
    p_sg = provider()
    concerns.raise_concern(None, p_sg[1].profile_id, concerns.ConcernInput(
        kind="safeguarding", harm="neglect", details="Left without food all weekend."))
    expected["safeguarding_concern (safeguarding)"] = ("provider", p_sg[1].profile_id, "critical")
    p_fraud, p_out = provider(), provider("40.00")  # p_out: far above its peers, below
    concerns.raise_concern(p_out[0], p_fraud[1].profile_id, concerns.ConcernInput(
        kind="fraud", harm=None, details="Bills for visits that never happen."))
    expected["safeguarding_concern (fraud)"] = ("provider", p_fraud[1].profile_id, "high")
    expected["price_outlier"] = ("listing", p_out[1].id, None)

    # Complaints about one provider from three different holders.
    p_cmp = provider()
    for _ in range(3):
        person = holder()
        _book(person, person, p_cmp[1], p_cmp[0], weeks=10, start=8 + 2 * _, end=10 + 2 * _)
        concerns.raise_concern(person, p_cmp[1].profile_id, concerns.ConcernInput(
            kind="complaint", harm=None, details="Late every time.", holder_id=person.id))
    expected["repeated_complaints"] = ("provider", p_cmp[1].profile_id, None)

    # A provider asking for cash in a message.
    p_msg, h_msg = provider(), holder()
    thread = messaging.start(h_msg, h_msg.id, p_msg[1].id, "Hello, are you free on Tuesdays?")
    messaging.reply_as_provider(p_msg[0], thread.id, "Yes. Cash in hand is easier for me.")
    expected["suspicious_messages"] = ("provider", p_msg[1].profile_id, None)

    # Paying a daughter who lives at home, without the council's agreement.
    p_rel, h_rel = provider(), holder()
    messaging.start(h_rel, h_rel.id, p_rel[1].id, "Hi love")
    households.add_member(h_rel, h_rel.id, name="Ann", relation="child", lives_with_holder=True,
                          provider_profile_id=p_rel[1].profile_id)
    waiting = _book(h_rel, h_rel, p_rel[1], p_rel[0], weeks=10)
    assert waiting.state == "awaiting_approval"
    expected["paid_relative_in_household"] = ("holder", h_rel.id, None)

    # A holder and a provider at one address that nobody declared.
    p_addr, h_addr = provider(), holder()
    households.save_address(h_addr, line1="4 Mill Lane", line2="", town="Shrewsbury",
                            postcode="SY3 8AB")
    households.save_address(p_addr[0], line1="4, Mill Ln", line2="", town="Shrewsbury",
                            postcode="SY38AB")
    _book(h_addr, h_addr, p_addr[1], p_addr[0], weeks=10)
    expected["undeclared_shared_address"] = ("holder", h_addr.id, None)

    # A provider who is also the holder's authorised person (recorded as a delegation).
    p_del, h_del = provider(), holder()
    own = settled_one_off(p_del[0], p_del[1], h_del, weeks_ago=3)  # support they gave before
    delegation.record_authorised_person(broker, h_del.id, p_del[0].email, p_del[0].name,
                                        LegalBasis.LASTING_POWER_OF_ATTORNEY,
                                        date.today() + timedelta(days=365), "")
    waiting = _book(h_del, h_del, p_del[1], p_del[0], weeks=10)
    assert waiting.state == "awaiting_approval"  # the booking waits for a broker
    expected["provider_is_delegate"] = ("holder", h_del.id, None)

    # A new nominated person, then spending with providers the holder never used.
    h_nd = holder(funded=300_000)
    helper = delegate(make_user, h_nd, DelegateKind.NOMINATED)
    for weeks, new in ((3, provider()), (4, provider())):
        _book(helper, h_nd, new[1], new[0], weeks=weeks, start=8, end=16)
    expected["new_delegate_then_spending"] = ("holder", h_nd.id, None)

    # A rise for existing clients, announced with notice: charged inside the window.
    p_rise, h_rise = provider(), holder()
    for weeks in (1, 6, 11):
        _book(h_rise, h_rise, p_rise[1], p_rise[0], weeks=weeks)
    listings.update_listing(p_rise[0], p_rise[1].id, _listing_input(
        p_rise[1], "20.00", price_effective=date.today() + timedelta(days=28)))
    expected["rate_rise_for_existing_clients"] = ("listing", p_rise[1].id, None)

    # Hours recorded beyond the hours booked; one person recorded with two people at once.
    as_of = at(next_weekday(1, weeks_ahead=15), 12)
    p_hours, h_hours = provider(), holder()
    over = _book(h_hours, h_hours, p_hours[1], p_hours[0], weeks=10)
    s = over.sessions[0]
    bookings.record_delivery(p_hours[0], s.id, actual_start=s.start_at,
                             actual_end=s.end_at + timedelta(hours=1), now=as_of)
    expected["hours_beyond_booking"] = ("provider", p_hours[1].profile_id, None)
    p_two, h_t1, h_t2 = provider(), holder(), holder()
    one = _book(h_t1, h_t1, p_two[1], p_two[0], weeks=10, start=9, end=11)
    two = _book(h_t2, h_t2, p_two[1], p_two[0], weeks=10, start=13, end=15)
    for booking in (one, two):
        first = booking.sessions[0]
        bookings.record_delivery(p_two[0], first.id, actual_start=one.sessions[0].start_at,
                                 actual_end=one.sessions[0].end_at, now=as_of)
    expected["two_places_at_once"] = ("provider", p_two[1].profile_id, None)

    # A provider whose clients are all people at risk, at prices above its peers.
    p_ar = provider("20.50")
    for n in range(6):
        person = holder(at_risk=True)
        _book(person, person, p_ar[1], p_ar[0], weeks=10 + n % 2, start=8 + 2 * (n // 2),
              end=10 + 2 * (n // 2))
    expected["at_risk_clients_high_prices"] = ("provider", p_ar[1].profile_id, None)

    # Spending with one provider suddenly far above the holder's own history.
    p_spk, h_spk = provider(), holder(funded=500_000)
    for weeks in range(1, 13):
        _book(h_spk, h_spk, p_spk[1], p_spk[0], weeks=weeks)
    for weeks in (13, 14):
        for day_offset in (0, 1):
            day = next_weekday(1, weeks_ahead=weeks) + timedelta(days=day_offset)
            booking = bookings.request_booking(h_spk, h_spk, bookings.BookingInput(
                listing_id=p_spk[1].id, kind="one_off", start=at(day, 8), end=at(day, 16)))
            bookings.accept(p_spk[0], booking.id)
    expected["spending_spike"] = ("holder", h_spk.id, None)

    # A provider whose clients are mostly people at risk, at ordinary prices.
    p_arc = provider()
    for n in range(6):
        person = holder(at_risk=True)
        _book(person, person, p_arc[1], p_arc[0], weeks=12 + n % 2, start=8 + 2 * (n // 2),
              end=10 + 2 * (n // 2))
    expected["at_risk_concentration"] = ("provider", p_arc[1].profile_id, None)

    # A late-cancellation fee brought in after the booking, then charged. The booking service
    # now charges the policy booked under (nothing), so the fee is set on the record as one
    # charged before it did would be: the rule still finds it.
    p_can, h_can = live_listing(make_user, broker, charge="0", notice=48), holder()
    late = _book(h_can, h_can, p_can[1], p_can[0], weeks=10)
    listings.update_listing(p_can[0], p_can[1].id, _listing_input(
        p_can[1], "16.50", cancellation_notice_hours=48, cancellation_charge="30.00"))
    bookings.cancel_booking(h_can, h_can, late.id,
                            now=late.sessions[0].start_at - timedelta(hours=5))
    assert [s.charge_pence for s in late.sessions] == [0] * len(late.sessions)
    late.sessions[0].charge_pence = 3000
    db.session.commit()
    expected["cancellation_beyond_policy"] = ("provider", p_can[1].profile_id, None)

    # LS6: one agency has taken over personal care (five people with it, one each with two
    # others); six hours a visit, two visits each.
    big = named("Big Care Ltd", "LS6")
    ls6 = [big, named("Small Care 1", "LS6"), named("Small Care 2", "LS6")]
    for n in range(7):
        person, (user, listing) = holder("LS6"), ls6[0 if n < 5 else n - 4]
        for week in (10, 11):
            _book(person, person, listing, user, weeks=week, start=8, end=14,
                  weekday=n if n < 5 else 0)
    expected["market_concentration"] = ("market", "LS6/personal_care", None)

    # LS8: three providers shared people evenly in the window before; now one has most.
    ls8 = [named(f"Rising Care {n}", "LS8") for n in range(3)]
    for user, listing in ls8:
        for k in range(2):
            person = holder("LS8")
            for week in (1, 2):  # the 90 days before the scan's window
                _book(person, person, listing, user, weeks=week, start=8, end=16, weekday=k)
    for n in range(7):
        person, (user, listing) = holder("LS8"), ls8[0 if n < 5 else n - 4]
        for week in (12, 13):
            _book(person, person, listing, user, weeks=week, start=8, end=16,
                  weekday=n if n < 5 else 2)
    expected["concentration_rising"] = ("market", "LS8/personal_care", None)

    # LS7: five providers, three people each; a broker arranges support for eight more people
    # and sends seven of them to the same one.
    ls7 = [named(f"Steady Care {n}", "LS7") for n in range(5)]
    for n, (user, listing) in enumerate(ls7):
        for k in range(3):
            person = holder("LS7")
            _book(person, person, listing, user, weeks=10 + k, start=8 + 2 * (n % 4),
                  end=10 + 2 * (n % 4))
    steering = make_user(Role.BROKER, name="Sam Steer")
    for n in range(8):
        user, listing = ls7[0] if n < 7 else ls7[2]
        person = holder("LS7")
        day = next_weekday(n % 5, weeks_ahead=12 + n // 5)
        arranged = bookings.arrange_booking(
            steering, person.id, one_off(listing, day=day, start=16, end=17),
            options_offered=[ls7[1][1].id], options_note="Offered two; they chose this one.")
        if arranged.state == "requested":
            bookings.accept(user, arranged.id)
    expected["broker_steering"] = ("broker", steering.id, None)

    # A broker arranges support with a provider, then declares a conflict with it: flagged,
    # and refused from then on.
    p_coi, conflicted = provider(), make_user(Role.BROKER)
    h_coi = holder()
    first = bookings.arrange_booking(conflicted, h_coi.id, one_off(
        p_coi[1], day=next_weekday(2, weeks_ahead=11)), options_offered=[],
        options_note="The only one free.")
    bookings.accept(p_coi[0], first.id)
    conflicts.declare(conflicted, str(p_coi[1].profile_id), "My sister runs it")
    with pytest.raises(conflicts.ConflictOfInterest):
        bookings.arrange_booking(conflicted, h_coi.id, one_off(
            p_coi[1], day=next_weekday(3, weeks_ahead=11)), options_offered=[],
            options_note="Again")
    expected["conflict_of_interest"] = ("broker", conflicted.id, None)

    # Reviews: three people rate one provider low for respect and dignity; another gets a
    # burst of five-star reviews; a provider who acts for the person they support reviews
    # themselves.
    p_dig, p_burst = provider(), provider()
    for n in range(3):
        person = holder()
        settled = settled_one_off(p_dig[0], p_dig[1], person, weeks_ago=2 + n, hour=10)
        ratings.submit_review(person, person, settled.id, scores(2, respect_dignity=1))
    expected["low_respect_and_dignity"] = ("provider", p_dig[1].profile_id, None)
    for n in range(5):
        person = holder()
        settled = settled_one_off(p_burst[0], p_burst[1], person, weeks_ago=2 + n // 4,
                                  hour=8 + 2 * (n % 4))
        ratings.submit_review(person, person, settled.id, scores(5))
    expected["five_star_burst"] = ("provider", p_burst[1].profile_id, None)
    ratings.submit_review(p_del[0], h_del, own.id, scores(5))
    expected["review_by_linked_person"] = ("provider", p_del[1].profile_id, None)

    # Lock-in terms are refused when the provider offers them: nothing to flag later.
    p_lock, h_lock = provider(), holder()
    locked = _book(h_lock, h_lock, p_lock[1], p_lock[0], weeks=10)
    for unfair in ({"notice_days": 120}, {"exit_fee_pence": 50_000}, {"prepayment_weeks": 12},
                   {"exclusive": True}):
        with pytest.raises(InvalidInput):
            agreements.offer(p_lock[0], locked.id, Terms(**{
                "services": "Personal care", "schedule": "Tuesdays 10 to 12",
                "rate_pence": 1650, "rate_unit": "hour", "minimum_minutes": 120,
                "cancellation_notice_hours": 24, "cancellation_charge_pence": 0,
                "notice_days": 14, "complaints": "Call me first.", **unfair}))
    assert agreements.agreement_for_booking(locked.id) is None

    # One scan of the whole market, as the daily job runs it.
    result = brokerage.scan(as_of)
    on_file = db_session.scalars(select(Flag)).all()

    def flagged(rule, kind, ident, severity):
        for flag in on_file:
            if flag.rule != rule or (severity and flag.severity != severity):
                continue
            if kind == "provider" and flag.provider_profile_id == ident:
                return True
            if kind == "holder" and flag.holder_id == ident:
                return True
            if kind == "listing" and flag.subject_kind == "listing" and \
                    flag.subject_id == str(ident):
                return True
            if kind in ("market", "broker") and flag.subject_kind == kind and \
                    flag.subject_id == str(ident):
                return True
        return False

    missed = [name for name, (kind, ident, severity) in expected.items()
              if not flagged(name.split(" ")[0], kind, ident, severity)]
    assert missed == [], f"planted patterns not flagged: {missed}"
    # The share cap advises by default (no flag): the stored market view shows it.
    run = db.session.get(MarketRun, result.market_run_id)
    detail = market_view.market(run, "LS6", "personal_care", 12)
    assert [(s.provider_name, s.share.above_cap) for s in detail.shares][0] == (
        "Big Care Ltd", True)
    clean_market, _ = market_view.markets(run, district="SY1")
    assert clean_market and all(not row.figure.above_cap for row in clean_market)

    clean_provider_ids = {listing.profile_id for _, listing in clean_providers}
    clean_holder_ids = {h.id for h in clean_holders}
    providers_hit = {f.provider_profile_id for f in on_file} & clean_provider_ids
    holders_hit = {f.holder_id for f in on_file} & clean_holder_ids
    assert len(providers_hit) <= 0.02 * len(clean_provider_ids), [
        (f.rule, f.explanation) for f in on_file if f.provider_profile_id in providers_hit]
    assert len(holders_hit) <= 0.02 * len(clean_holder_ids), [
        (f.rule, f.explanation) for f in on_file if f.holder_id in holders_hit]
