"""`carefair brokerage scan`: run the brokerage rules over the market and file flags."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.cli import app_command


@app_command
@click.group("brokerage")
def brokerage_group() -> None:
    """Brokerage rules."""


@brokerage_group.command("scan")
@with_appcontext
def scan_command() -> None:
    """Run every brokerage rule and file new findings as flags for brokers (cron-ready)."""
    from app.services import brokerage
    result = brokerage.scan()
    click.echo(f"{result.findings} finding(s): {result.filed} new flag(s) filed, "
               f"{result.already_on_file} already on file, {result.advice_only} advice only.")


@brokerage_group.command("scan-requested")
@with_appcontext
def scan_requested_command() -> None:
    """Scan if a broker asked for the markets to be measured again (every five minutes)."""
    from app.services import brokerage

    result = brokerage.run_requested()
    click.echo("No scan was asked for." if result is None else
               f"{result.findings} finding(s): {result.filed} new flag(s) filed.")
