"""The brokerage scan: evaluate every rule over today's market and file new findings as flags."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app

from app.domain.rules import evaluate
from app.extensions import db
from app.services import flags
from app.services.market_snapshot import build_snapshot


@dataclass(frozen=True)
class ScanResult:
    findings: int
    filed: int
    advice_only: int
    already_on_file: int


def scan(as_of: datetime | None = None) -> ScanResult:
    """One transaction: build the snapshot, run the rules, file what is new (cron-ready)."""
    snapshot = build_snapshot(as_of)
    findings = evaluate(snapshot, current_app.config["COUNCIL"])
    filed = flags.file_findings(findings)
    db.session.commit()
    flags.after_filing(filed)
    return ScanResult(findings=len(findings), filed=len(filed.flags),
                      advice_only=filed.advice_only, already_on_file=filed.already_on_file)
