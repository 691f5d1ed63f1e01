"""Service agreement pages: the provider offers and changes terms; the holder's side reads,
accepts or asks for changes. Works without JavaScript."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.domain.access import Permission
from app.domain.agreements import Terms
from app.domain.listings import PriceError, parse_pounds
from app.errors import DomainError
from app.services import agreements, bookings
from app.web import holder, provider
from app.web.context import acting, requires
from app.web.helpers import attach_error
from app.web.job_forms import AgreementChangesForm, AgreementForm, ConfirmForm


def _pounds_text(pence: int) -> str:
    """Pence as the text a person types into a money field: 1650 -> "16.50"."""
    return f"{pence // 100}.{pence % 100:02d}"


def _form_from(terms: Terms) -> dict:
    return {"services": terms.services, "schedule": terms.schedule, "rate": _pounds_text(terms.rate_pence),
            "rate_unit": terms.rate_unit, "minimum_minutes": terms.minimum_minutes,
            "bank_holiday_rate": _pounds_text(terms.bank_holiday_rate_pence) if terms.bank_holiday_rate_pence else "",
            "cancellation_notice_hours": terms.cancellation_notice_hours,
            "cancellation_charge": _pounds_text(terms.cancellation_charge_pence),
            "notice_days": terms.notice_days, "complaints": terms.complaints}


def _money(form: AgreementForm, name: str, *, optional: bool = False) -> int | None:
    field = getattr(form, name)
    if optional and not (field.data or "").strip():
        return None
    try:
        return parse_pounds(field.data)
    except PriceError as err:
        field.errors = [str(err)]
        form._errors = None
        raise


def _terms(form: AgreementForm) -> Terms | None:
    try:
        rate = _money(form, "rate")
        holiday = _money(form, "bank_holiday_rate", optional=True)
        charge = _money(form, "cancellation_charge")
    except PriceError:
        return None
    return Terms(services=form.services.data, schedule=form.schedule.data, rate_pence=rate or 0,
                 rate_unit=form.rate_unit.data, minimum_minutes=form.minimum_minutes.data,
                 cancellation_notice_hours=form.cancellation_notice_hours.data,
                 cancellation_charge_pence=charge or 0, notice_days=form.notice_days.data,
                 complaints=form.complaints.data, bank_holiday_rate_pence=holiday)


@provider.bp.route("/bookings/<int:booking_id>/agreement", methods=["GET", "POST"])
@requires(Permission.PROVIDER_AREA)
def agreement_offer(booking_id: int):
    booking = bookings.booking_for_provider(current_user, booking_id)
    existing = agreements.agreement_for_booking(booking.id)
    if existing is not None:
        return redirect(url_for("provider.agreement", agreement_id=existing.id))
    form = AgreementForm(data=_form_from(agreements.suggested_terms(booking)) if request.method == "GET" else None)
    if form.validate_on_submit() and (terms := _terms(form)) is not None:
        try:
            found = agreements.offer(current_user, booking.id, terms)
        except DomainError as err:
            attach_error(form, err)
        else:
            flash(f"Agreement {agreements.reference(found)} is offered. {booking.holder.name} will be asked "
                  "to accept it or ask for changes.", "success")
            return redirect(url_for("provider.agreement", agreement_id=found.id))
    return render_template("agreements/offer.html", form=form, booking=booking,
                           title="Offer a written agreement")


@provider.bp.get("/agreements/<int:agreement_id>")
@requires(Permission.PROVIDER_AREA)
def agreement(agreement_id: int):
    found = agreements.for_provider(current_user, agreement_id)
    return render_template("agreements/detail.html", agreement=found, side="provider",
                           in_force=agreements.version_in_force(found), reference=agreements.reference(found),
                           title=f"Agreement {agreements.reference(found)}")


@provider.bp.route("/agreements/<int:agreement_id>/new-version", methods=["GET", "POST"])
@requires(Permission.PROVIDER_AREA)
def agreement_new_version(agreement_id: int):
    found = agreements.for_provider(current_user, agreement_id)
    latest = max(found.versions, key=lambda v: v.version)
    form = AgreementForm(data=_form_from(agreements.terms_of(latest)) if request.method == "GET" else None)
    form.submit.label.text = "Offer the new version"
    if form.validate_on_submit() and (terms := _terms(form)) is not None:
        try:
            version = agreements.offer_new_version(current_user, found.id, terms)
        except DomainError as err:
            attach_error(form, err)
        else:
            when = (f" A higher rate applies from {version.effective_from:%d %B %Y} unless "
                    f"{found.holder.name} accepts it sooner." if version.effective_from and
                    version.effective_from > version.offered_at else "")
            flash(f"Version {version.version} is offered.{when}", "success")
            return redirect(url_for("provider.agreement", agreement_id=found.id))
    return render_template("agreements/offer.html", form=form, booking=None, agreement=found,
                           title=f"Change agreement {agreements.reference(found)}")


@holder.bp.get("/agreements")
@requires(Permission.HOLDER_VIEW_BOOKINGS)
def agreement_list():
    ctx = acting()
    return render_template("agreements/list.html", agreements=agreements.of_holder(current_user, ctx.holder),
                           reference=agreements.reference, title="Agreements")


@holder.bp.route("/agreements/<int:agreement_id>", methods=["GET", "POST"])
@requires(Permission.HOLDER_VIEW_BOOKINGS)
def holder_agreement(agreement_id: int):
    ctx = acting()
    found = agreements.for_holder(current_user, ctx.holder, agreement_id)
    changes = AgreementChangesForm()
    if request.method == "POST":
        if request.form.get("answer") == "accept":
            if ConfirmForm().validate_on_submit():
                try:
                    agreements.accept(current_user, ctx.holder, found.id)
                except DomainError as err:
                    flash(err.message, "error")
                else:
                    flash("Agreement accepted. Its terms now apply.", "success")
                return redirect(url_for("holder.holder_agreement", agreement_id=found.id))
        elif changes.validate_on_submit():
            try:
                agreements.request_changes(current_user, ctx.holder, found.id, changes.note.data)
            except DomainError as err:
                attach_error(changes, err, default_field="note")
            else:
                flash("Your request for changes has been sent to the provider.", "success")
                return redirect(url_for("holder.holder_agreement", agreement_id=found.id))
    return render_template("agreements/detail.html", agreement=found, side="holder", form=changes,
                           accept_form=ConfirmForm(), in_force=agreements.version_in_force(found),
                           reference=agreements.reference(found), title=f"Agreement {agreements.reference(found)}")


@holder.bp.app_template_global("booking_agreement")
def booking_agreement(booking_id: int):
    """The agreement a booking runs under, if any (for the booking pages' link)."""
    return agreements.agreement_for_booking(booking_id)
