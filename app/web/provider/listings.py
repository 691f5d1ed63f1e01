"""Provider area: listings (create, edit, withdraw) with pricing guidance, and the vetting checklist."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.domain.access import Permission
from app.domain.listings import PriceError, parse_pounds
from app.domain.money_format import format_pence
from app.domain.vetting import CheckKind
from app.errors import DomainError
from app.services import listings as listing_service
from app.services import providers, restrictions
from app.services import vetting as vetting_service
from app.web.context import requires
from app.web.helpers import attach_error
from app.web.provider import bp
from app.web.provider.forms import EvidenceForm, ListingForm


def _input(form: ListingForm) -> listing_service.ListingInput:
    return listing_service.ListingInput(
        category=form.category.data, title=form.title.data or "",
        description=form.description.data or "", price=form.price.data or "",
        price_unit=form.price_unit.data, minimum_units=form.minimum_units.data,
        travel_charge=form.travel_charge.data or "",
        cancellation_notice_hours=form.cancellation_notice_hours.data,
        cancellation_charge=form.cancellation_charge.data or "",
        funding_modes=form.funding_modes.data or [], published=bool(form.published.data),
        price_effective=form.price_effective.data,
        price_applies_to_existing=form.price_applies_to_existing.data != "no",
        bank_holiday_price=form.bank_holiday_price.data or "",
        meets_on_bank_holidays=bool(form.meets_on_bank_holidays.data))


def _guidance(profile, form: ListingForm):
    try:
        pence = parse_pounds(form.price.data) if form.price.data else None
    except PriceError:
        pence = None
    return listing_service.guidance(profile, form.category.data, form.price_unit.data, pence)


def _after_save(listing) -> None:
    advice = listing_service.guidance(listing.profile, listing.category, listing.price_unit,
                                      listing.price_pence)
    flash(f"“{listing.title}” is saved. " + (" ".join(advice.warnings) if advice else ""), "success")


@bp.get("/listings")
@requires(Permission.PROVIDER_AREA)
def listings():
    profile = providers.profile_of(current_user)
    # A broker's suspension hides listings whatever their vetting: say so rather than blame vetting.
    suspended = restrictions.listings_suspended(profile.id) if profile else False
    return render_template("provider/listings.html", profile=profile,
                           listings=listing_service.listings_of(profile) if profile else [],
                           suspended=suspended, title="Your listings")


@bp.route("/listings/new", methods=["GET", "POST"])
@requires(Permission.PROVIDER_AREA)
def new_listing():
    profile = providers.profile_of(current_user)
    form = ListingForm()
    if profile is not None and form.validate_on_submit():
        try:
            listing = listing_service.create_listing(current_user, _input(form))
        except DomainError as err:
            attach_error(form, err)
        else:
            _after_save(listing)
            return redirect(url_for("provider.listings"))
    return render_template("provider/listing_form.html", form=form, profile=profile, listing=None,
                           guidance=_guidance(profile, form) if profile else None,
                           title="Add a listing")


@bp.route("/listings/<int:listing_id>/edit", methods=["GET", "POST"])
@requires(Permission.PROVIDER_AREA)
def edit_listing(listing_id: int):
    listing = listing_service.listing_for(current_user, listing_id)  # NotFound if not theirs
    form = ListingForm()
    if request.method == "GET":
        form.category.data = listing.category
        form.title.data = listing.title
        form.description.data = listing.description
        form.price.data = format_pence(listing.price_pence).lstrip("£").replace(",", "")
        form.price_unit.data = listing.price_unit
        form.minimum_units.data = listing.minimum_units
        form.travel_charge.data = format_pence(listing.travel_charge_pence).lstrip("£")
        form.cancellation_notice_hours.data = listing.cancellation_notice_hours
        form.cancellation_charge.data = format_pence(listing.cancellation_charge_pence).lstrip("£")
        form.funding_modes.data = list(listing.funding_modes)
        form.published.data = listing.published
        if listing.bank_holiday_price_pence is not None:
            form.bank_holiday_price.data = format_pence(
                listing.bank_holiday_price_pence).lstrip("£").replace(",", "")
        form.meets_on_bank_holidays.data = listing.meets_on_bank_holidays
    if form.validate_on_submit():
        try:
            listing = listing_service.update_listing(current_user, listing.id, _input(form))
        except DomainError as err:
            attach_error(form, err)
        else:
            _after_save(listing)
            return redirect(url_for("provider.listings"))
    return render_template("provider/listing_form.html", form=form, profile=listing.profile,
                           listing=listing, guidance=_guidance(listing.profile, form),
                           price_history=listing_service.price_history(listing),
                           title=f"Change “{listing.title}”")


@bp.get("/vetting")
@requires(Permission.PROVIDER_AREA)
def vetting():
    profile = providers.profile_of(current_user)
    items = vetting_service.checklist_for(profile) if profile else []
    checks = vetting_service.checks_of(profile) if profile else []
    running_out = vetting_service.running_out_for(profile) if profile else []
    return render_template("provider/vetting.html", profile=profile, items=items, checks=checks,
                           running_out=running_out, title="Your vetting checklist")


@bp.route("/vetting/new", methods=["GET", "POST"])
@requires(Permission.PROVIDER_AREA)
def new_evidence():
    profile = providers.profile_of(current_user)
    form = EvidenceForm()
    if request.method == "GET" and request.args.get("kind") in {k.value for k in CheckKind}:
        form.kind.data = request.args["kind"]
    if profile is not None and form.validate_on_submit():
        try:
            vetting_service.record_evidence(current_user, vetting_service.EvidenceInput(
                kind=CheckKind(form.kind.data), reference=form.reference.data or "",
                details=form.details.data or "", issued_on=form.issued_on.data,
                expires_on=form.expires_on.data, update_service=bool(form.update_service.data)))
        except DomainError as err:
            attach_error(form, err)
        else:
            flash("Thank you. A broker will check your evidence.", "success")
            return redirect(url_for("provider.vetting"))
    return render_template("provider/evidence_form.html", form=form, profile=profile,
                           title="Send vetting evidence")
