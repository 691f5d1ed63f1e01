"""`carefair ledger check`: prove the ledger, the bookings and the card payments agree (cron-ready)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.group("ledger")
def ledger_group() -> None:
    """Ledger jobs."""


@ledger_group.command("check")
@with_appcontext
def check_command() -> None:
    """Print every disagreement in plain words and exit 1; one line and exit 0 when all agree."""
    from app.services import ledger_check

    report = ledger_check.run()
    for disagreement in report.disagreements:
        click.echo(disagreement.message)
    click.echo(report.summary())
    if not report.ok:
        raise SystemExit(1)
