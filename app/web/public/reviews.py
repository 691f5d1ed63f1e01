"""Reviews in public: the rating panels on provider and listing pages, and reporting a review."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from app.domain.access import Permission
from app.domain.ratings import Criterion
from app.errors import DomainError
from app.services import ratings
from app.web.context import requires
from app.web.helpers import attach_error
from app.web.public import bp
from app.web.review_forms import ReportForm


def _back_to(review) -> str:
    return url_for(
        "public.provider_page", profile_id=review.provider_profile_id, _anchor=f"review-{review.id}"
    )


@bp.route("/reviews/<int:review_id>/report", methods=["GET", "POST"])
@requires(Permission.SIGNED_IN)
def review_report(review_id: int):
    review = ratings.get_review(review_id)
    form = ReportForm()
    if form.validate_on_submit():
        try:
            ratings.report(current_user, review_id, form.reason.data)
        except DomainError as err:
            attach_error(form, err)
        else:
            flash("Thank you. A broker will look at this review.", "success")
            return redirect(_back_to(review))
    return render_template(
        "reviews/report.html",
        form=form,
        review=review,
        back=_back_to(review),
        title="Report a review",
    )


# Template globals, so the public pages include one panel and their views stay as they are.


@bp.app_template_global()
def rating_panel(*, profile_id: int | None = None, listing_id: int | None = None) -> dict:
    """What the public reviews panel shows: the summary and the reviews (hidden ones as hidden)."""
    if listing_id is not None:
        summary = ratings.rating_for_listing(listing_id)
        reviews = ratings.reviews_for_listing(listing_id)
    else:
        summary = ratings.provider_summary(profile_id)
        reviews = ratings.reviews_for_provider(profile_id)
    return {"summary": summary, "reviews": reviews}


@bp.app_template_global()
def review_criteria() -> list[Criterion]:
    return list(Criterion)


@bp.app_template_filter("uk_date")
def uk_date(moment) -> str:
    """A moment as a UK date: "3 March 2026"."""
    if moment is None:
        return ""
    local = moment.astimezone(ratings.UK)
    return f"{local.day} {local:%B %Y}"


@bp.app_template_global()
def review_byline(review) -> str:
    return ratings.byline(review)


@bp.app_template_global()
def hide_reason_label(reason: str) -> str:
    return ratings.HIDE_REASON_LABELS.get(reason, reason)
