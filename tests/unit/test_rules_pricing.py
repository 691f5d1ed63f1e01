"""Price rules: like-for-like outliers, the council's rate as advice, and rate rises."""

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.rules import Action, decide_action
from app.domain.rules.model import MarketSnapshot, ProviderKind
from app.domain.rules.pricing import (
    above_council_rate,
    price_outlier,
    rate_rise_for_existing_clients,
)
from app.domain.rules.stats import modified_z
from app.domain.settings import CouncilSettings
from tests.unit.market import AS_OF, listing, provider, session

SETTINGS = CouncilSettings()
AGENCY = ProviderKind.AGENCY


def peers(rates, kind=ProviderKind.PA_SELF_EMPLOYED, **listing_kw):
    return MarketSnapshot(
        as_of=AS_OF,
        providers=tuple(provider(i, kind) for i in range(1, len(rates) + 1)),
        listings=tuple(listing(i, i, r, **listing_kw) for i, r in enumerate(rates, start=1)))


def test_modified_z_uses_median_and_mad():
    z, mid, mad = modified_z(20.0, [10.0, 11.0, 12.0, 13.0, 20.0], mad_floor=0.1)
    assert (mid, mad) == (12.0, 1.0) and round(z, 4) == round(0.6745 * 8, 4)


def test_a_price_far_above_like_for_like_peers_is_flagged():
    found = price_outlier(peers([1500, 1550, 1600, 1650, 1700, 3500]), SETTINGS)
    assert [str(f.subject) for f in found] == ["listing:6"]
    assert found[0].numbers["peer_median_pence"] == 1625.0
    assert found[0].numbers["modified_z"] > 3.5
    assert "£35.00 per hour" in found[0].explanation


def test_a_tight_group_does_not_flag_an_ordinary_price():
    # Five identical prices give a MAD of 0; the floor keeps £17 from looking extreme.
    assert price_outlier(peers([1600, 1600, 1600, 1600, 1600, 1700]), SETTINGS) == []
    no_floor = CouncilSettings(price_mad_floor_pence=1, price_mad_floor_percent=0)
    assert len(price_outlier(peers([1600, 1600, 1600, 1600, 1600, 1700]), no_floor)) == 1


def test_cheap_prices_are_not_exploitation():
    assert price_outlier(peers([1500, 1550, 1600, 1650, 1700, 300]), SETTINGS) == []


def test_too_few_peers_say_nothing():
    assert price_outlier(peers([1600, 1600, 1600, 5000]), SETTINGS) == []


def test_only_like_for_like_listings_are_peers():
    snap = peers([1500, 1550, 1600, 1650, 1700])
    other_area = listing(9, 9, 5000, area="south")
    snap = MarketSnapshot(as_of=AS_OF, providers=snap.providers + (provider(9),),
                          listings=snap.listings + (other_area,))
    assert price_outlier(snap, SETTINGS) == []


@settings(deadline=None)
@given(st.lists(st.integers(1000, 3000), min_size=5, max_size=30))
def test_the_median_price_is_never_an_outlier(rates):
    rates = sorted(rates)
    mid_index = len(rates) // 2
    flagged = {f.subject.id for f in price_outlier(peers(rates), SETTINGS)}
    assert mid_index + 1 not in flagged


def test_agency_above_the_council_cap_is_advice_to_the_holder():
    snap = peers([2600], kind=AGENCY)
    found = above_council_rate(snap, SETTINGS)
    assert len(found) == 1 and found[0].numbers == {"rate_pence": 2600,
                                                    "council_rate_pence": 2469}
    assert "You can still choose it" in found[0].explanation
    assert decide_action(found[0], SETTINGS) is Action.ADVISE


def test_prices_at_the_cap_or_per_session_are_not_advised_about():
    assert above_council_rate(peers([2469], kind=AGENCY), SETTINGS) == []
    assert above_council_rate(peers([9000], kind=AGENCY, unit="session"), SETTINGS) == []
    assert above_council_rate(peers([9000], kind=ProviderKind.COMMUNITY), SETTINGS) == []


