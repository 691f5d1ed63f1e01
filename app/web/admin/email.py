"""Council admin: emails that could not be sent, and trying them again."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from app.domain.access import Permission
from app.domain.notifications import MAX_ATTEMPTS
from app.errors import DomainError
from app.services import outbox
from app.web.admin import bp
from app.web.context import requires


@bp.get("/email")
@requires(Permission.ADMIN_AREA)
def email_problems():
    return render_template(
        "admin/email_problems.html",
        problems=outbox.problems(),
        counts=outbox.counts(),
        max_attempts=MAX_ATTEMPTS,
        title="Emails not sent",
    )


@bp.post("/email/<int:outbound_id>/retry")
@requires(Permission.ADMIN_AREA)
def email_retry(outbound_id: int):
    try:
        outbox.retry_now(current_user, outbound_id)
    except DomainError as err:
        flash(err.message, "error")
    else:
        flash("We will try to send that email again now.", "success")
    return redirect(url_for("admin.email_problems"))
