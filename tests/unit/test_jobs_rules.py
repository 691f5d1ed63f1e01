"""Job matching, fair turns of notices, distance in districts and the next free time (pure)."""

from datetime import UTC, date, datetime

from app.domain.jobs import (
    Candidate,
    JobCriteria,
    WeeklyHours,
    district_distance,
    matches,
    next_free_start,
    next_turn,
    turn_order,
)

CARE = JobCriteria(category="personal_care", district="LS6", max_rate_pence=1800)


def candidate(pid=1, **overrides):
    values = dict(profile_id=pid, listing_id=pid * 10, rate_pence_per_hour=1650,
                  districts=frozenset({"LS6", "LS7"}), languages=frozenset({"English"}), gender="Woman")
    values.update(overrides)
    return Candidate(**values)


def test_a_provider_in_the_district_within_the_rate_matches():
    assert matches(CARE, candidate())


def test_a_provider_outside_the_district_does_not_match():
    assert not matches(CARE, candidate(districts=frozenset({"LS7"})))


def test_a_provider_charging_more_than_the_budget_allows_does_not_match():
    assert matches(CARE, candidate(rate_pence_per_hour=1800))
    assert not matches(CARE, candidate(rate_pence_per_hour=1801))


def test_a_listing_priced_per_session_is_not_compared_with_an_hourly_rate():
    assert not matches(CARE, candidate(rate_pence_per_hour=None))


def test_languages_need_one_in_common_and_ignore_case():
    wanted = \
        JobCriteria("personal_care", "LS6", 1800, languages=("Urdu", "Punjabi"))
    assert matches(wanted, candidate(languages=frozenset({"English", "urdu"})))
    assert not matches(wanted, candidate(languages=frozenset({"English"})))


def test_preferred_gender_filters_personal_care_only():
    care = JobCriteria("personal_care", "LS6", 1800, preferred_gender="man")
    outing = JobCriteria("getting_out", "LS6", 1800, preferred_gender="man")
    assert not matches(care, candidate(gender="Woman"))
    assert matches(care, candidate(gender="Man"))
    assert matches(outing, candidate(gender="Woman"))


def test_skills_never_exclude_a_provider():
    skilled = JobCriteria("personal_care", "LS6", 1800, skills=("dementia",))
    assert matches(skilled, candidate(specialisms=frozenset()))


def test_providers_never_told_hear_before_those_told_recently():
    recently = datetime(2026, 12, 1, tzinfo=UTC)
    earlier = datetime(2026, 11, 1, tzinfo=UTC)
    order = turn_order(7, [candidate(1, last_told_at=recently), candidate(2, last_told_at=earlier),
                           candidate(3)])
    assert order == [3, 2, 1]


def test_ties_are_broken_differently_for_different_jobs_but_the_same_for_one_job():
    pool = [candidate(pid) for pid in range(1, 21)]
    assert turn_order(1, pool) == turn_order(1, list(reversed(pool)))
    firsts = {turn_order(job, pool)[0] for job in range(1, 30)}
    assert len(firsts) > 5  # not always the same provider first


def test_a_provider_with_two_matching_listings_is_told_once():
    pool = [candidate(1), candidate(1, listing_id=11), candidate(2)]
    assert sorted(turn_order(3, pool)) == [1, 2]


def test_next_turn_skips_providers_already_told_and_takes_a_batch():
    pool = [candidate(pid) for pid in range(1, 8)]
    first = next_turn(5, pool, [], 3)
    second = next_turn(5, pool, first, 3)
    third = next_turn(5, pool, first + second, 3)
    assert len(first) == 3 and len(second) == 3 and len(third) == 1
    assert set(first) | set(second) | set(third) == set(range(1, 8))
    assert next_turn(5, pool, first + second + third, 3) == []


def test_distance_in_districts():
    assert district_distance("LS6", ["LS6", "LS7"])[0] == 0
    assert district_distance("LS6", ["LS12"]) == (1, "Works nearby in the LS area")
    assert district_distance("LS6", ["SY1"])[0] == 2
    assert district_distance(None, ["SY1"])[0] == 3


MONDAY_9_TO_12 = [WeeklyHours(0, 9 * 60, 12 * 60)]


def test_next_free_is_the_next_usual_time_after_the_notice():
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)  # a Sunday
    start = next_free_start(now, MONDAY_9_TO_12, [], [])
    # 24 hours' notice from Sunday noon: Monday 9am is too soon, so Monday noon would be past the
    # slot's end; the next Monday 9am is the first free start.
    assert start == datetime(2026, 12, 14, 9, 0, tzinfo=UTC)


def test_next_free_skips_dates_away_and_booked_sessions():
    now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # a Tuesday
    away = [(date(2026, 12, 7), date(2026, 12, 7))]
    busy = [(datetime(2026, 12, 14, 9, 0, tzinfo=UTC), datetime(2026, 12, 14, 11, 0, tzinfo=UTC))]
    start = next_free_start(now, MONDAY_9_TO_12, away, busy)
    assert start == datetime(2026, 12, 14, 11, 0, tzinfo=UTC)


def test_next_free_keeps_the_local_clock_time_in_summer():
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # a Monday, British Summer Time
    start = next_free_start(now, MONDAY_9_TO_12, [], [])
    assert start == datetime(2026, 6, 8, 8, 0, tzinfo=UTC)  # 9am in London