def test_a_rate_rise_for_existing_clients_is_flagged():
    sessions = (session(1, holder_id=5, ago=60, rate=1600, listing_id=10),
                session(1, holder_id=5, ago=30, rate=1600, listing_id=10),
                session(1, holder_id=5, ago=5, rate=1900, listing_id=10),
                session(1, holder_id=6, ago=50, rate=1600, listing_id=10),
                session(1, holder_id=6, ago=4, rate=1800, listing_id=10))
    found = rate_rise_for_existing_clients(
        MarketSnapshot(as_of=AS_OF, providers=(provider(1),), sessions=sessions), SETTINGS)
    assert len(found) == 1
    assert found[0].numbers == {"clients": 2, "old_rate_pence": 1600, "new_rate_pence": 1900,
                                "rise_percent": 18.8}


def test_a_small_rise_or_a_new_client_at_a_higher_rate_is_not_flagged():
    sessions = (session(1, holder_id=5, ago=60, rate=1600, listing_id=10),
                session(1, holder_id=5, ago=5, rate=1760, listing_id=10),  # exactly 10%
                session(1, holder_id=7, ago=5, rate=2500, listing_id=10))
    assert rate_rise_for_existing_clients(
        MarketSnapshot(as_of=AS_OF, providers=(provider(1),), sessions=sessions), SETTINGS) == []


def test_the_mad_floor_is_the_one_derived_from_published_rates():
    from app.domain.rules.rate_evidence import derived_floor_percent

    assert SETTINGS.price_mad_floor_percent == derived_floor_percent() == 7


def test_ordinary_specialist_and_weekend_prices_do_not_flag_against_a_tight_group():
    """Five agencies at the average council fee (£24.10) and one at the Homecare Association's
    Minimum Price (£32.14); PAs at Wokingham's weekday rate and one at its weekend rate."""
    assert price_outlier(peers([2410, 2410, 2410, 2410, 2410, 3214], AGENCY), SETTINGS) == []
    assert price_outlier(peers([1186, 1186, 1186, 1186, 1498]), SETTINGS) == []
    # Nearest case that does flag: 40% above a tight group (beyond the 36% the floor allows).
    assert len(price_outlier(peers([2410, 2410, 2410, 2410, 2410, 3374], AGENCY), SETTINGS)) == 1


def _history_market(change, client_ago=120):
    from app.domain.rules.model import PriceChange

    sessions = (session(1, 5, ago=client_ago, listing_id=10), session(1, 5, ago=5, listing_id=10))
    return MarketSnapshot(as_of=AS_OF, providers=(provider(1),), sessions=sessions,
                          price_changes=(PriceChange(10, 1, *change),) if change else ())


def test_a_rise_announced_before_the_window_and_charged_inside_it_is_found():
    from tests.unit.market import days_ago

    # Announced 120 days ago (before the 90-day window), effective 20 days ago.
    snap = _history_market((1600, 2000, days_ago(100), days_ago(20), True), client_ago=130)
    found = rate_rise_for_existing_clients(snap, SETTINGS)
    assert len(found) == 1 and str(found[0].subject) == "listing:10"
    assert found[0].numbers["notice_days"] == 80 and found[0].numbers["rise_percent"] == 25.0
    short = _history_market((1600, 2000, days_ago(30), days_ago(20), True), client_ago=130)
    assert "less than the 28 days expected" in \
        rate_rise_for_existing_clients(short, SETTINGS)[0].explanation


def test_a_rise_for_new_clients_only_or_not_yet_effective_is_quiet():
    from tests.unit.market import days_ago

    new_only = _history_market((1600, 2000, days_ago(100), days_ago(20), False), client_ago=130)
    assert rate_rise_for_existing_clients(new_only, SETTINGS) == []
    ahead = _history_market((1600, 2000, days_ago(10), days_ago(-20), True), client_ago=130)
    assert rate_rise_for_existing_clients(ahead, SETTINGS) == []
    # Nobody carried on across the change (the client began after it took effect).
    nobody = _history_market((1600, 2000, days_ago(100), days_ago(60), True), client_ago=50)
    assert rate_rise_for_existing_clients(nobody, SETTINGS) == []
