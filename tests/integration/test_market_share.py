"""Bookings reach the brokerage rules and fair search: the snapshot's booked sessions, the
share-cap flag, and search showing a provider with most of a market's spend lower."""

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest

from app.domain.access import Role
from app.domain.bookings import WeeklyPattern
from app.domain.rules import evaluate
from app.domain.rules.concentration import provider_share_cap
from app.domain.rules.markets import MarketTotal, facts_from_sessions
from app.domain.search import parse_query
from app.extensions import db
from app.models import Booking, BookingSession
from app.services import bookings, brokerage, ledger, providers, ratings
from app.services import search as search_service
from app.services.market_snapshot import build_snapshot
from app.services.search_listings import forget_market_share, market_share
from tests.booking_helpers import at, holder_with_budget, live_listing, next_weekday, one_off
from tests.ledger_helpers import key
from tests.provider_helpers import profile_input
from tests.review_helpers import scores

pytestmark = pytest.mark.database


def _past_weekly(provider, listing, holder, *, weeks_ago: int, count: int) -> Booking:
    """Tuesdays 10:00 to 12:00 from `weeks_ago` weeks back, accepted (money held): live spend."""
    first = next_weekday(1, -weeks_ago)
    data = bookings.BookingInput(
        listing.id, kind="recurring",
        pattern=WeeklyPattern(frozenset({1}), time(10), 120, first, count=count))
    booking = bookings.request_booking(holder, holder, data, now=at(first, 10) - timedelta(days=3))
    return bookings.accept(provider, booking.id)


def _past_one_off(provider, listing, holder, *, weeks_ago: int, weekday: int = 2) -> Booking:
    day = next_weekday(weekday, -weeks_ago)
    booking = bookings.request_booking(holder, holder, one_off(listing, day=day),
                                       now=at(day, 10) - timedelta(days=3))
    return bookings.accept(provider, booking.id)


def _deliver_and_confirm(provider, holder, session):
    bookings.record_delivery(provider, session.id, actual_start=session.start_at,
                             actual_end=session.end_at + timedelta(minutes=30),
                             now=session.end_at + timedelta(hours=1))
    return bookings.confirm_session(holder, holder, session.id)


def _small_markets_count(app, monkeypatch):
    """One holder's bookings make a market: the default minimums need five people and £1,000."""
    settings = replace(app.config["COUNCIL"], market_min_spend_pence=0, market_min_holders=1)
    monkeypatch.setitem(app.config, "COUNCIL", settings)
    return settings


def _living_in(holder, district):
    holder.home_district = district
    db.session.commit()
    return holder


def _dominant_market(make_user):
    """Two PAs doing personal care for a holder living in SY2: one has ten sessions, the other
    one."""
    big, big_listing = live_listing(make_user)
    small, small_listing = live_listing(make_user)
    holder = _living_in(holder_with_budget(make_user)[0], "SY2")
    _past_weekly(big, big_listing, holder, weeks_ago=11, count=10)
    _past_one_off(small, small_listing, holder, weeks_ago=3)
    return big_listing, small_listing


def test_a_provider_with_most_of_a_markets_spend_is_found_and_shown_lower_in_search(
        app, app_ctx, make_user, db_session, monkeypatch):
    _small_markets_count(app, monkeypatch)
    big, small = _dominant_market(make_user)

    # What `carefair brokerage scan` evaluates: the share cap is advice (LOW), not a flag.
    found = [f for f in evaluate(build_snapshot(), app.config["COUNCIL"])
             if f.rule == "provider_share_cap"]
    assert [(f.subject.kind, f.subject.id) for f in found] == [("provider", big.profile_id)]
    assert found[0].numbers["share_percent"] == 90.9  # 10 x £33.00 of £363.00
    assert found[0].numbers["market"] == "SY2/personal_care"
    assert "Search there will show them less prominently" in found[0].explanation
    assert brokerage.scan().advice_only >= 1

    search_service.reindex()
    forget_market_share(app)  # booking the sessions above cached the empty market for a minute
    for user_id in (1, 2, 3):  # whatever the day's rotation of equal matches
        hits = search_service.search(parse_query({"district": "SY2"}), user_id=user_id).hits
        assert [h.document.listing_id for h in hits] == [small.id, big.id]
        why = " ".join(hits[1].explanation)
        assert "91% of the spending on personal care by people living in SY2" in why
        assert "shown lower to give other providers a fair chance" in why
        assert "shown lower" not in " ".join(hits[0].explanation)


