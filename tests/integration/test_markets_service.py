"""Markets through the services on a real database: the scan stores each market's figures per
run, steering is counted in people, settings overrides, conflicts and home districts."""

from dataclasses import replace

import pytest
from sqlalchemy import func, select

from app.domain.access import Role
from app.domain.rules.markets import facts_from_sessions
from app.errors import InvalidInput, NotPermitted
from app.extensions import db
from app.models import AuditEvent, CouncilSettingOverride, Flag, MarketRun
from app.services import (
    booking_checks,
    bookings,
    brokerage,
    conflicts,
    council_settings,
    market_view,
)
from app.services.home_district import set_home_district
from app.services.market_snapshot import build_snapshot
from tests.booking_helpers import holder_with_budget, one_off
from tests.market_helpers import book, concentrated_district, holders_in, market_provider

pytestmark = pytest.mark.database


def _audits(action):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                              .order_by(AuditEvent.id)).all()


def test_the_scan_stores_each_markets_figures_and_flags_the_concentrated_one(
        app, app_ctx, make_user, db_session):
    broker = make_user(Role.BROKER)
    big, small, _ = concentrated_district(make_user, broker, "LS6")
    # The same providers in LS1, where nobody dominates: a different market.
    for listing in [big, *small]:
        for person in holders_in(make_user, "LS1", 2):
            book(listing, person, sessions=5)

    result = brokerage.scan()
    run = db.session.get(MarketRun, result.market_run_id)
    assert (run.markets, run.concentrated) == (2, 2)  # LS1 is 3 equal providers: HHI 3,333
    rows, total = market_view.markets(run, district="LS6")
    assert total == 1
    figure = rows[0].figure
    assert (figure.district, figure.category, figure.providers, figure.holders) == (
        "LS6", "personal_care", 3, 7)
    assert figure.spend_pence == 196_000 and figure.top_provider_id == big.profile_id
    assert figure.top_share_percent == pytest.approx(71.4) and figure.hhi == pytest.approx(5510.2)
    assert figure.above_cap == 1 and rows[0].top_provider_name == "Big Care Ltd"
    detail = market_view.market(run, "LS6", "personal_care", 12)
    assert [(s.provider_name, s.share.above_cap) for s in detail.shares][0] == ("Big Care Ltd", True)
    flags = db.session.scalars(select(Flag).where(Flag.rule == "market_concentration")).all()
    assert sorted(f.subject_id for f in flags) == ["LS1/personal_care", "LS6/personal_care"]

    # A second scan keeps the first: the market view shows history.
    second = db.session.get(MarketRun, brokerage.scan().market_run_id)
    history = market_view.market(second, "LS6", "personal_care", 12).history
    assert [r.id for r, _ in history] == [run.id, second.id]
    assert market_view.csv_rows(second)[1][:2] == ["LS6", "personal_care"]


def test_sql_market_sums_match_the_python_reference(app, app_ctx, make_user, db_session):
    broker = make_user(Role.BROKER)
    big, small, people = concentrated_district(make_user, broker)
    book(big, people[0], days_ago=100, sessions=3)  # the window before
    book(small[0], people[1], arranged_by=broker, sessions=2)
    snap = build_snapshot()
    assert snap.market_facts == facts_from_sessions(snap.sessions, snap.holders, snap.as_of, 90)
    assert snap.market_facts.previous and snap.market_facts.arranged


