"""Which council settings a council admin may edit, with their words, units and limits (plain Python).

The settings page (app.web.admin.settings) shows these fields and app.services.council_settings
stores what changed; the rules read the merged result. Values are parsed here, so a bad value
is refused with a plain-English reason before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from app.domain.money_format import format_pence
from app.domain.rules.model import Action
from app.domain.settings import CouncilSettings

BY_SEVERITY = "by_severity"  # a per-rule action left to the severity's action


@dataclass(frozen=True)
class SettingField:
    name: str  # a CouncilSettings field, or "rule_action:<rule>" for a per-rule action
    label: str
    hint: str
    kind: str  # int, pounds, percent, float, bool, action, rule_action
    low: float = 0
    high: float = 1_000_000
    group: str = ""


MARKETS = "Markets and concentration"
STEERING = "Broker steering"
PRICES = "Prices"
ACTIONS = "What happens to a finding"
REGULAR = "Regular support"

FIELDS: tuple[SettingField, ...] = (
    SettingField("market_window_days", "Market window (days)",
                 "Markets are measured over this many days, and compared with the same length "
                 "before it for the trend.", "int", 7, 730, MARKETS),
    SettingField("market_min_spend_pence", "Smallest market to judge (spend, £)",
                 "A market with less spend than this in the window has no figures that mean "
                 "anything.", "pounds", 0, 10_000_000, MARKETS),
    SettingField("market_min_holders", "Smallest market to judge (people)",
                 "How many different people must have spent in a market.", "int", 1, 10_000,
                 MARKETS),
    SettingField("market_min_providers", "Smallest market to judge (providers)",
                 "How many providers must share a market's spending.", "int", 1, 100, MARKETS),
    SettingField("hhi_highly_concentrated", "Highly concentrated above (index)",
                 "The concentration index (0 to 10,000) above which a market is highly "
                 "concentrated. US merger guidelines use 1,800.", "int", 100, 10_000, MARKETS),
    SettingField("hhi_rise_flag", "Rise in concentration to flag (index points)",
                 "With a provider at the share cap, a rise of more than this against the window "
                 "before is flagged. US merger guidelines use 100.", "int", 1, 10_000, MARKETS),
    SettingField("provider_share_cap_percent", "Share cap (%)",
                 "A provider with more than this share of a market's spending is shown less "
                 "prominently in search there, and people choosing there see the alternatives.",
                 "percent", 1, 100, MARKETS),
    SettingField("market_history_runs", "Scans shown in a market's trend",
                 "How many past scans the market view's trend chart and table show.", "int", 2,
                 104, MARKETS),
    SettingField("share_cap_dampens_search", "Show providers above the cap less prominently",
                 "Whether search shows providers above the share cap lower in that market.",
                 "bool", group=MARKETS),
    SettingField("steering_min_holders", "People a broker must have supported",
                 "Steering is judged only for a broker who arranged support for at least this "
                 "many different people in a category.", "int", 1, 10_000, STEERING),
    SettingField("steering_min_share_percent", "Share of a broker's people to one provider (%)",
                 "A finding needs at least this share of the broker's people going to one "
                 "provider.", "percent", 1, 100, STEERING),
    SettingField("steering_share_multiple", "Times the market's share",
                 "…and at least this many times what following the market would give.",
                 "int", 1, 100, STEERING),
    SettingField("steering_significance", "Chance it happened by luck, at most",
                 "The one-sided test's significance level, between 0.0001 and 0.2 (0.01 is 1 "
                 "time in 100).", "float", 0.0001, 0.2, STEERING),
    SettingField("rule_window_days", "Most rules look back (days)",
                 "The rolling window of the price, delivery and conflict rules.", "int", 7, 730,
                 PRICES),
    SettingField("price_outlier_modified_z", "Price outlier above (modified z-score)",
                 "How far above like-for-like peers a price must be to be flagged (3.5 is usual).",
                 "float", 1, 20, PRICES),
    SettingField("price_outlier_min_peers", "Peers needed to compare a price",
                 "Fewer like-for-like listings than this and a price is not compared.", "int",
                 2, 1000, PRICES),
    SettingField("price_mad_floor_percent", "Smallest spread of peers' prices (% of the middle price)",
                 "When peers' prices are very close together, a price is compared as if they "
                 "spread at least this much, so an ordinary price is not called an outlier.",
                 "percent", 0, 100, PRICES),
    SettingField("price_mad_floor_pence", "Smallest spread of peers' prices (£)",
                 "The same floor in money: the spread is at least this much.", "pounds", 0,
                 100_000, PRICES),
    SettingField("at_risk_price_premium_percent", "High price for people at risk (% above peers)",
                 "A price this far above peers, for a person marked at risk, is pointed out.",
                 "percent", 1, 500, PRICES),
    SettingField("funding_horizon_weeks", "Funded period for regular support (weeks)",
                 "A weekly booking sets money aside for the sessions in this many weeks; later "
                 "sessions are set aside each day as payments into the budget arrive.", "int", 1, 26,
                 REGULAR),
    # Not critical: a critical finding (a safeguarding concern) always suspends at once
    # (design.md; rules.actions._FLOOR), so a setting for it could change nothing.
    *(SettingField(f"action_for_{sev}", f"{sev.capitalize()} findings",
                   f"What Carefair does about a {sev} finding.", "action", group=ACTIONS)
      for sev in ("low", "medium", "high")),
    *(SettingField(f"rule_action:{rule}", label, hint, "rule_action", group=ACTIONS)
      for rule, label, hint in (
          ("provider_share_cap", "A provider above the share cap",
           "Advise shows people the alternatives; hold makes new bookings there wait for a "
           "broker."),
          ("market_concentration", "A highly concentrated market", ""),
          ("concentration_rising", "A market becoming more concentrated", ""),
          ("broker_steering", "A broker steering people", ""),
          ("booking_price_outlier", "A booking priced far above like-for-like peers",
           "Checked when a person asks for a booking."),
          ("booking_at_risk_high_price", "A person at risk asking for a high-priced booking",
           "Checked when a person asks for a booking."),
      )),
)

FIELD_BY_NAME = {f.name: f for f in FIELDS}
ACTION_CHOICES = tuple((a.value, a.value.capitalize()) for a in Action)
RULE_ACTION_CHOICES = ((BY_SEVERITY, "As its severity says"), *ACTION_CHOICES)
_SETTING_NAMES = {f.name for f in fields(CouncilSettings)}


def value_of(settings: CouncilSettings, name: str) -> object:
    """The setting's current value (a per-rule action, or BY_SEVERITY)."""
    if name.startswith("rule_action:"):
        return dict(settings.rule_action_overrides).get(name.split(":", 1)[1], BY_SEVERITY)
    return getattr(settings, name)


