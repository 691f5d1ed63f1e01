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


@payments_group.command("reconcile")
@with_appcontext
def reconcile_command() -> None:
    """Finish card steps left by a crash or an outage, release stray authorisations, retry
    payouts (idempotent: run it from cron every few minutes)."""
    from app.services import card_steps

    report = card_steps.reconcile()
    click.echo(f"Card steps done: {report.steps.done}, failed for good: {report.steps.failed}, "
               f"still waiting: {report.steps.waiting}. Stray authorisations released: "
               f"{report.stray_released}. Payouts sent: {report.payouts_sent}.")
    for line in report.steps.errors:
        click.echo(f"  {line}")
    if report.steps.waiting:
        raise SystemExit(1)
