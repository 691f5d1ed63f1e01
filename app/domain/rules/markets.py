"""Markets where holders live: spend per holder district x category, their figures and steering.

design.md, "Markets": a market is the holder's postcode district (LS6) x service category,
measured by what holders there spend over a rolling window, compared with the window before.
The rules (concentration.py), the stored market view and search all read the figures computed
here, so they cannot disagree. The inputs are aggregates (`MarketFacts`): at a council's scale
the database sums a million sessions into them (app.services.market_facts); for hand-made
snapshots `facts_from_sessions` sums the sessions in Python, and a test checks the two agree.

Counts that measure people count distinct holders (design.md, "Look-back"): a holder with a
weekly series is one person choosing once, not fifty choices.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.domain.rules.model import BookedSession, Holder
from app.domain.rules.stats import hhi, poisson_binomial_tail, spend_shares
from app.domain.settings import CouncilSettings

MarketKey = tuple[str, str]  # (holder district, category)


@dataclass(frozen=True, slots=True)
class ProviderSpend:
    """One provider's spend, sessions and distinct holders in one market over one window."""

    district: str
    category: str
    provider_id: int
    spend_pence: int
    sessions: int
    holders: int


@dataclass(frozen=True, slots=True)
class MarketTotal:
    """A market's distinct holders over one window (a holder may use several providers)."""

    district: str
    category: str
    holders: int


@dataclass(frozen=True, slots=True)
class Arranged:
    """Distinct holders a broker arranged support for, in a market, with one provider (or with
    any provider when provider_id is None), over the current window."""

    broker_id: int
    district: str
    category: str
    provider_id: int | None
    holders: int


@dataclass(frozen=True)
class MarketFacts:
    """The aggregates every market figure is computed from."""

    window_days: int
    current: tuple[ProviderSpend, ...] = ()
    previous: tuple[ProviderSpend, ...] = ()
    current_totals: tuple[MarketTotal, ...] = ()
    previous_totals: tuple[MarketTotal, ...] = ()
    arranged: tuple[Arranged, ...] = ()
    # Holders who spent in the window but have no district recorded: in no market yet.
    unplaced_holders: int = 0


def windows(as_of: datetime, days: int) -> tuple[tuple[datetime, datetime], tuple[datetime, datetime]]:
    """The current [start, end) window ending at as_of, and the one before it."""
    start = as_of - timedelta(days=days)
    return (start, as_of), (start - timedelta(days=days), start)


def facts_from_sessions(sessions: Iterable[BookedSession], holders: Iterable[Holder],
                        as_of: datetime, window_days: int) -> MarketFacts:
    """MarketFacts summed in Python: the reference for the SQL version, and for hand-made
    snapshots. A session counts when it has spend; a holder without a district is unplaced."""
    district_of = {h.id: h.district for h in holders}
    (cur_start, cur_end), (prev_start, prev_end) = windows(as_of, window_days)
    spend: list[dict] = [defaultdict(lambda: [0, 0, set()]), defaultdict(lambda: [0, 0, set()])]
    people: list[dict] = [defaultdict(set), defaultdict(set)]
    arranged: dict[tuple[int, str, str, int | None], set[int]] = defaultdict(set)
    unplaced: set[int] = set()
    for s in sessions:
        if s.spend_pence <= 0:
            continue
        if cur_start <= s.start < cur_end:
            which = 0
        elif prev_start <= s.start < prev_end:
            which = 1
        else:
            continue
        district = (district_of.get(s.holder_id) or "").strip()
        if not district:
            if which == 0:
                unplaced.add(s.holder_id)
            continue
        cell = spend[which][(district, s.category, s.provider_id)]
        cell[0] += s.spend_pence
        cell[1] += 1
        cell[2].add(s.holder_id)
        people[which][(district, s.category)].add(s.holder_id)
        if which == 0 and s.brokered_by is not None:
            arranged[(s.brokered_by, district, s.category, s.provider_id)].add(s.holder_id)
            arranged[(s.brokered_by, district, s.category, None)].add(s.holder_id)

    def provider_rows(which: int) -> tuple[ProviderSpend, ...]:
        return tuple(ProviderSpend(d, c, p, v[0], v[1], len(v[2]))
                     for (d, c, p), v in sorted(spend[which].items()))

    def totals(which: int) -> tuple[MarketTotal, ...]:
        return tuple(MarketTotal(d, c, len(h)) for (d, c), h in sorted(people[which].items()))

    return MarketFacts(
        window_days=window_days, current=provider_rows(0), previous=provider_rows(1),
        current_totals=totals(0), previous_totals=totals(1),
        arranged=tuple(Arranged(b, d, c, p, len(h)) for (b, d, c, p), h
                       in sorted(arranged.items(), key=lambda kv: (kv[0][:3], kv[0][3] or 0))),
        unplaced_holders=len(unplaced))


