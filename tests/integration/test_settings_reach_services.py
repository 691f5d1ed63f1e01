"""Every setting on the council settings page changes what Carefair does: each is saved through
council_settings.save (as the page does) and the service that reads it behaves differently."""

import math

import pytest
from sqlalchemy import func, select

from app.domain import setting_fields
from app.domain.access import Role
from app.domain.rules import Finding, Severity, Subject
from app.extensions import db
from app.models import Flag, MarketRun
from app.services import booking_checks, brokerage, conflicts, council_settings, flags, market_view
from app.services.search_listings import market_share
from tests.market_helpers import book, concentrated_district, holders_in, market_provider

pytestmark = pytest.mark.database


def _change(make_user, **values: str) -> None:
    """Save these settings (typed as on the page) with every other field left as it is."""
    admin = make_user(Role.COUNCIL_ADMIN)
    settings = council_settings.current()
    raw = {f.name: setting_fields.display(f, setting_fields.value_of(settings, f.name))
           for f in setting_fields.FIELDS}
    assert set(values) <= set(raw), set(values) - set(raw)
    council_settings.save(admin, {**raw, **values})


def _scan() -> MarketRun:
    return db.session.get(MarketRun, brokerage.scan().market_run_id)


def _flags(rule: str) -> int:
    return db.session.scalar(select(func.count(Flag.id)).where(Flag.rule == rule)) or 0


# ---------------------------------------------------------------- markets and concentration

MARKET_LIMITS = {
    # The LS6 market: £1,960 of spending by 7 people with 3 providers, index 5,510.
    "market_min_spend_pence": "2000.00",
    "market_min_holders": "8",
    "market_min_providers": "4",
    "hhi_highly_concentrated": "6000",
}


@pytest.mark.parametrize("name", sorted(MARKET_LIMITS))
def test_market_limits_decide_which_markets_are_judged_concentrated(name, app_ctx, make_user,
                                                                    db_session):
    concentrated_district(make_user, make_user(Role.BROKER), "LS6")
    assert _scan().concentrated == 1
    _change(make_user, **{name: MARKET_LIMITS[name]})
    run = _scan()
    assert (run.markets, run.concentrated) == (1, 0)


def test_the_market_window_decides_which_spending_counts(app_ctx, make_user, db_session):
    concentrated_district(make_user, make_user(Role.BROKER), "LS6")  # 10 to 52 days ago
    assert _scan().markets == 1
    _change(make_user, market_window_days="7")
    run = _scan()
    assert (run.markets, run.window_days) == (0, 7)


def test_the_rise_to_flag_decides_whether_a_rising_market_is_flagged(app_ctx, make_user,
                                                                     db_session):
    big, small, people = concentrated_district(make_user, make_user(Role.BROKER), "LS6")
    # The window before: the same people, shared 4 : 2 : 1 (index 4,286; now 5,510).
    for person in people[:4]:
        book(big, person, days_ago=100, sessions=7)
    for listing, person in ((small[0], people[4]), (small[0], people[5]), (small[1], people[6])):
        book(listing, person, days_ago=100, sessions=7)
    _scan()
    assert _flags("concentration_rising") == 1
    db.session.execute(Flag.__table__.delete())
    _change(make_user, hhi_rise_flag="1500")
    _scan()
    assert _flags("concentration_rising") == 0


def test_the_share_cap_decides_who_newcomers_are_advised_about(app_ctx, make_user, db_session):
    big, _, _ = concentrated_district(make_user, make_user(Role.BROKER), "LS6")  # Big: 71%
    newcomer = make_user(Role.HOLDER, home_district="LS6")
    assert [f.rule for f, _ in booking_checks.advice_for(newcomer, big).items] == [
        "provider_share_cap"]
    _change(make_user, provider_share_cap_percent="75")
    assert not booking_checks.advice_for(newcomer, big)


def test_the_council_decides_whether_search_dampens_providers_above_the_cap(app_ctx, make_user,
                                                                           db_session):
    big, _, _ = concentrated_district(make_user, make_user(Role.BROKER), "LS6")
    assert market_share()[(big.profile_id, "personal_care", "LS6")] == pytest.approx(71.4, 0.01)
    _change(make_user, share_cap_dampens_search="no")
    assert market_share() == {}


