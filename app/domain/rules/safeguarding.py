"""Safeguarding rules: who controls the money, who the provider serves, what they ask for."""

from __future__ import annotations

from collections import defaultdict
from statistics import median

from app.domain.money_format import format_pence
from app.domain.rules.model import Finding, MarketSnapshot, Provider, Severity, Subject
from app.domain.rules.phrases import LABELS, match_phrases
from app.domain.rules.pricing import peer_groups
from app.domain.settings import CouncilSettings

MONEY_DELEGATES = frozenset({"authorised", "nominated"})  # circle members cannot spend


def new_delegate_then_spending(snapshot: MarketSnapshot,
                               settings: CouncilSettings) -> list[Finding]:
    """A new authorised or nominated person, followed soon by spending with new providers."""
    watch_start, _ = snapshot.window(settings.new_delegate_watch_days)
    findings = []
    for d in snapshot.delegations:
        if d.kind not in MONEY_DELEGATES or not watch_start <= d.started_at <= snapshot.as_of:
            continue
        mine = snapshot.sessions_by_holder.get(d.holder_id, [])
        known = {s.provider_id for s in mine if s.start < d.started_at}
        new = [s for s in mine if s.start >= d.started_at and s.provider_id not in known]
        total = sum(s.spend_pence for s in new)
        if total >= settings.new_delegate_min_spend_pence:
            providers = sorted({s.provider_id for s in new})
            findings.append(Finding(
                "new_delegate_then_spending", Severity.HIGH, Subject("holder", d.holder_id),
                f"A new {d.kind} person started acting for this person on "
                f"{d.started_at:%d %B %Y}; since then {format_pence(total)} has been booked "
                f"with {len(providers)} provider(s) they had not used before. Check that this "
                "is what the person wants.",
                {"delegate_user_id": d.user_id, "new_spend_pence": total,
                 "provider_ids": ",".join(map(str, providers))}))
    return findings


def at_risk_clients_high_prices(snapshot: MarketSnapshot,
                                settings: CouncilSettings) -> list[Finding]:
    """A provider whose clients are unusually often people at risk, and whose prices are high."""
    start, end = snapshot.window(settings.rule_window_days)
    clients: dict[int, set[int]] = defaultdict(set)
    for s in snapshot.sessions_between(start, end):
        clients[s.provider_id].add(s.holder_id)
    everyone = set().union(*clients.values()) if clients else set()
    if not everyone:
        return []
    at_risk = {h for h in everyone if (holder := snapshot.holder_by_id.get(h)) and holder.at_risk}
    base_percent = 100 * len(at_risk) / len(everyone)
    # Each listing's price against the median of its like-for-like peers.
    premium: dict[int, list[float]] = defaultdict(list)
    for peers in peer_groups(snapshot).values():
        if len(peers) < settings.price_outlier_min_peers:
            continue
        mid = median(p.rate_pence for p in peers)
        for p in peers:
            if mid > 0:
                premium[p.provider_id].append(100 * (p.rate_pence - mid) / mid)
    findings = []
    for provider_id, holders in sorted(clients.items()):
        if len(holders) < settings.at_risk_min_clients or not premium.get(provider_id):
            continue
        share = 100 * len(holders & at_risk) / len(holders)
        above = sum(premium[provider_id]) / len(premium[provider_id])
        if share >= settings.at_risk_share_percent and \
                share >= settings.at_risk_share_multiple * base_percent and \
                above >= settings.at_risk_price_premium_percent:
            findings.append(Finding(
                "at_risk_clients_high_prices", Severity.HIGH, Subject("provider", provider_id),
                f"{share:.0f}% of {snapshot.provider_name(provider_id)}'s clients are people "
                f"marked at risk (across the market: {base_percent:.0f}%), and their prices are "
                f"{above:.0f}% above similar listings.",
                {"at_risk_share_percent": round(share, 1),
                 "market_at_risk_percent": round(base_percent, 1),
                 "price_premium_percent": round(above, 1), "clients": len(holders)}))
    return findings


