"""The rule registry and the one function that turns findings into actions."""

import dataclasses

import pytest

from app.domain.rules import (
    RULE_NAMES,
    RULES,
    Action,
    Finding,
    Severity,
    Subject,
    decide_action,
    evaluate,
)
from app.domain.rules.model import MarketSnapshot, SafeguardingConcern
from app.domain.settings import CouncilSettings
from tests.unit.market import AS_OF, days_ago, provider


def finding(rule="price_outlier", severity=Severity.MEDIUM):
    return Finding(rule, severity, Subject("listing", 1), "Explanation.", {"z": 4.0})


def test_rule_names_are_unique_and_every_family_is_registered():
    assert len(RULE_NAMES) == len(set(RULE_NAMES))
    modules = {rule.__module__.rsplit(".", 1)[-1] for rule in RULES}
    assert modules == {"concentration", "pricing", "delivery", "safeguarding", "reviews"}


def test_an_empty_market_has_no_findings():
    assert evaluate(MarketSnapshot(as_of=AS_OF), CouncilSettings()) == []


def test_default_actions_by_severity():
    settings = CouncilSettings()
    assert [decide_action(finding(severity=s), settings) for s in Severity] == [
        Action.ADVISE, Action.FLAG, Action.HOLD, Action.SUSPEND]


def test_a_council_can_make_a_severity_stricter():
    settings = CouncilSettings(action_for_medium="block")
    assert decide_action(finding(), settings) is Action.BLOCK


def test_a_council_can_override_one_rule():
    settings = CouncilSettings(rule_action_overrides=(("price_outlier", "hold"),))
    assert decide_action(finding(), settings) is Action.HOLD
    assert decide_action(finding(rule="spending_spike"), settings) is Action.FLAG


def test_a_critical_finding_always_suspends_whatever_the_settings():
    settings = CouncilSettings(action_for_critical="advise",
                               rule_action_overrides=(("safeguarding_concern", "flag"),))
    f = finding(rule="safeguarding_concern", severity=Severity.CRITICAL)
    assert decide_action(f, settings) is Action.SUSPEND


def test_a_misspelt_setting_is_a_clear_error():
    with pytest.raises(ValueError, match="action_for_medium is 'hide'; choose one of"):
        decide_action(finding(), CouncilSettings(action_for_medium="hide"))


def test_the_snapshot_cannot_be_changed_by_a_rule():
    snapshot = MarketSnapshot(as_of=AS_OF, providers=(provider(1),))
    with pytest.raises(dataclasses.FrozenInstanceError):
        snapshot.providers = ()  # type: ignore[misc]


def test_evaluate_runs_only_the_rules_given():
    snapshot = MarketSnapshot(as_of=AS_OF, providers=(provider(1),), concerns=(
        SafeguardingConcern(1, 1, days_ago(1), "Reported by a neighbour."),))
    found = evaluate(snapshot, CouncilSettings())
    assert [f.rule for f in found] == ["safeguarding_concern"]
    assert evaluate(snapshot, CouncilSettings(), rules=[]) == []
