"""Signed-in pages about the user themselves: the dashboard, choosing whom to act for, invitations."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.domain.access import Permission, Role
from app.errors import DomainError, NotPermitted
from app.services import delegation as delegation_service
from app.web.context import acting, requires, set_acting_for
from app.web.helpers import parse_int

bp = Blueprint("account", __name__)

_ROLE_HOME = {
    Role.PROVIDER: "provider.dashboard",
    Role.BROKER: "broker.dashboard",
    Role.COUNCIL_ADMIN: "admin.dashboard",
}


@bp.get("/dashboard")
@requires(Permission.SIGNED_IN)
def dashboard():
    """Send each person to their own home: their role's console, or the holder they act for."""
    role = current_user.role_enum
    ctx = acting()
    if ctx.grant is not None and (role in (Role.HOLDER, Role.SUPPORTER) or ctx.on_behalf):
        return redirect(url_for("holder.dashboard"))
    if role in _ROLE_HOME:
        return redirect(url_for(_ROLE_HOME[role]))
    return redirect(url_for("account.acting_for"))


@bp.route("/acting-for", methods=["GET", "POST"])
@requires(Permission.SIGNED_IN)
def acting_for():
    options = delegation_service.holders_for(current_user)
    if request.method == "POST":
        holder_id = parse_int(request.form.get("holder_id"), default=0, minimum=0, maximum=2**31)
        chosen = next((o for o in options if o.holder.id == holder_id), None)
        if chosen is None:
            flash("Choose one of the people listed.", "error")
        else:
            set_acting_for(chosen.holder.id)
            flash(f"You are now acting for {chosen.holder.name}." if chosen.holder.id != current_user.id
                  else "You are now using your own account.", "success")
            return redirect(url_for("holder.dashboard"))
    return render_template("account/acting_for.html", options=options, title="Choose whose account to use")


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@requires(Permission.SIGNED_IN)
def invitation(token: str):
    try:
        delegation = delegation_service.invitation(token)
    except DomainError as err:
        return render_template("errors/generic.html", title="Invitation not valid", message=err.message), 404
    if request.method == "POST":
        try:
            accepted = delegation_service.accept(current_user, token)
        except NotPermitted as err:
            flash(err.message, "error")
        else:
            set_acting_for(accepted.holder_id)
            flash(f"You can now help {accepted.holder.name}.", "success")
            return redirect(url_for("holder.dashboard"))
    return render_template("account/invitation.html", delegation=delegation, title="Accept invitation")