def test_a_market_with_too_few_people_dampens_nobody(app, app_ctx, make_user, db_session):
    big, big_listing = live_listing(make_user)
    small, small_listing = live_listing(make_user)
    holder = _living_in(holder_with_budget(make_user)[0], "SY1")
    _past_weekly(big, big_listing, holder, weeks_ago=6, count=5)
    _past_one_off(small, small_listing, holder, weeks_ago=3)

    assert market_share() == {}  # one person, fewer than the council's minimum of five
    assert not [f for f in evaluate(build_snapshot(), app.config["COUNCIL"])
                if f.rule == "provider_share_cap"]
    search_service.reindex()
    hits = search_service.search(parse_query({"district": "SY1"}), user_id=1).hits
    assert not any("shown lower" in " ".join(h.explanation) for h in hits)


def test_search_reuses_market_shares_for_a_minute(app, app_ctx, make_user, db_session,
                                                 monkeypatch):
    _small_markets_count(app, monkeypatch)
    assert market_share() == {}
    big, small = _dominant_market(make_user)
    assert market_share() == {}  # computed a moment ago: searches reuse it for 60 seconds
    forget_market_share(app)
    assert market_share() == {(big.profile_id, "personal_care", "SY2"): pytest.approx(1000 / 11),
                              (small.profile_id, "personal_care", "SY2"): pytest.approx(100 / 11)}


def test_the_council_can_turn_search_dampening_off(app, app_ctx, make_user, db_session,
                                                   monkeypatch):
    settings = _small_markets_count(app, monkeypatch)
    _dominant_market(make_user)
    monkeypatch.setitem(app.config, "COUNCIL", replace(settings, share_cap_dampens_search=False))
    assert market_share(datetime.now(UTC)) == {}


def test_market_share_agrees_with_the_share_cap_rule(app, app_ctx, make_user, db_session,
                                                     monkeypatch):
    """Sessions in every money state, two districts: the rule and search see the same shares."""
    settings = replace(app.config["COUNCIL"], market_min_spend_pence=0, market_min_holders=1,
                       provider_share_cap_percent=20)
    monkeypatch.setitem(app.config, "COUNCIL", settings)
    broker = make_user(Role.BROKER)
    holder = _living_in(holder_with_budget(make_user, funded=300_000)[0], "SY3")
    elsewhere = _living_in(holder_with_budget(make_user, funded=300_000)[0], "TF1")
    a, a_listing = live_listing(make_user, broker)
    b, b_listing = live_listing(make_user, broker, charge="10.00", notice=48)
    c, c_listing = live_listing(make_user, broker, price="20.00")
    far, far_listing = live_listing(make_user, broker)
    providers.save_profile(far, profile_input(districts="TF1, TF2"))

    # A: four sessions, the first delivered (30 minutes over) and paid.
    weekly = _past_weekly(a, a_listing, holder, weeks_ago=8, count=4)
    _deliver_and_confirm(a, holder, weekly.sessions[0])
    # B: a late cancellation charged £10.00, £4.00 of it refunded later; a holder no-show
    # charged £10.00; a provider cancellation charging nothing (no spend, not counted).
    late = _past_one_off(b, b_listing, holder, weeks_ago=5)
    s = late.sessions[0]
    bookings.cancel_booking(holder, holder, late.id, now=s.start_at - timedelta(hours=2))
    ledger.refund(db.session.get(BookingSession, s.id).capture_id, 400,
                  idempotency_key=key("refund"), actor=broker)
    missed = _past_one_off(b, b_listing, holder, weeks_ago=4)
    bookings.report_no_show(b, None, missed.sessions[0].id,
                            now=missed.sessions[0].start_at + timedelta(minutes=30))
    free = _past_one_off(b, b_listing, holder, weeks_ago=2)
    bookings.cancel_booking(b, None, free.id, now=free.sessions[0].start_at - timedelta(days=1))
    # C: disputed and half refunded (still the agreed price in spend: settled is live).
    disputed = _past_one_off(c, c_listing, holder, weeks_ago=3, weekday=3)
    d = disputed.sessions[0]
    bookings.record_delivery(c, d.id, actual_start=d.start_at, actual_end=d.end_at,
                             now=d.end_at + timedelta(minutes=5))
    bookings.dispute_session(holder, holder, d.id, reason="Left early")
    bookings.resolve_dispute(broker, d.id, outcome="partial_refund", refund_pence=2000)
    # TF1: one provider alone is a thin market, not one to judge shares in.
    _past_one_off(far, far_listing, elsewhere, weeks_ago=2, weekday=4)

    as_of = datetime.now(UTC)
    shares = market_share(as_of)
    # SY3 personal care: A 4 x 3300, B 600 + 1000, C 4000; 7 sessions with spend.
    total = 4 * 3300 + 600 + 1000 + 4000
    assert shares == {
        (a_listing.profile_id, "personal_care", "SY3"): pytest.approx(100 * 13200 / total),
        (b_listing.profile_id, "personal_care", "SY3"): pytest.approx(100 * 1600 / total),
        (c_listing.profile_id, "personal_care", "SY3"): pytest.approx(100 * 4000 / total),
    }
    findings = provider_share_cap(build_snapshot(as_of), settings)
    assert {f.subject.id: f.numbers["share_percent"] for f in findings} == {
        pid: round(share, 1) for (pid, _, _), share in shares.items() if share > 20}
    assert {f.subject.id for f in findings} == {a_listing.profile_id, c_listing.profile_id}
    # The database's sums are exactly what summing the snapshot's sessions in Python gives.
    snap = build_snapshot(as_of)
    assert snap.market_facts == facts_from_sessions(snap.sessions, snap.holders, as_of,
                                                    settings.market_window_days)
    assert snap.market_facts.current_totals == (MarketTotal("SY3", "personal_care", 1),
                                                MarketTotal("TF1", "personal_care", 1))


