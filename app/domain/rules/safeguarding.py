"""Safeguarding rules: who controls the money, who the provider serves, what they ask for."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from statistics import median

from app.domain.money_format import format_pence
from app.domain.rules.model import Finding, MarketSnapshot, Provider, Severity, Subject
from app.domain.rules.phrases import LABELS, is_serious, match_phrases
from app.domain.rules.pricing import peer_groups
from app.domain.rules.stats import binomial_tail
from app.domain.settings import CouncilSettings

MONEY_DELEGATES = frozenset({"authorised", "nominated"})  # circle members cannot spend
# Close relatives in the sense of the Direct Payments Regulations 2014, reg. 3
# (app.domain.households.CLOSE_RELATIVES); an empty relationship is taken as close, since a
# broker recorded the link because it matters.
# A booking on its way (asked for, waiting for a broker, accepted) is money about to be paid:
# the household rules count it as well as live spending, so a held booking is flagged too.
ON_ITS_WAY = frozenset({"requested", "awaiting_approval", "accepted"})


def _paying(s) -> bool:
    return s.spend_pence > 0 or (s.status in ON_ITS_WAY and s.amount_pence > 0)


CLOSE_RELATIONSHIPS = frozenset({"", "partner", "parent", "child", "sibling", "grandparent",
                                 "aunt_uncle", "in_law", "step"})


def new_delegate_then_spending(snapshot: MarketSnapshot,
                               settings: CouncilSettings) -> list[Finding]:
    """A new authorised or nominated person, followed by spending with providers the holder had
    not used before. Look-back: the cause (the delegation) may have started up to
    new_delegate_lookback_days ago, so a daily scan still sees spending that began weeks after
    it; spending counts while it started within new_delegate_follow_days of the delegation."""
    lookback_start, _ = snapshot.window(settings.new_delegate_lookback_days)
    findings = []
    for d in snapshot.delegations:
        if d.kind not in MONEY_DELEGATES or not lookback_start <= d.started_at <= snapshot.as_of:
            continue
        follow_end = d.started_at + timedelta(days=settings.new_delegate_follow_days)
        mine = snapshot.sessions_by_holder.get(d.holder_id, [])
        known = {s.provider_id for s in mine if s.start < d.started_at}
        began = {r.provider_id: r.began_at for r in snapshot.relationships
                 if r.holder_id == d.holder_id}
        # A provider the holder used before the delegate (even beyond the snapshot's sessions)
        # is not new.
        known |= {pid for pid, at in began.items() if at < d.started_at}
        new = [s for s in mine if d.started_at <= s.start < follow_end
               and s.provider_id not in known and s.spend_pence > 0]
        total = sum(s.spend_pence for s in new)
        if total < settings.new_delegate_min_spend_pence:
            continue
        by_delegate = sum(1 for s in new if s.booked_by_user_id == d.user_id)
        providers = sorted({s.provider_id for s in new})
        first = min(s.start for s in new)
        findings.append(Finding(
            "new_delegate_then_spending", Severity.HIGH, Subject("holder", d.holder_id),
            f"A new {d.kind} person started acting for this person on "
            f"{d.started_at:%d %B %Y}; from {first:%d %B %Y} {format_pence(total)} has been "
            f"booked with {len(providers)} provider(s) they had not used before"
            + (f", {by_delegate} session(s) of it booked by that person" if by_delegate else "")
            + ". Check that this is what the person wants.",
            {"delegate_user_id": d.user_id, "new_spend_pence": total,
             "provider_ids": ",".join(map(str, providers)),
             "sessions_booked_by_delegate": by_delegate,
             "days_from_delegation_to_spending": (first - d.started_at).days}))
    return findings


def _at_risk_clients(snapshot: MarketSnapshot, settings: CouncilSettings):
    """Per provider with enough clients in the window: (clients, at-risk clients, p-value of
    so many at risk by chance at the market's share, the market's share). Counts distinct
    holders, not sessions (design.md, look-back)."""
    start, end = snapshot.window(settings.rule_window_days)
    clients: dict[int, set[int]] = defaultdict(set)
    for s in snapshot.sessions_between(start, end):
        clients[s.provider_id].add(s.holder_id)
    everyone = set().union(*clients.values()) if clients else set()
    if not everyone:
        return {}, 0.0
    at_risk = {h for h in everyone if (holder := snapshot.holder_by_id.get(h)) and holder.at_risk}
    base = len(at_risk) / len(everyone)
    result = {}
    for provider_id, holders in sorted(clients.items()):
        n, k = len(holders), len(holders & at_risk)
        if n < settings.at_risk_min_clients:
            continue
        share = 100 * k / n
        if share < settings.at_risk_share_percent or \
                share < settings.at_risk_share_multiple * 100 * base:
            continue
        p_value = binomial_tail(k, n, base)
        if p_value < settings.at_risk_significance:
            result[provider_id] = (n, k, p_value)
    return result, 100 * base


def _price_premium(snapshot: MarketSnapshot, settings: CouncilSettings) -> dict[int, float]:
    """Each provider's average percentage above the median of its like-for-like peers."""
    premium: dict[int, list[float]] = defaultdict(list)
    for peers in peer_groups(snapshot).values():
        if len(peers) < settings.price_outlier_min_peers:
            continue
        mid = median(p.rate_pence for p in peers)
        for p in peers:
            if mid > 0:
                premium[p.provider_id].append(100 * (p.rate_pence - mid) / mid)
    return {pid: sum(values) / len(values) for pid, values in premium.items()}


