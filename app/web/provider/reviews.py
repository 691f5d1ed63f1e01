"""The provider's "Your reviews": their rating, every review of them, and one public reply each."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from app.domain.access import Permission
from app.errors import DomainError
from app.extensions import db
from app.models import ProviderProfile
from app.services import ratings
from app.web.context import requires
from app.web.helpers import attach_error
from app.web.provider import bp
from app.web.review_forms import ReplyForm


@bp.get("/reviews")
@requires(Permission.PROVIDER_AREA)
def reviews():
    profile = db.session.scalar(
        select(ProviderProfile).where(ProviderProfile.user_id == current_user.id)
    )
    summary = ratings.provider_summary(profile.id) if profile is not None else None
    return render_template(
        "reviews/provider_list.html",
        reviews=ratings.reviews_of_provider(current_user),
        summary=summary,
        title="Your reviews",
    )


@bp.route("/reviews/<int:review_id>/reply", methods=["GET", "POST"])
@requires(Permission.PROVIDER_AREA)
def review_reply(review_id: int):
    review = ratings.review_for_provider(current_user, review_id)
    form = ReplyForm()
    if form.validate_on_submit():
        try:
            ratings.reply(current_user, review_id, form.text.data)
        except DomainError as err:
            attach_error(form, err)
        else:
            flash("Your reply is published beside the review.", "success")
            return redirect(url_for("provider.reviews"))
    return render_template(
        "reviews/reply.html", form=form, review=review, title="Reply to a review"
    )
