"""The broker's booking work: approval queue, disputes, co-signing, arranging for a holder."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from app.domain.access import Permission, Role
from app.domain.money import parse_pounds
from app.errors import DomainError, InvalidInput
from app.extensions import db
from app.models import User
from app.services import bookings, staff_views
from app.services import listings as listing_service
from app.web.booking_forms import ArrangeForm, ReasonForm, ResolveForm
from app.web.booking_views import booking_input, on_form
from app.web.broker import bp
from app.web.context import requires
from app.web.helpers import attach_error


@bp.get("/bookings")
@requires(Permission.BROKER_AREA)
def bookings_queue():
    return render_template(
        "bookings/broker_queue.html",
        approvals=bookings.approval_queue(),
        disputes=bookings.disputes(),
        cosign=bookings.cosign_queue(),
        title="Bookings needing a broker",
    )


@bp.get("/bookings/<int:booking_id>")
@requires(Permission.BROKER_AREA)
def booking_detail(booking_id: int):
    booking = bookings.get_booking(booking_id)
    return render_template(
        "bookings/broker_detail.html",
        booking=booking,
        needs_cosign=bookings.needs_cosign(booking),
        booked_by=staff_views.booked_by(booking),
        money=staff_views.money_at_a_glance(booking),
        reason_form=ReasonForm(),
        resolve_form=ResolveForm(),
        title=f"Booking {booking.reference}",
    )


def _back(booking_id: int):
    return redirect(url_for("broker.booking_detail", booking_id=booking_id))


@bp.post("/bookings/<int:booking_id>/approve")
@requires(Permission.BROKER_AREA)
def booking_approve(booking_id: int):
    form = ReasonForm()
    problem = form.input_refusal()
    if problem is not None:
        flash(problem, "error")
        return _back(booking_id)
    try:
        bookings.approve(current_user, booking_id, note=form.reason.data or "")
        flash("Approved. The provider has been asked.", "success")
    except DomainError as err:
        flash(err.message, "error")
    return _back(booking_id)


@bp.post("/bookings/<int:booking_id>/refuse")
@requires(Permission.BROKER_AREA)
def booking_refuse(booking_id: int):
    form = ReasonForm()
    problem = form.input_refusal()
    if problem is not None:
        flash(problem, "error")
        return _back(booking_id)
    try:
        bookings.refuse_approval(current_user, booking_id, note=form.reason.data or "")
        flash("Not approved. The holder has been told.", "success")
    except DomainError as err:
        flash(err.message, "error")
    return _back(booking_id)


@bp.post("/sessions/<int:session_id>/resolve")
@requires(Permission.BROKER_AREA)
def session_resolve(session_id: int):
    form = ResolveForm()
    booking_id = None
    try:
        refund = None
        if form.outcome.data == "partial_refund":
            refund = parse_pounds(form.refund.data, field="refund", label="the refund")
        s = bookings.resolve_dispute(
            current_user,
            session_id,
            outcome=form.outcome.data or "",
            refund_pence=refund,
            note=form.note.data or "",
        )
        booking_id = s.booking_id
        flash("The dispute is settled.", "success")
    except DomainError as err:
        flash(err.message, "error")
    return _back(booking_id) if booking_id else redirect(url_for("broker.bookings_queue"))


@bp.post("/sessions/<int:session_id>/cosign")
@requires(Permission.BROKER_AREA)
def session_cosign(session_id: int):
    try:
        s = bookings.confirm_session(current_user, None, session_id)
        flash("Co-signed: the hours are confirmed and paid.", "success")
        return _back(s.booking_id)
    except DomainError as err:
        flash(err.message, "error")
    return redirect(url_for("broker.bookings_queue"))


@bp.route("/arrange/<int:listing_id>", methods=["GET", "POST"])
@requires(Permission.BROKER_AREA)
def arrange(listing_id: int):
    listing = listing_service.public_listing(listing_id)
    form = ArrangeForm()
    holders = db.session.scalars(
        select(User).where(User.role == Role.HOLDER.value).order_by(User.name)
    )
    form.holder_id.choices = [(h.id, h.name) for h in holders]
    if form.validate_on_submit():
        try:
            offered = [int(p) for p in (form.options_offered.data or "").replace(",", " ").split()]
        except ValueError:
            attach_error(
                form,
                InvalidInput("Enter listing numbers separated by spaces", field="options_offered"),
            )
        else:
            try:
                data = booking_input(form, listing_id)
                booking = bookings.arrange_booking(
                    current_user,
                    form.holder_id.data,
                    data,
                    options_offered=offered,
                    options_note=form.options_note.data,
                )
                flash("Booking arranged. The provider has been asked.", "success")
                return redirect(url_for("broker.booking_detail", booking_id=booking.id))
            except DomainError as err:
                attach_error(form, on_form(err), default_field="day")
    return render_template(
        "bookings/arrange.html",
        form=form,
        listing=listing,
        title=f"Arrange {listing.title} for a holder",
    )
