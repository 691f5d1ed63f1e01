"""Cron jobs for job posts (`carefair jobs notify`, hourly), cover (`carefair jobs cover`, every five
minutes), agreements (`carefair agreements lapse`) and the funding horizon (`carefair funding
hold-ahead`, daily)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.cli import app_command


@app_command
@click.group("jobs")
def jobs_group() -> None:
    """Scheduled jobs for job posts."""


@jobs_group.command("notify")
@with_appcontext
def notify_command() -> None:
    """Tell the next turn of matching providers about open jobs whose turn is due."""
    from app.services import jobs

    told = jobs.run_due()
    click.echo(f"Providers told about jobs: {told}.")


@jobs_group.command("cover")
@with_appcontext
def cover_command() -> None:
    """Ask matching providers to cover late cancellations the back-ups have not covered within the
    council's time, and lapse cover requests whose session has started (every five minutes)."""
    from app.services import cover

    report = cover.run_due()
    click.echo(f"Providers asked to cover: {report.asked}. Cover requests lapsed: {report.lapsed}.")


@app_command
@click.group("agreements")
def agreements_group() -> None:
    """Scheduled jobs for service agreements."""


@agreements_group.command("lapse")
@with_appcontext
def lapse_command() -> None:
    """Lapse offered agreements nobody answered in the council's number of days (daily)."""
    from app.services import agreements

    click.echo(f"Offers lapsed: {agreements.lapse_offers()}.")


@app_command
@click.group("funding")
def funding_group() -> None:
    """Scheduled jobs for regular support funded as money arrives."""


@funding_group.command("hold-ahead")
@with_appcontext
def hold_ahead_command() -> None:
    """Hold weekly sessions now inside the funding horizon, tell the holder's side and brokers
    early about one that cannot be funded, and call off one still unfunded a day before (daily)."""
    from app.services.bookings import horizon

    report = horizon.hold_ahead()
    click.echo(f"Sessions held: {report.held}. Not yet funded: {report.short}. "
               f"Called off: {report.called_off}. Problems: {len(report.errors)}.")
