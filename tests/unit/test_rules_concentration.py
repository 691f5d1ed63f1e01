"""Anti-monopoly rules: HHI, share caps, rising concentration, broker steering and conflicts."""

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
from app.domain.rules.model import ConflictOfInterest, MarketSnapshot
from app.domain.rules.stats import hhi, spend_shares
from app.domain.settings import CouncilSettings
from tests.unit.market import AS_OF, provider, session

SETTINGS = CouncilSettings()


def market(spend_by_provider, *, ago=10, **extra):
    """One session per 1,000p of spend, so counts and shares follow the spend."""
    sessions = []
    for pid, pence in spend_by_provider.items():
        sessions += [session(pid, holder_id=100 + i, ago=ago, amount=1000, **extra)
                     for i in range(pence // 1000)]
    return sessions


def snapshot(sessions, **extra):
    ids = sorted({s.provider_id for s in sessions})
    return MarketSnapshot(as_of=AS_OF, providers=tuple(provider(p) for p in ids),
                          sessions=tuple(sessions), **extra)


def test_hhi_is_the_sum_of_squared_percentage_shares():
    assert hhi(spend_shares({1: 100}).values()) == pytest.approx(10_000)
    assert hhi(spend_shares({1: 1, 2: 1, 3: 1, 4: 1}).values()) == pytest.approx(2_500)
    assert spend_shares({1: 0}) == {}


@settings(deadline=None)
@given(st.dictionaries(st.integers(1, 50), st.integers(1, 10**7), min_size=1, max_size=30))
def test_hhi_is_between_the_even_split_and_a_monopoly(spend):
    index = hhi(spend_shares(spend).values())
    assert 10_000 / len(spend) - 1e-6 <= index <= 10_000 + 1e-6


def test_two_providers_sharing_a_market_is_highly_concentrated():
    found = market_concentration(snapshot(market({1: 30_000, 2: 20_000})), SETTINGS)
    assert len(found) == 1
    f = found[0]
    assert str(f.subject) == "market:north/personal_care"
    assert f.numbers["hhi"] == 5200.0 and f.numbers["providers"] == 2
    assert "highly concentrated" in f.explanation


def test_ten_equal_providers_are_not_concentrated():
    assert market_concentration(snapshot(market({p: 5000 for p in range(1, 11)})),
                                SETTINGS) == []


def test_a_market_with_too_few_bookings_says_nothing():
    assert market_concentration(snapshot(market({1: 9000})), SETTINGS) == []


def test_old_bookings_outside_the_window_do_not_count():
    assert market_concentration(snapshot(market({1: 20_000}, ago=120)), SETTINGS) == []


def test_markets_are_separate_by_area():
    sessions = market({p: 5000 for p in range(1, 11)}) + market({11: 10_000}, area="south")
    found = market_concentration(snapshot(sessions), SETTINGS)
    assert [str(f.subject) for f in found] == ["market:south/personal_care"]


def test_provider_above_the_share_cap_is_advised_about():
    found = provider_share_cap(snapshot(market({1: 40_000, 2: 30_000, 3: 30_000})), SETTINGS)
    assert [(str(f.subject), f.numbers["share_percent"]) for f in found] == [("provider:1", 40.0)]


def test_share_cap_is_a_council_setting():
    sessions = market({1: 40_000, 2: 30_000, 3: 30_000})
    assert provider_share_cap(snapshot(sessions),
                              CouncilSettings(provider_share_cap_percent=45)) == []


def test_a_rise_of_more_than_100_with_a_provider_at_30_percent_is_flagged():
    before = market({p: 10_000 for p in range(1, 6)}, ago=100)  # HHI 2000
    after = market({1: 30_000, 2: 20_000, 3: 20_000, 4: 20_000, 5: 10_000})  # HHI 2200
    found = concentration_rising(snapshot(before + after), SETTINGS)
    assert len(found) == 1 and found[0].numbers["rise"] == 200.0
    assert found[0].numbers["top_provider_id"] == 1


def test_a_small_rise_is_not_flagged():
    before = market({1: 30_000, 2: 20_000, 3: 20_000, 4: 20_000, 5: 10_000}, ago=100)
    after = market({1: 30_000, 2: 20_000, 3: 20_000, 4: 20_000, 5: 10_000})
    assert concentration_rising(snapshot(before + after), SETTINGS) == []


def steering_market(broker_provider):
    rest = market({p: 10_000 for p in range(1, 6)})  # everyone else splits evenly: 20% each
    mediated = [session(broker_provider, holder_id=200 + i, amount=1000, brokered_by=77)
                for i in range(8)] + [session(2, holder_id=300, amount=1000, brokered_by=77)]
    return snapshot(rest + mediated)


def test_broker_sending_most_bookings_to_one_provider_is_flagged():
    found = broker_steering(steering_market(1), SETTINGS)
    assert len(found) == 1
    f = found[0]
    assert str(f.subject) == "broker:77" and f.numbers["provider_id"] == 1
    assert f.numbers["broker_share_percent"] == pytest.approx(88.9)
    assert f.numbers["market_share_percent"] == 20.0


def test_broker_following_the_market_is_not_flagged():
    rest = market({1: 60_000, 2: 10_000})
    mediated = [session(1 + (i % 4 == 0), holder_id=400 + i, amount=1000, brokered_by=77)
                for i in range(8)]
    assert broker_steering(snapshot(rest + mediated), SETTINGS) == []


def test_declared_conflict_with_bookings_is_flagged():
    sessions = [session(5, holder_id=i, amount=2000, brokered_by=77) for i in range(3)]
    snap = snapshot(sessions, conflicts=(ConflictOfInterest(77, 5, "her brother runs it"),))
    found = conflict_of_interest(snap, SETTINGS)
    assert len(found) == 1 and found[0].numbers == {"provider_id": 5, "sessions": 3,
                                                    "total_pence": 6000}
    assert "her brother runs it" in found[0].explanation and "£60.00" in found[0].explanation


def test_declared_conflict_without_bookings_is_quiet():
    snap = snapshot([session(6, brokered_by=77)],
                    conflicts=(ConflictOfInterest(77, 5, "friend"),))
    assert conflict_of_interest(snap, SETTINGS) == []
