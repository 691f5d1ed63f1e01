"""`carefair payments pay-waiting`: retry card payouts waiting for providers, and reversals of
payouts that a later refund made too large (run it from cron)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.cli import app_command


@app_command
@click.group("payments")
def payments_group() -> None:
    """Card payment jobs."""


@payments_group.command("pay-waiting")
@with_appcontext
def pay_waiting_command() -> None:
    """Send providers the card payments still waiting (new accounts, earlier Stripe outages)."""
    from app.services import card_payments

    paid = card_payments.pay_waiting()
    left = card_payments.waiting_payouts()
    click.echo(f"Payouts sent: {paid}. Still waiting: {len(left)}.")
    takebacks = card_payments.waiting_takebacks()
    if takebacks:
        click.echo(f"Refunded payouts still to take back from providers: {len(takebacks)}.")
