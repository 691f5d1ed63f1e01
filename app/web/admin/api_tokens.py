"""Council admin: API tokens for council systems (create with scopes and an expiry, shown once; revoke)."""

from __future__ import annotations

from datetime import date

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput, GovTextInput
from wtforms import SelectMultipleField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from app.domain.access import Permission
from app.errors import DomainError
from app.services import api_tokens
from app.web.admin import bp
from app.web.context import requires
from app.web.form_base import PlainForm
from app.web.forms import GovDateField
from app.web.helpers import attach_error
from app.web.widgets import GovCheckboxesInput


class ApiTokenForm(PlainForm):
    name = StringField("Name", widget=GovTextInput(),
                       description="Which council system will use it, for example Finance system",
                       validators=[DataRequired(message="Enter a name that says which system will use the token"),
                                   Length(max=api_tokens.MAX_NAME,
                                          message=f"Enter a name of {api_tokens.MAX_NAME} characters or fewer")])
    scopes = SelectMultipleField("What the token may do", widget=GovCheckboxesInput(),
                                 choices=[(k, f"{v} ({k})") for k, v in api_tokens.SCOPES.items()],
                                 validators=[DataRequired(message="Choose at least one thing the token may do")])
    expires_on = GovDateField("Expires on", description="For example, 31 3 2027. At most a year from today.",
                              validators=[DataRequired(message="Enter the date the token expires, like 31 3 2027")])
    submit = SubmitField("Create token", widget=GovSubmitInput())


class RevokeForm(PlainForm):
    submit = SubmitField("Revoke", widget=GovSubmitInput())


@bp.route("/api-tokens", methods=["GET", "POST"])
@requires(Permission.ADMIN_AREA)
def api_tokens_page():
    form = ApiTokenForm()
    if form.validate_on_submit():
        try:
            created = api_tokens.create(current_user, form.name.data, form.scopes.data or [], form.expires_on.data)
        except DomainError as err:
            attach_error(form, err)
        else:
            # The secret is in this one response only: never stored, never shown again.
            response = render_template("admin/api_token_created.html", token=created.token,
                                       secret=created.secret, title="API token created")
            return response, 201, {"Cache-Control": "no-store"}
    return render_template("admin/api_tokens.html", form=form, tokens=api_tokens.all_tokens(),
                           scopes=api_tokens.SCOPES, today=date.today(),
                           title="API tokens")


@bp.get("/api-tokens/<int:token_id>/revoke")
@requires(Permission.ADMIN_AREA)
def revoke_api_token_confirm(token_id: int):
    """Are you sure? A revoked token stops working at once and cannot be brought back."""
    token = api_tokens.get_token(token_id)
    if token.revoked_at is not None:
        flash(f"The token {token.name} is already revoked.", "error")
        return redirect(url_for("admin.api_tokens_page"))
    return render_template("admin/api_token_revoke.html", token=token, form=RevokeForm(),
                           scopes=api_tokens.SCOPES, title=f"Revoke the token {token.name}?")


@bp.post("/api-tokens/<int:token_id>/revoke")
@requires(Permission.ADMIN_AREA)
def revoke_api_token(token_id: int):
    form = RevokeForm()
    if form.validate_on_submit():
        try:
            token = api_tokens.revoke(current_user, token_id)
        except DomainError as err:
            flash(err.message, "error")
        else:
            flash(f"The token {token.name} is revoked: it no longer works.", "success")
    return redirect(url_for("admin.api_tokens_page"))
