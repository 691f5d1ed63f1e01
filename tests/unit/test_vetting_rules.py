"""Vetting rules: which checks a listing needs and when it may be live."""

from datetime import date, timedelta

import pytest

from app.config import CouncilSettings
from app.domain.listings import Category
from app.domain.vetting import (
    CheckKind,
    CheckStatus,
    Evidence,
    ItemState,
    ProviderType,
    checklist,
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