def test_a_new_client_is_still_advised_when_search_does_not_dampen(app_ctx, make_user, db_session):
    """Dampening search and advising a provider's new clients are separate choices."""
    big, _, _ = concentrated_district(make_user, make_user(Role.BROKER), "LS6")  # Big: 71%
    _change(make_user, share_cap_dampens_search="no")
    newcomer = make_user(Role.HOLDER, home_district="LS6")
    advice = booking_checks.advice_for(newcomer, big)
    assert [f.rule for f, _ in advice.items] == ["provider_share_cap"]
    assert "already provides 71% of the personal care" in advice.items[0][0].explanation
    assert advice.alternatives


def test_the_trend_shows_as_many_scans_as_the_council_says(client, login, make_user, app):
    with app.app_context():
        concentrated_district(make_user, make_user(Role.BROKER), "LS6")
        for _ in range(3):
            brokerage.scan()
    login(make_user(Role.BROKER))
    rows = client.get("/markets/LS6/personal_care").get_data(as_text=True).count(
        '<tr class="govuk-table__row"><th scope="row"')
    with app.app_context():
        _change(make_user, market_history_runs="2")
    fewer = client.get("/markets/LS6/personal_care").get_data(as_text=True).count(
        '<tr class="govuk-table__row"><th scope="row"')
    assert rows - fewer == 1  # three scans shown, then two (the providers' rows stay)


# ---------------------------------------------------------------- broker steering

def _steering_market(make_user):
    """Five providers with three people each in LS6; a broker sends five of six people to
    provider 0 (a finding, p about 0.005)."""
    broker = make_user(Role.BROKER, name="Sam Broker")
    listings = [market_provider(make_user, broker, f"Provider {n}", districts="LS6")
                for n in range(5)]
    for listing in listings:
        for person in holders_in(make_user, "LS6", 3):
            book(listing, person, sessions=3)
    for person in holders_in(make_user, "LS6", 5):
        book(listings[0], person, arranged_by=broker)
    book(listings[2], holders_in(make_user, "LS6", 1)[0], arranged_by=broker)
    return broker


def _steering_values(figure) -> dict[str, str]:
    """For each steering setting, a value that just stops this figure being a finding."""
    share = 100 * figure.holders_to_provider / figure.holders_arranged
    return {
        "steering_min_holders": str(figure.holders_arranged + 1),
        "steering_min_share_percent": str(math.floor(share) + 1),
        "steering_share_multiple": str(math.floor(share / figure.expected_percent) + 1),
        "steering_significance": f"{max(figure.p_value / 2, 0.0001):.4f}",
    }


@pytest.mark.parametrize("name", ["steering_min_holders", "steering_min_share_percent",
                                  "steering_share_multiple", "steering_significance"])
def test_each_steering_threshold_decides_whether_a_broker_is_found_steering(
        name, app_ctx, make_user, db_session):
    _steering_market(make_user)
    found = market_view.steering_rows(_scan(), findings_only=True)
    assert [(r.provider_name, r.record.holders_arranged, r.record.holders_to_provider)
            for r in found] == [("Provider 0", 6, 5)]
    assert 0.0002 < found[0].record.p_value < 0.01
    _change(make_user, **{name: _steering_values(found[0].record)[name]})
    assert market_view.steering_rows(_scan(), findings_only=True) == []


# ---------------------------------------------------------------- prices and look-back

PRICE_VALUES = {
    # A £30.00 hour against five peers at £20.00: modified z 4.8 on a 7% floor, 50% above.
    "price_outlier_modified_z": ("6", "booking_price_outlier"),
    "price_outlier_min_peers": ("7", "booking_price_outlier"),
    "price_mad_floor_percent": ("40", "booking_price_outlier"),
    "price_mad_floor_pence": ("5.00", "booking_price_outlier"),
    "at_risk_price_premium_percent": ("60", "booking_at_risk_high_price"),
}


@pytest.mark.parametrize("name", sorted(PRICE_VALUES))
def test_price_settings_decide_what_a_person_is_told_before_booking(name, app_ctx, make_user,
                                                                    db_session):
    broker = make_user(Role.BROKER)
    for n in range(5):
        market_provider(make_user, broker, f"Usual {n}", price="20.00")
    dear = market_provider(make_user, broker, "Dear Care", price="30.00")
    person = make_user(Role.HOLDER, home_district="LS6", at_risk=True)
    value, rule = PRICE_VALUES[name]
    assert rule in {f.rule for f, _ in booking_checks.advice_for(person, dear).items}
    _change(make_user, **{name: value})
    assert rule not in {f.rule for f, _ in booking_checks.advice_for(person, dear).items}


