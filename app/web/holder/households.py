"""Household pages (holder side and broker) and the private home address of holders and providers."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.domain.access import Permission, Role
from app.errors import DomainError
from app.services import households
from app.web.auth.account import bp as account_bp
from app.web.broker import bp as broker_bp
from app.web.context import acting, requires
from app.web.helpers import attach_error
from app.web.holder import bp as holder_bp
from app.web.holder.household_forms import AgreementForm, HomeAddressForm, HouseholdMemberForm


def _member_form(holder_id: int) -> HouseholdMemberForm:
    form = HouseholdMemberForm()
    form.provider.choices = [("", "No")] + [
        (str(p.id), p.display_name) for p in households.providers_known_to(holder_id)]
    return form


def _add(form: HouseholdMemberForm, holder_id: int) -> bool:
    if not form.validate_on_submit():
        return False
    raw = form.provider.data or ""
    try:
        households.add_member(current_user, holder_id, name=form.name.data or "",
                              relation=form.relation.data,
                              lives_with_holder=form.lives_with_holder.data == "yes",
                              provider_profile_id=int(raw) if raw.isdigit() else None)
    except DomainError as err:
        attach_error(form, err)
        return False
    flash(f"{form.name.data} is recorded as part of the household.", "success")
    return True


@holder_bp.route("/household", methods=["GET", "POST"])
@requires(Permission.HOLDER_SPEND)
def household():
    holder = acting().holder
    form = _member_form(holder.id)
    if request.method == "POST" and _add(form, holder.id):
        return redirect(url_for("holder.household"))
    return render_template("households/holder.html", holder=holder, form=form,
                           members=households.members_of(current_user, holder.id),
                           title="Who lives with you")


@holder_bp.post("/household/<int:member_id>/remove")
@requires(Permission.HOLDER_SPEND)
def household_remove(member_id: int):
    try:
        households.remove_member(current_user, member_id)
    except DomainError as err:
        flash(str(err), "error")
    return redirect(url_for("holder.household"))


@broker_bp.route("/holders/<int:holder_id>/household", methods=["GET", "POST"])
@requires(Permission.BROKER_AREA)
def holder_household(holder_id: int):
    members = households.members_of(current_user, holder_id)  # NotFound for a non-holder
    form = _member_form(holder_id)
    if request.method == "POST" and _add(form, holder_id):
        return redirect(url_for("broker.holder_household", holder_id=holder_id))
    return render_template("households/broker.html", holder_id=holder_id, members=members,
                           form=form, agreement_form=AgreementForm(),
                           title="Household")


@broker_bp.post("/household/<int:member_id>/agreement")
@requires(Permission.BROKER_AREA)
def household_agreement(member_id: int):
    form = AgreementForm()
    try:
        member = households.record_agreement(current_user, member_id, note=form.note.data or "")
    except DomainError as err:
        flash(str(err), "error")
        return redirect(request.referrer or url_for("broker.holders"))
    flash(f"The council's agreement to pay {member.name} is recorded.", "success")
    return redirect(url_for("broker.holder_household", holder_id=member.holder_id))


@account_bp.route("/home-address", methods=["GET", "POST"])
@requires(Permission.SIGNED_IN)
def home_address():
    """A provider's own address (for the same-household check). Budget holders, and people
    acting for them, have one address page, /my/address, which also tells their providers
    where to go: the old address here leads there."""
    if current_user.role_enum is not Role.PROVIDER:
        return redirect(url_for("holder.address"), code=301 if request.method == "GET" else 307)
    form = HomeAddressForm()
    current = households.address_of(current_user)
    if request.method == "GET" and current is not None:
        form.line1.data, form.line2.data, form.town.data = current.line1, current.line2, current.town
        form.postcode.data, form.phone.data = current.postcode, current.phone
    if form.validate_on_submit():
        try:
            households.save_address(current_user, line1=form.line1.data or "",
                                    line2=form.line2.data or "", town=form.town.data or "",
                                    postcode=form.postcode.data or "", phone=form.phone.data or "")
        except DomainError as err:
            attach_error(form, err)
        else:
            flash("Your home address is saved. It stays private: it is never shown on "
                  "Carefair.", "success")
            return redirect(url_for("account.home_address"))
    return render_template("households/home_address.html", form=form,
                           title="Your home address (private)")