def test_steering_is_found_in_people_and_a_long_series_is_not(app, app_ctx, make_user,
                                                              db_session):
    broker = make_user(Role.BROKER, name="Sam Broker")
    listings = [market_provider(make_user, broker, f"Provider {n}", districts="LS6")
                for n in range(5)]
    for listing in listings:  # the market: five providers, three people each
        for person in holders_in(make_user, "LS6", 3):
            book(listing, person, sessions=3)
    other = make_user(Role.BROKER, name="Other Broker")
    # One broker: one person with a year of weekly sessions with provider 0, one elsewhere.
    book(listings[0], holders_in(make_user, "LS6", 1)[0], arranged_by=other, sessions=12)
    book(listings[1], holders_in(make_user, "LS6", 1)[0], arranged_by=other)
    # Another: seven of eight people to provider 0.
    for person in holders_in(make_user, "LS6", 7):
        book(listings[0], person, arranged_by=broker)
    book(listings[2], holders_in(make_user, "LS6", 1)[0], arranged_by=broker)

    run = db.session.get(MarketRun, brokerage.scan().market_run_id)
    found = market_view.steering_rows(run, findings_only=True)
    assert [(r.broker_name, r.provider_name, r.record.holders_arranged,
             r.record.holders_to_provider) for r in found] == [
        ("Sam Broker", "Provider 0", 8, 7)]
    assert found[0].record.p_value < 0.01
    flag = db.session.scalars(select(Flag).where(Flag.rule == "broker_steering")).one()
    assert flag.subject_id == str(broker.id) and "8 people" in flag.explanation


def test_council_settings_are_stored_audited_and_read_back(app, app_ctx, make_user, db_session):
    admin = make_user(Role.COUNCIL_ADMIN)
    raw = {f.name: council_settings.setting_fields.display(
        f, council_settings.setting_fields.value_of(council_settings.current(), f.name))
        for f in council_settings.setting_fields.FIELDS}
    changes = council_settings.save(admin, {**raw, "provider_share_cap_percent": "25",
                                            "market_min_spend_pence": "500.00",
                                            "rule_action:provider_share_cap": "hold"})
    assert [(label, old, new) for label, old, new in changes] == [
        ("Smallest market to judge (spend, £)", "1,000.00", "500.00"),
        ("Share cap (%)", "30", "25"),
        ("A provider above the share cap", "by_severity", "hold")]
    settings = council_settings.current()
    assert settings.provider_share_cap_percent == 25 and settings.market_min_spend_pence == 50_000
    assert dict(settings.rule_action_overrides)["provider_share_cap"] == "hold"
    event = _audits("council_setting.changed")[1]
    assert event.actor_id == admin.id and event.details == {
        "label": "Share cap (%)", "old": "30", "new": "25"}
    # Back to the default: the override row goes, the change is still audited.
    council_settings.save(admin, {**raw, "market_min_spend_pence": "500.00",
                                  "rule_action:provider_share_cap": "hold"})
    assert db.session.get(CouncilSettingOverride, "provider_share_cap_percent") is None
    assert len(_audits("council_setting.changed")) == 4


def test_a_refused_setting_writes_nothing(app, app_ctx, make_user, db_session):
    admin = make_user(Role.COUNCIL_ADMIN)
    raw = {f.name: council_settings.setting_fields.display(
        f, council_settings.setting_fields.value_of(council_settings.current(), f.name))
        for f in council_settings.setting_fields.FIELDS}
    with pytest.raises(council_settings.SettingsRefused) as refused:
        council_settings.save(admin, {**raw, "provider_share_cap_percent": "25",
                                      "steering_significance": "half",
                                      "hhi_rise_flag": "5000", "hhi_highly_concentrated": "1800"})
    assert refused.value.problems == {"steering_significance":
                                      "Chance it happened by luck, at most must be a number"}
    assert council_settings.current().provider_share_cap_percent == 30
    assert not _audits("council_setting.changed")
    with pytest.raises(council_settings.SettingsRefused) as refused:
        council_settings.save(admin, {**raw, "hhi_rise_flag": "5000"})
    assert "hhi_rise_flag" in refused.value.problems


def test_home_district_is_checked_and_audited_with_old_and_new(app, app_ctx, make_user,
                                                                db_session):
    broker = make_user(Role.BROKER)
    holder = make_user(Role.HOLDER, home_district="LS6")
    set_home_district(broker, holder.id, " ls1 ")
    assert holder.home_district == "LS1"
    event = _audits("holder.home_district_changed")[-1]
    assert (event.actor_id, event.on_behalf_of_id, event.details) == (
        broker.id, holder.id, {"old": "LS6", "new": "LS1"})
    for bad, message in (("LS1 4AB", "Enter only the first part of the postcode, like LS1"),
                         ("LX6", "LX6 is not a postcode district in the UK"),
                         ("", "Enter the first part")):
        with pytest.raises(InvalidInput) as err:
            set_home_district(holder, holder.id, bad)
        assert message in err.value.message and err.value.field == "district"
    assert db.session.get(type(holder), holder.id).home_district == "LS1"
    with pytest.raises(NotPermitted):
        set_home_district(make_user(Role.PROVIDER), holder.id, "LS2")


