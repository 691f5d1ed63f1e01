"""Broker console: change a holder's support plan (a new version, recorded as the broker's)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from app.domain.access import Permission
from app.services.ledger import current_plan
from app.web.broker import _holder_or_404, bp
from app.web.budget_forms import PlanForm
from app.web.budget_views import plan_form_defaults, save_plan_from_form
from app.web.context import requires


@bp.route("/holders/<int:holder_id>/plan", methods=["GET", "POST"])
@requires(Permission.BROKER_AREA)
def plan_edit(holder_id: int):
    person = _holder_or_404(holder_id)
    form = PlanForm()
    if form.validate_on_submit():
        saved = save_plan_from_form(form, person, current_user, person)
        if saved is not None:
            flash(f"{person.name}'s support plan saved as version {saved.version}.", "success")
            return redirect(url_for("broker.holder", holder_id=person.id))
    elif not form.is_submitted():
        plan_form_defaults(form, current_plan(person.id))
    return render_template("holder/plan_edit.html", form=form, holder=person,
                           cancel_url=url_for("broker.holder", holder_id=person.id),
                           title=f"Change {person.name}'s support plan")
