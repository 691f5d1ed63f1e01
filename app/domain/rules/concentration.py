"""Anti-monopoly rules: concentration per holder market, share caps, broker steering, conflicts."""

from __future__ import annotations

from collections import defaultdict

from app.domain.money_format import format_pence
from app.domain.rules.markets import (
    MarketFacts,
    MarketFigure,
    facts_from_sessions,
    market_figures,
    steering_figures,
)
from app.domain.rules.model import (
    BookedSession,
    ConflictOfInterest,
    Finding,
    MarketSnapshot,
    Severity,
    Subject,
)
from app.domain.settings import CouncilSettings

Market = tuple[str, str]  # (holder district, category): where people choose (markets.py)


def market_facts(snapshot: MarketSnapshot, settings: CouncilSettings) -> MarketFacts:
    """The snapshot's market aggregates: summed by the database when the builder supplied them
    for this window, else summed here from the sessions (hand-made snapshots). Cached on the
    snapshot, which every rule of one evaluation shares."""
    days = settings.market_window_days
    given = snapshot.market_facts
    if given is not None and given.window_days == days:
        return given
    cache = snapshot.__dict__.setdefault("_market_facts", {})
    if days not in cache:
        cache[days] = facts_from_sessions(snapshot.sessions, snapshot.holders, snapshot.as_of, days)
    return cache[days]


def figures(snapshot: MarketSnapshot, settings: CouncilSettings) -> list[MarketFigure]:
    """Every market's figures for this snapshot and these settings (cached like market_facts)."""
    cache = snapshot.__dict__.setdefault("_market_figures", {})
    key = id(settings)  # settings hold dicts, so they cannot be a key themselves
    if key not in cache:
        cache[key] = (settings, market_figures(market_facts(snapshot, settings), settings))
    return cache[key][1]


def _market_subject(market: Market) -> Subject:
    return Subject("market", f"{market[0]}/{market[1]}")


def _label(category: str) -> str:
    return category.replace("_", " ")


def market_concentration(snapshot: MarketSnapshot, settings: CouncilSettings) -> list[Finding]:
    """HHI by spend per holder district and category; above 1,800 is highly concentrated."""
    findings = []
    for f in figures(snapshot, settings):
        if f.meets_minimums and f.hhi > settings.hhi_highly_concentrated:
            findings.append(Finding(
                "market_concentration", Severity.MEDIUM, _market_subject(f.key),
                f"Spending on {_label(f.category)} by people living in {f.district} is highly "
                f"concentrated: {f.providers} providers share it, "
                f"{snapshot.provider_name(f.shares[0].provider_id)} has "
                f"{f.top_share_percent:.0f}%, and the concentration index is {f.hhi:,.0f} "
                f"(above {settings.hhi_highly_concentrated:,} is highly concentrated). People "
                "there have little real choice.",
                {"hhi": f.hhi, "providers": f.providers, "holders": f.holders,
                 "total_spend_pence": f.spend_pence, "top_share_percent": f.top_share_percent,
                 "top_provider_id": f.shares[0].provider_id, "district": f.district,
                 "category": f.category,
                 # The flag is filed against the dominant provider too, so it shows on
                 # their page in the market view and they may respond once it is upheld.
                 "provider_id": f.shares[0].provider_id}))
    return findings


def provider_share_cap(snapshot: MarketSnapshot, settings: CouncilSettings) -> list[Finding]:
    """A provider taking more than the council's share cap of a market's spend."""
    findings = []
    for f in figures(snapshot, settings):
        for share in f.shares:
            if share.provider_id not in f.above_cap:
                continue
            findings.append(Finding(
                "provider_share_cap", Severity.LOW, Subject("provider", share.provider_id),
                f"{snapshot.provider_name(share.provider_id)} has "
                f"{share.share_percent:.0f}% of spending on {_label(f.category)} by people "
                f"living in {f.district}, above the council's cap of "
                f"{settings.provider_share_cap_percent}%. Search there will show them less "
                "prominently, and people choosing there are shown the alternatives.",
                {"share_percent": round(share.share_percent, 1),
                 "market": f"{f.district}/{f.category}", "district": f.district,
                 "category": f.category, "provider_spend_pence": share.spend_pence,
                 "holders": share.holders}))
    return findings


