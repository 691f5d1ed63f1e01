"""The budget holder's area, used by the holder or by someone acting for them."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from app import links
from app.domain.access import DelegateKind, Permission, Share
from app.errors import DomainError, NotFound
from app.services import delegation as delegation_service
from app.services import notify, whats_next
from app.web.context import acting, requires
from app.web.forms import InviteDelegateForm, RevokeForm
from app.web.helpers import attach_error

bp = Blueprint("holder", __name__, url_prefix="/my")


@bp.get("/")
@requires(Permission.HOLDER_VIEW_DASHBOARD)
def dashboard():
    ctx = acting()
    return render_template("holder/dashboard.html", title=f"{ctx.holder.name}'s home"
                           if ctx.on_behalf else "Your home",
                           next=whats_next.for_holder(ctx.holder))


@bp.get("/people")
@requires(Permission.HOLDER_VIEW_DASHBOARD)
def delegates():
    ctx = acting()
    return render_template("holder/delegates.html",
                           delegations=delegation_service.delegations_visible_to(current_user, ctx.grant),
                           revoke_form=RevokeForm(), title="People who help",
                           undo_until=lambda d: delegation_service.undo_deadline(d, current_user))


@bp.route("/people/invite", methods=["GET", "POST"])
@requires(Permission.HOLDER_MANAGE_DELEGATES)
def delegate_invite():
    ctx = acting()
    form = InviteDelegateForm()
    if form.validate_on_submit():
        try:
            delegation, token = delegation_service.invite(
                current_user, ctx.holder.id, form.email.data, DelegateKind(form.kind.data),
                {Share(s) for s in form.shares.data or []},
            )
        except DomainError as err:
            attach_error(form, err)
        else:
            link = links.external("account.invitation", token=token)
            notify.delegation_invited(delegation.invited_email, ctx.holder,
                                      delegation.kind_enum.label, link)
            flash(f"Invitation sent to {delegation.invited_email}.", "success")
            return redirect(url_for("holder.delegates"))
    return render_template("holder/delegate_invite.html", form=form, title="Invite someone to help")


@bp.get("/people/<int:delegation_id>/remove")
@requires(Permission.HOLDER_VIEW_DASHBOARD)
def delegate_remove_confirm(delegation_id: int):
    """Are you sure? Removing someone (or stepping down) is asked before it is done."""
    ctx = acting()
    delegation = next((d for d in delegation_service.delegations_visible_to(current_user, ctx.grant)
                       if d.id == delegation_id and d.status != "revoked"), None)
    if delegation is None:
        raise NotFound("We could not find that person.")
    stepping_down = delegation.delegate_id == current_user.id
    who = delegation.delegate.name if delegation.delegate else delegation.invited_email
    title = f"Stop acting for {delegation.holder.name}?" if stepping_down else f"Remove {who}?"
    return render_template("holder/delegate_remove.html", delegation=delegation,
                           stepping_down=stepping_down, form=RevokeForm(), title=title)


@bp.post("/people/<int:delegation_id>/revoke")
@requires(Permission.HOLDER_VIEW_DASHBOARD)
def delegate_revoke(delegation_id: int):
    """Holders and authorised people remove helpers; a helper may also step down themselves.
    The service decides who may, so the permission here is only 'in this holder's area'."""
    form = RevokeForm()
    if form.validate_on_submit():
        try:
            delegation = delegation_service.revoke(current_user, delegation_id,
                                                   reason=form.reason.data or "")
        except DomainError as err:
            flash(err.message, "error")
        else:
            flash(f"{delegation.invited_email} can no longer act for "
                  f"{delegation.holder.name}."
                  + (" If that was a mistake, choose Undo beside them within 10 minutes."
                     if delegation_service.undo_deadline(delegation, current_user) else ""),
                  "success")
    elif form.is_submitted():
        problem = form.input_refusal() or "We could not remove them. Please try again."
        flash(problem, "error")
    return redirect(url_for("holder.delegates"))


@bp.post("/people/<int:delegation_id>/restore")
@requires(Permission.HOLDER_VIEW_DASHBOARD)
def delegate_restore(delegation_id: int):
    """Undo a removal within ten minutes (the service checks who and when)."""
    form = RevokeForm()
    if form.validate_on_submit():
        try:
            delegation = delegation_service.restore(current_user, delegation_id)
        except DomainError as err:
            flash(err.message, "error")
        else:
            flash(f"{delegation.invited_email} can act for {delegation.holder.name} again, "
                  "as before.", "success")
    return redirect(url_for("holder.delegates"))
