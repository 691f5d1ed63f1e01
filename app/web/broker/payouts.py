"""Broker view of card payouts waiting for providers, and refunds of paid sessions."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput, GovTextArea, GovTextInput
from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired

from app.domain.access import Permission
from app.domain.money import parse_pounds
from app.domain.money_format import format_pence
from app.errors import DomainError
from app.services import card_payments
from app.web.broker import bp
from app.web.context import requires
from app.web.form_base import PlainForm
from app.web.helpers import attach_error


class RefundForm(PlainForm):
    amount = StringField(
        "Amount to give back, in pounds",
        widget=GovTextInput(),
        validators=[InputRequired(message="Enter an amount, like 12.50")],
    )
    reason = TextAreaField(
        "Why", widget=GovTextArea(), validators=[InputRequired(message="Say why")]
    )
    submit = SubmitField("Give the money back", widget=GovSubmitInput())


@bp.get("/payouts")
@requires(Permission.BROKER_AREA)
def payouts_waiting():
    return render_template(
        "payments/broker_payouts.html",
        waiting=card_payments.waiting_payouts(),
        takebacks=card_payments.waiting_takebacks(),
        title="Payouts waiting",
    )


@bp.route("/sessions/<int:session_id>/refund", methods=["GET", "POST"])
@requires(Permission.BROKER_AREA)
def session_refund(session_id: int):
    payment = card_payments.session_payment(session_id)
    form = RefundForm()
    if form.validate_on_submit():
        try:
            outcome = card_payments.refund_session(
                current_user, session_id, parse_pounds(form.amount.data), reason=form.reason.data
            )
            flash("The money has been given back to the card and the budget.", "success")
            if outcome.taken_back_pence:
                flash(f"The provider had already been paid, so {format_pence(outcome.taken_back_pence)} "
                      "was taken back from their payout.", "success")
            if outcome.still_to_take_back_pence:
                flash(f"The provider had already been paid and {format_pence(outcome.still_to_take_back_pence)} "
                      "could not be taken back from their payout yet. Carefair will try again; it "
                      "is listed below.", "error")
            return redirect(url_for("broker.payouts_waiting"))
        except DomainError as err:
            attach_error(form, err, default_field="amount")
    return render_template(
        "payments/broker_refund.html",
        form=form,
        payment=payment,
        session_id=session_id,
        title="Give money back",
    )
