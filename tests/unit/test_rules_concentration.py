"""Anti-monopoly rules on holder markets: HHI, share caps, rising concentration, steering, conflicts."""

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.rules.concentration import (
    broker_steering,
    concentration_rising,
    conflict_of_interest,
    market_concentration,
    provider_share_cap,
)
from app.domain.rules.markets import facts_from_sessions, market_figures, search_shares
from app.domain.rules.model import ConflictOfInterest, Holder, MarketSnapshot
from app.domain.rules.stats import binomial_tail, hhi, poisson_binomial_tail, spend_shares
from app.domain.settings import CouncilSettings
from tests.unit.market import AS_OF, provider, session

SETTINGS = CouncilSettings()
_holder_ids = iter(range(10_000, 10**6))


def market(spend_by_provider, *, ago=10, district="LS6", holders_each=None, **extra):
    """Sessions of 1,000p each; every session a different holder living in `district` (or
    `holders_each` holders per provider sharing its sessions, for long series)."""
    sessions, people = [], []
    for pid, pence in spend_by_provider.items():
        count = pence // 1000
        ids = [next(_holder_ids) for _ in range(holders_each or count)]
        people += [Holder(h, "", district=district) for h in ids]
        sessions += [session(pid, holder_id=ids[i % len(ids)], ago=ago, amount=1000, **extra)
                     for i in range(count)]
    return sessions, people


def snapshot(*parts, conflicts=()):
    sessions = [s for part in parts for s in part[0]]
    holders = {h.id: h for part in parts for h in part[1]}
    ids = sorted({s.provider_id for s in sessions})
    return MarketSnapshot(as_of=AS_OF, providers=tuple(provider(p) for p in ids),
                          holders=tuple(holders.values()), sessions=tuple(sessions),
                          conflicts=conflicts)


def test_hhi_is_the_sum_of_squared_percentage_shares():
    assert hhi(spend_shares({1: 100}).values()) == pytest.approx(10_000)
    assert hhi(spend_shares({1: 1, 2: 1, 3: 1, 4: 1}).values()) == pytest.approx(2_500)
    assert spend_shares({1: 0}) == {}


@settings(deadline=None)
@given(st.dictionaries(st.integers(1, 50), st.integers(1, 10**7), min_size=1, max_size=30))
def test_hhi_is_between_the_even_split_and_a_monopoly(spend):
    index = hhi(spend_shares(spend).values())
    assert 10_000 / len(spend) - 1e-6 <= index <= 10_000 + 1e-6


def test_binomial_tail_is_exact():
    # P(X >= 8) for 9 trials at 0.2: nine ways to get 8, one way to get 9.
    assert binomial_tail(8, 9, 0.2) == pytest.approx(9 * 0.2 ** 8 * 0.8 + 0.2 ** 9)
    assert binomial_tail(0, 5, 0.3) == 1.0 and binomial_tail(6, 5, 0.3) == 0.0
    assert binomial_tail(3, 10, 0.5) == pytest.approx(1 - (1 + 10 + 45) / 1024)


@settings(deadline=None)
@given(st.integers(0, 30), st.integers(0, 30), st.floats(0, 1))
def test_poisson_binomial_with_equal_chances_is_the_binomial(k, n, p):
    assert poisson_binomial_tail(k, [p] * n) == pytest.approx(binomial_tail(k, n, p), abs=1e-9)


def test_poisson_binomial_mixes_chances():
    # Two trials, 0.5 and 0.1: at least one is 1 - 0.5 * 0.9; both is 0.05.
    assert poisson_binomial_tail(1, [0.5, 0.1]) == pytest.approx(0.55)
    assert poisson_binomial_tail(2, [0.5, 0.1]) == pytest.approx(0.05)


# ------------------------------------------------------------------ markets where holders live

def test_one_agency_taking_most_of_a_district_is_highly_concentrated():
    found = market_concentration(snapshot(market({1: 60_000, 2: 20_000, 3: 20_000})), SETTINGS)
    assert len(found) == 1
    f = found[0]
    assert str(f.subject) == "market:LS6/personal_care"
    assert f.numbers["hhi"] == 4400.0 and f.numbers["providers"] == 3
    assert f.numbers["top_provider_id"] == 1 and f.numbers["holders"] == 100
    assert "people living in LS6" in f.explanation and "Provider 1 has 60%" in f.explanation


def test_the_market_is_where_the_holder_lives_not_where_the_provider_is():
    # The same provider serves two districts: dominant in LS6, a small player in LS1.
    ls6 = market({1: 60_000, 2: 20_000, 3: 20_000}, district="LS6")
    ls1 = market({1: 10_000, **{p: 10_000 for p in range(4, 13)}}, district="LS1")
    found = market_concentration(snapshot(ls6, ls1), SETTINGS)
    assert [str(f.subject) for f in found] == ["market:LS6/personal_care"]