def concentration_rising(snapshot: MarketSnapshot, settings: CouncilSettings) -> list[Finding]:
    """A provider at or above the share cap while the market's HHI rose by more than 100
    against the window before (both windows must meet the market minimums)."""
    findings = []
    for f in figures(snapshot, settings):
        rise = f.rise
        if not f.meets_minimums or rise is None or not f.shares:
            continue
        top = f.shares[0]
        if top.share_percent >= settings.provider_share_cap_percent and \
                rise > settings.hhi_rise_flag:
            findings.append(Finding(
                "concentration_rising", Severity.MEDIUM, _market_subject(f.key),
                f"{snapshot.provider_name(top.provider_id)} now has "
                f"{top.share_percent:.0f}% of spending on {_label(f.category)} by people "
                f"living in {f.district}, and the market became more concentrated (index up "
                f"{rise:,.0f} to {f.hhi:,.0f} since the {settings.market_window_days} days "
                "before). Competition there is shrinking.",
                {"hhi": f.hhi, "previous_hhi": f.previous_hhi or 0.0, "rise": round(rise, 1),
                 "top_provider_id": top.provider_id,
                 "top_share_percent": round(top.share_percent, 1), "district": f.district,
                 "category": f.category, "provider_id": top.provider_id}))
    return findings


def broker_steering(snapshot: MarketSnapshot, settings: CouncilSettings) -> list[Finding]:
    """A broker sending far more of the people they support to one provider than the markets
    those people live in would: counted in distinct holders, with an exact one-sided test."""
    findings = []
    for s in steering_figures(market_facts(snapshot, settings), settings):
        if not s.finding:
            continue
        findings.append(Finding(
            "broker_steering", Severity.MEDIUM, Subject("broker", s.broker_id),
            f"This broker arranged {_label(s.category)} for {s.holders_arranged} people, and "
            f"{s.holders_to_provider} of them ({s.broker_share_percent:.0f}%) went to "
            f"{snapshot.provider_name(s.provider_id)}. Following the markets those people live "
            f"in ({', '.join(s.districts)}) would give about {s.expected_percent:.0f}%; a "
            f"difference this large happens by chance less than "
            f"{_chance(s.p_value)}. Check that people were offered a real choice.",
            {"broker_share_percent": round(s.broker_share_percent, 1),
             "market_share_percent": s.expected_percent, "provider_id": s.provider_id,
             "holders": s.holders_arranged, "holders_to_provider": s.holders_to_provider,
             "p_value": float(f"{s.p_value:.3g}"), "category": s.category}))
    return findings


def _chance(p_value: float) -> str:
    """'1 time in 1,000' for people; the exact p-value is in the numbers."""
    for n in (1_000_000, 100_000, 10_000, 1_000, 100):
        if p_value < 1 / n:
            return f"1 time in {n:,}"
    return "1 time in 100"


def conflict_of_interest(snapshot: MarketSnapshot, settings: CouncilSettings) -> list[Finding]:
    """A broker arranging bookings with a provider they declared a conflict of interest with.

    A booking arranged before the declaration counts (the conflict was there, only not yet
    declared); one arranged after the broker ended the conflict does not. A broker who declared
    the same provider twice is one finding, by the declaration that stands (else the latest)."""
    start, end = snapshot.window(settings.rule_window_days)
    arranged_by: dict[tuple[int, int], list[BookedSession]] = defaultdict(list)
    for s in snapshot.sessions_between(start, end):
        if s.brokered_by is not None:
            arranged_by[(s.brokered_by, s.provider_id)].append(s)
    latest: dict[tuple[int, int], ConflictOfInterest] = {}
    for conflict in snapshot.conflicts:
        pair = (conflict.broker_id, conflict.provider_id)
        known = latest.get(pair)
        if known is None or (known.ended_at is not None and (
                conflict.ended_at is None or conflict.ended_at > known.ended_at)):
            latest[pair] = conflict
    findings = []
    for pair, conflict in latest.items():
        ended = conflict.ended_at
        arranged = [s for s in arranged_by.get(pair, [])
                    if ended is None or s.booked_at is None or s.booked_at < ended]
        if arranged:
            total = sum(s.amount_pence for s in arranged)
            findings.append(Finding(
                "conflict_of_interest", Severity.MEDIUM, Subject("broker", conflict.broker_id),
                f"This broker declared a conflict of interest with "
                f"{snapshot.provider_name(conflict.provider_id)} ({conflict.description}) and "
                f"arranged {len(arranged)} sessions with them worth {format_pence(total)}.",
                {"provider_id": conflict.provider_id, "sessions": len(arranged),
                 "total_pence": total}))
    return findings


RULES = [market_concentration, provider_share_cap, concentration_rising, broker_steering,
         conflict_of_interest]