def test_the_rule_window_decides_how_far_back_a_conflict_is_found(app_ctx, make_user,
                                                                  db_session):
    broker = make_user(Role.BROKER)
    listing = market_provider(make_user, broker, "Cousin Care")
    book(listing, holders_in(make_user, "LS6", 1)[0], arranged_by=broker, days_ago=100)
    conflicts.declare(broker, str(listing.profile_id), "My cousin owns it")
    _scan()
    assert _flags("conflict_of_interest") == 0
    _change(make_user, rule_window_days="120")
    _scan()
    assert _flags("conflict_of_interest") == 1


# ---------------------------------------------------------------- what happens to a finding

def _file(rule: str, severity: Severity):
    filed = flags.file_findings([Finding(rule, severity, Subject("market", "LS6/personal_care"),
                                         "Something to look at.", {})])
    db.session.commit()
    return filed


SEVERITY_ACTIONS = {"low": ("advise", "flag"), "medium": ("flag", "advise"),
                    "high": ("hold", "flag")}


@pytest.mark.parametrize("severity", sorted(SEVERITY_ACTIONS))
def test_the_action_for_each_severity_is_what_filing_does(severity, app_ctx, make_user,
                                                          db_session):
    before, after = SEVERITY_ACTIONS[severity]
    name = f"action_for_{severity}"
    assert getattr(council_settings.current(), name) == before
    _change(make_user, **{name: after})
    filed = _file("market_concentration", Severity(severity))
    if after == "advise":
        assert (filed.flags, filed.advice_only) == ([], 1)
    else:
        assert [f.action for f in filed.flags] == [after]


RULE_ACTIONS = [f.name.split(":", 1)[1] for f in setting_fields.FIELDS
                if f.name.startswith("rule_action:")]


@pytest.mark.parametrize("rule", RULE_ACTIONS)
def test_a_per_rule_action_overrides_the_severity(rule, app_ctx, make_user, db_session):
    assert _file(rule, Severity.LOW).advice_only == 1  # low findings only advise by default
    _change(make_user, **{f"rule_action:{rule}": "hold"})
    assert [f.action for f in _file(rule, Severity.LOW).flags] == ["hold"]


def test_a_critical_finding_suspends_whatever_the_settings_say(app_ctx, make_user, db_session):
    """So the page offers no setting for it (a safeguarding concern suspends at once)."""
    _change(make_user, action_for_high="advise")
    assert [f.action for f in _file("safeguarding_concern", Severity.CRITICAL).flags] == [
        "suspend"]
    assert "action_for_critical" not in setting_fields.FIELD_BY_NAME


def test_the_funded_period_decides_how_many_weekly_sessions_are_held(app_ctx, make_user, db_session):
    from datetime import time, timedelta

    from app import clock
    from app.domain.bookings import WeeklyPattern
    from app.services import bookings
    from tests.booking_helpers import at, holder_with_budget, live_listing, next_weekday

    monday = next_weekday(0)
    _change(make_user, funding_horizon_weeks="2")
    provider, listing = live_listing(make_user)
    holder, _ = holder_with_budget(make_user)
    clock.travel_to(at(monday - timedelta(days=1), 12))
    try:
        booking = bookings.request_booking(holder, holder, bookings.BookingInput(
            listing.id, kind="recurring",
            pattern=WeeklyPattern(frozenset({0}), time(10), 120, monday, count=6)))
        booking = bookings.accept(provider, booking.id)
    finally:
        clock.travel_to(None)
    assert [s.state for s in booking.sessions] == ["funds_held"] * 2 + ["accepted"] * 4


def test_every_setting_on_the_page_is_shown_to_reach_a_service():
    covered = {*MARKET_LIMITS, "market_window_days", "hhi_rise_flag",
               "provider_share_cap_percent", "share_cap_dampens_search", "market_history_runs",
               "steering_min_holders", "steering_min_share_percent", "steering_share_multiple",
               "steering_significance", *PRICE_VALUES, "rule_window_days", "funding_horizon_weeks",
               *(f"action_for_{s}" for s in SEVERITY_ACTIONS),
               *(f"rule_action:{r}" for r in RULE_ACTIONS)}
    assert {f.name for f in setting_fields.FIELDS} == covered
