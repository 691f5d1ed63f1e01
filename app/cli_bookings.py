"""`carefair bookings run-due`: the scheduled bookings job (run it hourly from cron).

`run-due` does everything time-driven: automatic confirmations, pool decisions, requests that
expire, reminders and escalations (safe to run twice at once). `auto-confirm` is the older,
narrower command, kept for existing crontabs.
"""

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


@bookings_group.command("run-due")
@with_appcontext
def run_due_command() -> None:
    """Everything due now: confirmations, pools, expiries, reminders, escalations, lapses."""
    from app.services import bookings

    report = bookings.run_due()
    timers = bookings.run_timers()
    click.echo(
        f"Notices sent: {report.notices_sent}. Hours confirmed: {report.auto_confirmed}. "
        f"Group sessions running: {report.pools_run}, released: {report.pools_released}. "
        f"Requests expired: {timers.expired}. Providers reminded to answer: "
        f"{timers.providers_reminded}. Broker queues reminded: {timers.brokers_reminded}, "
        f"escalated: {timers.escalated}. Visit reminders: {timers.visit_reminders}. "
        f"Reminders to record hours: {timers.record_reminders}."
        + "".join(f" {name} lapsed: {count}." for name, count in timers.lapsed.items())
    )
    for problem in [*report.errors, *timers.errors]:
        click.echo(f"Could not finish {problem}", err=True)
