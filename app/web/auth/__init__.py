"""Sign up, sign in, sign out, password change and reset."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from app import links
from app.domain.access import Permission, Role
from app.errors import DomainError
from app.extensions import limiter
from app.services import accounts, notify, sign_in_limits
from app.web.context import public, requires, set_acting_for
from app.web.forms import (
    ChangePasswordForm,
    FinishSignUpForm,
    ResetPasswordForm,
    ResetRequestForm,
    SignInForm,
    SignUpForm,
)
from app.web.helpers import attach_error, local_path

bp = Blueprint("auth", __name__)

SIGN_IN_FAILED = "Enter a correct email address and password. Both are case-sensitive except the email."


def _wait_words(seconds: int) -> str:
    minutes = -(-seconds // 60)
    return "a minute" if minutes <= 1 else f"{minutes} minutes"


@bp.route("/sign-in", methods=["GET", "POST"])
@public
def sign_in():
    if current_user.is_authenticated:
        return redirect(url_for("account.dashboard"))
    form = SignInForm()
    if form.validate_on_submit():
        # Counted per (email, address) pair, so nobody elsewhere can lock this person out
        # (app.services.sign_in_limits says how).
        address = request.remote_addr or "unknown"
        wait = sign_in_limits.wait_seconds(form.email.data, address)
        if wait:
            form.email.errors = [f"Too many attempts to sign in. Wait {_wait_words(wait)}, then "
                                 f"try again, or reset your password."]
            return render_template("auth/sign_in.html", form=form, title="Sign in"), 429
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is None:
            sign_in_limits.failed(form.email.data, address)
            form.email.errors = [SIGN_IN_FAILED]
        else:
            sign_in_limits.succeeded(form.email.data, address)
            login_user(user)
            set_acting_for(None)
            accounts.record_sign_in(user)
            return redirect(local_path(request.args.get("next")) or url_for("account.dashboard"))
    return render_template("auth/sign_in.html", form=form, title="Sign in")


@bp.route("/sign-up", methods=["GET", "POST"])
@public
@limiter.limit("20 per hour", methods=["POST"])
def sign_up():
    form = SignUpForm()
    if form.validate_on_submit():
        try:
            token, owner = accounts.start_sign_up(form.email.data, form.name.data,
                                                  Role(form.role.data),
                                                  home_district=form.home_district.data or "")
        except DomainError as err:
            attach_error(form, err)
        else:
            if owner is not None:
                notify.sign_up_existing(owner)
            elif token is not None:
                notify.sign_up_finish(accounts.normalise_email(form.email.data),
                                      links.external("auth.finish_sign_up", token=token))
            # The same answer whether or not the email has an account: no account enumeration.
            return render_template("auth/sign_up_sent.html", title="Check your email")
    return render_template("auth/sign_up.html", form=form, title="Create an account")


@bp.route("/sign-up/<token>", methods=["GET", "POST"])
@public
@limiter.limit("20 per hour", methods=["POST"])
def finish_sign_up(token: str):
    try:
        details = accounts.sign_up_details(token)
    except DomainError as err:
        return render_template("auth/sign_up_link_problem.html", problem=str(err),
                               title="There is a problem with the link"), 400
    form = FinishSignUpForm()
    if form.validate_on_submit():
        try:
            user = accounts.finish_sign_up(token, form.new_password.data)
        except DomainError as err:
            attach_error(form, err, default_field="new_password")
        else:
            login_user(user)
            set_acting_for(None)
            flash("Your account has been created.", "success")
            return redirect(url_for("account.dashboard"))
    return render_template("auth/sign_up_finish.html", form=form, email=details["email"],
                           title="Choose your password")


@bp.post("/sign-out")
@requires(Permission.SIGNED_IN)
def sign_out():
    accounts.sign_out(current_user)
    logout_user()
    set_acting_for(None)
    flash("You have signed out.", "success")
    return redirect(url_for("public.home"))


@bp.route("/account/password", methods=["GET", "POST"])
@requires(Permission.SIGNED_IN)
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(current_user, form.current_password.data, form.new_password.data)
        except DomainError as err:
            attach_error(form, err)
        else:
            # Every other session just ended; this one carries on under the new generation.
            login_user(current_user._get_current_object())
            flash("Your password has been changed. You have been signed out everywhere else.",
                  "success")
            return redirect(url_for("account.dashboard"))
    return render_template("auth/change_password.html", form=form, title="Change your password")


@bp.route("/reset-password", methods=["GET", "POST"])
@public
@limiter.limit("10 per hour", methods=["POST"])
def request_reset():
    form = ResetRequestForm()
    if form.validate_on_submit():
        found = accounts.request_password_reset(form.email.data)
        if found is not None:
            user, token = found
            notify.password_reset(user, links.external("auth.reset_password", token=token))
        # The same answer whether or not the account exists: no account enumeration.
        return render_template("auth/reset_sent.html", title="Check your email")
    return render_template("auth/reset_request.html", form=form, title="Reset your password")


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@public
@limiter.limit("20 per hour", methods=["POST"])
def reset_password(token: str):
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.reset_password(token, form.new_password.data)
        except DomainError as err:
            attach_error(form, err, default_field="new_password")
        else:
            flash("Your password has been set. You can now sign in.", "success")
            return redirect(url_for("auth.sign_in"))
    return render_template("auth/reset_password.html", form=form, title="Set a new password")
