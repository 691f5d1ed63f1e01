"""The provider's payouts: set up a Stripe Connect account and see card payouts still waiting."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from app import links
from app.domain.access import Permission
from app.errors import DomainError
from app.services import card_payments
from app.web.context import requires
from app.web.provider import bp


@bp.get("/payouts")
@requires(Permission.PROVIDER_AREA)
def payouts():
    return _page()


def _page():
    return render_template(
        "payments/provider_payouts.html",
        account=card_payments.payout_account(current_user),
        waiting=card_payments.waiting_payouts(current_user.id),
        title="How you get paid",
    )


@bp.post("/payouts/setup")
@requires(Permission.PROVIDER_AREA)
def payouts_setup():
    try:
        url = card_payments.start_onboarding(
            current_user,
            refresh_url=links.external("provider.payouts"),
            return_url=links.external("provider.payouts_return"),
        )
    except DomainError as err:
        flash(err.message, "error")
        return redirect(url_for("provider.payouts"))
    return redirect(url, code=303)  # Stripe's onboarding pages


@bp.get("/payouts/return")
@requires(Permission.PROVIDER_AREA)
def payouts_return():
    """Stripe's return address after onboarding: send any payouts that were waiting."""
    paid = card_payments.pay_waiting(current_user.id, actor=current_user)
    flash(
        f"Thank you. {paid} waiting payment(s) have been sent to your account."
        if paid
        else "Thank you. Payments for your bookings will be sent to your account.",
        "success",
    )
    # Stripe sends the provider back here with a GET; show the page rather than redirect again.
    return _page()
