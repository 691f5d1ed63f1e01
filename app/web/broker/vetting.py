"""Broker console: the vetting queue, where each piece of evidence is verified or rejected."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from app.domain.access import Permission
from app.errors import DomainError
from app.extensions import db
from app.models import VettingCheck
from app.services import vetting as vetting_service
from app.web.broker import bp
from app.web.context import requires
from app.web.helpers import attach_error
from app.web.provider.forms import DecisionForm


@bp.get("/vetting")
@requires(Permission.BROKER_AREA)
def vetting_queue():
    return render_template("broker/vetting_queue.html", checks=vetting_service.queue(),
                           title="Vetting queue")


@bp.route("/vetting/<int:check_id>", methods=["GET", "POST"])
@requires(Permission.BROKER_AREA)
def vetting_check(check_id: int):
    check = db.session.get(VettingCheck, check_id)
    if check is None:
        abort(404)
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            vetting_service.decide(current_user, check.id, approve=form.decision.data == "verify",
                                   reason=form.reason.data or "")
        except DomainError as err:
            attach_error(form, err, default_field="decision")
        else:
            flash(f"Recorded for {check.profile.display_name}.", "success")
            return redirect(url_for("broker.vetting_queue"))
    return render_template("broker/vetting_check.html", check=check, form=form,
                           items=vetting_service.checklist_for(check.profile),
                           others=vetting_service.checks_of(check.profile),
                           title=f"Check evidence from {check.profile.display_name}")
