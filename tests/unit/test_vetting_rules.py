"""Vetting rules: which checks a listing needs and when it may be live."""

from datetime import date, timedelta

import pytest

from app.domain.listings import Category
from app.domain.settings import CouncilSettings
from app.domain.vetting import (
    CheckKind,
    CheckStatus,
    Evidence,
    ItemState,
    ProviderType,
    checklist,
    expiry_warnings,
    listing_visibility,
    normalise_cqc_number,
    required_checks,
)

TODAY = date(2026, 6, 1)
SETTINGS = CouncilSettings()
V = CheckStatus.VERIFIED


def _full_pa_evidence(**dbs) -> list[Evidence]:
    return [
        Evidence(CheckKind.DBS, V, issued_on=dbs.get("issued_on", TODAY - timedelta(days=100)),
                 update_service=dbs.get("update_service", False)),
        Evidence(CheckKind.INSURANCE, V, expires_on=TODAY + timedelta(days=30)),
        Evidence(CheckKind.REFERENCE, V), Evidence(CheckKind.REFERENCE, V),
        Evidence(CheckKind.RIGHT_TO_WORK, V),
        Evidence(CheckKind.TRAINING, V, issued_on=TODAY - timedelta(days=10)),
    ]


def test_cqc_is_needed_for_an_agency_offering_personal_care_but_not_for_a_pa():
    assert CheckKind.CQC in required_checks(ProviderType.HOME_CARE_AGENCY, Category.PERSONAL_CARE)
    assert CheckKind.CQC not in required_checks(ProviderType.HOME_CARE_AGENCY, Category.SHORT_BREAKS)
    for pa in (ProviderType.SELF_EMPLOYED_PA, ProviderType.EMPLOYED_PA):
        assert CheckKind.CQC not in required_checks(pa, Category.PERSONAL_CARE)


def test_pas_need_two_references_and_right_to_work_and_every_type_needs_dbs():
    needed = required_checks(ProviderType.SELF_EMPLOYED_PA, Category.HELP_AT_HOME)
    assert needed[CheckKind.REFERENCE] == 2
    assert CheckKind.RIGHT_TO_WORK in needed
    assert all(CheckKind.DBS in required_checks(t, Category.PEER_SUPPORT) for t in ProviderType)


def test_employed_pa_needs_no_public_liability_insurance():
    assert CheckKind.INSURANCE not in required_checks(ProviderType.EMPLOYED_PA, Category.PERSONAL_CARE)


def test_listing_is_live_when_every_required_check_is_verified_and_in_date():
    verdict = listing_visibility(ProviderType.SELF_EMPLOYED_PA, Category.PERSONAL_CARE,
                                 _full_pa_evidence(), TODAY, SETTINGS)
    assert verdict.live and verdict.reasons == ()


def test_expired_insurance_hides_the_listing_and_says_so():
    evidence = _full_pa_evidence()
    evidence[1] = Evidence(CheckKind.INSURANCE, V, expires_on=TODAY - timedelta(days=1))
    verdict = listing_visibility(ProviderType.SELF_EMPLOYED_PA, Category.PERSONAL_CARE, evidence,
                                 TODAY, SETTINGS)
    assert not verdict.live
    assert "Public liability insurance expired on 31 May 2026" in verdict.reasons[0]


def test_insurance_expiring_today_still_counts():
    evidence = _full_pa_evidence()
    evidence[1] = Evidence(CheckKind.INSURANCE, V, expires_on=TODAY)
    assert listing_visibility(ProviderType.SELF_EMPLOYED_PA, Category.PERSONAL_CARE, evidence,
                              TODAY, SETTINGS).live


def test_dbs_older_than_the_council_maximum_hides_unless_on_the_update_service():
    old = TODAY - timedelta(days=SETTINGS.dbs_max_age_days_without_update_service + 1)
    hidden = listing_visibility(ProviderType.SELF_EMPLOYED_PA, Category.PERSONAL_CARE,
                                _full_pa_evidence(issued_on=old), TODAY, SETTINGS)
    assert not hidden.live
    assert "Update Service" in hidden.reasons[0]
    kept = listing_visibility(ProviderType.SELF_EMPLOYED_PA, Category.PERSONAL_CARE,
                              _full_pa_evidence(issued_on=old, update_service=True), TODAY, SETTINGS)
    assert kept.live


