"""Last-minute cover pages: the holder's side sees who can cover and accepts one in one step; a
provider asked says whether they can; a broker sees where it stands. Works without JavaScript."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.domain.access import Permission
from app.domain.listings import Category
from app.errors import DomainError
from app.services import cover
from app.web import broker, holder, provider
from app.web.context import acting, requires
from app.web.job_forms import ConfirmForm


@holder.bp.get("/cover/<int:cover_id>")
@requires(Permission.HOLDER_VIEW_BOOKINGS)
def cover_detail(cover_id: int):
    ctx = acting()
    found = cover.for_holder(current_user, ctx.holder, cover_id)
    return render_template("cover/holder.html", cover=found, reference=cover.reference(found),
                           form=ConfirmForm(), title=f"Cover for {found.listing.title}")


def _back(cover_id: int):
    return redirect(url_for("holder.cover_detail", cover_id=cover_id))


@holder.bp.post("/cover/<int:cover_id>/offers/<int:offer_id>/accept")
@requires(Permission.HOLDER_SPEND)
def cover_accept(cover_id: int, offer_id: int):
    ctx = acting()
    if not ConfirmForm().validate_on_submit():
        flash("We could not accept that. Please try again.", "error")
        return _back(cover_id)
    raw = request.form.get("expected_price", "")
    expected = int(raw) if raw.isdigit() and len(raw) < 10 else None
    try:
        booking = cover.accept(current_user, ctx.holder, cover_id, offer_id, expected_price_pence=expected)
    except DomainError as err:
        flash(err.message, "error")
        return _back(cover_id)
    name = booking.provider_profile.display_name
    if booking.state == "awaiting_approval":
        flash(f"{name} will cover it once a broker approves the booking. Brokers have been told.", "success")
    else:
        flash(f"{name} is covering the session. It is booked.", "success")
    return redirect(url_for("holder.booking_detail", booking_id=booking.id))


@holder.bp.post("/cover/<int:cover_id>/withdraw")
@requires(Permission.HOLDER_SPEND)
def cover_withdraw(cover_id: int):
    ctx = acting()
    if ConfirmForm().validate_on_submit():
        try:
            cover.withdraw(current_user, ctx.holder, cover_id)
        except DomainError as err:
            flash(err.message, "error")
        else:
            flash("Cover is no longer being sought. Anyone who offered has been told.", "success")
    return _back(cover_id)


@provider.bp.get("/cover")
@requires(Permission.PROVIDER_AREA)
def cover_list():
    return render_template("cover/provider_list.html", offers=cover.asked_of_provider(current_user),
                           reference=cover.reference, title="Cover requests")


@provider.bp.get("/cover/<int:cover_id>")
@requires(Permission.PROVIDER_AREA)
def cover_offer(cover_id: int):
    offer = cover.offer_for_provider(current_user, cover_id)
    return render_template("cover/provider.html", offer=offer, cover=offer.cover,
                           category_label=Category(offer.cover.listing.category).label,
                           reference=cover.reference(offer.cover), form=ConfirmForm(),
                           title=f"Cover request {cover.reference(offer.cover)}")


@provider.bp.post("/cover/<int:cover_id>/answer")
@requires(Permission.PROVIDER_AREA)
def cover_answer(cover_id: int):
    choice = request.form.get("answer")
    if not ConfirmForm().validate_on_submit() or choice not in ("yes", "no"):
        flash("We could not save your answer. Please try again.", "error")
        return redirect(url_for("provider.cover_offer", cover_id=cover_id))
    try:
        cover.answer(current_user, cover_id, can_cover=choice == "yes")
    except DomainError as err:
        flash(err.message, "error")
    else:
        flash("Thank you. The person's side has been told you can cover it, and can accept you in one step."
              if choice == "yes" else "Thank you for letting us know.", "success")
    return redirect(url_for("provider.cover_offer", cover_id=cover_id))


@broker.bp.get("/cover/<int:cover_id>")
@requires(Permission.BROKER_AREA)
def broker_cover_detail(cover_id: int):
    found = cover.for_broker(current_user, cover_id)
    return render_template("cover/broker.html", cover=found, reference=cover.reference(found),
                           title=f"Cover request {cover.reference(found)}")