def test_a_declared_conflict_stops_the_broker_arranging_and_approving(app, app_ctx, make_user,
                                                                      db_session):
    broker = make_user(Role.BROKER)
    listing = market_provider(make_user, broker, "Cousin Care")
    holder, _ = holder_with_budget(make_user)
    conflict = conflicts.declare(broker, "cousin care", "My cousin owns it")
    assert _audits("conflict.declared")[0].details == {
        "provider_id": listing.profile_id, "description": "My cousin owns it"}
    with pytest.raises(conflicts.ConflictOfInterest):
        bookings.arrange_booking(broker, holder.id, one_off(listing), options_offered=[],
                                 options_note="Only one free")
    with pytest.raises(InvalidInput) as twice:
        conflicts.declare(broker, str(listing.profile_id), "again")
    assert "already declared" in twice.value.message
    # Another broker arranges it; once ended, the first may again.
    other = make_user(Role.BROKER)
    assert bookings.arrange_booking(other, holder.id, one_off(listing), options_offered=[],
                                    options_note="Chosen by the person").id
    conflicts.end(broker, conflict.id, "My cousin sold it")
    assert not conflicts.has_conflict(broker.id, listing.profile_id)
    assert _audits("conflict.ended")[0].details["reason"] == "My cousin sold it"


def test_a_held_booking_waits_for_another_broker_when_one_is_conflicted(app, app_ctx, make_user,
                                                                        db_session):
    broker = make_user(Role.BROKER)
    listing = market_provider(make_user, broker, "Cousin Care")
    # Outside the support plan, so it waits for a broker's approval.
    holder, _ = holder_with_budget(make_user, categories={"transport": 300_000})
    booking = bookings.request_booking(holder, holder, one_off(listing))
    assert booking.state == "awaiting_approval"
    conflicts.declare(broker, str(listing.profile_id), "My cousin owns it")
    with pytest.raises(conflicts.ConflictOfInterest) as refused:
        bookings.approve(broker, booking.id)
    assert "Ask another broker" in refused.value.message
    assert db.session.get(type(booking), booking.id).state == "awaiting_approval"


def test_booking_advice_names_a_dominant_provider_and_the_alternatives(app, app_ctx, make_user,
                                                                       db_session, monkeypatch):
    broker = make_user(Role.BROKER)
    big, small, _ = concentrated_district(make_user, broker, "LS6")
    newcomer = make_user(Role.HOLDER, home_district="LS6")
    advice = booking_checks.advice_for(newcomer, big)
    assert [f.rule for f, _ in advice.items] == ["provider_share_cap"]
    finding, action = advice.items[0]
    assert "Big Care Ltd already provides 71% of the personal care" in finding.explanation
    assert action.value == "advise"
    assert {a.provider_name for a in advice.alternatives} == {"Small Care 1", "Small Care 2"}
    assert not booking_checks.advice_for(newcomer, small[0])  # a small provider: nothing to say
    # The council can make it hold: then the request waits for a broker.
    monkeypatch.setitem(app.config, "COUNCIL", replace(
        app.config["COUNCIL"], rule_action_overrides=(("provider_share_cap", "hold"),)))
    reasons = booking_checks.hold_reasons(newcomer, big, 4000)
    assert reasons and reasons[0].startswith("A broker must look at this booking first")


def test_a_request_the_provider_declined_does_not_make_a_holder_their_client(
        app, app_ctx, make_user, db_session):
    """Advice is for new clients only; someone whose request was declined is still new."""
    big, _, _ = concentrated_district(make_user, make_user(Role.BROKER), "LS6")
    newcomer = make_user(Role.HOLDER, home_district="LS6")
    book(big, newcomer, state="declined")
    assert [f.rule for f, _ in booking_checks.advice_for(newcomer, big).items] == [
        "provider_share_cap"]
    client = make_user(Role.HOLDER, home_district="LS6")
    book(big, client, state="settled", days_ago=200)  # long ago, outside the window
    assert not booking_checks.advice_for(client, big)


