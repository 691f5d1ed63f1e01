"""Listing rules: prices in pence, pricing guidance, postcode districts and availability."""

from datetime import time

import pytest

from app.domain.listings import (
    Category,
    DistrictError,
    PriceError,
    PriceUnit,
    Slot,
    availability_problem,
    normalise_district,
    parse_districts,
    parse_pounds,
    parse_slots,
    price_problem,
    pricing_guidance,
)
from app.domain.settings import CouncilSettings
from app.domain.vetting import ProviderType

SETTINGS = CouncilSettings()


@pytest.mark.parametrize("raw,pence", [("16.50", 1650), ("£16.5", 1650), ("16", 1600),
                                       ("1,200.00", 120000), ("0.01", 1), ("0.10", 10)])
def test_parse_pounds_gives_exact_pence(raw, pence):
    assert parse_pounds(raw) == pence


@pytest.mark.parametrize("raw", ["", "abc", "12.345", "-5", "1e3", "12.5.0"])
def test_parse_pounds_refuses_nonsense(raw):
    with pytest.raises(PriceError):
        parse_pounds(raw)


def test_price_of_zero_or_beyond_the_sanity_limit_is_refused():
    assert price_problem(0, PriceUnit.HOUR, SETTINGS) == "Enter a price of more than £0"
    assert "£200.00 per hour or less" in price_problem(20_001, PriceUnit.HOUR, SETTINGS)
    assert price_problem(20_001, PriceUnit.DAY, SETTINGS) is None


def test_hourly_pa_price_below_national_living_wage_is_warned():
    advice = pricing_guidance(ProviderType.EMPLOYED_PA, Category.PERSONAL_CARE, PriceUnit.HOUR,
                              1200, SETTINGS)
    assert "£11.75" in advice.indicative
    assert advice.warnings == ("This is below the National Living Wage of £12.71 an hour.",)
    fine = pricing_guidance(ProviderType.EMPLOYED_PA, Category.PERSONAL_CARE, PriceUnit.HOUR,
                            1300, SETTINGS)
    assert fine.warnings == ()


def test_agency_guidance_shows_the_cap_and_the_homecare_association_minimum():
    advice = pricing_guidance(ProviderType.HOME_CARE_AGENCY, Category.PERSONAL_CARE, PriceUnit.HOUR,
                              3000, SETTINGS)
    assert "£24.69" in advice.indicative and "£32.14" in advice.indicative
    assert "agency cap" in advice.warnings[0]


def test_community_guidance_uses_the_category_rate():
    advice = pricing_guidance(ProviderType.COMMUNITY_ORGANISATION, Category.PEER_SUPPORT,
                              PriceUnit.SESSION, 500, SETTINGS)
    assert "peer support is £12.00" in advice.indicative
    assert advice.warnings == ()


@pytest.mark.parametrize("raw,district", [("SY1", "SY1"), ("sw1a", "SW1A"), (" B12 ", "B12"),
                                          ("TF10", "TF10"), ("W1", "W1")])
def test_postcode_districts(raw, district):
    assert normalise_district(raw) == district


@pytest.mark.parametrize("raw", ["Shrewsbury", "12", "SY", "SY1 1AA", "SYY12X"])
def test_not_postcode_districts(raw):
    with pytest.raises(DistrictError):
        normalise_district(raw)


def test_full_postcode_gets_a_helpful_message():
    with pytest.raises(DistrictError, match="first part of the postcode, like SY1"):
        normalise_district("SY1 1AA")


def test_parse_districts_removes_duplicates_keeps_order():
    assert parse_districts("sy2, SY1;sy2\nTF1") == ["SY2", "SY1", "TF1"]


def test_overlapping_availability_is_refused_with_both_times_named():
    slots = [Slot(0, time(9), time(12)), Slot(0, time(11), time(14)), Slot(1, time(9), time(12))]
    problem = availability_problem(slots)
    assert "Monday 09:00 to 12:00 overlaps Monday 11:00 to 14:00" in problem


def test_touching_slots_and_different_days_do_not_overlap():
    assert availability_problem([Slot(0, time(9), time(12)), Slot(0, time(12), time(14)),
                                 Slot(1, time(9), time(12))]) is None


def test_slot_ending_before_it_starts_is_refused():
    assert "end time must be after" in availability_problem([Slot(2, time(14), time(9))])


def test_parse_slots_reads_plain_lines_and_refuses_others():
    assert parse_slots("Monday 09:00 to 12:30\n\ntue 8.00-10.00") == [
        Slot(0, time(9), time(12, 30)), Slot(1, time(8), time(10))]
    with pytest.raises(ValueError, match="Line 1"):
        parse_slots("Someday 9 to 5")


def test_districts_a_provider_covers_must_be_in_use_and_every_bad_one_is_named():
    from app.domain.districts import parse_served_districts

    assert parse_served_districts("sy2, SY1;sy2\nTF1 e1w") == ["SY2", "SY1", "TF1", "E1W"]
    with pytest.raises(DistrictError, match=r"^SY30 is not a postcode district in use\. Check the districts"):
        parse_served_districts("SY1, SY30")
    with pytest.raises(DistrictError, match=r"^SY30 and TF99 are not postcode districts in use"):
        parse_served_districts("SY30 SY1 TF99")
    with pytest.raises(DistrictError, match=r"^QQ1 is not a postcode district in the UK"):
        parse_served_districts("QQ1")
    with pytest.raises(DistrictError, match=r"^SY30, SY31, SY32, SY33, SY34 and 2 more are not"):
        parse_served_districts(" ".join(f"SY{n}" for n in range(30, 37)))
    with pytest.raises(DistrictError, match="“1AA” is not a postcode district"):
        parse_served_districts("SY1 1AA")  # the shape is checked first, as before
    assert parse_served_districts("") == []  # the service says "Enter at least one"


@pytest.mark.parametrize("raw,message", [("", "Enter the postcode district, like LS6"),
                                         ("ls30", "LS30 is not a postcode district in use"),
                                         ("QQ1", "QQ1 is not a postcode district in the UK"),
                                         ("LS6 1AB", "Enter only the first part of the postcode, like LS6")])
def test_a_job_posts_district_must_be_in_use(raw, message):
    from app.domain.districts import parse_job_district

    assert parse_job_district(" ls6 ") == "LS6"
    with pytest.raises(DistrictError, match=message):
        parse_job_district(raw)
