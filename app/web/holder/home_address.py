"""The holder's home address page, and the provider's view of it for an accepted home visit."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput, GovTextInput
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional

from app.domain.access import Permission
from app.errors import DomainError
from app.services import bookings, home_address
from app.web.context import acting, requires
from app.web.form_base import PlainForm
from app.web.helpers import attach_error
from app.web.holder import bp as holder_bp
from app.web.provider import bp as provider_bp


class AddressForm(PlainForm):
    # The three required parts are checked here too, so every missing one is named at once
    # (the service, which checks them again, stops at the first).
    line1 = StringField("Address line 1", widget=GovTextInput(),
                        validators=[DataRequired(message="Enter the first line of the address"),
                                    Length(max=120)])
    line2 = StringField("Address line 2 (optional)", widget=GovTextInput(),
                        validators=[Optional(), Length(max=120)])
    town = StringField("Town or city", widget=GovTextInput(),
                       validators=[DataRequired(message="Enter the town or city"),
                                   Length(max=80)])
    postcode = StringField("Postcode", widget=GovTextInput(),
                           validators=[DataRequired(message="Enter a full postcode, like SY1 1AA"),
                                       Length(max=10)])
    phone = StringField("Phone number (optional)", widget=GovTextInput(),
                        description="For the provider to ring if they are running late",
                        validators=[Optional(), Length(max=30)])
    submit = SubmitField("Save the address", widget=GovSubmitInput())


@holder_bp.route("/address", methods=["GET", "POST"])
@requires(Permission.HOLDER_SPEND)
def address():
    ctx = acting()
    form = AddressForm()
    if form.validate_on_submit():
        try:
            home_address.save(ctx.user, ctx.holder.id, home_address.AddressInput(
                form.line1.data or "", form.line2.data or "", form.town.data or "",
                form.postcode.data or "", form.phone.data or ""))
        except DomainError as err:
            attach_error(form, err)
        else:
            flash("The address is saved.", "success")
            return redirect(url_for("holder.dashboard"))
    elif not form.is_submitted():
        saved = home_address.address_of(ctx.user, ctx.holder.id)
        if saved is not None:
            form.process(data={"line1": saved.line1, "line2": saved.line2, "town": saved.town,
                               "postcode": saved.postcode, "phone": saved.phone})
    whose = f"{ctx.holder.name}'s" if ctx.on_behalf else "Your"
    return render_template("journeys/address.html", form=form, title=f"{whose} home address")


@provider_bp.get("/bookings/<int:booking_id>/address")
@requires(Permission.PROVIDER_AREA)
def booking_address(booking_id: int):
    booking = bookings.booking_for_provider(current_user, booking_id)
    try:
        found = home_address.reveal_to_provider(current_user, booking.id)
    except DomainError as err:
        flash(err.message, "error")
        return redirect(url_for("provider.booking_detail", booking_id=booking.id))
    return render_template("journeys/provider_address.html", booking=booking, address=found,
                           title="Where to go")
