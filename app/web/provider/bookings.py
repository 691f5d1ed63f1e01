"""The provider's bookings: requests to accept or decline, delivery to record, cancellations."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from app import clock
from app.domain.access import Permission
from app.domain.bookings import ActorKind, allowed_events
from app.domain.payments import provider_failure_message
from app.errors import DomainError
from app.services import bookings, card_payments, home_address
from app.web.booking_forms import DeliveryForm, ReasonForm, parse_clock
from app.web.context import requires
from app.web.helpers import attach_error, booking_id_of_session, session_actions
from app.web.provider import bp


@bp.get("/bookings")
@requires(Permission.PROVIDER_AREA)
def bookings_list():
    return render_template(
        "bookings/provider_list.html",
        bookings=bookings.bookings_of_provider(current_user),
        title="Bookings",
    )


@bp.get("/bookings/<int:booking_id>")
@requires(Permission.PROVIDER_AREA)
def booking_detail(booking_id: int):
    booking = bookings.booking_for_provider(current_user, booking_id)
    return render_template(
        "bookings/provider_detail.html",
        booking=booking,
        events=allowed_events(booking.state, ActorKind.PROVIDER),
        session_events=lambda s: session_actions(allowed_events(s.state, ActorKind.PROVIDER),
                                                 s.start_at),
        respond_by=(bookings.request_deadline(booking)
                    if booking.state == "requested" else None),
        may_see_address=home_address.provider_may_see(current_user, booking),
        # One visit of a weekly series can be cancelled on its own while it has not started.
        cancellable={s.id for s in booking.sessions if booking.kind == "recurring"
                     and s.state in ("accepted", "funds_held") and s.start_at > clock.now()},
        title=f"Booking {booking.reference}",
    )


def _back(booking_id: int):
    return redirect(url_for("provider.booking_detail", booking_id=booking_id))


@bp.post("/bookings/<int:booking_id>/accept")
@requires(Permission.PROVIDER_AREA)
def booking_accept(booking_id: int):
    try:
        booking = bookings.accept(current_user, booking_id)
        if booking.state == "funds_held":
            flash("Accepted. The money is set aside.", "success")
        else:
            code, _ = card_payments.funding_failure(booking.id)
            flash(provider_failure_message(code), "error")
    except DomainError as err:
        flash(err.message, "error")
    return _back(booking_id)


@bp.post("/bookings/<int:booking_id>/decline")
@requires(Permission.PROVIDER_AREA)
def booking_decline(booking_id: int):
    form = ReasonForm()
    problem = form.input_refusal()
    if problem is not None:
        flash(problem, "error")
        return _back(booking_id)
    try:
        bookings.decline(current_user, booking_id, reason=form.reason.data or "")
        flash("Declined. The client has been told.", "success")
    except DomainError as err:
        flash(err.message, "error")
    return _back(booking_id)


@bp.post("/bookings/<int:booking_id>/cancel")
@requires(Permission.PROVIDER_AREA)
def booking_cancel(booking_id: int):
    form = ReasonForm()
    problem = form.input_refusal()
    if problem is not None:
        flash(problem, "error")
        return _back(booking_id)
    try:
        bookings.cancel_booking(current_user, None, booking_id, reason=form.reason.data or "")
        flash("The booking is cancelled. The client has been told and pays nothing.", "success")
    except DomainError as err:
        flash(err.message, "error")
    return _back(booking_id)


@bp.get("/bookings/<int:booking_id>/decline")
@requires(Permission.PROVIDER_AREA)
def booking_decline_confirm(booking_id: int):
    """Are you sure? Declining cannot be taken back: asked on its own page, with the reason."""
    booking = bookings.booking_for_provider(current_user, booking_id)
    if "decline" not in [e.value for e in allowed_events(booking.state, ActorKind.PROVIDER)]:
        flash("This request cannot be declined now.", "error")
        return _back(booking.id)
    return render_template("bookings/provider_decline_confirm.html", booking=booking,
                           form=ReasonForm(),
                           title=f"Decline {booking.holder.name}'s request?")


@bp.get("/bookings/<int:booking_id>/cancel")
@requires(Permission.PROVIDER_AREA)
def booking_cancel_confirm(booking_id: int):
    """Are you sure? Which visits cancelling would end for the client, before it does."""
    booking = bookings.booking_for_provider(current_user, booking_id)
    if "cancel" not in [e.value for e in allowed_events(booking.state, ActorKind.PROVIDER)]:
        flash("This booking cannot be cancelled now.", "error")
        return _back(booking.id)
    return render_template(
        "bookings/provider_cancel_confirm.html", booking=booking,
        preview=bookings.cancellation_preview(booking, ActorKind.PROVIDER),
        form=ReasonForm(),
        title=("End this series of visits?" if booking.kind == "recurring"
               else "Cancel this booking?"),
    )


@bp.route("/sessions/<int:session_id>/delivery", methods=["GET", "POST"])
@requires(Permission.PROVIDER_AREA)
def session_delivery(session_id: int):
    from app.extensions import db
    from app.models import BookingSession

    s = db.session.get(BookingSession, session_id)
    if s is None:
        return render_template("errors/404.html", title="Page not found"), 404
    booking = bookings.booking_for_provider(current_user, s.booking_id)
    if s.start_at > datetime.now(UTC):
        flash("You can record delivery once the session has started.", "error")
        return _back(booking.id)
    form = DeliveryForm()
    if form.validate_on_submit():
        try:
            day = s.start_at.astimezone(bookings.UK).date()
            start = bookings.local(day, parse_clock(form.actual_start.data, "actual_start"))
            end = bookings.local(day, parse_clock(form.actual_end.data, "actual_end"))
            bookings.record_delivery(
                current_user,
                session_id,
                actual_start=start,
                actual_end=end,
                notes=form.notes.data or "",
            )
            flash("Delivery recorded. The client has been asked to confirm the hours.", "success")
            return _back(booking.id)
        except DomainError as err:
            attach_error(form, err, default_field="actual_start")
    elif not form.is_submitted():
        form.actual_start.data = s.start_at.astimezone(bookings.UK).strftime("%H:%M")
        form.actual_end.data = s.end_at.astimezone(bookings.UK).strftime("%H:%M")
    return render_template(
        "bookings/delivery.html", form=form, booking=booking, session=s, title="Record delivery"
    )


@bp.post("/sessions/<int:session_id>/no-show")
@requires(Permission.PROVIDER_AREA)
def session_no_show(session_id: int):
    try:
        s = bookings.report_no_show(current_user, None, session_id)
        flash("Recorded: the client was not there.", "success")
        return _back(s.booking_id)
    except DomainError as err:
        flash(err.message, "error")
    booking_id = booking_id_of_session(session_id)
    return _back(booking_id) if booking_id else redirect(url_for("provider.bookings_list"))


@bp.route("/sessions/<int:session_id>/cancel", methods=["GET", "POST"])
@requires(Permission.PROVIDER_AREA)
def session_cancel(session_id: int):
    """One visit of a weekly series, asked first: the client is told at once, pays nothing, and
    at short notice their back-ups are asked to cover it."""
    from app.extensions import db
    from app.models import BookingSession

    s = db.session.get(BookingSession, session_id)
    if s is None:
        return render_template("errors/404.html", title="Page not found"), 404
    booking = bookings.booking_for_provider(current_user, s.booking_id)
    form = ReasonForm()
    if form.validate_on_submit():
        problem = form.input_refusal()
        if problem is not None:
            flash(problem, "error")
            return _back(booking.id)
        try:
            bookings.cancel_session(current_user, None, session_id, reason=form.reason.data or "")
        except DomainError as err:
            flash(err.message, "error")
        else:
            flash("The visit is cancelled. The client has been told and pays nothing; if it is soon, "
                  "their back-ups are asked to cover it.", "success")
        return _back(booking.id)
    return render_template("bookings/provider_cancel_visit.html", booking=booking, visit=s, form=form,
                           title="Cancel this visit?")
