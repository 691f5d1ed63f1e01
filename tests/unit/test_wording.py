"""Holder-facing sentences read to staff in the third person."""

from app.domain.approval import ApprovalRequest, needs_broker_approval
from app.domain.budget import forecast
from app.domain.settings import CouncilSettings
from app.domain.wording import for_someone_acting, for_staff


def test_second_person_phrases_become_third_person_keeping_capitals():
    assert for_staff("At this rate your money lasts until 3 May.") == \
        "At this rate their money lasts until 3 May."
    assert for_staff("Your support plan says so.") == "Their support plan says so."
    assert for_staff("more than your weekly budget (£50.00)") == "more than their weekly budget (£50.00)"
    assert for_staff("Nothing to change here.") == "Nothing to change here."


def test_every_approval_reason_and_forecast_reads_without_you_or_your_for_staff():
    from datetime import date

    request = ApprovalRequest(total_pence=900_00, category="transport", category_label="Transport",
                              plan_categories=frozenset({"personal_care"}),
                              available_pence=1000_00, contingency_pence=200_00,
                              weekly_budget_pence=100_00)
    sentences = needs_broker_approval(request, CouncilSettings())
    for used in (0, 5000_00, 100_00):
        sentences += forecast(annual_pence=5200_00, start=date(2026, 4, 1),
                              today=date(2026, 6, 1), used_pence=used).messages
    assert len(sentences) >= 6
    for sentence in sentences:
        staff = for_staff(sentence).lower()
        assert " your " not in f" {staff} " and not staff.startswith("you "), staff


def test_someone_acting_reads_about_the_holder_but_the_broker_advice_stays_advice():
    assert for_someone_acting("At this rate your money lasts until 3 May.") == \
        "At this rate their money lasts until 3 May."
    assert for_someone_acting("Talk to your broker if you think you need more.") == \
        "Talk to their broker if you think they need more."
