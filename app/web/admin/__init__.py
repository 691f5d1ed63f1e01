"""Council admin: staff accounts and the audit log (budgets, settings and exports come later)."""

from __future__ import annotations

import math

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app import links
from app.domain.access import Permission, Role
from app.domain.audit_text import action_label, readable_details
from app.errors import DomainError
from app.extensions import db
from app.models import User
from app.services import accounts, audit, notify
from app.web.context import requires
from app.web.forms import AuditFilterForm, StaffForm
from app.web.helpers import attach_error, parse_int

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
@requires(Permission.ADMIN_AREA)
def dashboard():
    return render_template("admin/dashboard.html", title="Council admin")


@bp.route("/staff", methods=["GET", "POST"])
@requires(Permission.ADMIN_AREA)
def staff():
    form = StaffForm()
    if form.validate_on_submit():
        try:
            user = accounts.create_staff(form.email.data, form.name.data, Role(form.role.data), None,
                                         actor=current_user)
        except DomainError as err:
            attach_error(form, err)
        else:
            token = accounts.make_welcome_token(user)
            notify.staff_welcome(user, links.external("auth.reset_password", token=token))
            flash(f"Account created for {user.email}. They have been emailed a link to set a password.",
                  "success")
            return redirect(url_for("admin.staff"))
    people = db.session.scalars(
        select(User).where(User.role.in_([Role.BROKER.value, Role.COUNCIL_ADMIN.value])).order_by(User.name)
    ).all()
    return render_template("admin/staff.html", form=form, people=people, title="Staff accounts")


@bp.get("/staff/<int:user_id>/deactivate")
@requires(Permission.ADMIN_AREA)
def deactivate_staff_confirm(user_id: int):
    """Are you sure? Closing a staff account signs them out everywhere: asked before it is done."""
    user = accounts.staff_member(user_id)
    if not user.active:
        flash(f"{user.name}'s account is already closed.", "error")
        return redirect(url_for("admin.staff"))
    return render_template("admin/staff_close.html", person=user,
                           title=f"Close {user.name}'s account?")


@bp.post("/staff/<int:user_id>/deactivate")
@requires(Permission.ADMIN_AREA)
def deactivate_staff(user_id: int):
    try:
        user = accounts.deactivate(user_id, actor=current_user)
    except DomainError as err:
        flash(str(err), "error")
    else:
        flash(f"{user.name}'s account is closed and they have been signed out everywhere.",
              "success")
    return redirect(url_for("admin.staff"))


@bp.get("/audit")
@requires(Permission.ADMIN_AREA)
def audit_log():
    form = AuditFilterForm(request.args)
    filters = audit.AuditFilter()
    if request.args and form.validate():
        filters = audit.AuditFilter(
            action=form.action.data or None, actor_email=form.actor_email.data or None,
            subject_type=form.subject_type.data or None, subject_id=form.subject_id.data or None,
            on_or_after=form.on_or_after.data, on_or_before=form.on_or_before.data,
        )
    page = parse_int(request.args.get("page"))
    events, total = audit.search(filters, page=page)
    pages = max(1, math.ceil(total / 50))
    if page > pages:
        # A page past the end (an old link, a typed number) shows the last page, not "page 9999".
        page = pages
        events, total = audit.search(filters, page=page)
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("admin/audit.html", form=form, events=events, total=total, page=page,
                           pages=pages, args=args, title="Audit log")


@bp.app_template_filter("audit_action")
def audit_action(action: str) -> str:
    return action_label(action)


@bp.app_template_filter("audit_details")
def audit_details(details: dict | None) -> list[tuple[str, str]]:
    return readable_details(details)