def test_nothing_free_gives_none():
    now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert next_free_start(now, [], [], []) is None


# Service agreements: fair terms and the version in force --------------------------------------

from dataclasses import replace  # noqa: E402
from datetime import timedelta  # noqa: E402

from app.domain.agreements import ListingPolicy, Terms, VersionFacts, earliest_effective, in_force, unfair_terms  # noqa: E402,E501
from app.domain.settings import CouncilSettings  # noqa: E402

FAIR = Terms(services="Personal care", schedule="Tuesdays 10:00 for 2 hours", rate_pence=1650,
             rate_unit="hour", minimum_minutes=120, cancellation_notice_hours=24,
             cancellation_charge_pence=0, notice_days=14, complaints="Tell me, then the broker")
POLICY = ListingPolicy(notice_hours=24, charge_pence=1000)
SETTINGS = CouncilSettings()


def codes(terms):
    return [r.code for r in unfair_terms(terms, SETTINGS, POLICY)]


def test_fair_terms_pass():
    assert codes(FAIR) == []


def test_each_kind_of_lock_in_is_refused_with_its_own_code():
    assert codes(replace(FAIR, notice_days=SETTINGS.agreement_max_notice_days + 1)) == ["notice_too_long"]
    assert codes(replace(FAIR, exit_fee_pence=5000)) == ["exit_fee"]
    assert codes(replace(FAIR, cancellation_charge_pence=1001)) == ["cancellation_charge_beyond_policy"]
    assert codes(replace(FAIR, cancellation_notice_hours=25)) == ["cancellation_notice_beyond_policy"]
    assert codes(replace(FAIR, rate_unit=None)) == ["rate_without_unit"]
    assert codes(replace(FAIR, prepayment_weeks=SETTINGS.agreement_max_prepayment_weeks + 1)) == \
        ["prepayment_too_long"]
    assert codes(replace(FAIR, exclusive=True)) == ["exclusivity"]


def test_the_limits_themselves_are_allowed():
    edge = replace(FAIR, notice_days=SETTINGS.agreement_max_notice_days, cancellation_charge_pence=1000,
                   cancellation_notice_hours=24, prepayment_weeks=SETTINGS.agreement_max_prepayment_weeks)
    assert codes(edge) == []


def test_a_rate_for_another_unit_or_a_longer_minimum_than_the_listing_is_refused():
    hourly = ListingPolicy(notice_hours=24, charge_pence=1000, unit="hour", minimum_minutes=120)
    assert [r.code for r in unfair_terms(FAIR, SETTINGS, hourly)] == []
    by_day = unfair_terms(replace(FAIR, rate_unit="day"), SETTINGS, hourly)
    assert [(r.code, r.field) for r in by_day] == [("rate_unit_not_listings", "rate_unit")]
    assert by_day[0].message == "Give the rate per hour, as your listing is priced"
    longer = unfair_terms(replace(FAIR, minimum_minutes=180), SETTINGS, hourly)
    assert [(r.code, r.field) for r in longer] == [("minimum_beyond_listing", "minimum_minutes")]
    assert [r.code for r in unfair_terms(replace(FAIR, minimum_minutes=60), SETTINGS, hourly)] == []


def test_a_rise_needs_notice_and_a_fall_does_not():
    now = datetime(2026, 12, 6, tzinfo=UTC)
    notice = now + timedelta(days=SETTINGS.agreement_rate_change_notice_days)
    assert earliest_effective(now, FAIR, replace(FAIR, rate_pence=FAIR.rate_pence + 150), SETTINGS) == notice
    assert earliest_effective(now, FAIR, replace(FAIR, rate_pence=FAIR.rate_pence - 150), SETTINGS) == now


def test_a_bank_holiday_rate_rise_needs_notice_even_with_the_usual_rate_cut():
    now = datetime(2026, 12, 6, tzinfo=UTC)
    notice = now + timedelta(days=SETTINGS.agreement_rate_change_notice_days)
    cheaper_but_dearer_on_holidays = replace(FAIR, rate_pence=FAIR.rate_pence - 50,
                                             bank_holiday_rate_pence=FAIR.rate_pence * 2)
    assert earliest_effective(now, FAIR, cheaper_but_dearer_on_holidays, SETTINGS) == notice


def test_a_version_changing_more_than_the_price_applies_only_once_accepted():
    now = datetime(2026, 12, 6, tzinfo=UTC)
    for changed in (replace(FAIR, rate_pence=FAIR.rate_pence - 100, cancellation_notice_hours=48),
                    replace(FAIR, schedule="Sundays at 7:00"), replace(FAIR, minimum_minutes=240)):
        assert earliest_effective(now, FAIR, changed, SETTINGS) is None


def test_the_accepted_rate_stays_until_the_notice_runs_out():
    now = datetime(2026, 12, 6, tzinfo=UTC)
    versions = [VersionFacts(1, "accepted", 1650, None), VersionFacts(2, "offered", 1800, now + timedelta(days=28))]
    assert in_force(versions, now + timedelta(days=27)).version == 1
    assert in_force(versions, now + timedelta(days=28)).version == 2
    assert in_force([VersionFacts(1, "offered", 1650, None)], now) is None
