"""Provider area: the profile form, photo upload and weekly availability with dates away."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.domain.access import Permission
from app.domain.listings import Slot, format_slots, parse_slots
from app.errors import DomainError, InvalidInput, NotFound
from app.services import council_settings, providers
from app.web.context import requires
from app.web.helpers import attach_error
from app.web.provider import bp
from app.web.provider.forms import AvailabilityForm, AwayForm, PhotoForm, ProfileForm
from app.web.request_limits import upload_limit


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _fill(form: ProfileForm, existing) -> None:
    form.provider_type.data = existing.provider_type
    form.display_name.data = existing.display_name
    form.about.data = existing.about
    form.districts.data = ", ".join(existing.district_codes)
    form.specialisms.data = list(existing.specialisms)
    form.languages.data = ", ".join(existing.languages)
    form.gender.data = existing.gender or ""
    form.venue_accessibility.data = existing.venue_accessibility


@bp.route("/profile", methods=["GET", "POST"])
@requires(Permission.PROVIDER_AREA)
def profile():
    existing = providers.profile_of(current_user)
    form = ProfileForm()
    if request.method == "GET" and existing is not None:
        _fill(form, existing)
    elif request.method == "GET":
        form.display_name.data = current_user.name
    if form.validate_on_submit():
        try:
            providers.save_profile(current_user, providers.ProfileInput(
                provider_type=form.provider_type.data, display_name=form.display_name.data,
                about=form.about.data or "", languages=_split(form.languages.data),
                gender=form.gender.data, specialisms=form.specialisms.data or [],
                districts=form.districts.data or "",
                venue_accessibility=form.venue_accessibility.data or ""))
        except DomainError as err:
            attach_error(form, err)
        else:
            flash("Your profile is saved.", "success")
            return redirect(url_for("provider.profile"))
    return render_template("provider/profile.html", form=form, profile=existing,
                           photo_form=PhotoForm(formdata=None),
                           title="Your profile")


def _photo_request_limit() -> int:
    # Room for the form around the photo; the service gives the friendly size error for a
    # photo just over the limit, and anything far larger is refused (413) unread.
    return int(council_settings.current().photo_max_bytes) * 3 // 2 + 64 * 1024


@bp.post("/profile/photo")
@upload_limit(_photo_request_limit)
@requires(Permission.PROVIDER_AREA)
def photo():
    existing = providers.profile_of(current_user)
    photo_form = PhotoForm()
    if photo_form.validate_on_submit():
        upload = photo_form.photo.data
        try:
            if existing is None:
                raise NotFound("Save your profile before adding a photo.")
            providers.save_photo(current_user, upload.read() if upload else b"")
        except DomainError as err:
            attach_error(photo_form, err)
        else:
            flash("Your photo is saved.", "success")
            return redirect(url_for("provider.profile"))
    form = ProfileForm(formdata=None)
    if existing is not None:
        _fill(form, existing)
    return render_template("provider/profile.html", form=form, profile=existing,
                           photo_form=photo_form, title="Your profile"), 400


@bp.route("/availability", methods=["GET", "POST"])
@requires(Permission.PROVIDER_AREA)
def availability():
    existing = providers.profile_of(current_user)
    form = AvailabilityForm()
    if request.method == "GET" and existing is not None:
        form.slots.data = format_slots([Slot(s.weekday, s.start_time, s.end_time)
                                        for s in existing.slots])
    if existing is not None and form.validate_on_submit():
        try:
            try:
                slots = parse_slots(form.slots.data or "")
            except ValueError as err:
                raise InvalidInput(str(err), field="slots") from err
            if not slots and existing.slots and request.form.get("confirm_clear") != "yes":
                # An emptied box is easy to save by mistake and wipes every weekly time: ask
                # first, with a plain form so it works without JavaScript.
                return render_template("provider/availability_clear.html", profile=existing,
                                       title="Remove all your weekly times?")
            providers.set_availability(current_user, slots)
        except DomainError as err:
            attach_error(form, err)
        else:
            flash("Your availability is saved." if slots else
                  "Your weekly times are removed. You decide on each request.", "success")
            return redirect(url_for("provider.availability"))
    return render_template("provider/availability.html", form=form, away_form=AwayForm(formdata=None),
                           profile=existing, title="Your availability")


@bp.post("/availability/away")
@requires(Permission.PROVIDER_AREA)
def add_away():
    existing = providers.profile_of(current_user)
    away_form = AwayForm()
    if existing is not None and away_form.validate_on_submit():
        try:
            providers.add_exception(current_user, away_form.starts_on.data, away_form.ends_on.data,
                                    away_form.reason.data or "")
        except DomainError as err:
            attach_error(away_form, err)
        else:
            flash("Your dates away are saved.", "success")
            return redirect(url_for("provider.availability"))
    form = AvailabilityForm(formdata=None)
    if existing is not None:
        form.slots.data = format_slots([Slot(s.weekday, s.start_time, s.end_time)
                                        for s in existing.slots])
    return render_template("provider/availability.html", form=form, away_form=away_form,
                           summary_form=away_form, profile=existing, title="Your availability"), 400


@bp.post("/availability/away/<int:exception_id>/remove")
@requires(Permission.PROVIDER_AREA)
def remove_away(exception_id: int):
    try:
        providers.remove_exception(current_user, exception_id)
    except DomainError as err:
        flash(err.message, "error")
    else:
        flash("Those dates are removed.", "success")
    return redirect(url_for("provider.availability"))
