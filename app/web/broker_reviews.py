"""Broker review moderation: the reports queue, review findings, hiding a review with a reason."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from app.domain.access import Permission
from app.errors import DomainError
from app.services import ratings
from app.web.broker import bp
from app.web.context import requires
from app.web.helpers import attach_error
from app.web.review_forms import HideForm, KeepForm


@bp.get("/reviews")
@requires(Permission.BROKER_AREA)
def reviews_queue():
    return render_template(
        "reviews/broker_queue.html",
        reported=ratings.open_reports(),
        findings=ratings.recent_findings(),
        title="Reviews to moderate",
    )


def _detail(
    review_id: int,
    hide_form: HideForm,
    keep_form: KeepForm,
    *,
    failed: HideForm | KeepForm | None = None,
):
    """The review, its reports and both decisions; `failed` is the form whose errors show."""
    review = ratings.get_review(review_id)
    # The error summary in base.html reads `form`.
    return render_template(
        "reviews/broker_detail.html",
        review=review,
        reports=ratings.reports_about(review_id),
        form=failed,
        hide_form=hide_form,
        keep_form=keep_form,
        title="Moderate a review",
    )


@bp.get("/reviews/<int:review_id>")
@requires(Permission.BROKER_AREA)
def review_detail(review_id: int):
    return _detail(review_id, HideForm(), KeepForm(prefix="keep"))


@bp.post("/reviews/<int:review_id>/hide")
@requires(Permission.BROKER_AREA)
def review_hide(review_id: int):
    form = HideForm()
    if form.validate_on_submit():
        try:
            ratings.hide(current_user, review_id, form.reason.data, form.note.data)
        except DomainError as err:
            attach_error(form, err)
        else:
            flash("The review is hidden. It now shows as hidden by a moderator.", "success")
            return redirect(url_for("broker.reviews_queue"))
    return _detail(review_id, form, KeepForm(prefix="keep", formdata=None), failed=form)


@bp.post("/reviews/<int:review_id>/keep")
@requires(Permission.BROKER_AREA)
def review_keep(review_id: int):
    keep_form = KeepForm(prefix="keep")
    if keep_form.validate_on_submit():
        try:
            closed = ratings.keep(current_user, review_id, keep_form.note.data)
        except DomainError as err:
            attach_error(keep_form, err)
        else:
            flash(
                f"The review stays. {closed} report{'s' if closed != 1 else ''} closed.", "success"
            )
            return redirect(url_for("broker.reviews_queue"))
    return _detail(review_id, HideForm(formdata=None), keep_form, failed=keep_form)
