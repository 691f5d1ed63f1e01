"""`carefair import KIND FILE` and `carefair export RESOURCE`: the council's bulk files from the command line."""

from __future__ import annotations

import sys
import time
import typing

import click
from flask.cli import with_appcontext

from app.cli import app_command


def _admin(email: str):
    from app.domain.access import Role
    from app.services import accounts

    user = accounts.find_by_email(email)
    if user is None or user.role_enum is not Role.COUNCIL_ADMIN or not user.active:
        raise click.ClickException(f"{email} is not an active council admin: the import is done in "
                                   "a council admin's name, for the audit log.")
    return user


class _Progress:
    """Rows and rows per second on stderr: a counter while checking, then a bar while writing."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.phase = ""
        self.bar: typing.Any = None  # a click progress bar while writing
        self.last = 0

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        if phase != self.phase:
            self.close()
            self.phase, self.started, self.last = phase, time.monotonic(), 0
            if total:
                self.bar = click.progressbar(length=total, label="Writing", file=sys.stderr,
                                             show_pos=True, item_show_func=self._rate)
                self.bar.__enter__()
        rate = done / max(time.monotonic() - self.started, 1e-6)
        if self.bar is not None:
            self._rate_text = f"{rate:,.0f} rows/s"
            self.bar.update(done - self.last)
        else:
            click.echo(f"\rChecking: {done:,} rows, {rate:,.0f} rows/s", file=sys.stderr, nl=False)
        self.last = done

    def _rate(self, _item=None) -> str:
        return getattr(self, "_rate_text", "")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None
        elif self.phase:
            click.echo("", file=sys.stderr)


@app_command
@click.command("import")
@click.argument("kind", type=click.Choice(["providers", "holders", "budgets", "bookings"]))
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--as", "admin_email", required=True, help="The council admin doing the import (audited).")
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), help="Default: from the file name.")
@with_appcontext
def import_command(kind: str, file: str, admin_email: str, dry_run: bool, fmt: str | None) -> None:
    """Import providers, holders, budgets or historical bookings from CSV or JSON Lines.

    Every row carries the council's own reference: running the same file again changes nothing,
    and a run cut off midway is finished by running it again. Nothing is written unless every
    row is good."""
    from app.errors import DomainError
    from app.services import imports

    progress = _Progress()

    def show(error) -> None:
        where = f"line {error.line}" + (f" ({error.reference})" if error.reference else "")
        click.echo(f"\n{where}: {error.field + ': ' if error.field else ''}{error.message}", err=True)

    try:
        report = imports.run(kind, file, fmt, actor=_admin(admin_email), dry_run=dry_run,
                             progress=progress, on_error=show)
    except DomainError as err:
        raise click.ClickException(err.message) from err
    finally:
        progress.close()
    elapsed = time.monotonic() - progress.started
    if report.error_count:
        click.echo(f"{report.error_count:,} bad rows in {report.rows:,}: nothing was written. Correct "
                   "them and run the import again.", err=True)
        sys.exit(1)
    verb = "would import" if dry_run else "imported"
    click.echo(f"{kind}: {report.rows:,} rows, {verb} {report.imported:,}, unchanged {report.unchanged:,}"
               + ("" if dry_run else f", {report.imported / max(elapsed, 1e-6):,.0f} rows/s"))


@app_command
@click.command("export")
@click.argument("resource", type=click.Choice(["providers", "listings", "holders", "budgets", "delegations",
                                               "bookings", "sessions", "flags"]))
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv")
@click.option("--output", "-o", type=click.File("w", encoding="utf-8"), default="-")
@with_appcontext
def export_command(resource: str, fmt: str, output) -> None:
    """Export a resource as CSV (cells defused for spreadsheets) or JSON Lines."""
    from app.web.api_v1.exports import stream

    for chunk in stream(resource, fmt):
        output.write(chunk)
