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


@brokerage_group.command("districts")
@click.option("--dry-run", is_flag=True, help="Say what would be corrected, changing nothing.")
@with_appcontext
def districts_command(dry_run: bool) -> None:
    """Correct postcode districts recorded before they were checked ('ls6 1ab' -> LS6) and list
    those that are no district in use, for a broker (they are also on the broker's
    "Districts to check" page)."""
    from app.services import district_check

    result = district_check.correct_districts(dry_run=dry_run)
    verb = "Would correct" if dry_run else "Corrected"
    click.echo(f"{verb} {len(result.corrected)} district(s).")
    for entry, meant in result.corrected:
        click.echo(f"  {entry.kind} {entry.id} ({entry.name}): {entry.district!r} -> {meant or 'no district'}")
    click.echo(f"{len(result.unknown)} district(s) are no postcode district in use and need a broker"
               + (":" if result.unknown else "."))
    for entry in result.unknown:
        click.echo(f"  {entry.kind} {entry.id} ({entry.name}): {entry.district!r}")
