"""The market view's figures: stored by each brokerage scan, read back fast with their history.

The scan computes every market's figures once (rules.markets) and `record_run` stores them, so
a page never aggregates sessions: it reads one run's rows (indexed by run, district, category).
Only the largest few providers of each market and everyone above the cap are kept per run, so
a year of daily runs stays small.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select

from app.domain.rules.markets import MarketFacts, MarketFigure, SteeringFigure
from app.domain.settings import CouncilSettings
from app.errors import NotFound
from app.extensions import db
from app.models import (
    MarketFigureRecord,
    MarketRun,
    MarketShareRecord,
    ProviderProfile,
    SteeringRecord,
    User,
)

TOP_PROVIDERS_KEPT = 10
PAGE_SIZE = 50


def record_run(as_of: datetime, facts: MarketFacts, figures: list[MarketFigure],
               steering: list[SteeringFigure], settings: CouncilSettings) -> MarketRun:
    """Store one scan's figures in the caller's transaction (the scan commits)."""
    run = MarketRun(as_of=as_of, window_days=facts.window_days,
                    share_cap_percent=settings.provider_share_cap_percent,
                    hhi_line=settings.hhi_highly_concentrated, markets=len(figures),
                    concentrated=sum(1 for f in figures if f.meets_minimums
                                     and f.hhi > settings.hhi_highly_concentrated),
                    steering_findings=sum(1 for s in steering if s.finding),
                    unplaced_holders=facts.unplaced_holders)
    db.session.add(run)
    db.session.flush()
    if figures:
        db.session.execute(insert(MarketFigureRecord), [
            {"run_id": run.id, "district": f.district, "category": f.category,
             "spend_pence": f.spend_pence, "previous_spend_pence": f.previous_spend_pence,
             "holders": f.holders, "providers": f.providers, "hhi": f.hhi,
             "previous_hhi": f.previous_hhi, "top_share_percent": f.top_share_percent,
             "top_provider_id": f.top_provider_id, "meets_minimums": f.meets_minimums,
             "above_cap": len(f.above_cap)} for f in figures])
        shares = [{"run_id": run.id, "district": f.district, "category": f.category,
                   "provider_profile_id": s.provider_id, "spend_pence": s.spend_pence,
                   "share_percent": round(s.share_percent, 2), "holders": s.holders,
                   "above_cap": s.provider_id in f.above_cap}
                  for f in figures for i, s in enumerate(f.shares)
                  if i < TOP_PROVIDERS_KEPT or s.provider_id in f.above_cap]
        db.session.execute(insert(MarketShareRecord), shares)
    if steering:
        db.session.execute(insert(SteeringRecord), [
            {"run_id": run.id, "broker_id": s.broker_id, "category": s.category,
             "provider_profile_id": s.provider_id, "holders_arranged": s.holders_arranged,
             "holders_to_provider": s.holders_to_provider,
             "expected_percent": s.expected_percent, "p_value": s.p_value,
             "districts": list(s.districts), "finding": s.finding} for s in steering])
    return run


def latest_run() -> MarketRun | None:
    return db.session.scalar(select(MarketRun).order_by(MarketRun.id.desc()).limit(1))


def runs(limit: int) -> list[MarketRun]:
    return list(db.session.scalars(select(MarketRun).order_by(MarketRun.id.desc()).limit(limit)))


@dataclass(frozen=True)
class MarketRow:
    figure: MarketFigureRecord
    top_provider_name: str

    @property
    def rise(self) -> float | None:
        f = self.figure
        return None if f.previous_hhi is None else f.hhi - f.previous_hhi


def markets(run: MarketRun, *, district: str = "", category: str = "", only: str = "",
            page: int = 1) -> tuple[list[MarketRow], int]:
    """One run's markets, the most concentrated first: (this page's rows, how many in all).
    `only`: "concentrated" (meets minimums and above the HHI line), "above_cap" or ""."""
    conditions = [MarketFigureRecord.run_id == run.id]
    if district:
        conditions.append(MarketFigureRecord.district == district)
    if category:
        conditions.append(MarketFigureRecord.category == category)
    if only == "concentrated":
        conditions += [MarketFigureRecord.meets_minimums.is_(True),
                       MarketFigureRecord.hhi > run.hhi_line]
    elif only == "above_cap":
        conditions.append(MarketFigureRecord.above_cap > 0)
    total = db.session.scalar(select(func.count()).select_from(MarketFigureRecord)
                              .where(*conditions)) or 0
    rows = db.session.execute(
        select(MarketFigureRecord, ProviderProfile.display_name)
        .outerjoin(ProviderProfile, ProviderProfile.id == MarketFigureRecord.top_provider_id)
        .where(*conditions)
        .order_by(MarketFigureRecord.meets_minimums.desc(), MarketFigureRecord.hhi.desc(),
                  MarketFigureRecord.district, MarketFigureRecord.category)
        .limit(PAGE_SIZE).offset(max(page - 1, 0) * PAGE_SIZE)).all()
    return [MarketRow(f, name or "") for f, name in rows], int(total)


@dataclass(frozen=True)
class ShareRow:
    share: MarketShareRecord
    provider_name: str


@dataclass(frozen=True)
class SteeringRow:
    record: SteeringRecord
    broker_name: str
    provider_name: str

    @property
    def broker_share_percent(self) -> float:
        r = self.record
        return 100 * r.holders_to_provider / r.holders_arranged if r.holders_arranged else 0.0


@dataclass(frozen=True)
class MarketDetail:
    run: MarketRun
    figure: MarketFigureRecord
    history: list[tuple[MarketRun, MarketFigureRecord | None]]  # oldest first
    shares: list[ShareRow]
    steering: list[SteeringRow]


def market(run: MarketRun, district: str, category: str, history_runs: int) -> MarketDetail:
    """One market in a run: its figures, its trend over the last runs, its providers and the
    brokers arranging support there. Raises NotFound when the run has no such market."""
    figure = db.session.scalar(select(MarketFigureRecord).where(
        MarketFigureRecord.run_id == run.id, MarketFigureRecord.district == district,
        MarketFigureRecord.category == category))
    if figure is None:
        raise NotFound("There is no spending in that market in this scan.")
    past = list(reversed(db.session.scalars(
        select(MarketRun).where(MarketRun.id <= run.id).order_by(MarketRun.id.desc())
        .limit(history_runs)).all()))
    by_run = {f.run_id: f for f in db.session.scalars(select(MarketFigureRecord).where(
        MarketFigureRecord.run_id.in_([r.id for r in past]),
        MarketFigureRecord.district == district, MarketFigureRecord.category == category))}
    shares = [ShareRow(s, name) for s, name in db.session.execute(
        select(MarketShareRecord, ProviderProfile.display_name)
        .join(ProviderProfile, ProviderProfile.id == MarketShareRecord.provider_profile_id)
        .where(MarketShareRecord.run_id == run.id, MarketShareRecord.district == district,
               MarketShareRecord.category == category)
        .order_by(MarketShareRecord.spend_pence.desc(), MarketShareRecord.provider_profile_id))]
    # Brokers arranging support here with this market's largest providers (and those above
    # the cap): a bounded set, filtered to the brokers active in this district. Not cut to the
    # console's first few hundred before that filter: those could all be other districts' rows.
    steering = [row for row in steering_rows(
        run, category=category,
        provider_ids=[s.share.provider_profile_id for s in shares], limit=None)
        if district in (row.record.districts or [])]
    return MarketDetail(run, figure, [(r, by_run.get(r.id)) for r in past], shares, steering)


STEERING_ROWS_SHOWN = 200


def steering_rows(run: MarketRun, *, category: str = "", broker_id: int | None = None,
                  findings_only: bool = False, provider_ids: list[int] | None = None,
                  limit: int | None = STEERING_ROWS_SHOWN) -> list[SteeringRow]:
    """One run's steering figures, findings first, then the most lopsided (at most `limit`;
    None: every one)."""
    broker = User.__table__.alias("broker")
    conditions = [SteeringRecord.run_id == run.id]
    if category:
        conditions.append(SteeringRecord.category == category)
    if broker_id is not None:
        conditions.append(SteeringRecord.broker_id == broker_id)
    if findings_only:
        conditions.append(SteeringRecord.finding.is_(True))
    if provider_ids is not None:
        conditions.append(SteeringRecord.provider_profile_id.in_(provider_ids))
    query = (
        select(SteeringRecord, broker.c.name, ProviderProfile.display_name)
        .join(broker, broker.c.id == SteeringRecord.broker_id)
        .join(ProviderProfile, ProviderProfile.id == SteeringRecord.provider_profile_id)
        .where(*conditions)
        .order_by(SteeringRecord.finding.desc(), SteeringRecord.p_value,
                  (SteeringRecord.expected_percent - 100.0 * SteeringRecord.holders_to_provider
                   / SteeringRecord.holders_arranged),
                  SteeringRecord.broker_id, SteeringRecord.provider_profile_id))
    rows = db.session.execute(query if limit is None else query.limit(limit)).all()
    return [SteeringRow(r, b, p) for r, b, p in rows]


def provider_markets(run: MarketRun, provider_id: int) -> list[ShareRow]:
    """The markets where a provider is among the largest or above the cap, in one run."""
    return [ShareRow(s, name) for s, name in db.session.execute(
        select(MarketShareRecord, ProviderProfile.display_name)
        .join(ProviderProfile, ProviderProfile.id == MarketShareRecord.provider_profile_id)
        .where(MarketShareRecord.run_id == run.id,
               MarketShareRecord.provider_profile_id == provider_id)
        .order_by(MarketShareRecord.share_percent.desc()))]


def csv_rows(run: MarketRun) -> list[list]:
    """Every market of a run, for the CSV download (text cells are defused by the writer)."""
    rows = db.session.execute(
        select(MarketFigureRecord, ProviderProfile.display_name)
        .outerjoin(ProviderProfile, ProviderProfile.id == MarketFigureRecord.top_provider_id)
        .where(MarketFigureRecord.run_id == run.id)
        .order_by(MarketFigureRecord.district, MarketFigureRecord.category)).all()
    return [[f.district, f.category, f"{f.spend_pence / 100:.2f}", f.holders, f.providers,
             f"{f.hhi:.1f}", "" if f.previous_hhi is None else f"{f.previous_hhi:.1f}",
             f"{f.top_share_percent:.1f}", name or "", f.above_cap,
             "yes" if f.meets_minimums else "no"] for f, name in rows]


CSV_HEADER = ["district", "category", "spend_pounds", "holders", "providers", "hhi",
              "previous_hhi", "top_share_percent", "top_provider", "providers_above_cap",
              "meets_minimums"]


STEERING_CSV_HEADER = ["broker", "category", "provider", "holders_arranged",
                       "holders_to_provider", "broker_share_percent", "expected_percent",
                       "p_value", "districts", "finding"]


def steering_csv_rows(run: MarketRun) -> list[list]:
    """Every steering figure of a run (the page shows the first few hundred), findings first."""
    return [[r.broker_name, r.record.category, r.provider_name, r.record.holders_arranged,
             r.record.holders_to_provider,
             f"{100 * r.record.holders_to_provider / r.record.holders_arranged:.1f}",
             f"{r.record.expected_percent:.1f}", f"{r.record.p_value:.3g}",
             " ".join(r.record.districts or []), "yes" if r.record.finding else "no"]
            for r in steering_rows(run, limit=None)]


def districts_and_categories(run: MarketRun) -> tuple[list[str], list[str]]:
    """The districts and categories with spending in a run (the filter's choices)."""
    districts = list(db.session.scalars(select(MarketFigureRecord.district).where(
        MarketFigureRecord.run_id == run.id).distinct().order_by(MarketFigureRecord.district)))
    categories = list(db.session.scalars(select(MarketFigureRecord.category).where(
        MarketFigureRecord.run_id == run.id).distinct().order_by(MarketFigureRecord.category)))
    return districts, categories


def run_or_latest(run_id: int | None) -> MarketRun | None:
    if run_id is None:
        return latest_run()
    run = db.session.get(MarketRun, run_id)
    if run is None:
        raise NotFound("There is no such market scan.")
    return run
