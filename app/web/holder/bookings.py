"""The holder's bookings: book a listing, see bookings, confirm or dispute hours, cancel, pause."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from app import clock
from app.domain.access import Permission
from app.domain.bookings import ActorKind, allowed_events
from app.errors import DomainError, NotFound
from app.services import booking_checks, bookings, card_payments, council_settings, cover
from app.services import listings as listing_service
from app.web.booking_forms import BookForm, DisputeForm, PauseForm, ReasonForm
from app.web.booking_views import booking_input, on_form
from app.web.context import acting, requires
from app.web.helpers import attach_error, back_or, booking_id_of_session, session_actions
from app.web.holder import bp


def _actor_kind(ctx) -> ActorKind:
    return ActorKind.HOLDER if not ctx.on_behalf else ActorKind.DELEGATE


@bp.route("/book/<int:listing_id>", methods=["GET", "POST"])
@requires(Permission.HOLDER_SPEND)
def book(listing_id: int):
    ctx = acting()
    listing = listing_service.public_listing(listing_id)
    form = BookForm()
    quote = None
    # Said before anything is typed: a paid request from this budget would be refused.
    card_problem = card_payments.holder_card_problem(ctx.holder.id)
    card_error = None
    if form.validate_on_submit():
        try:
            data = booking_input(form, listing_id)
            if form.confirm.data:
                booking = bookings.request_booking(ctx.user, ctx.holder, data)
                flash(
                    "Your booking request has been sent."
                    if booking.state == "requested"
                    else "Your booking needs a broker's approval first. We will tell you when they decide.",
                    "success",
                )
                return redirect(url_for("holder.booking_detail", booking_id=booking.id))
            quote = bookings.quote_booking(ctx.holder, data)
            form.expected_total.data = str(quote.total_pence)
        except DomainError as err:
            if err.field == "card":
                card_error = err.message  # shown in the card box, which links to the card page
            else:
                attach_error(form, on_form(err), default_field="day")
    advice = booking_checks.advice_for(ctx.holder, listing)  # shown before they send
    return render_template(
        "bookings/book.html",
        form=form,
        listing=listing,
        own_price=listing_service.client_price(listing, ctx.holder.id),
        advice=advice,
        quote=quote,
        card_problem=card_problem,
        card_error=card_error,
        title=f"Book {listing.title}",
    )


@bp.get("/bookings")
@requires(Permission.HOLDER_VIEW_BOOKINGS)
def bookings_list():
    ctx = acting()
    return render_template(
        "bookings/holder_list.html",
        bookings=bookings.bookings_of_holder(ctx.holder.id),
        pause=bookings.current_pause(ctx.holder.id),
        title="Bookings",
    )


@bp.get("/bookings/<int:booking_id>")
@requires(Permission.HOLDER_VIEW_BOOKINGS)
def booking_detail(booking_id: int):
    ctx = acting()
    booking = bookings.booking_for_holder(ctx.holder, booking_id)
    kind = _actor_kind(ctx)
    return render_template(
        "bookings/holder_detail.html",
        booking=booking,
        needs_cosign=bookings.needs_cosign(booking),
        events=allowed_events(booking.state, kind),
        session_events=lambda s: session_actions(allowed_events(s.state, kind), s.start_at),
        backups=bookings.backup_offers(booking),
        policy=bookings.cancellation_policy(booking),
        covers=cover.open_for_booking(booking.id),
        # One visit of a series can be cancelled on its own while it has not started.
        cancellable={s.id for s, _ in bookings.cancellation_preview(booking, kind)
                     if s.start_at > clock.now()} if booking.kind == "recurring"
                    and "cancel" in [e.value for e in allowed_events(booking.state, kind)]
                    else set(),
        respond_by=(bookings.request_deadline(booking)
                    if booking.state in ("requested", "awaiting_approval") else None),
        alternatives=bookings.expired_alternatives(booking),
        dispute_form=DisputeForm(),
        reason_form=ReasonForm(),
        title=f"Booking {booking.reference}",
    )


def _back(booking_id: int):
    return redirect(url_for("holder.booking_detail", booking_id=booking_id))


@bp.post("/bookings/<int:booking_id>/cancel")
@requires(Permission.HOLDER_SPEND)
def booking_cancel(booking_id: int):
    ctx = acting()
    form = ReasonForm()
    problem = form.input_refusal()
    if problem is not None:
        flash(problem, "error")
        return _back(booking_id)
    try:
        bookings.cancel_booking(ctx.user, ctx.holder, booking_id, reason=form.reason.data or "")
        flash("The booking is cancelled.", "success")
    except DomainError as err:
        flash(err.message, "error")
    return _back(booking_id)


@bp.get("/bookings/<int:booking_id>/cancel")
@requires(Permission.HOLDER_SPEND)
def booking_cancel_confirm(booking_id: int):
    """Are you sure? What cancelling (or ending a series) would cancel and cost, before it does."""
    ctx = acting()
    booking = bookings.booking_for_holder(ctx.holder, booking_id)
    return render_template(
        "bookings/cancel_confirm.html", booking=booking, session=None,
        policy=bookings.cancellation_policy(booking),
        preview=bookings.cancellation_preview(booking, _actor_kind(ctx)),
        action=url_for("holder.booking_cancel", booking_id=booking.id),
        back=url_for("holder.booking_detail", booking_id=booking.id), form=ReasonForm(),
        title=("End this series of visits?" if booking.kind == "recurring"
               else "Cancel this booking?"),
    )


@bp.route("/sessions/<int:session_id>/cancel", methods=["GET", "POST"])
@requires(Permission.HOLDER_SPEND)
def session_cancel(session_id: int):
    """Cancel one visit of a series, after a page that says what it costs."""
    ctx = acting()
    booking_id = booking_id_of_session(session_id)
    if booking_id is None:
        raise NotFound("We could not find that visit.")
    booking = bookings.booking_for_holder(ctx.holder, booking_id)
    form = ReasonForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            s = bookings.cancel_session(ctx.user, ctx.holder, session_id,
                                        reason=form.reason.data or "")
        except DomainError as err:
            flash(err.message, "error")
        else:
            flash(f"The visit on {uk_datetime(s.start_at)} is cancelled. "
                  "The other visits go ahead.", "success")
        return _back(booking.id)
    preview = bookings.cancellation_preview(booking, _actor_kind(ctx), session_id=session_id)
    if not preview:
        flash("That visit cannot be cancelled now.", "error")
        return _back(booking.id)
    return render_template(
        "bookings/cancel_confirm.html", booking=booking, session=preview[0][0], preview=preview,
        policy=bookings.cancellation_policy(booking),
        action=url_for("holder.session_cancel", session_id=session_id),
        back=url_for("holder.booking_detail", booking_id=booking.id), form=form,
        title="Cancel this visit?",
    )


@bp.post("/bookings/<int:booking_id>/retry")
@requires(Permission.HOLDER_SPEND)
def booking_retry(booking_id: int):
    ctx = acting()
    try:
        booking = bookings.retry_funding(ctx.user, ctx.holder, booking_id)
        if booking.state == "funds_held":
            flash("Money has been set aside.", "success")
        else:
            # The real reason (no card, card declined, card payments unavailable, budget short).
            _, reason = card_payments.funding_failure(booking.id)
            flash(reason or "The money could not be set aside for this booking.", "error")
    except DomainError as err:
        flash(err.message, "error")
    return _back(booking_id)


@bp.post("/bookings/<int:booking_id>/join")
@requires(Permission.HOLDER_SPEND)
def booking_join(booking_id: int):
    ctx = acting()
    try:
        bookings.join_pool(ctx.user, ctx.holder, booking_id)
        flash("You have joined the group session. Your share is set aside.", "success")
    except DomainError as err:
        flash(err.message, "error")
    return _back(booking_id)


@bp.post("/sessions/<int:session_id>/confirm")
@requires(Permission.HOLDER_SPEND)
def session_confirm(session_id: int):
    ctx = acting()
    try:
        s = bookings.confirm_session(ctx.user, ctx.holder, session_id)
        flash(
            "Thank you: the hours are confirmed."
            if s.state == "settled"
            else "Thank you. A broker will also check these hours before they are paid.",
            "success",
        )
        return _back(s.booking_id)
    except DomainError as err:
        flash(err.message, "error")
    return redirect(url_for("holder.bookings_list"))


@bp.post("/sessions/<int:session_id>/dispute")
@requires(Permission.HOLDER_SPEND)
def session_dispute(session_id: int):
    ctx = acting()
    form = DisputeForm()
    problem = form.input_refusal()
    if problem is not None:
        flash(problem, "error")
        return back_or(url_for("holder.bookings_list"))
    try:
        s = bookings.dispute_session(
            ctx.user, ctx.holder, session_id, reason=form.reason.data or ""
        )
        flash("A broker will look at the hours and decide what is paid.", "success")
        return _back(s.booking_id)
    except DomainError as err:
        flash(err.message, "error")
    return back_or(url_for("holder.bookings_list"))


@bp.post("/sessions/<int:session_id>/no-show")
@requires(Permission.HOLDER_SPEND)
def session_no_show(session_id: int):
    ctx = acting()
    try:
        s = bookings.report_no_show(ctx.user, ctx.holder, session_id)
        flash("Recorded: the provider did not come. Nothing is paid for this session.", "success")
        return _back(s.booking_id)
    except DomainError as err:
        flash(err.message, "error")
    booking_id = booking_id_of_session(session_id)
    return _back(booking_id) if booking_id else redirect(url_for("holder.bookings_list"))


@bp.route("/bookings/pause", methods=["GET", "POST"])
@requires(Permission.HOLDER_SPEND)
def bookings_pause():
    ctx = acting()
    form = PauseForm()
    if form.validate_on_submit():
        try:
            bookings.pause(ctx.user, ctx.holder, reason=form.reason.data, until=form.until.data)
            flash(
                "All bookings are paused. Providers have been told, and money set aside has gone "
                "back to the budget.",
                "success",
            )
            return redirect(url_for("holder.bookings_list"))
        except DomainError as err:
            attach_error(form, err, default_field="reason")
    return render_template("bookings/pause.html", form=form, title="Pause all bookings")


@bp.post("/bookings/resume")
@requires(Permission.HOLDER_SPEND)
def bookings_resume():
    ctx = acting()
    try:
        bookings.resume(ctx.user, ctx.holder)
        flash("Bookings have restarted with the same providers.", "success")
    except DomainError as err:
        flash(err.message, "error")
    return redirect(url_for("holder.bookings_list"))


@bp.app_template_filter("uk_datetime")
def uk_datetime(moment) -> str:
    """A moment as UK wall-clock time: "Tuesday 3 March 2026, 10:00"."""
    if moment is None:
        return ""
    local = moment.astimezone(bookings.UK)
    return f"{local:%A} {local.day} {local:%B %Y}, {local:%H:%M}"


@bp.app_template_filter("uk_time")
def uk_time(moment) -> str:
    return "" if moment is None else f"{moment.astimezone(bookings.UK):%H:%M}"


@bp.app_template_filter("weekly_hours")
def weekly_hours(minutes: int) -> str:
    """Minutes a week in words: "10 hours", "7 hours 30 minutes"."""
    from app.domain.hour_caps import hours_text

    return hours_text(minutes)


@bp.app_template_global("upcoming_bank_holidays")
def upcoming_bank_holidays(weeks: int = 26) -> list[tuple]:
    """The council's bank holidays from today for `weeks` weeks: (date, name), for pages that
    show availability and prices."""
    from datetime import timedelta

    from app import clock
    from app.domain.bank_holidays import bank_holidays

    today = clock.now().astimezone(bookings.UK).date()
    region = council_settings.current().bank_holiday_region
    return list(bank_holidays(region, today, today + timedelta(weeks=weeks)).items())
