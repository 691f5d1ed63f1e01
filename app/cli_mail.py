"""`carefair mail send-queued` and `carefair mail digest`: the email jobs to run from cron."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.cli import app_command


@click.group("mail", cls=AppGroup)
def mail_group() -> None:
    """Send queued emails and daily summaries."""


app_command(mail_group)


@mail_group.command("send-queued")
def send_queued_command() -> None:
    """Try every queued email that is due (run every few minutes from cron)."""
    from app.services import outbox

    sent, failing = outbox.send_queued()
    click.echo(f"Sent {sent} email(s); {failing} still could not be sent.")


@mail_group.command("digest")
def digest_command() -> None:
    """Send each person who chose a daily summary their summary (run once a day from cron)."""
    from app.services import notify, outbox

    queued = notify.send_digests()
    sent, failing = outbox.send_queued()
    click.echo(f"Queued {queued} daily summary email(s); sent {sent}, {failing} still waiting.")