def suspicious_messages(snapshot: MarketSnapshot, settings: CouncilSettings) -> list[Finding]:
    """Provider messages asking for cash, transfers, loans, gifts, card details or secrecy."""
    start, end = snapshot.window(settings.rule_window_days)
    findings = []
    for m in sorted(snapshot.messages, key=lambda m: m.id):
        if not m.from_provider or not start <= m.sent_at < end:
            continue
        found = match_phrases(m.text)
        if not found:
            continue
        serious = "card_details" in found or "secrecy" in found or len(found) > 1
        what = "; ".join(LABELS[c] for c in found)
        findings.append(Finding(
            "suspicious_messages", Severity.HIGH if serious else Severity.MEDIUM,
            Subject("message", m.id),
            f"A message from {snapshot.provider_name(m.provider_id)} {what}. Carefair "
            "payments never need cash, transfers, card details or secrecy.",
            {"provider_id": m.provider_id, "holder_id": m.holder_id,
             "categories": ",".join(found), "phrases": " | ".join(p for ps in found.values()
                                                               for p in ps)}))
    return findings


def paid_relative_in_household(snapshot: MarketSnapshot,
                               settings: CouncilSettings) -> list[Finding]:
    """Paying a close relative in the same household without the council's agreement (reg. 3)."""
    start, end = snapshot.window(settings.rule_window_days)
    findings = []
    for link in snapshot.household_links:
        if not link.same_household or link.council_agreed:
            continue
        paid = [s for s in snapshot.sessions_between(start, end)
                if s.holder_id == link.holder_id and s.provider_id == link.provider_id
                and s.spend_pence > 0]
        if paid:
            findings.append(Finding(
                "paid_relative_in_household", Severity.HIGH, Subject("holder", link.holder_id),
                f"{snapshot.provider_name(link.provider_id)} is a close relative living in the "
                "same household. A direct payment should not normally pay them unless the "
                "council agrees, and it has not recorded that it does.",
                {"provider_id": link.provider_id, "sessions": len(paid),
                 "spend_pence": sum(s.spend_pence for s in paid)}))
    return findings


def provider_is_delegate(snapshot: MarketSnapshot, settings: CouncilSettings) -> list[Finding]:
    """A provider (or someone linked to it) who also acts for the holder over the money."""
    providers_of_user: dict[int, list[Provider]] = defaultdict(list)
    for provider in snapshot.providers:
        for user_id in provider.user_ids:
            providers_of_user[user_id].append(provider)
    findings = []
    for d in snapshot.delegations:
        if d.kind not in MONEY_DELEGATES:
            continue
        for provider in providers_of_user.get(d.user_id, []):
            booked = [s for s in snapshot.sessions_by_provider.get(provider.id, [])
                      if s.holder_id == d.holder_id]
            # High even before any booking: the risk is the power to book and confirm their
            # own work, and only a high finding (hold, by default) makes their bookings wait
            # for a broker. A medium one would only flag, and the first booking would go ahead.
            findings.append(Finding(
                "provider_is_delegate", Severity.HIGH,
                Subject("holder", d.holder_id),
                f"{provider.name} is also this person's {d.kind} person, so they could book and "
                f"confirm their own work ({len(booked)} session(s) so far). Someone independent "
                "should approve their bookings.",
                {"provider_id": provider.id, "delegate_user_id": d.user_id,
                 "sessions": len(booked)}))
    return findings


def safeguarding_concern(snapshot: MarketSnapshot, settings: CouncilSettings) -> list[Finding]:
    """An open safeguarding concern: critical, so listings are suspended and payouts held."""
    return [Finding(
        "safeguarding_concern", Severity.CRITICAL, Subject("provider", c.provider_id),
        f"A safeguarding concern about {snapshot.provider_name(c.provider_id)} was raised on "
        f"{c.raised_at:%d %B %Y}: {c.summary} Their listings are hidden and payouts held until "
        "a broker has reviewed it.",
        {"concern_id": c.id}) for c in sorted(snapshot.concerns, key=lambda c: c.id) if c.open]


RULES = [new_delegate_then_spending, at_risk_clients_high_prices, suspicious_messages,
         paid_relative_in_household, provider_is_delegate, safeguarding_concern]