def test_a_small_market_is_measured_at_once_when_a_broker_asks(app, app_ctx, make_user,
                                                               db_session):
    broker = make_user(Role.BROKER)
    concentrated_district(make_user, broker, "LS6")
    result = brokerage.request_scan(broker)
    assert result is not None and db.session.get(MarketRun, result.market_run_id).markets == 1
    with pytest.raises(NotPermitted):
        brokerage.request_scan(make_user(Role.PROVIDER))


def test_a_large_market_asked_for_is_measured_once_by_the_scheduled_job(app, app_ctx,
                                                                        make_user, db_session):
    broker = make_user(Role.BROKER)
    concentrated_district(make_user, broker, "LS6")  # 49 sessions: "large" below
    assert brokerage.run_requested() is None  # nobody asked
    assert brokerage.request_scan(broker, in_request_max_sessions=10) is None
    assert db.session.scalar(select(func.count(MarketRun.id))) == 0
    asked = _audits("market_scan.requested")
    assert [(e.actor_id, e.details) for e in asked] == [
        (broker.id, {"after_run": None, "sessions": 49})]
    result = brokerage.run_requested()
    assert result is not None and db.session.scalar(select(func.count(MarketRun.id))) == 1
    assert brokerage.run_requested() is None  # answered: the next turn does nothing
    assert brokerage.request_scan(broker, in_request_max_sessions=10) is None
    assert brokerage.run_requested().market_run_id > result.market_run_id


def test_a_requested_scan_waits_while_the_daily_scan_runs(app, app_ctx, db_session):
    """Two scans at once could file the same finding twice: the jobs share one lock."""
    from app import scheduler

    job = next(j for j in scheduler.JOBS if j.name == "brokerage.scan-requested")
    with scheduler.job_lock("brokerage.scan") as got:
        assert got
        assert scheduler.run_due([job]) == {"brokerage.scan-requested": "running elsewhere"}


def test_a_conflict_flags_bookings_arranged_before_it_ended_not_after(app, app_ctx, make_user,
                                                                     db_session):
    from datetime import timedelta

    from sqlalchemy import update

    from app.models import Booking

    broker = make_user(Role.BROKER)
    listing = market_provider(make_user, broker, "Cousin Care")
    conflict = conflicts.declare(broker, str(listing.profile_id), "My cousin owned it")
    conflicts.end(broker, conflict.id, "My cousin sold it")

    def arranged(days_after_end):
        booking_id = book(listing, holders_in(make_user, "LS6", 1)[0], arranged_by=broker)
        db.session.execute(update(Booking).where(Booking.id == booking_id).values(
            created_at=conflict.ended_at + timedelta(days=days_after_end)))
        db.session.commit()

    def conflict_flags():
        brokerage.scan()
        return db.session.scalars(select(Flag).where(Flag.rule == "conflict_of_interest")).all()

    arranged(1)  # the service allows it: the conflict no longer stood
    assert conflict_flags() == []
    arranged(-1)
    found = conflict_flags()
    assert len(found) == 1 and found[0].evidence["sessions"] == 1


