"""The broker console: budget holders, authorised people, and later vetting, approvals and flags."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app import links
from app.domain.access import LegalBasis, Permission, Role
from app.errors import DomainError
from app.extensions import db
from app.models import User
from app.services import budgets, notify
from app.services import concerns as concern_service
from app.services import delegation as delegation_service
from app.web.budget_views import budget_page_context
from app.web.context import requires
from app.web.forms import AuthorisedPersonForm, RevokeForm
from app.web.helpers import attach_error, without_hidden_characters

bp = Blueprint("broker", __name__, url_prefix="/broker")


def _holder_or_404(holder_id: int) -> User:
    holder = db.session.get(User, holder_id)
    if holder is None or holder.role_enum is not Role.HOLDER:
        abort(404)
    return holder


@bp.get("/")
@requires(Permission.BROKER_AREA)
def dashboard():
    from app.domain.flags import FlagStatus
    from app.services import bookings, budgets, card_payments, flags, ratings, vetting

    # What waits in each queue, so a broker sees at a glance where people are waiting on them.
    waiting = {
        "vetting": len(vetting.queue()),
        "bookings": len(bookings.approval_queue()) + len(bookings.disputes())
        + len(bookings.cosign_queue()),
        "plans": len(budgets.proposals_waiting()),
        "concerns": concern_service.open_count(),
        "flags": flags.flags_matching(FlagStatus.OPEN, None)[1],
        "reviews": len(ratings.open_reports()),
        "payouts": len(card_payments.waiting_payouts()) + len(card_payments.waiting_takebacks()),
    }
    return render_template("broker/dashboard.html", waiting=waiting, title="Broker console")


@bp.get("/holders")
@requires(Permission.BROKER_AREA)
def holders():
    query = without_hidden_characters(request.args.get("q") or "")[:100]
    return render_template("broker/holders.html", holders=delegation_service.holders_matching(query),
                           query=query, title="Budget holders")


@bp.get("/holders/<int:holder_id>")
@requires(Permission.BROKER_AREA)
def holder(holder_id: int):
    person = _holder_or_404(holder_id)
    current = budgets.current_budget(person.id)
    money = budget_page_context(current, staff=True) if current is not None else {}
    return render_template("broker/holder.html", holder=person,
                           delegations=delegation_service.delegations_of(person.id),
                           revoke_form=RevokeForm(), title=person.name, has_budget=bool(money),
                           undo_until=lambda d: delegation_service.undo_deadline(d, current_user),
                           providers_used=concern_service.providers_of_holder(person.id),
                           **money)


@bp.route("/holders/<int:holder_id>/authorised-person", methods=["GET", "POST"])
@requires(Permission.BROKER_AREA)
def authorised_person(holder_id: int):
    person = _holder_or_404(holder_id)
    form = AuthorisedPersonForm()
    if form.validate_on_submit():
        try:
            delegation, token = delegation_service.record_authorised_person(
                current_user, person.id, form.email.data, form.name.data,
                LegalBasis(form.legal_basis.data), form.review_date.data, form.notes.data or "",
            )
        except DomainError as err:
            attach_error(form, err)
        else:
            link = links.external("auth.reset_password", token=token) if token else None
            notify.authorised_person_recorded(delegation.delegate, person, link)
            flash(f"{delegation.delegate.name} is now the authorised person for {person.name}.", "success")
            return redirect(url_for("broker.holder", holder_id=person.id))
    return render_template("broker/authorised_person.html", form=form, holder=person,
                           title=f"Record an authorised person for {person.name}")


def _delegation_or_404(delegation_id: int):
    from app.models import Delegation

    delegation = db.session.get(Delegation, delegation_id)
    if delegation is None:
        abort(404)
    return delegation


@bp.get("/delegations/<int:delegation_id>/remove")
@requires(Permission.BROKER_AREA)
def revoke_confirm(delegation_id: int):
    """Are you sure? Removing someone who acts for a holder is asked before it is done."""
    delegation = _delegation_or_404(delegation_id)
    if delegation.status == "revoked":
        flash("They were already removed.", "error")
        return redirect(url_for("broker.holder", holder_id=delegation.holder_id))
    who = delegation.delegate.name if delegation.delegate else delegation.invited_email
    return render_template("broker/delegation_remove.html", delegation=delegation,
                           form=RevokeForm(), who=who,
                           title=f"Remove {who} from acting for {delegation.holder.name}?")


@bp.post("/delegations/<int:delegation_id>/restore")
@requires(Permission.BROKER_AREA)
def restore(delegation_id: int):
    """Undo a removal within ten minutes (the service checks who and when)."""
    delegation = _delegation_or_404(delegation_id)
    form = RevokeForm()
    if form.validate_on_submit():
        try:
            delegation_service.restore(current_user, delegation_id)
        except DomainError as err:
            flash(err.message, "error")
        else:
            flash(f"{delegation.invited_email} can act for {delegation.holder.name} again, "
                  "as before.", "success")
    return redirect(url_for("broker.holder", holder_id=delegation.holder_id))


@bp.post("/delegations/<int:delegation_id>/revoke")
@requires(Permission.BROKER_AREA)
def revoke(delegation_id: int):
    form = RevokeForm()
    holder_id = None
    if form.validate_on_submit():
        try:
            delegation = delegation_service.revoke(current_user, delegation_id, reason=form.reason.data or "")
        except DomainError as err:
            flash(err.message, "error")
        else:
            holder_id = delegation.holder_id
            flash(f"{delegation.invited_email} can no longer act for {delegation.holder.name}."
                  + (" If that was a mistake, choose Undo beside them within 10 minutes."
                     if delegation_service.undo_deadline(delegation, current_user) else ""),
                  "success")
    if holder_id is None:
        return redirect(url_for("broker.holders"))
    return redirect(url_for("broker.holder", holder_id=holder_id))
