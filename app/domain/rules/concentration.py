"""Anti-monopoly rules: concentration per market, share caps, broker steering and conflicts."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping

from app.domain.money_format import format_pence
from app.domain.rules.model import BookedSession, Finding, MarketSnapshot, Severity, Subject
from app.domain.rules.stats import hhi, spend_shares
from app.domain.settings import CouncilSettings

Market = tuple[str, str]  # (area, category): "like-for-like" for concentration


def _by_market(sessions: Iterable[BookedSession]) -> tuple[dict[Market, dict[int, int]],
                                                            Counter[Market]]:
    spend: dict[Market, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    counts: Counter[Market] = Counter()
    for s in sessions:
        if s.spend_pence > 0:
            spend[(s.area, s.category)][s.provider_id] += s.spend_pence
            counts[(s.area, s.category)] += 1
    return spend, counts


def market_shares(spend: Mapping[Market, Mapping[int, int]], counts: Mapping[Market, int],
                  settings: CouncilSettings) -> dict[Market, dict[int, float]]:
    """Each provider's percentage of spend in every market with enough bookings to judge.

    The one definition of "share of a market" for the share-cap rule and for search's fair
    ranking (app.services.search_listings.market_share), so the two cannot disagree.
    """
    return {market: spend_shares(by_provider) for market, by_provider in spend.items()
            if counts.get(market, 0) >= settings.concentration_min_bookings}


def _market_subject(market: Market) -> Subject:
    return Subject("market", f"{market[0]}/{market[1]}")


def _current_and_previous(snapshot: MarketSnapshot, settings: CouncilSettings):
    days = settings.rule_window_days
    current = _by_market(snapshot.sessions_between(*snapshot.window(days)))
    previous = _by_market(snapshot.sessions_between(*snapshot.window(days, offset_days=days)))
    return current, previous


def market_concentration(snapshot: MarketSnapshot, settings: CouncilSettings) -> list[Finding]:
    """HHI by spend per area and category over the window; above 1,800 is highly concentrated."""
    (spend, counts), _ = _current_and_previous(snapshot, settings)
    findings = []
    for market, by_provider in sorted(spend.items()):
        if counts[market] < settings.concentration_min_bookings:
            continue  # too few bookings to say anything about a market
        shares = spend_shares(by_provider)
        index = hhi(shares.values())
        if index > settings.hhi_highly_concentrated:
            area, category = market
            findings.append(Finding(
                "market_concentration", Severity.MEDIUM, _market_subject(market),
                f"Spending on {category} in {area} is highly concentrated: "
                f"{len(by_provider)} providers share it, and the concentration index is "
                f"{index:,.0f} (above {settings.hhi_highly_concentrated:,} is highly "
                "concentrated). People there have little real choice.",
                {"hhi": round(index, 1), "providers": len(by_provider),
                 "total_spend_pence": sum(by_provider.values()),
                 "top_share_percent": round(max(shares.values()), 1)}))
    return findings


def provider_share_cap(snapshot: MarketSnapshot, settings: CouncilSettings) -> list[Finding]:
    """A provider taking more than the council's share cap of a market's spend."""
    (spend, counts), _ = _current_and_previous(snapshot, settings)
    findings = []
    for market, shares in sorted(market_shares(spend, counts, settings).items()):
        by_provider = spend[market]
        for provider_id, share in sorted(shares.items()):
            if share > settings.provider_share_cap_percent:
                area, category = market
                findings.append(Finding(
                    "provider_share_cap", Severity.LOW, Subject("provider", provider_id),
                    f"{snapshot.provider_name(provider_id)} has {share:.0f}% of spending on "
                    f"{category} in {area}, above the council's cap of "
                    f"{settings.provider_share_cap_percent}%. Search will show them less "
                    "prominently so others get a fair chance.",
                    {"share_percent": round(share, 1), "market": f"{area}/{category}",
                     "provider_spend_pence": by_provider[provider_id]}))
    return findings


def concentration_rising(snapshot: MarketSnapshot, settings: CouncilSettings) -> list[Finding]:
    """A provider at or above the share cap while the market's HHI rose by more than 100."""
    (spend, counts), (prev_spend, prev_counts) = _current_and_previous(snapshot, settings)
    findings = []
    for market, by_provider in sorted(spend.items()):
        if (counts[market] < settings.concentration_min_bookings
                or prev_counts[market] < settings.concentration_min_bookings):
            continue  # a rise needs a real market in both windows
        shares = spend_shares(by_provider)
        now_index = hhi(shares.values())
        before = hhi(spend_shares(prev_spend[market]).values())
        top_id, top_share = max(shares.items(), key=lambda kv: (kv[1], -kv[0]))
        if top_share >= settings.provider_share_cap_percent and \
                now_index - before > settings.hhi_rise_flag:
            area, category = market
            findings.append(Finding(
                "concentration_rising", Severity.MEDIUM, _market_subject(market),
                f"{snapshot.provider_name(top_id)} now has {top_share:.0f}% of spending on "
                f"{category} in {area}, and the market became more concentrated "
                f"(index up {now_index - before:,.0f} to {now_index:,.0f}). Competition "
                "there is shrinking.",
                {"hhi": round(now_index, 1), "previous_hhi": round(before, 1),
                 "rise": round(now_index - before, 1), "top_provider_id": top_id,
                 "top_share_percent": round(top_share, 1)}))
    return findings