def test_a_market_just_under_the_line_is_quiet():
    # Shares 40/30/30 -> HHI 3,400: concentrated. 30/25/25/20 -> 2,550. 20 x5 -> 2,000.
    # Eleven providers, one with 30%: 900 + 10 x 49 = 1,390, under 1,800.
    near = market({1: 30_000, **{p: 7_000 for p in range(2, 12)}})
    assert hhi(spend_shares({1: 30, **{p: 7 for p in range(2, 12)}}).values()) < 1800
    assert market_concentration(snapshot(near), SETTINGS) == []


def test_a_market_too_small_to_mean_anything_says_nothing():
    # 90 pounds of spend by four holders: below the minimum spend and holders.
    small = market({1: 4_000, 2: 1_000})
    assert market_concentration(snapshot(small), SETTINGS) == []
    figure = market_figures(facts_from_sessions(small[0], small[1], AS_OF, 90), SETTINGS)[0]
    assert not figure.meets_minimums and figure.above_cap == ()


def test_one_provider_alone_is_a_thin_market_not_a_finding():
    assert market_concentration(snapshot(market({1: 200_000})), SETTINGS) == []
    assert market_concentration(snapshot(market({1: 200_000})),
                                CouncilSettings(market_min_providers=1)) != []


def test_old_bookings_outside_the_window_do_not_count():
    assert market_concentration(snapshot(market({1: 60_000, 2: 20_000}, ago=120)), SETTINGS) == []


def test_holders_without_a_district_are_in_no_market():
    sessions, people = market({1: 60_000, 2: 20_000, 3: 20_000})
    unplaced = [Holder(h.id, "") for h in people]
    snap = MarketSnapshot(as_of=AS_OF, holders=tuple(unplaced), sessions=tuple(sessions))
    assert market_concentration(snap, SETTINGS) == []
    assert facts_from_sessions(sessions, unplaced, AS_OF, 90).unplaced_holders == 100


def test_provider_above_the_share_cap_is_advised_about_in_that_market():
    found = provider_share_cap(snapshot(market({1: 40_000, 2: 30_000, 3: 30_000})), SETTINGS)
    assert [(str(f.subject), f.numbers["share_percent"], f.numbers["market"]) for f in found] == [
        ("provider:1", 40.0, "LS6/personal_care")]


def test_share_cap_is_a_council_setting():
    snap = snapshot(market({1: 40_000, 2: 30_000, 3: 30_000}))
    assert provider_share_cap(snap, CouncilSettings(provider_share_cap_percent=45)) == []


def test_search_shares_are_per_district_and_only_for_real_markets():
    big = market({1: 40_000, 2: 30_000, 3: 30_000}, district="LS6")
    small = market({1: 3_000}, district="LS1")
    facts = facts_from_sessions(big[0] + small[0], big[1] + small[1], AS_OF, 90)
    shares = search_shares(market_figures(facts, SETTINGS))
    assert shares[(1, "personal_care", "LS6")] == pytest.approx(40.0)
    assert (1, "personal_care", "LS1") not in shares


def test_a_rise_of_more_than_100_with_a_provider_at_30_percent_is_flagged():
    before = market({p: 20_000 for p in range(1, 6)}, ago=100)  # HHI 2000
    after = market({1: 60_000, 2: 40_000, 3: 40_000, 4: 40_000, 5: 20_000})  # HHI 2200
    found = concentration_rising(snapshot(before, after), SETTINGS)
    assert len(found) == 1 and found[0].numbers["rise"] == 200.0
    assert found[0].numbers["top_provider_id"] == 1 and found[0].numbers["previous_hhi"] == 2000.0


def test_a_small_rise_is_not_flagged():
    before = market({1: 60_000, 2: 40_000, 3: 40_000, 4: 40_000, 5: 20_000}, ago=100)
    after = market({1: 62_000, 2: 40_000, 3: 40_000, 4: 38_000, 5: 20_000})  # rise about 38
    assert concentration_rising(snapshot(before, after), SETTINGS) == []


def test_a_rise_from_a_market_too_small_before_is_not_a_trend():
    before = market({1: 2_000, 2: 2_000}, ago=100)
    after = market({1: 60_000, 2: 40_000, 3: 40_000, 4: 40_000, 5: 20_000})
    assert concentration_rising(snapshot(before, after), SETTINGS) == []


# ------------------------------------------------------------------ steering, in people

def arranged(provider_id, holders, *, broker=77, district="LS6", sessions_each=1):
    people = [Holder(next(_holder_ids), "", district=district) for _ in range(holders)]
    sessions = [session(provider_id, holder_id=h.id, amount=1000, brokered_by=broker, ago=5 + w)
                for h in people for w in range(sessions_each)]
    return sessions, people


def test_broker_sending_most_people_to_one_provider_is_flagged():
    rest = market({p: 10_000 for p in range(1, 6)})  # everyone else splits evenly: 20% each
    found = broker_steering(snapshot(rest, arranged(1, 8), arranged(2, 1)), SETTINGS)
    assert len(found) == 1
    f = found[0]
    assert str(f.subject) == "broker:77" and f.numbers["provider_id"] == 1
    assert f.numbers["broker_share_percent"] == pytest.approx(88.9)
    assert f.numbers["holders"] == 9 and f.numbers["holders_to_provider"] == 8
    assert f.numbers["market_share_percent"] == pytest.approx(20.0, abs=1)
    assert f.numbers["p_value"] < 0.001
    assert "9 people" in f.explanation and "LS6" in f.explanation


