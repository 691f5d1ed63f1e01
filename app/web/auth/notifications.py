"""The inbox (for each user and each person they act for) and each user's email choices."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput
from wtforms import RadioField, SubmitField
from wtforms.validators import DataRequired

from app.domain.access import Permission
from app.domain.notifications import Category, Delivery, allowed_deliveries
from app.errors import DomainError
from app.services import delegation as delegation_service
from app.services import notify, outbox
from app.web.context import requires, set_acting_for
from app.web.form_base import PlainForm
from app.web.helpers import attach_error, back_or, parse_int
from app.web.widgets import GovRadioInput

bp = Blueprint("notifications", __name__)

PER_PAGE = 25


@bp.record_once
def _deliver_after_each_context(state) -> None:
    """Emails whose transaction committed go out when the request or CLI command ends.

    Registered after Flask-SQLAlchemy's own teardown, so (teardowns run in reverse) it runs
    while the session is still there. Never raises.
    """
    app = state.app

    @app.teardown_appcontext
    def _deliver(_exc=None) -> None:
        if app.config.get("MAIL_SEND_AFTER_COMMIT", True):
            outbox.deliver_ready()


@bp.app_context_processor
def _unread_count() -> dict:
    def unread() -> int:
        return notify.unread_count(current_user) if current_user.is_authenticated else 0

    return {"unread_notifications": unread}


@bp.get("/inbox")
@requires(Permission.SIGNED_IN)
def inbox():
    holder_id = request.args.get("holder", type=int)
    page = parse_int(request.args.get("page"))
    items, total = notify.inbox(
        current_user, holder_id=holder_id, limit=PER_PAGE, offset=(page - 1) * PER_PAGE
    )
    return render_template(
        "notifications/inbox.html",
        items=items,
        total=total,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        holder_id=holder_id,
        holders=notify.holders_in_inbox(current_user),
        title="Inbox",
    )


@bp.get("/inbox/<int:notification_id>/open")
@requires(Permission.SIGNED_IN)
def open_item(notification_id: int):
    """Mark the item read, switch to the holder it is about (if the reader acts for them),
    and go to the thing it links to. Email links come here too."""
    item = notify.open_item(current_user, notification_id)
    if (
        item.about_holder_id is not None
        and delegation_service.grant_for(current_user, item.about_holder_id) is not None
    ):
        set_acting_for(item.about_holder_id)
    return redirect(item.link)


@bp.post("/inbox/<int:notification_id>/read")
@requires(Permission.SIGNED_IN)
def mark_read(notification_id: int):
    try:
        notify.mark_read(current_user, notification_id)
    except DomainError as err:
        flash(err.message, "error")
    return back_or(url_for(".inbox"))


@bp.post("/inbox/read-all")
@requires(Permission.SIGNED_IN)
def mark_all_read():
    count = notify.mark_all_read(current_user)
    flash(f"Marked {count} {'item' if count == 1 else 'items'} as read.", "success")
    return redirect(url_for(".inbox"))


def _preferences_form(categories: tuple[Category, ...], current: dict[Category, Delivery]):
    class PreferencesForm(PlainForm):
        submit = SubmitField("Save email choices", widget=GovSubmitInput())

    for category in categories:
        field = RadioField(
            category.label,
            widget=GovRadioInput(),
            description=category.hint,
            choices=[(d.value, d.label) for d in allowed_deliveries(category)],
            default=current[category].value,
            validators=[
                DataRequired(message=f"Select how you want {category.label.lower()} emails")
            ],
        )
        setattr(PreferencesForm, category.value, field)
    return PreferencesForm()


@bp.route("/account/email-preferences", methods=["GET", "POST"])
@requires(Permission.SIGNED_IN)
def preferences():
    categories = notify.categories_for(current_user)
    form = _preferences_form(categories, notify.preferences(current_user))
    if form.validate_on_submit():
        try:
            notify.set_preferences(
                current_user, {c: Delivery(getattr(form, c.value).data) for c in categories}
            )
        except DomainError as err:
            attach_error(form, err)
        else:
            flash("Your email choices have been saved.", "success")
            return redirect(url_for(".preferences"))
    return render_template(
        "notifications/preferences.html",
        form=form,
        categories=categories,
        locked=[c for c in categories if not c.can_switch_off],
        title="Email choices",
    )
