"""`carefair vetting expire`: the daily job that hides listings whose vetting ran out and warns
providers whose checks run out soon."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.cli import DEMO_START_HOOKS, app_command


@app_command
@click.group("vetting")
def vetting_group() -> None:
    """Vetting jobs."""


@vetting_group.command("expire")
@with_appcontext
def expire_command() -> None:
    """Hide listings whose checks have expired and email each provider what to renew; warn
    providers whose checks run out within the council's warning days (cron-ready, daily)."""
    from app.services import vetting

    notices = vetting.expire()
    hidden = sum(len(n.hidden_listing_ids) for n in notices)
    click.echo(f"Hid {hidden} listing(s) from {len(notices)} provider(s) whose checks expired.")
    warned = vetting.warn_before_expiry()
    click.echo(f"Warned {len({w.profile_id for w in warned})} provider(s) about "
               f"{len(warned)} check(s) that run out soon.")


def _expire_on_demo_start() -> None:
    from app.services import vetting

    vetting.expire()
    vetting.warn_before_expiry()


DEMO_START_HOOKS.append(_expire_on_demo_start)