def test_broker_whose_choices_follow_the_market_is_not_flagged():
    rest = market({1: 60_000, 2: 20_000, 3: 20_000})  # provider 1 has 60% of the people
    # The broker sends 6 of 9 people (67%) to provider 1: what the market would give.
    assert broker_steering(snapshot(rest, arranged(1, 6), arranged(2, 2), arranged(3, 1)),
                           SETTINGS) == []


def test_one_holder_with_a_long_weekly_series_is_not_steering():
    rest = market({p: 10_000 for p in range(1, 6)})
    # Forty weekly sessions for one person and one more person elsewhere: two people, not 41.
    long_series = arranged(1, 1, sessions_each=40)
    assert broker_steering(snapshot(rest, long_series, arranged(2, 1)), SETTINGS) == []


def test_too_few_people_for_the_test_is_quiet_however_lopsided():
    rest = market({p: 10_000 for p in range(1, 6)})
    assert broker_steering(snapshot(rest, arranged(1, 4)), SETTINGS) == []


def test_steering_is_judged_against_each_holders_own_market():
    # Provider 1 has most of LS1 but little of LS6; a broker whose LS1 people go to provider 1
    # is following that market.
    ls1 = market({1: 80_000, 2: 20_000}, district="LS1")
    ls6 = market({p: 10_000 for p in range(1, 6)}, district="LS6")
    following = snapshot(ls1, ls6, arranged(1, 8, district="LS1"), arranged(2, 2, district="LS1"))
    assert broker_steering(following, SETTINGS) == []
    steering = snapshot(ls1, ls6, arranged(1, 8, district="LS6"), arranged(2, 2, district="LS6"))
    assert [f.numbers["provider_id"] for f in broker_steering(steering, SETTINGS)] == [1]


def test_the_significance_level_is_a_council_setting():
    rest = market({p: 10_000 for p in range(1, 6)})
    snap = snapshot(rest, arranged(1, 4), arranged(2, 2))  # 4 of 6 at 20%: p about 0.017
    loose = CouncilSettings(steering_min_holders=5, steering_significance=0.05)
    assert broker_steering(snap, SETTINGS) == []
    assert len(broker_steering(snap, loose)) == 1


# ------------------------------------------------------------------ conflicts

def test_declared_conflict_with_bookings_is_flagged():
    sessions = [session(5, holder_id=i, amount=2000, brokered_by=77) for i in range(3)]
    snap = MarketSnapshot(as_of=AS_OF, providers=(provider(5),), sessions=tuple(sessions),
                          conflicts=(ConflictOfInterest(77, 5, "her brother runs it"),))
    found = conflict_of_interest(snap, SETTINGS)
    assert len(found) == 1 and found[0].numbers == {"provider_id": 5, "sessions": 3,
                                                    "total_pence": 6000}
    assert "her brother runs it" in found[0].explanation and "£60.00" in found[0].explanation


def test_bookings_arranged_after_the_broker_ended_the_conflict_are_not_flagged():
    ended = AS_OF - timedelta(days=20)
    before = [session(5, holder_id=i, amount=2000, brokered_by=77, booked_at=ended - timedelta(days=1))
              for i in range(2)]
    after = [session(5, holder_id=9, amount=2000, brokered_by=77, booked_at=ended + timedelta(days=1))]
    conflict = ConflictOfInterest(77, 5, "her brother ran it", ended_at=ended)
    quiet = MarketSnapshot(as_of=AS_OF, providers=(provider(5),), sessions=tuple(after),
                           conflicts=(conflict,))
    assert conflict_of_interest(quiet, SETTINGS) == []
    both = MarketSnapshot(as_of=AS_OF, providers=(provider(5),), sessions=tuple(before + after),
                          conflicts=(conflict,))
    found = conflict_of_interest(both, SETTINGS)
    assert [f.numbers["sessions"] for f in found] == [2]


def test_a_conflict_declared_again_is_one_finding_by_the_standing_declaration():
    ended = AS_OF - timedelta(days=20)
    sessions = [session(5, holder_id=i, amount=2000, brokered_by=77, booked_at=ended + timedelta(days=1))
                for i in range(3)]
    snap = MarketSnapshot(as_of=AS_OF, providers=(provider(5),), sessions=tuple(sessions),
                          conflicts=(ConflictOfInterest(77, 5, "old", ended_at=ended),
                                     ConflictOfInterest(77, 5, "declared again")))
    found = conflict_of_interest(snap, SETTINGS)
    assert len(found) == 1 and "declared again" in found[0].explanation
    assert found[0].numbers["sessions"] == 3


def test_declared_conflict_without_bookings_is_quiet():
    snap = MarketSnapshot(as_of=AS_OF, providers=(provider(6),),
                          sessions=(session(6, brokered_by=77),),
                          conflicts=(ConflictOfInterest(77, 5, "friend"),))
    assert conflict_of_interest(snap, SETTINGS) == []
