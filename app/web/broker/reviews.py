"""Broker review moderation: the reports queue, findings, hiding a review or its reply, keeping both."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from app.domain.access import Permission
from app.errors import DomainError
from app.services import ratings
from app.web.broker import bp
from app.web.context import requires
from app.web.helpers import attach_error
from app.web.review_forms import HideForm, HideReplyForm, KeepForm

ReviewDecisionForm = HideForm | HideReplyForm | KeepForm


def _blank_forms() -> dict[str, ReviewDecisionForm]:
    """The three decisions, empty (formdata=None: a POST to one must not fill the others)."""
    return {
        "hide_form": HideForm(formdata=None),
        "reply_form": HideReplyForm(prefix="reply", formdata=None),
        "keep_form": KeepForm(prefix="keep", formdata=None),
    }


@bp.get("/reviews")
@requires(Permission.BROKER_AREA)
def reviews_queue():
    return render_template(
        "reviews/broker_queue.html",
        reported=ratings.open_reports(),
        findings=ratings.recent_findings(),
        title="Reviews to moderate",
    )


def _detail(review_id: int, failed: tuple[str, ReviewDecisionForm] | None = None):
    """The review, its reports and the decisions; `failed` is the submitted form with errors."""
    review = ratings.get_review(review_id)
    forms = _blank_forms()
    if failed is not None:
        forms[failed[0]] = failed[1]
    # The error summary in base.html reads `form`.
    return render_template(
        "reviews/broker_detail.html",
        review=review,
        reports=ratings.reports_about(review_id),
        form=failed[1] if failed is not None else None,
        title="Moderate a review",
        **forms,
    )


@bp.get("/reviews/<int:review_id>")
@requires(Permission.BROKER_AREA)
def review_detail(review_id: int):
    return _detail(review_id)


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
    return _detail(review_id, ("hide_form", form))


@bp.post("/reviews/<int:review_id>/hide-reply")
@requires(Permission.BROKER_AREA)
def review_hide_reply(review_id: int):
    form = HideReplyForm(prefix="reply")
    if form.validate_on_submit():
        try:
            ratings.hide_reply(current_user, review_id, form.reason.data, form.note.data)
        except DomainError as err:
            attach_error(form, err)
        else:
            flash(
                "The provider's reply is hidden. The review stays and still counts "
                "towards the rating.",
                "success",
            )
            return redirect(url_for("broker.reviews_queue"))
    return _detail(review_id, ("reply_form", form))


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
                f"Nothing is hidden. {closed} report{'s' if closed != 1 else ''} closed.", "success"
            )
            return redirect(url_for("broker.reviews_queue"))
    return _detail(review_id, ("keep_form", keep_form))
