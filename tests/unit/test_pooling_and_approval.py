"""Pooled group sessions and the reasons a booking waits for a broker."""

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.approval import ApprovalCode, ApprovalRequest, approval_reasons, needs_broker_approval
from app.domain.errors import Conflict, InvalidInput
from app.domain.pooling import PoolTerms, check_can_join, decide_pool, split_shares
from app.domain.settings import CouncilSettings

DEADLINE = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
TERMS = PoolTerms(total_pence=10_000, min_participants=3, max_participants=5,
                  join_deadline=DEADLINE)


def test_shares_sum_to_the_total_with_leftover_pennies_to_the_lowest_ids():
    assert split_shares(1000, [30, 10, 20]) == {10: 334, 20: 333, 30: 333}


@settings(deadline=None)
@given(st.integers(0, 10_000_000), st.sets(st.integers(1, 10_000), min_size=1, max_size=40))
def test_shares_always_sum_exactly_and_differ_by_at_most_a_penny(total, people):
    shares = split_shares(total, list(people))
    assert sum(shares.values()) == total
    assert max(shares.values()) - min(shares.values()) <= 1


@settings(deadline=None)
@given(st.integers(0, 100_000), st.lists(st.integers(1, 500), min_size=1, max_size=20,
                                         unique=True), st.randoms())
def test_shares_do_not_depend_on_join_order(total, people, rnd: random.Random):
    shuffled = people[:]
    rnd.shuffle(shuffled)
    assert split_shares(total, people) == split_shares(total, shuffled)


def test_someone_twice_is_refused():
    with pytest.raises(InvalidInput):
        split_shares(100, [1, 1])


def test_hold_is_the_largest_possible_share():
    assert TERMS.hold_per_person_pence == 3334


def test_session_runs_when_the_minimum_joined_and_releases_the_difference():
    decision = decide_pool(TERMS, [1, 2, 3, 4], DEADLINE)
    assert decision is not None and decision.runs
    assert decision.shares == {1: 2500, 2: 2500, 3: 2500, 4: 2500}
    assert decision.release == {1: 834, 2: 834, 3: 834, 4: 834}


def test_session_with_too_few_people_releases_every_hold():
    decision = decide_pool(TERMS, [1, 2], DEADLINE + timedelta(minutes=1))
    assert decision is not None and not decision.runs
    assert decision.release == {1: 3334, 2: 3334} and decision.shares == {}
    assert "Only 2 of the 3 people" in decision.reason


def test_nothing_is_decided_before_the_deadline():
    assert decide_pool(TERMS, [1], DEADLINE - timedelta(seconds=1)) is None


@settings(deadline=None)
@given(st.integers(0, 1_000_000), st.integers(1, 10), st.integers(0, 10))
def test_nobody_ever_pays_more_than_was_held(total, minimum, extra):
    terms = PoolTerms(total, minimum, minimum + extra, DEADLINE)
    decision = decide_pool(terms, list(range(minimum + extra)), DEADLINE)
    assert decision is not None and decision.runs
    assert all(0 <= r <= terms.hold_per_person_pence for r in decision.release.values())
    assert all(decision.shares[p] + decision.release[p] == terms.hold_per_person_pence
               for p in decision.shares)


def test_joining_a_full_closed_or_already_joined_session_is_refused():
    now = DEADLINE - timedelta(hours=1)
    with pytest.raises(Conflict, match="full"):
        check_can_join(TERMS, [1, 2, 3, 4, 5], 6, now)
    with pytest.raises(Conflict, match="stopped taking"):
        check_can_join(TERMS, [1], 6, DEADLINE)
    with pytest.raises(Conflict, match="already joined"):
        check_can_join(TERMS, [1], 1, now)
    check_can_join(TERMS, [1], 2, now)


def test_minimum_above_maximum_is_refused():
    with pytest.raises(InvalidInput):
        PoolTerms(100, 5, 4, DEADLINE)


def request(**kw):
    fields = dict(total_pence=10_000, category="personal_care", category_label="Personal care",
                  plan_categories=frozenset({"personal_care"}), available_pence=200_000,
                  contingency_pence=40_000, weekly_budget_pence=10_000)
    fields.update(kw)
    return ApprovalRequest(**fields)