def test_snapshot_sessions_carry_what_was_agreed_delivered_charged_and_cancelled(
        app, app_ctx, make_user, db_session):
    broker = make_user(Role.BROKER)
    provider, listing = live_listing(make_user, broker, charge="10.00", notice=48)
    holder, _ = holder_with_budget(make_user)
    paid = _past_one_off(provider, listing, holder, weeks_ago=4, weekday=1)
    _deliver_and_confirm(provider, holder, paid.sessions[0])
    late = _past_one_off(provider, listing, holder, weeks_ago=3, weekday=1)
    bookings.cancel_booking(holder, holder, late.id,
                            now=late.sessions[0].start_at - timedelta(hours=2))
    missed = _past_one_off(provider, listing, holder, weeks_ago=2, weekday=1)
    bookings.report_no_show(provider, None, missed.sessions[0].id,
                            now=missed.sessions[0].start_at + timedelta(minutes=10))
    arranged = bookings.arrange_booking(broker, holder.id, one_off(listing), options_offered=[1],
                                        options_note="Also offered a day centre.")
    declined = bookings.request_booking(holder, holder, one_off(listing, day=next_weekday(3)))
    bookings.decline(provider, declined.id)
    review = ratings.submit_review(holder, holder, paid.id, scores(2, respect_dignity=1))

    snap = build_snapshot(datetime.now(UTC) + timedelta(days=30))
    by_id = {s.id: s for s in snap.sessions}
    assert declined.sessions[0].id not in by_id  # never agreed: not a booked session
    settled = by_id[paid.sessions[0].id]
    assert (settled.provider_id, settled.listing_id, settled.holder_id) == (
        listing.profile_id, listing.id, holder.id)
    assert (settled.area, settled.category, settled.unit, settled.rate_pence) == (
        "SY", "personal_care", "hour", 1650)
    assert (settled.status, settled.amount_pence, settled.charged_pence) == ("settled", 3300, 3300)
    assert settled.billed_minutes == 150 and settled.booked_minutes == 120
    assert settled.brokered_by is None and settled.cancelled_at is None
    cancelled = by_id[late.sessions[0].id]
    assert (cancelled.status, cancelled.charged_pence, cancelled.spend_pence) == (
        "cancelled", 1000, 1000)
    assert cancelled.cancelled_by == "holder" and cancelled.cancelled_at is not None
    assert cancelled.policy is not None and cancelled.policy.notice_hours == 48
    no_show = by_id[missed.sessions[0].id]
    assert (no_show.status, no_show.charged_pence, no_show.cancelled_by) == (
        "cancelled", 1000, "holder")
    assert no_show.cancelled_at == no_show.start
    ahead = by_id[arranged.sessions[0].id]
    assert ahead.brokered_by == broker.id and ahead.status == "requested"
    assert ahead.spend_pence == 0  # not accepted yet: nothing committed
    assert [(r.id, r.provider_id, r.overall, r.respect_dignity) for r in snap.reviews] == [
        (review.id, listing.profile_id, 2, 1)]
    # The fees follow the listing's policy; the half hour beyond the booking needs checking.
    rules_found = {f.rule for f in evaluate(snap, app.config["COUNCIL"])}
    assert "cancellation_beyond_policy" not in rules_found
    assert "hours_beyond_booking" in rules_found