@dataclass(frozen=True, slots=True)
class ProviderShare:
    provider_id: int
    spend_pence: int
    share_percent: float
    holders: int


@dataclass(frozen=True)
class MarketFigure:
    """One market's figures for the window, with the window before for the trend."""

    district: str
    category: str
    spend_pence: int
    holders: int
    providers: int
    hhi: float
    top_share_percent: float
    shares: tuple[ProviderShare, ...]  # largest first
    meets_minimums: bool  # enough spend, holders and providers for the figures to mean something
    previous_spend_pence: int = 0
    previous_hhi: float | None = None  # None when the window before did not meet the minimums
    above_cap: tuple[int, ...] = ()  # provider ids above the share cap (only when meets_minimums)

    @property
    def key(self) -> MarketKey:
        return (self.district, self.category)

    @property
    def top_provider_id(self) -> int | None:
        return self.shares[0].provider_id if self.shares else None

    @property
    def rise(self) -> float | None:
        return None if self.previous_hhi is None else self.hhi - self.previous_hhi


def _meets(spend: int, holders: int, providers: int, settings: CouncilSettings) -> bool:
    return (spend >= settings.market_min_spend_pence and holders >= settings.market_min_holders
            and providers >= settings.market_min_providers)


def _group(rows: Iterable[ProviderSpend]) -> dict[MarketKey, list[ProviderSpend]]:
    grouped: dict[MarketKey, list[ProviderSpend]] = defaultdict(list)
    for row in rows:
        grouped[(row.district, row.category)].append(row)
    return grouped


def market_figures(facts: MarketFacts, settings: CouncilSettings) -> list[MarketFigure]:
    """Every market with spend in the current window, sorted by district then category."""
    holders_now = {(t.district, t.category): t.holders for t in facts.current_totals}
    holders_before = {(t.district, t.category): t.holders for t in facts.previous_totals}
    before = _group(facts.previous)
    figures = []
    for key, rows in sorted(_group(facts.current).items()):
        spend = sum(r.spend_pence for r in rows)
        shares_by = spend_shares({r.provider_id: r.spend_pence for r in rows})
        shares = tuple(sorted(
            (ProviderShare(r.provider_id, r.spend_pence, shares_by.get(r.provider_id, 0.0),
                           r.holders) for r in rows),
            key=lambda s: (-s.spend_pence, s.provider_id)))
        meets = _meets(spend, holders_now.get(key, 0), len(rows), settings)
        prev_rows = before.get(key, [])
        prev_spend = sum(r.spend_pence for r in prev_rows)
        prev_meets = _meets(prev_spend, holders_before.get(key, 0), len(prev_rows), settings)
        figures.append(MarketFigure(
            district=key[0], category=key[1], spend_pence=spend,
            holders=holders_now.get(key, 0), providers=len(rows),
            hhi=round(hhi(shares_by.values()), 1),
            top_share_percent=round(shares[0].share_percent, 1) if shares else 0.0,
            shares=shares, meets_minimums=meets, previous_spend_pence=prev_spend,
            previous_hhi=round(hhi(spend_shares(
                {r.provider_id: r.spend_pence for r in prev_rows}).values()), 1)
            if prev_meets else None,
            above_cap=tuple(s.provider_id for s in shares
                            if meets and s.share_percent > settings.provider_share_cap_percent)))
    return figures


