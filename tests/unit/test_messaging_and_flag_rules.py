"""Messaging and flag rules with no database: body limits, message findings, who may send,
filing once, and what each outcome does (never more than block, hold, hide and alert)."""

from datetime import UTC, datetime

import pytest

from app.domain.access import DelegateKind, Grant, may_send_messages
from app.domain.errors import InvalidInput
from app.domain.flags import EFFECTS, Effects, FlagStatus, Known, Outcome, evidence_of, should_file
from app.domain.messaging import MAX_BODY_LENGTH, clean_body, message_finding
from app.domain.rules import Severity
from app.domain.rules.model import Finding, MarketSnapshot, Message, Provider, ProviderKind, Subject
from app.domain.rules.safeguarding import suspicious_messages
from app.domain.settings import CouncilSettings

SENT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SETTINGS = CouncilSettings()


def _message(text, *, from_provider=True, ident=7):
    return Message(id=ident, holder_id=3, provider_id=5, from_provider=from_provider,
                   sent_at=SENT, text=text)


def test_body_is_trimmed_and_windows_line_endings_are_kept_as_plain_newlines():
    assert clean_body("  Hello\r\nthere  ") == "Hello\nthere"


@pytest.mark.parametrize("text", ["", "   ", None])
def test_empty_body_is_refused_beside_the_body_field(text):
    with pytest.raises(InvalidInput) as err:
        clean_body(text)
    assert err.value.field == "body" and err.value.message == "Enter a message"


def test_over_long_body_is_refused_with_its_length():
    clean_body("x" * MAX_BODY_LENGTH)
    with pytest.raises(InvalidInput) as err:
        clean_body("x" * (MAX_BODY_LENGTH + 1))
    assert "2,001" in err.value.message and err.value.field == "body"


def test_provider_message_finding_is_the_registered_rules_own_finding():
    message = _message("Can you pay me cash in hand? Keep it between us.")
    finding = message_finding(message, "Maria", "Maria", SETTINGS)
    later_scan = suspicious_messages(MarketSnapshot(
        as_of=datetime(2026, 3, 20, tzinfo=UTC), messages=(message,),
        providers=(Provider(5, ProviderKind.PA_SELF_EMPLOYED, "Maria"),)), SETTINGS)
    assert finding == later_scan[0]
    assert finding.severity is Severity.HIGH  # secrecy is serious
    assert finding.subject == Subject("message", 7)


def test_holder_side_message_asking_for_money_is_a_finding_too():
    finding = message_finding(_message("Could you lend me £200 until Friday?",
                                       from_provider=False), "Maria", "Sam Helper", SETTINGS)
    assert finding is not None and finding.rule == "suspicious_messages"
    assert "Sam Helper" in finding.explanation and finding.numbers["categories"] == "loan"


def test_ordinary_message_is_not_a_finding():
    assert message_finding(_message("I can come on Tuesday at 10am. I don't take cash, "
                                     "Carefair pays me."), "Maria", "Maria", SETTINGS) is None


@pytest.mark.parametrize("grant,expected", [
    (Grant(9, None), True),
    (Grant(9, DelegateKind.AUTHORISED), True),
    (Grant(9, DelegateKind.NOMINATED), True),
    (Grant(9, DelegateKind.CIRCLE, frozenset({"messages"})), False),
    (None, False),
])
def test_only_the_holder_and_people_acting_for_them_may_send(grant, expected):
    assert may_send_messages(grant) is expected


FINDING = Finding("price_outlier", Severity.MEDIUM, Subject("listing", 4), "High price.",
                  {"rate_pence": 5000, "peers": 6})


def test_finding_is_filed_when_nothing_is_on_file():
    assert should_file(FINDING, [])


def test_open_flag_for_the_same_rule_and_subject_is_never_duplicated():
    assert not should_file(FINDING, [Known(FlagStatus.OPEN, {"other": 1})])


def test_dismissed_flag_comes_back_only_when_the_numbers_change():
    same = Known(FlagStatus.DISMISSED, evidence_of(FINDING))
    assert not should_file(FINDING, [same])
    changed = Known(FlagStatus.DISMISSED, {"rate_pence": 4000, "peers": 6})
    assert should_file(FINDING, [changed])


def test_safeguarding_referral_suspends_listings_and_holds_payouts_at_once():
    assert EFFECTS[Outcome.REFER_SAFEGUARDING] == Effects(True, True, True)
    assert EFFECTS[Outcome.WARN] == Effects()


def test_outcomes_only_warn_hide_hold_and_refer():
    # The legal line: no outcome swaps a worker or directs care, so Effects has nothing else.
    assert set(Effects.__slots__) == {"suspend_listings", "hold_payouts", "refer_safeguarding"}
    assert set(Outcome) == set(EFFECTS)
