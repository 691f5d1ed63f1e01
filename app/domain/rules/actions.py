"""The one place that turns a finding into an action: its severity and the council's settings."""

from __future__ import annotations

from app.domain.rules.model import Action, Finding, Severity
from app.domain.settings import CouncilSettings

# design.md: "a safeguarding concern suspends listings and holds payouts at once". A council
# may make any severity stricter, but cannot lower a critical finding below this.
_FLOOR = {Severity.CRITICAL: Action.SUSPEND}
# Rules whose finding holds something back until a broker looks (a message kept from the
# holder's side): a council setting may not make them advice only, which files no flag and so
# would keep it back for good.
_RULE_FLOOR = {"message_from_restricted_provider": Action.FLAG}


def _action(value: str, setting: str) -> Action:
    try:
        return Action(value)
    except ValueError:
        choices = ", ".join(a.value for a in Action)
        raise ValueError(f"Council setting {setting} is {value!r}; choose one of {choices}.") \
            from None


def decide_action(finding: Finding, settings: CouncilSettings) -> Action:
    """Advise, flag, hold, block or suspend: a per-rule override first, else by severity."""
    overrides = dict(settings.rule_action_overrides)
    if finding.rule in overrides:
        action = _action(overrides[finding.rule], f"rule_action_overrides[{finding.rule}]")
    else:
        setting = f"action_for_{finding.severity.value}"
        action = _action(getattr(settings, setting), setting)
    for floor in (_FLOOR.get(finding.severity), _RULE_FLOOR.get(finding.rule)):
        if floor is not None and floor.rank > action.rank:
            action = floor
    return action
