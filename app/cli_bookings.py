"""`carefair bookings auto-confirm`: the scheduled bookings job (run it hourly from cron)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.cli import app_command


@app_command
@click.group("bookings")
def bookings_group() -> None:
    """Scheduled jobs for bookings."""


@bookings_group.command("auto-confirm")
@with_appcontext
def auto_confirm_command() -> None:
    """Send auto-confirmation notices, confirm hours whose time is up, decide pooled sessions."""
    from app.services import bookings

    report = bookings.run_due()
    click.echo(
        f"Notices sent: {report.notices_sent}. Hours confirmed: {report.auto_confirmed}. "
        f"Group sessions running: {report.pools_run}, released: {report.pools_released}."
    )
    for problem in report.errors:
        click.echo(f"Could not finish {problem}", err=True)