def test_a_markets_page_shows_its_brokers_however_many_other_districts_rows_rank_first(
        app, app_ctx, make_user, db_session):
    """The console lists the first 200 steering figures; a market's own page must not be cut
    to those before keeping its district's, or a busy council hides its brokers there."""
    from datetime import UTC, datetime

    from app.models import MarketFigureRecord, MarketShareRecord, SteeringRecord

    listing = market_provider(make_user, make_user(Role.BROKER), "Big Care")
    run = MarketRun(as_of=datetime.now(UTC), window_days=90, share_cap_percent=30, hhi_line=1800)
    db.session.add(run)
    db.session.flush()
    db.session.add_all([
        MarketFigureRecord(run_id=run.id, district="LS6", category="personal_care",
                           spend_pence=100_000, holders=20, providers=3, hhi=5000,
                           top_share_percent=70, top_provider_id=listing.profile_id,
                           meets_minimums=True),
        MarketShareRecord(run_id=run.id, district="LS6", category="personal_care",
                          provider_profile_id=listing.profile_id, spend_pence=70_000,
                          share_percent=70, holders=14, above_cap=True)])
    elsewhere = [make_user(Role.BROKER) for _ in range(market_view.STEERING_ROWS_SHOWN)]
    here = make_user(Role.BROKER, name="Local Broker")

    def record(broker, district, finding, p_value):
        return SteeringRecord(run_id=run.id, broker_id=broker.id, category="personal_care",
                              provider_profile_id=listing.profile_id, holders_arranged=10,
                              holders_to_provider=9, expected_percent=20, p_value=p_value,
                              districts=[district], finding=finding)

    db.session.add_all([record(b, "LS1", True, 0.001) for b in elsewhere]
                       + [record(here, "LS6", False, 0.2)])
    db.session.commit()
    detail = market_view.market(run, "LS6", "personal_care", 5)
    assert [row.broker_name for row in detail.steering] == ["Local Broker"]


def test_a_conflicted_broker_cannot_settle_disputes_check_vetting_or_review_flags_about_them(
        app, app_ctx, make_user, db_session):
    """Approving and arranging are not the only decisions a conflict of interest taints."""
    from sqlalchemy import update

    from app.domain.rules import Finding, Severity, Subject
    from app.models import BookingSession
    from app.services import flags, vetting
    from app.services.conflicts import ConflictOfInterest
    from tests.provider_helpers import evidence_for

    broker, other = make_user(Role.BROKER), make_user(Role.BROKER)
    listing = market_provider(make_user, other, "Cousin Care")
    conflicts.declare(broker, str(listing.profile_id), "My cousin owns it")
    # A disputed visit: settling it decides what the provider is paid.
    booking_id = book(listing, holders_in(make_user, "LS6", 1)[0], state="disputed")
    session_id = db.session.scalar(select(BookingSession.id).where(
        BookingSession.booking_id == booking_id))
    with pytest.raises(ConflictOfInterest, match="settle disputes about them"):
        bookings.resolve_dispute(broker, session_id, outcome="no_refund")
    assert db.session.get(BookingSession, session_id).state == "disputed"
    # New vetting evidence from the provider.
    from app.domain.vetting import CheckKind
    from app.models import ProviderProfile

    provider_user = db.session.get(ProviderProfile, listing.profile_id).user
    check = vetting.record_evidence(provider_user, evidence_for(CheckKind.TRAINING))
    with pytest.raises(ConflictOfInterest, match="check their vetting evidence"):
        vetting.decide(broker, check.id, approve=True)
    assert vetting.decide(other, check.id, approve=True).status == "verified"
    # A flag about the provider.
    flags.file_findings([Finding("price_outlier", Severity.MEDIUM,
                                 Subject("provider", listing.profile_id), "Far above peers", {})])
    flag = db.session.scalar(select(Flag).where(Flag.rule == "price_outlier"))
    assert flag.provider_profile_id == listing.profile_id
    with pytest.raises(ConflictOfInterest, match="review flags about them"):
        flags.dismiss(broker, flag.id, reason="Fine")
    db.session.execute(update(Flag).where(Flag.id == flag.id).values(status="open"))
    assert flags.dismiss(other, flag.id, reason="Fine").status == "dismissed"


def test_a_broker_cannot_review_a_flag_about_their_own_arranging(app, app_ctx, make_user,
                                                                 db_session):
    from app.domain.rules import Finding, Severity, Subject
    from app.services import flags

    broker, other = make_user(Role.BROKER), make_user(Role.BROKER)
    flags.file_findings([Finding("broker_steering", Severity.MEDIUM, Subject("broker", broker.id),
                                 "Steering", {})])
    flag = db.session.scalar(select(Flag).where(Flag.rule == "broker_steering"))
    with pytest.raises(NotPermitted, match="about your own work"):
        flags.dismiss(broker, flag.id, reason="I offered a choice")
    with pytest.raises(NotPermitted, match="about your own work"):
        flags.uphold(broker, flag.id, outcome="warn", reason="x")
    assert flags.dismiss(other, flag.id, reason="Choices were offered").status == "dismissed"
