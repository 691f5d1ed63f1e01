"""Booking-time market checks, editable council settings, home districts and market access."""

import pytest

from app.domain import setting_fields
from app.domain.access import Decision, Permission, Principal, Role, decide
from app.domain.districts import parse_home_district
from app.domain.listings import DistrictError
from app.domain.rules.booking_request import (
    Alternative,
    BookingRequestFacts,
    at_risk_high_price,
    price_against_peers,
    provider_share_in_market,
)
from app.domain.settings import CouncilSettings

SETTINGS = CouncilSettings()


def facts(**changes):
    values = dict(holder_id=1, holder_district="LS6", holder_at_risk=False, listing_id=10,
                  provider_id=5, provider_name="Big Care Ltd", category="personal_care",
                  category_label="Personal care", unit="hour", price_pence=2000,
                  peer_prices=(1900, 2000, 2100, 2000, 1950, 2050), peers_where="for people in LS6")
    values.update(changes)
    return BookingRequestFacts(**values)


def test_a_price_far_above_like_for_like_peers_is_pointed_out():
    found = price_against_peers(facts(price_pence=6000), SETTINGS)
    assert [f.rule for f in found] == ["booking_price_outlier"]
    assert "around £20.00 an hour" in found[0].explanation
    assert "You can still choose it" in found[0].explanation


def test_an_ordinary_price_or_too_few_peers_says_nothing():
    assert price_against_peers(facts(price_pence=2150), SETTINGS) == []
    assert price_against_peers(facts(price_pence=6000, peer_prices=(2000, 2100)), SETTINGS) == []


def test_a_newcomer_to_a_provider_above_the_cap_sees_the_alternatives():
    others = (Alternative(11, "Care at home", "Small Care", 1800, "hour"),)
    found = provider_share_in_market(facts(provider_share_percent=71.4, alternatives=others),
                                     SETTINGS)
    assert len(found) == 1
    text = found[0].explanation
    assert "Big Care Ltd already provides 71% of the personal care that people living in LS6" in text
    assert "Small Care (£18.00 an hour)" in text and "The choice is yours." in text


def test_share_advice_is_quiet_for_existing_clients_and_providers_at_the_cap():
    assert provider_share_in_market(facts(provider_share_percent=71.4,
                                          used_provider_before=True), SETTINGS) == []
    assert provider_share_in_market(facts(provider_share_percent=30.0), SETTINGS) == []
    assert provider_share_in_market(facts(provider_share_percent=None), SETTINGS) == []


def test_a_person_at_risk_is_told_about_a_high_price_others_are_not():
    assert at_risk_high_price(facts(holder_at_risk=True, price_pence=2500), SETTINGS)
    assert at_risk_high_price(facts(holder_at_risk=True, price_pence=2350), SETTINGS) == []
    assert at_risk_high_price(facts(holder_at_risk=False, price_pence=2500), SETTINGS) == []


@pytest.mark.parametrize("raw,expected", [("ls6", "LS6"), (" sw1a ", "SW1A"), ("M1", "M1"),
                                          ("ec1a", "EC1A"), ("BT1", "BT1"), ("E1W", "E1W")])
def test_home_districts_are_uk_outward_codes(raw, expected):
    assert parse_home_district(raw) == expected


@pytest.mark.parametrize("raw,message", [
    ("LS6 1AB", "Enter only the first part of the postcode, like LS6"),
    ("QQ1", "QQ1 is not a postcode district in the UK"),
    ("SY30", "SY30 is not a postcode district in use"),  # Shrewsbury's area, no such district
    ("Leeds", "is not a postcode district"),
    ("", "Enter the first part of your postcode"),
])
def test_anything_else_is_refused_in_plain_english(raw, message):
    with pytest.raises(DistrictError, match=message):
        parse_home_district(raw)


def test_setting_values_are_parsed_with_their_limits():
    cap = setting_fields.FIELD_BY_NAME["provider_share_cap_percent"]
    assert setting_fields.parse(cap, "25") == 25
    with pytest.raises(ValueError, match="between 1 and 100"):
        setting_fields.parse(cap, "0")
    with pytest.raises(ValueError, match="must be a whole number"):
        setting_fields.parse(cap, "25.5")
    spend = setting_fields.FIELD_BY_NAME["market_min_spend_pence"]
    assert setting_fields.parse(spend, "£1,250.50") == 125_050
    with pytest.raises(ValueError, match="pounds and pence"):
        setting_fields.parse(spend, "12.345")
    assert setting_fields.display(spend, 125_050) == "1,250.50"


def test_per_rule_actions_merge_into_the_overrides():
    settings = setting_fields.apply(SETTINGS, {"rule_action:provider_share_cap": "hold",
                                               "provider_share_cap_percent": 40})
    assert settings.rule_action_overrides == (("provider_share_cap", "hold"),)
    assert settings.provider_share_cap_percent == 40
    back = setting_fields.apply(settings, {"rule_action:provider_share_cap": "by_severity"})
    assert back.rule_action_overrides == ()
    assert setting_fields.problems(setting_fields.apply(SETTINGS, {"hhi_rise_flag": 2000}))


@pytest.mark.parametrize("role,expected", [
    (Role.BROKER, Decision.ALLOW), (Role.COUNCIL_ADMIN, Decision.ALLOW),
    (Role.HOLDER, Decision.FORBIDDEN), (Role.PROVIDER, Decision.FORBIDDEN),
    (Role.SUPPORTER, Decision.FORBIDDEN)])
def test_the_market_view_is_for_brokers_and_council_admins(role, expected):
    assert decide(Principal(user_id=1, role=role), Permission.MARKET_VIEW) is expected


def test_the_districts_list_is_the_uks_whole_list_with_its_source():
    from app.domain.districts import _DISTRICTS_FILE, postcode_areas, uk_districts

    assert len(uk_districts()) == 2977 and len(postcode_areas()) == 124
    assert {"LS6", "SY3", "SW1A", "EC1A", "BT1", "ZE3"} <= uk_districts()
    assert "Office for National Statistics" in _DISTRICTS_FILE.read_text()
