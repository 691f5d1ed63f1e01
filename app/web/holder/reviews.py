"""The holder's "Rate your support": what can be reviewed, the review forms, thanks."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from app.domain.access import Permission
from app.domain.ratings import Criterion
from app.errors import Conflict, DomainError, InvalidInput
from app.services import ratings
from app.web.context import acting, requires
from app.web.helpers import attach_error
from app.web.holder import bp
from app.web.review_forms import EASY_WORDS, SCORE_WORDS, ReviewForm


@bp.get("/reviews")
@requires(Permission.HOLDER_SPEND)
def reviews():
    ctx = acting()
    return render_template(
        "reviews/holder_list.html",
        chances=ratings.reviewable(ctx.holder),
        written=ratings.reviews_by_holder(ctx.holder),
        title=f"Rate {ctx.holder.name}'s support" if ctx.on_behalf else "Rate your support",
    )


def _review_page(booking_id: int, *, easy_read: bool):
    ctx = acting()
    month = (request.args.get("month") or "")[:7] or None
    try:
        chance = ratings.review_chance(ctx.holder, booking_id, month)
    except (Conflict, InvalidInput) as err:
        # Already reviewed, not settled yet, or no month chosen: say so on the list page.
        flash(err.message, "error")
        return redirect(url_for("holder.reviews"))
    form = ReviewForm()
    valid = form.validate_on_submit()
    if easy_read and form.errors:
        _plain_errors(form)
    if valid:
        try:
            review = ratings.submit_review(
                ctx.user,
                ctx.holder,
                booking_id,
                form.scores(),
                form.comment.data,
                month=month,
                easy_read=easy_read,
            )
        except DomainError as err:
            attach_error(form, err)
        else:
            return redirect(url_for("holder.review_thanks", review_id=review.id))
    return render_template(
        "reviews/easy_read_form.html" if easy_read else "reviews/form.html",
        form=form,
        chance=chance,
        criteria=list(Criterion),
        score_words=EASY_WORDS if easy_read else SCORE_WORDS,
        title=(
            "Tell us about your support"
            if easy_read
            else f"Review {chance.booking.provider_profile.display_name}"
        ),
    )


def _plain_errors(form: ReviewForm) -> None:
    """Easy read: ask the question again in its own plain words rather than the criterion's name."""
    for c in Criterion:
        field = getattr(form, c.value)
        if field.errors:
            field.errors = [f"Pick a face for: {c.easy_read}"]
    form._errors = None  # wtforms caches form.errors; the summary must show the new words


@bp.route("/reviews/<int:booking_id>/new", methods=["GET", "POST"])
@requires(Permission.HOLDER_SPEND)
def review_form(booking_id: int):
    return _review_page(booking_id, easy_read=False)


@bp.route("/reviews/<int:booking_id>/easy-read", methods=["GET", "POST"])
@requires(Permission.HOLDER_SPEND)
def review_form_easy(booking_id: int):
    return _review_page(booking_id, easy_read=True)


@bp.get("/reviews/thanks/<int:review_id>")
@requires(Permission.HOLDER_SPEND)
def review_thanks(review_id: int):
    ctx = acting()
    review = ratings.review_for_holder(ctx.holder, review_id)
    return render_template("reviews/thanks.html", review=review, title="Thank you for your review")