def broker_steering(snapshot: MarketSnapshot, settings: CouncilSettings) -> list[Finding]:
    """A broker sending far more of their bookings to one provider than everyone else does."""
    start, end = snapshot.window(settings.rule_window_days)
    window = [s for s in snapshot.sessions_between(start, end) if s.spend_pence > 0]
    by_broker: dict[tuple[int, Market], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    counts: Counter[tuple[int, Market]] = Counter()
    for s in window:
        if s.brokered_by is not None:
            by_broker[(s.brokered_by, (s.area, s.category))][s.provider_id] += s.spend_pence
            counts[(s.brokered_by, (s.area, s.category))] += 1
    whole, _ = _by_market(window)
    findings = []
    for (broker_id, market), spend in sorted(by_broker.items()):
        if counts[(broker_id, market)] < settings.steering_min_bookings:
            continue
        # Compare with the rest of the market: the broker's own bookings would mask the effect.
        rest = {p: total - spend.get(p, 0) for p, total in whole[market].items()}
        rest_shares = spend_shares(rest)
        if not rest_shares:
            continue
        for provider_id, share in sorted(spend_shares(spend).items()):
            market_share = rest_shares.get(provider_id, 0.0)
            if share >= settings.steering_min_share_percent and \
                    share >= settings.steering_share_multiple * market_share:
                area, category = market
                findings.append(Finding(
                    "broker_steering", Severity.MEDIUM, Subject("broker", broker_id),
                    f"{share:.0f}% of the {category} bookings this broker arranged in {area} went "
                    f"to {snapshot.provider_name(provider_id)}, who has {market_share:.0f}% of "
                    "the rest of that market. Check that people were offered a real choice.",
                    {"broker_share_percent": round(share, 1),
                     "market_share_percent": round(market_share, 1),
                     "provider_id": provider_id, "bookings": counts[(broker_id, market)]}))
    return findings


def conflict_of_interest(snapshot: MarketSnapshot, settings: CouncilSettings) -> list[Finding]:
    """A broker arranging bookings with a provider they declared a conflict of interest with."""
    start, end = snapshot.window(settings.rule_window_days)
    arranged_by: dict[tuple[int, int], list[BookedSession]] = defaultdict(list)
    for s in snapshot.sessions_between(start, end):
        if s.brokered_by is not None:
            arranged_by[(s.brokered_by, s.provider_id)].append(s)
    findings = []
    for conflict in snapshot.conflicts:
        arranged = arranged_by.get((conflict.broker_id, conflict.provider_id), [])
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