def _at_risk_finding(rule: str, severity: Severity, snapshot: MarketSnapshot, provider_id: int,
                     counts: tuple[int, int, float], base_percent: float,
                     premium: float | None) -> Finding:
    n, k, p_value = counts
    share = 100 * k / n
    prices = (f", and their prices are {premium:.0f}% above similar listings"
              if premium is not None and severity is Severity.HIGH else "")
    return Finding(
        rule, severity, Subject("provider", provider_id),
        f"{k} of {snapshot.provider_name(provider_id)}'s {n} clients ({share:.0f}%) are people "
        f"marked at risk, against {base_percent:.0f}% across the market: that many by chance "
        f"is less likely than 1 in {max(1, round(1 / p_value)) if p_value > 0 else 10**6:,}"
        f"{prices}.",
        {"at_risk_share_percent": round(share, 1), "market_at_risk_percent": round(base_percent, 1),
         "price_premium_percent": round(premium, 1) if premium is not None else "none",
         "clients": n, "at_risk_clients": k, "p_value": float(f"{p_value:.3g}")})


def at_risk_clients_high_prices(snapshot: MarketSnapshot,
                                settings: CouncilSettings) -> list[Finding]:
    """A provider whose clients are far more often people at risk than the market's (a
    significance test), and whose prices are above like-for-like peers: urgent (high)."""
    flagged, base = _at_risk_clients(snapshot, settings)
    premium = _price_premium(snapshot, settings)
    return [_at_risk_finding("at_risk_clients_high_prices", Severity.HIGH, snapshot, pid, counts,
                             base, premium[pid])
            for pid, counts in flagged.items()
            if premium.get(pid, 0.0) >= settings.at_risk_price_premium_percent]


def at_risk_concentration(snapshot: MarketSnapshot, settings: CouncilSettings) -> list[Finding]:
    """The same concentration of people at risk at ordinary prices: still for a broker to look
    at (medium), since who a provider serves matters even when the price is fair."""
    flagged, base = _at_risk_clients(snapshot, settings)
    premium = _price_premium(snapshot, settings)
    return [_at_risk_finding("at_risk_concentration", Severity.MEDIUM, snapshot, pid, counts,
                             base, premium.get(pid))
            for pid, counts in flagged.items()
            if premium.get(pid, 0.0) < settings.at_risk_price_premium_percent]


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
        serious = is_serious(found)
        what = "; ".join(LABELS[c] for c in found)
        findings.append(Finding(
            "suspicious_messages", Severity.HIGH if serious else Severity.MEDIUM,
            Subject("message", m.id),
            f"A message from {snapshot.provider_name(m.provider_id)} {what}. Carefair "
            "payments never need cash, transfers, loans, gifts, card details or secrecy"
            + (", so it is held from the person until a broker has looked at it."
               if serious else "."),
            {"provider_id": m.provider_id, "holder_id": m.holder_id,
             "categories": ",".join(found), "phrases": " | ".join(p for ps in found.values()
                                                               for p in ps)}))
    return findings


