"""The brokerage scan: evaluate every rule over today's market and file new findings as flags."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select

from app.domain.access import Role
from app.domain.rules import evaluate
from app.domain.rules.concentration import market_facts
from app.domain.rules.markets import figures_for
from app.errors import NotPermitted
from app.extensions import db
from app.models import AuditEvent, BookingSession, MarketRun, User
from app.services import audit, council_settings, flags, market_view
from app.services.market_snapshot import build_snapshot, session_window_start


@dataclass(frozen=True)
class ScanResult:
    findings: int
    filed: int
    advice_only: int
    already_on_file: int
    market_run_id: int = 0


@contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """A snapshot is a million small frozen objects with no reference cycles; the cyclic
    collector would walk the growing heap again and again while they are built (about 40% of
    the build time at scale) and free nothing. Reference counting still frees everything."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def scan(as_of: datetime | None = None) -> ScanResult:
    """One transaction: build the snapshot, run the rules, file what is new and store the
    markets' figures for the market view (cron-ready)."""
    settings = council_settings.current()
    with _without_cyclic_gc():
        snapshot = build_snapshot(as_of)
        findings = evaluate(snapshot, settings)
    filed = flags.file_findings(findings, digest=True)
    facts = market_facts(snapshot, settings)
    markets, steering = figures_for(facts, settings)
    run = market_view.record_run(snapshot.as_of, facts, markets, steering, settings)
    db.session.commit()
    flags.after_filing(filed)
    return ScanResult(findings=len(findings), filed=len(filed.flags),
                      advice_only=filed.advice_only, already_on_file=filed.already_on_file,
                      market_run_id=run.id)


# A scan in a web request must finish well inside the server's 30-second timeout: at about
# 20,000 sessions a scan takes a second or two; a council's year (a million) takes most of a
# minute, so a larger market waits for the scheduler's `brokerage.scan-requested` job.
SCAN_IN_REQUEST_MAX_SESSIONS = 20_000
_REQUESTED = "market_scan.requested"


def _latest_run_id() -> int | None:
    return db.session.scalar(select(func.max(MarketRun.id)))


def request_scan(actor: User, *,
                 in_request_max_sessions: int = SCAN_IN_REQUEST_MAX_SESSIONS) -> ScanResult | None:
    """A broker or council admin asks for the markets to be measured again now. A small market
    is scanned at once (as `scan`); a large one is recorded (audited, with the run it follows)
    for `run_requested`, and None is returned. Raises NotPermitted for anyone else."""
    if actor.role_enum not in (Role.BROKER, Role.COUNCIL_ADMIN):
        raise NotPermitted("Only brokers and council admins can measure the markets.")
    now = datetime.now(UTC)
    since = session_window_start(now, council_settings.current())
    sessions = db.session.scalar(select(func.count(BookingSession.id)).where(
        BookingSession.start_at >= since)) or 0
    if sessions <= in_request_max_sessions:
        return scan()
    audit.record(actor, _REQUESTED, "market_run", None,
                 details={"after_run": _latest_run_id(), "sessions": sessions})
    db.session.commit()
    return None


def run_requested() -> ScanResult | None:
    """Scan if someone asked for a scan that no run has answered yet (the scheduler's job,
    every five minutes); None when nobody is waiting."""
    asked = db.session.scalars(select(AuditEvent.details).where(AuditEvent.action == _REQUESTED)
                               .order_by(AuditEvent.id.desc()).limit(1)).first()
    if asked is None or (asked or {}).get("after_run") != _latest_run_id():
        return None
    return scan()
