"""The holder's card for a direct_payment budget: see it, add or change it via Stripe Checkout."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from app import links
from app.domain.access import Permission
from app.domain.payments import NOT_SET_UP_MESSAGE
from app.errors import DomainError
from app.services import budgets, card_payments
from app.web.context import acting, requires
from app.web.holder import bp


@bp.get("/card")
@requires(Permission.HOLDER_SPEND)
def card():
    ctx = acting()
    budget = budgets.current_budget(ctx.holder.id)
    return render_template(
        "payments/holder_card.html",
        budget=budget,
        card=card_payments.card_for_budget(budget.id if budget else None),
        payments_set_up=card_payments.payments_set_up(),
        not_set_up_message=NOT_SET_UP_MESSAGE,
        title="Card for payments",
    )


@bp.post("/card/setup")
@requires(Permission.HOLDER_SPEND)
def card_setup():
    ctx = acting()
    # Stripe fills in {CHECKOUT_SESSION_ID}; url_for would escape the braces, so it is appended.
    done = links.external("holder.card_done") + "?session_id={CHECKOUT_SESSION_ID}"
    try:
        url = card_payments.start_card_setup(
            ctx.user,
            ctx.holder,
            success_url=done,
            cancel_url=links.external("holder.card"),
        )
    except DomainError as err:
        flash(err.message, "error")
        return redirect(url_for("holder.card"))
    return redirect(url, code=303)  # to Stripe's own card page: no JavaScript of ours


@bp.get("/card/done")
@requires(Permission.HOLDER_SPEND)
def card_done():
    ctx = acting()
    try:
        saved = card_payments.finish_card_setup(
            ctx.user, ctx.holder, request.args.get("session_id", "")
        )
        flash(f"Your card ending {saved.last4 or '****'} is saved for bookings.", "success")
    except DomainError as err:
        flash(err.message, "error")
    return redirect(url_for("holder.card"))


@bp.app_context_processor
def _card_status() -> dict:
    # Booking pages (holder, provider, broker) include bookings/_card_status.html.
    def card_status(booking) -> list[str]:
        return card_payments.booking_card_status(
            booking, for_provider=request.blueprint == "provider"
        )

    return {"card_status": card_status}