def paid_relative_in_household(snapshot: MarketSnapshot,
                               settings: CouncilSettings) -> list[Finding]:
    """Paying a close relative in the same household without the council's agreement (reg. 3)."""
    start, _ = snapshot.window(settings.rule_window_days)
    findings = []
    for link in snapshot.household_links:
        if not link.same_household or link.council_agreed or \
                link.relationship not in CLOSE_RELATIONSHIPS:
            continue
        # Booked sessions ahead count too: the money is committed when the booking is made.
        paid = [s for s in snapshot.sessions_by_holder.get(link.holder_id, [])
                if s.provider_id == link.provider_id and s.start >= start and _paying(s)]
        if paid:
            findings.append(Finding(
                "paid_relative_in_household", Severity.HIGH, Subject("holder", link.holder_id),
                f"{snapshot.provider_name(link.provider_id)} is a close relative "
                f"({link.relationship.replace('_', ' ') or 'relative'}) living in the same "
                "household. A direct payment should not normally pay them unless the council "
                "agrees, and it has not recorded that it does.",
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


_CONCERN_SEVERITY = {"safeguarding": Severity.CRITICAL, "fraud": Severity.HIGH,
                     "complaint": Severity.MEDIUM}
_CONCERN_WORDS = {"safeguarding": "A safeguarding concern", "fraud": "A concern about possible "
                  "fraud", "complaint": "A complaint"}


def safeguarding_concern(snapshot: MarketSnapshot, settings: CouncilSettings) -> list[Finding]:
    """Each open concern: safeguarding is critical (listings suspended and payouts held at once),
    possible fraud high (bookings wait for a broker), a complaint medium (the broker looks).

    The explanation never says who reported it or what they wrote: an upheld flag is shown to
    the provider, and the provider never learns who reported (design.md, Safeguarding).
    """
    findings = []
    for c in sorted(snapshot.concerns, key=lambda c: c.id):
        if not c.open:
            continue
        severity = _CONCERN_SEVERITY.get(c.kind, Severity.CRITICAL)
        after = (" Their listings are hidden and payouts held until a broker has reviewed it."
                 if severity is Severity.CRITICAL else
                 " New bookings wait for a broker until it has been reviewed."
                 if severity is Severity.HIGH else "")
        numbers: dict[str, int | float | str] = {"concern_id": c.id, "provider_id": c.provider_id,
                                                 "kind": c.kind}
        if c.holder_id is not None:
            numbers["holder_id"] = c.holder_id
        findings.append(Finding(
            "safeguarding_concern", severity, Subject("concern", c.id),
            f"{_CONCERN_WORDS.get(c.kind, 'A concern')} about "
            f"{snapshot.provider_name(c.provider_id)} was raised on {c.raised_at:%d %B %Y}"
            f"{': ' + c.summary if c.summary else ''}.{after}", numbers))
    return findings


def repeated_complaints(snapshot: MarketSnapshot, settings: CouncilSettings) -> list[Finding]:
    """Complaints about one provider from several different holders in the complaint window.
    Counts people, not complaints: one unhappy holder complaining five times is one."""
    start, _ = snapshot.window(settings.complaint_window_days)
    holders: dict[int, set[int]] = defaultdict(set)
    count: dict[int, int] = defaultdict(int)
    for c in snapshot.concerns:
        if c.kind != "complaint" or not start <= c.raised_at <= snapshot.as_of:
            continue
        count[c.provider_id] += 1
        who = c.holder_id if c.holder_id is not None else c.reporter_user_id
        if who is not None:
            holders[c.provider_id].add(who)
    return [Finding(
        "repeated_complaints", Severity.MEDIUM, Subject("provider", pid),
        f"{len(people)} different people complained about {snapshot.provider_name(pid)} in the "
        f"last {settings.complaint_window_days} days ({count[pid]} complaint(s) in all).",
        {"holders": len(people), "complaints": count[pid]})
        for pid, people in sorted(holders.items())
        if len(people) >= settings.repeated_complaints_min_holders]


def undeclared_shared_address(snapshot: MarketSnapshot,
                              settings: CouncilSettings) -> list[Finding]:
    """A holder paying a provider who lives at the same private address, with no household link
    declared for them: possibly a relative in the household nobody told the council about."""
    start, _ = snapshot.window(settings.rule_window_days)
    # Only a link recorded as living with the holder explains a shared address: one recorded as
    # living elsewhere is contradicted by it (and would otherwise silence both household rules).
    declared = {(link.holder_id, link.provider_id) for link in snapshot.household_links
                if link.same_household}
    elsewhere = {(link.holder_id, link.provider_id) for link in snapshot.household_links
                 if not link.same_household}
    by_address: dict[str, list[int]] = defaultdict(list)
    for p in snapshot.providers:
        if p.address_key:
            by_address[p.address_key].append(p.id)
    findings = []
    for holder in sorted(snapshot.holders, key=lambda h: h.id):
        if not holder.address_key:
            continue
        for provider_id in by_address.get(holder.address_key, []):
            if (holder.id, provider_id) in declared:
                continue
            paid = [s for s in snapshot.sessions_by_holder.get(holder.id, [])
                    if s.provider_id == provider_id and s.start >= start and _paying(s)]
            if paid:
                recorded = ("is recorded as living elsewhere"
                            if (holder.id, provider_id) in elsewhere else
                            "nobody has recorded them as part of the household")
                findings.append(Finding(
                    "undeclared_shared_address", Severity.HIGH, Subject("holder", holder.id),
                    f"{snapshot.provider_name(provider_id)} gives the same home address as the "
                    f"person they support, and {recorded}. If they are a close relative "
                    "living there, the council must agree before they are paid.",
                    {"provider_id": provider_id, "sessions": len(paid),
                     "spend_pence": sum(s.spend_pence for s in paid)}))
    return findings


RULES = [new_delegate_then_spending, at_risk_clients_high_prices, at_risk_concentration,
         suspicious_messages, paid_relative_in_household, undeclared_shared_address,
         provider_is_delegate, safeguarding_concern, repeated_complaints]
