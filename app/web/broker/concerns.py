"""Broker console: concerns raised about providers, and their triage (refer or close, lift)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.domain.access import Permission
from app.domain.concerns import ConcernStatus
from app.errors import DomainError
from app.services import concerns as concern_service
from app.services import restrictions
from app.web.broker import bp
from app.web.context import requires
from app.web.helpers import attach_error
from app.web.public.concern_forms import TriageForm


@bp.get("/concerns")
@requires(Permission.BROKER_AREA)
def concerns():
    raw = request.args.get("status", "open")
    status = None if raw == "all" else (ConcernStatus(raw) if raw in ConcernStatus._value2member_map_
                                        else ConcernStatus.OPEN)
    return render_template("concerns/broker_list.html",
                           concerns=concern_service.concerns_for_broker(current_user, status),
                           status=status, title="Concerns")


def _page(concern, form):
    return render_template("concerns/broker_detail.html", concern=concern, form=form,
                           others=concern_service.others_about(concern),
                           restriction=restrictions.restriction_of(concern.provider_profile_id),
                           title=f"Concern {concern.reference}")


@bp.get("/concerns/<int:concern_id>")
@requires(Permission.BROKER_AREA)
def concern(concern_id: int):
    return _page(concern_service.concern_for_broker(current_user, concern_id), TriageForm())


@bp.post("/concerns/<int:concern_id>/triage")
@requires(Permission.BROKER_AREA)
def triage_concern(concern_id: int):
    concern = concern_service.concern_for_broker(current_user, concern_id)
    form = TriageForm()
    if form.validate_on_submit():
        try:
            concern_service.triage(current_user, concern.id, decision=form.decision.data,
                                   reason=form.reason.data or "", lift=bool(form.lift.data))
        except DomainError as err:
            attach_error(form, err)
        else:
            flash(f"Concern {concern.reference}: "
                  f"{concern.status_enum.label.lower()}. The reporter has been told.", "success")
            return redirect(url_for("broker.concern", concern_id=concern.id))
    return _page(concern, form), 400
