"""Broker console: change a holder's support plan, and agree or decline changes from their side."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from app.domain.access import Permission
from app.errors import DomainError
from app.services import budgets
from app.services.ledger import current_plan
from app.web.broker import _holder_or_404, bp
from app.web.budget_forms import AgreePlanForm, DeclinePlanForm, PlanForm
from app.web.budget_views import plan_form_defaults, save_plan_from_form
from app.web.context import requires
from app.web.helpers import attach_error


@bp.route("/holders/<int:holder_id>/plan", methods=["GET", "POST"])
@requires(Permission.BROKER_AREA)
def plan_edit(holder_id: int):
    person = _holder_or_404(holder_id)
    form = PlanForm()
    if form.validate_on_submit():
        saved = save_plan_from_form(form, person, current_user, person)
        if saved is not None:
            flash(f"{person.name}'s support plan saved as version {saved.version}. It is agreed.",
                  "success")
            return redirect(url_for("broker.holder", holder_id=person.id))
    elif not form.is_submitted():
        plan_form_defaults(form, current_plan(person.id))
    waiting = budgets.waiting_proposal(person.id)
    if waiting is not None:
        flash(f"{person.name}'s side has proposed changes (version {waiting.version}) that are "
              "waiting for a broker. Saving here replaces them.", "info")
    # The form is the holder's own ("What matters to me"); a broker reads it about them.
    form.what_matters.label.text = f"What matters to {person.name}"
    form.what_matters.description = "In their own words"
    form.outcomes.label.text = f"What {person.name} wants their support to help them do"
    return render_template("holder/plan_edit.html", form=form, holder=person,
                           cancel_url=url_for("broker.holder", holder_id=person.id),
                           title=f"Change {person.name}'s support plan")


@bp.get("/plans")
@requires(Permission.BROKER_AREA)
def plan_proposals():
    return render_template("broker/plan_proposals.html", proposals=budgets.proposals_waiting(),
                           title="Support plan changes to agree")


def _proposal_page(plan_id: int, decline_form: DeclinePlanForm | None = None, status: int = 200):
    found = budgets.proposal(plan_id)
    return render_template("broker/plan_proposal.html", proposal=found,
                           agree_form=AgreePlanForm(prefix="agree"),
                           decline_form=decline_form or DeclinePlanForm(prefix="decline"),
                           title=f"Changes to {found.holder.name}'s support plan"), status


@bp.get("/plans/<int:plan_id>")
@requires(Permission.BROKER_AREA)
def plan_proposal(plan_id: int):
    return _proposal_page(plan_id)


@bp.post("/plans/<int:plan_id>/agree")
@requires(Permission.BROKER_AREA)
def agree_plan(plan_id: int):
    form = AgreePlanForm(prefix="agree")
    if form.validate_on_submit():
        try:
            plan = budgets.agree_proposal(plan_id, actor=current_user)
        except DomainError as err:
            flash(str(err), "error")
            return redirect(url_for("broker.plan_proposal", plan_id=plan_id))
        flash(f"Version {plan.version} is now the agreed plan.", "success")
    return redirect(url_for("broker.plan_proposals"))


@bp.post("/plans/<int:plan_id>/decline")
@requires(Permission.BROKER_AREA)
def decline_plan(plan_id: int):
    form = DeclinePlanForm(prefix="decline")
    if form.validate_on_submit():
        try:
            plan = budgets.decline_proposal(plan_id, form.reason.data, actor=current_user)
        except DomainError as err:
            if err.field != "reason":
                flash(str(err), "error")
                return redirect(url_for("broker.plan_proposal", plan_id=plan_id))
            attach_error(form, err)
        else:
            flash(f"The changes in version {plan.version} are not agreed. The plan stays as it was.",
                  "success")
            return redirect(url_for("broker.plan_proposals"))
    return _proposal_page(plan_id, decline_form=form, status=400)


@bp.route("/holders/<int:holder_id>/extra-hours", methods=["GET", "POST"])
@requires(Permission.BROKER_AREA)
def hour_cap_exception(holder_id: int):
    """Agree more hours than the plan's weekly cap for one week (audited)."""
    from app.services import bookings
    from app.web.budget_forms import HourCapExceptionForm
    from app.web.budget_views import parse_hours

    person = _holder_or_404(holder_id)
    form = HourCapExceptionForm()
    plan = current_plan(person.id)
    if form.validate_on_submit():
        try:
            minutes = parse_hours(form.extra_hours.data or "", "extra_hours")
            row = bookings.agree_exception(current_user, person, form.category.data,
                                           form.week_of.data, minutes, form.reason.data or "")
            flash(f"Agreed: {person.name} can book more hours in the week beginning "
                  f"{row.week_start:%A} {row.week_start.day} {row.week_start:%B %Y}.", "success")
            return redirect(url_for("broker.holder", holder_id=person.id))
        except DomainError as err:
            attach_error(form, err, default_field="extra_hours")
    return render_template("broker/hour_cap_exception.html", form=form, holder=person, plan=plan,
                           title=f"Agree more hours for {person.name}")