def test_ordinary_booking_needs_no_approval():
    assert needs_broker_approval(request(), CouncilSettings()) == []


def test_category_outside_the_plan_needs_approval():
    reasons = needs_broker_approval(request(category="leisure", category_label="Leisure"),
                                    CouncilSettings())
    assert reasons == ["Leisure is not one of the spending categories agreed in your support plan."]


def test_booking_dipping_into_the_contingency_needs_approval():
    reasons = needs_broker_approval(request(total_pence=30_000, available_pence=50_000,
                                            weekly_budget_pence=100_000), CouncilSettings())
    assert reasons == ["This booking would use £200.00 of your contingency reserve, which is kept "
                       "back for emergencies."]


def test_each_reason_carries_a_code_that_decisions_use_instead_of_its_wording():
    coded = approval_reasons(request(total_pence=30_000, available_pence=50_000,
                                     weekly_budget_pence=100_000, rule_holds=("Flag F-1",)),
                             CouncilSettings())
    assert [r.code for r in coded] == [ApprovalCode.CONTINGENCY, ApprovalCode.RULE_HOLD]
    # A rule hold's text never contains the word the old check looked for, nor must it.
    assert "contingency" not in coded[1].text


def test_more_than_four_weeks_of_budget_needs_approval():
    settings = CouncilSettings()
    assert needs_broker_approval(request(total_pence=40_000), settings) == []
    assert needs_broker_approval(request(total_pence=40_001), settings) == [
        "This booking costs £400.01, more than 4 weeks of your budget (£400.00)."]


def test_long_repeating_booking_is_judged_by_its_cost_per_week():
    settings = CouncilSettings()
    year_of_support = request(total_pence=52 * 9_000, weeks_spanned=52, available_pence=10**6)
    assert needs_broker_approval(year_of_support, settings) == []
    too_dear = request(total_pence=52 * 12_000, weeks_spanned=52, available_pence=10**6)
    assert needs_broker_approval(too_dear, settings) == [
        "This repeating booking costs about £120.00 a week, more than your weekly budget "
        "(£100.00)."]


def test_rule_holds_and_several_reasons_are_all_listed():
    reasons = needs_broker_approval(
        request(category="x", category_label="Gardening", total_pence=50_000,
                rule_holds=("the price is far above similar listings.",)), CouncilSettings())
    assert len(reasons) == 3
    assert reasons[-1] == "A check on the booking needs a second look: the price is far above " \
                          "similar listings."


def test_only_a_broker_sees_why_a_rule_holds_a_booking():
    from app.domain.approval import NEUTRAL_HOLD, RULE_HOLD_PREFIX, reasons_for

    stored = [
        "Transport is not one of the spending categories agreed in your support plan.",
        f"{RULE_HOLD_PREFIX}A broker is looking into a concern (F-1) and must approve this "
        "booking first.",
        f"{RULE_HOLD_PREFIX}A broker is looking into a concern (F-7) and must approve this "
        "booking first.",
    ]
    codes = ["outside_plan", "rule_hold", "rule_hold"]
    assert reasons_for(stored, codes, broker=True) == stored
    assert reasons_for(stored, codes, broker=False) == [stored[0], NEUTRAL_HOLD]
    assert reasons_for(stored[:1], codes[:1], broker=False) == stored[:1]


def test_what_a_holder_sees_follows_the_reasons_code_not_its_wording():
    from app.domain.approval import NEUTRAL_HOLD, reasons_for

    # A rule hold worded like any other reason is still hidden; a plan reason that happens to
    # read like a rule hold is still shown.
    stored = ["The provider's price needs a second look (F-3).",
              "A check on the booking needs a second look: outside the plan."]
    assert reasons_for(stored, ["rule_hold", "outside_plan"], broker=False) == [
        NEUTRAL_HOLD, stored[1]]
    # Codes that do not match the reasons one for one: show none of the reasons' words.
    assert reasons_for(stored, [], broker=False) == [NEUTRAL_HOLD]
