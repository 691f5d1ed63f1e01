"""Brokerage rules: pure functions from a frozen market snapshot to findings (overview below).

How it fits together
--------------------
* A service builds a frozen `MarketSnapshot` (model.py) from the database: providers, listings,
  holders, booked sessions, delegations, declared conflicts, household links, messages,
  reviews and safeguarding concerns. Rules never touch the database, the clock or Flask, so
  each is tested with a hand-made snapshot.
* Every rule is `rule(snapshot, settings) -> list[Finding]`. A finding names the rule, a
  severity, its subject (provider, listing, session, holder, broker, market, message or review),
  a plain-English explanation and the numbers behind it. Thresholds come only from the
  council's `CouncilSettings` (app/config.py).
* One family per module: concentration (anti-monopoly), pricing and delivery (exploitation),
  safeguarding, reviews. `RULES` below is the registry; `evaluate` runs it.
* What happens is decided in one place, `decide_action(finding, settings)` (actions.py):
  advise, flag, hold, block or suspend, by severity and council settings, never inside a rule.
* The legal line (design.md): Carefair informs and protects. Actions may block a payment, hold
  a booking, hide a listing and alert people; none directs care or swaps a worker.
"""

from __future__ import annotations

from collections.abc import Callable

from app.domain.rules import concentration, delivery, pricing, reviews, safeguarding
from app.domain.rules.actions import decide_action
from app.domain.rules.model import Action, Finding, MarketSnapshot, Severity, Subject
from app.domain.settings import CouncilSettings

Rule = Callable[[MarketSnapshot, CouncilSettings], list[Finding]]

RULES: list[Rule] = [
    *concentration.RULES,
    *pricing.RULES,
    *delivery.RULES,
    *safeguarding.RULES,
    *reviews.RULES,
]

RULE_NAMES = [rule.__name__ for rule in RULES]


def evaluate(snapshot: MarketSnapshot, settings: CouncilSettings,
             rules: list[Rule] | None = None) -> list[Finding]:
    """Every finding of every rule (or of the rules given), in registry order."""
    return [finding for rule in (RULES if rules is None else rules)
            for finding in rule(snapshot, settings)]


__all__ = ["RULES", "RULE_NAMES", "Action", "Finding", "MarketSnapshot", "Rule", "Severity",
           "Subject", "decide_action", "evaluate"]