def search_shares(figures: Iterable[MarketFigure]) -> dict[tuple[int, str, str], float]:
    """(provider id, category, district) -> share of spend, for markets that meet the minimums:
    what search's fair ranking dampens by (app.domain.search_ranking.MarketShare)."""
    return {(s.provider_id, f.category, f.district): s.share_percent
            for f in figures if f.meets_minimums for s in f.shares}


@dataclass(frozen=True)
class SteeringFigure:
    """A broker's arranged support in one category, to one provider, against the markets.

    n holders the broker arranged support for in this category (in any district), k of them
    with this provider. If the broker followed each holder's market, holder i would go to the
    provider with probability p_i, the provider's share of the other holders in that holder's
    market; the p-value is P(at least k of n) under those p_i (exact, Poisson-binomial)."""

    broker_id: int
    category: str
    provider_id: int
    holders_arranged: int
    holders_to_provider: int
    expected_percent: float  # the mean p_i: what following the market would give
    p_value: float
    districts: tuple[str, ...]
    finding: bool

    @property
    def broker_share_percent(self) -> float:
        return 100 * self.holders_to_provider / self.holders_arranged if self.holders_arranged else 0.0


def _market_probability(rest_with: int, rest_total: int) -> float:
    """The provider's share of the rest of a market's holders, smoothed by half a holder each
    way (Jeffreys), so an empty or tiny rest of market is a coin toss, never certainty."""
    return (max(rest_with, 0) + 0.5) / (max(rest_total, 0) + 1)


def steering_figures(facts: MarketFacts, settings: CouncilSettings) -> list[SteeringFigure]:
    """Every broker x category x provider the broker arranged support with in the window."""
    holders_market = {(t.district, t.category): t.holders for t in facts.current_totals}
    holders_provider = {(r.district, r.category, r.provider_id): r.holders for r in facts.current}
    providers_in = defaultdict(set)
    for r in facts.current:
        providers_in[(r.district, r.category)].add(r.provider_id)
    total_by: dict[tuple[int, str], list[Arranged]] = defaultdict(list)
    with_by: dict[tuple[int, str, int], dict[str, int]] = defaultdict(dict)
    for a in facts.arranged:
        if a.provider_id is None:
            total_by[(a.broker_id, a.category)].append(a)
        else:
            with_by[(a.broker_id, a.category, a.provider_id)][a.district] = a.holders
    arranged_with = {(a.broker_id, a.district, a.category, a.provider_id): a.holders
                     for a in facts.arranged}
    figures = []
    for (broker_id, category, provider_id), per_district in sorted(with_by.items()):
        totals = total_by[(broker_id, category)]
        n = sum(t.holders for t in totals)
        k = sum(per_district.values())
        probs: list[float] = []
        for t in totals:
            rest_total = holders_market.get((t.district, category), 0) - t.holders
            rest_with = (holders_provider.get((t.district, category, provider_id), 0)
                         - arranged_with.get((broker_id, t.district, category, provider_id), 0))
            probs += [_market_probability(rest_with, rest_total)] * t.holders
        expected = 100 * sum(probs) / len(probs) if probs else 0.0
        share = 100 * k / n if n else 0.0
        # The cheap conditions first: the exact tail is only worth computing when they hold.
        candidate = (n >= settings.steering_min_holders
                     and share >= settings.steering_min_share_percent
                     and share >= settings.steering_share_multiple * expected)
        p_value = poisson_binomial_tail(k, probs) if candidate else 1.0
        figures.append(SteeringFigure(
            broker_id=broker_id, category=category, provider_id=provider_id,
            holders_arranged=n, holders_to_provider=k, expected_percent=round(expected, 1),
            p_value=p_value, districts=tuple(sorted(per_district)),
            finding=candidate and p_value < settings.steering_significance))
    return figures


def figures_for(facts: MarketFacts, settings: CouncilSettings) -> tuple[list[MarketFigure],
                                                                         list[SteeringFigure]]:
    return market_figures(facts, settings), steering_figures(facts, settings)


def find(figures: Sequence[MarketFigure], district: str, category: str) -> MarketFigure | None:
    return next((f for f in figures if f.district == district and f.category == category), None)