def display(field: SettingField, value: object) -> str:
    """The value as typed on the form (and as shown in the audit log's old and new)."""
    if field.kind == "pounds":
        return format_pence(int(value)).lstrip("£")  # type: ignore[call-overload]
    if field.kind == "bool":
        return "yes" if value else "no"
    return str(value)


def parse(field: SettingField, raw: str | None) -> object:
    """The typed value, or ValueError with a plain-English reason."""
    text = (raw or "").strip().replace(",", "")
    if field.kind == "bool":
        return text in ("y", "yes", "true", "on", "1")
    if field.kind == "action":
        if text not in {a.value for a in Action}:
            raise ValueError(f"Choose what happens to {field.label.lower()}")
        return text
    if field.kind == "rule_action":
        if text not in {c for c, _ in RULE_ACTION_CHOICES}:
            raise ValueError(f"Choose what happens for {field.label.lower()}")
        return text
    if not text:
        raise ValueError(f"Enter {field.label.lower()}")
    # Plain digits only: Python reads Arabic-Indic or full-width digits, "NaN" and "1e999" as
    # numbers, and none of them is what a council officer meant to type.
    digits = text.lstrip("£")
    if not digits.isascii() or len(digits) > 15:
        raise ValueError(f"Enter {field.label.lower()} using the digits 0 to 9")
    if field.kind == "pounds":
        try:
            amount = Decimal(text.lstrip("£"))
            exact = amount == amount.quantize(Decimal("0.01"))
        except InvalidOperation:
            raise ValueError(f"Enter {field.label.lower()} as an amount, like 1000 or 1000.00") \
                from None
        if not exact:
            raise ValueError("Enter pounds and pence, like 1000.50")
        value: float = int(amount * 100)
        low, high = field.low, field.high
        if not low <= value <= high:
            raise ValueError(f"{field.label} must be between {format_pence(int(low))} and "
                             f"{format_pence(int(high))}")
        return int(value)
    try:
        value = float(text) if field.kind == "float" else int(text)
    except ValueError:
        kind = "a number" if field.kind == "float" else "a whole number"
        raise ValueError(f"{field.label} must be {kind}") from None
    if not field.low <= value <= field.high:
        raise ValueError(f"{field.label} must be between {field.low:g} and {field.high:g}")
    return value


def check_stored(field: SettingField, value: object) -> object:
    """A stored value checked again (the limits may have changed since it was saved)."""
    if field.kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(field.name)
        return value
    if field.kind in ("action", "rule_action"):
        return parse(field, str(value))
    if field.kind == "pounds":
        return parse(field, format_pence(int(value)).lstrip("£"))  # type: ignore[call-overload]
    return parse(field, str(value))


def apply(settings: CouncilSettings, values: dict[str, object]) -> CouncilSettings:
    """The settings with these values (plain fields and per-rule actions) put in."""
    plain: dict[str, Any] = {k: v for k, v in values.items() if k in _SETTING_NAMES}
    rules = dict(settings.rule_action_overrides)
    for name, value in values.items():
        if name.startswith("rule_action:"):
            rule = name.split(":", 1)[1]
            if value == BY_SEVERITY:
                rules.pop(rule, None)
            else:
                rules[rule] = str(value)
    return replace(settings, **plain, rule_action_overrides=tuple(sorted(rules.items())))


def problems(settings: CouncilSettings) -> dict[str, str]:
    """Checks across fields, by the field to show each beside."""
    found = {}
    if settings.hhi_rise_flag >= settings.hhi_highly_concentrated:
        found["hhi_rise_flag"] = ("The rise to flag must be smaller than the line for highly "
                                  "concentrated")
    return found