def test_checklist_says_missing_pending_and_rejected_in_plain_english():
    needed = {CheckKind.DBS: 1, CheckKind.REFERENCE: 2, CheckKind.RIGHT_TO_WORK: 1}
    evidence = [Evidence(CheckKind.DBS, CheckStatus.PENDING),
                Evidence(CheckKind.REFERENCE, V),
                Evidence(CheckKind.RIGHT_TO_WORK, CheckStatus.REJECTED, rejection_reason="Blurred scan")]
    items = {i.kind: i for i in checklist(needed, evidence, TODAY, SETTINGS)}
    assert items[CheckKind.DBS].state is ItemState.PENDING
    assert items[CheckKind.REFERENCE].state is ItemState.MISSING
    assert "1 verified" in items[CheckKind.REFERENCE].reason
    assert items[CheckKind.RIGHT_TO_WORK].state is ItemState.REJECTED
    assert "Blurred scan" in items[CheckKind.RIGHT_TO_WORK].reason


def test_a_rejected_record_does_not_matter_once_a_later_one_is_verified():
    needed = {CheckKind.RIGHT_TO_WORK: 1}
    evidence = [Evidence(CheckKind.RIGHT_TO_WORK, CheckStatus.REJECTED, rejection_reason="x"),
                Evidence(CheckKind.RIGHT_TO_WORK, V)]
    assert checklist(needed, evidence, TODAY, SETTINGS)[0].ok


@pytest.mark.parametrize("raw,expected", [
    ("1-123456789", "1-123456789"), (" 1-1234567890 ", "1-1234567890"),
    ("123456789", None), ("1-12345", None), ("2-123456789", None), ("1-12345678a", None),
])
def test_cqc_number_format(raw, expected):
    assert normalise_cqc_number(raw) == expected


STAGES = (30, 7)


def _insurance_ending_in(days: int, **extra) -> list[Evidence]:
    return [Evidence(CheckKind.INSURANCE, V, expires_on=TODAY + timedelta(days=days)), *extra.get("more", ())]


@pytest.mark.parametrize(("days_left", "stage"), [(45, None), (31, None), (30, 30), (8, 30), (7, 7),
                                                  (0, 7)])
def test_a_check_running_out_is_warned_a_month_then_a_week_before(days_left, stage):
    warnings = expiry_warnings({CheckKind.INSURANCE: 1}, _insurance_ending_in(days_left), TODAY,
                               SETTINGS, STAGES)
    if stage is None:
        assert warnings == []
    else:
        (warning,) = warnings
        assert (warning.kind, warning.days_left, warning.stage) == (CheckKind.INSURANCE, days_left, stage)
        assert warning.runs_out_on == TODAY + timedelta(days=days_left)


def test_no_warning_once_new_evidence_waits_for_a_broker_or_a_later_one_covers_it():
    pending = Evidence(CheckKind.INSURANCE, CheckStatus.PENDING, expires_on=TODAY + timedelta(days=400))
    assert expiry_warnings({CheckKind.INSURANCE: 1}, _insurance_ending_in(10, more=[pending]), TODAY,
                           SETTINGS, STAGES) == []
    renewed = Evidence(CheckKind.INSURANCE, V, expires_on=TODAY + timedelta(days=400))
    assert expiry_warnings({CheckKind.INSURANCE: 1}, _insurance_ending_in(10, more=[renewed]), TODAY,
                           SETTINGS, STAGES) == []


def test_a_check_needing_two_pieces_is_warned_when_the_second_would_run_out():
    two = [Evidence(CheckKind.REFERENCE, V, expires_on=TODAY + timedelta(days=10)),
           Evidence(CheckKind.REFERENCE, V, expires_on=TODAY + timedelta(days=100))]
    (warning,) = expiry_warnings({CheckKind.REFERENCE: 2}, two, TODAY, SETTINGS, STAGES)
    assert warning.runs_out_on == TODAY + timedelta(days=10)
    assert expiry_warnings({CheckKind.REFERENCE: 1}, two, TODAY, SETTINGS, STAGES) == []


def test_a_dbs_without_the_update_service_is_warned_before_it_is_too_old():
    limit = SETTINGS.dbs_max_age_days_without_update_service
    issued = TODAY - timedelta(days=limit - 20)
    old = [Evidence(CheckKind.DBS, V, issued_on=issued)]
    (warning,) = expiry_warnings({CheckKind.DBS: 1}, old, TODAY, SETTINGS, STAGES)
    assert warning.runs_out_on == issued + timedelta(days=limit) and warning.days_left == 20
    # The warning's date is the last day it still counts: the checklist agrees on both sides.
    assert checklist({CheckKind.DBS: 1}, old, warning.runs_out_on, SETTINGS)[0].ok
    assert not checklist({CheckKind.DBS: 1}, old, warning.runs_out_on + timedelta(days=1), SETTINGS)[0].ok
    subscribed = [Evidence(CheckKind.DBS, V, issued_on=issued, update_service=True)]
    assert expiry_warnings({CheckKind.DBS: 1}, subscribed, TODAY, SETTINGS, STAGES) == []
