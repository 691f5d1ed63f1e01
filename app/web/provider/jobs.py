"""Provider area: jobs the provider has been told about, and replying with interest."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from app.domain.access import Permission
from app.domain.listings import Category, PriceUnit
from app.domain.money_format import format_pence
from app.errors import DomainError
from app.services import jobs
from app.web.context import requires
from app.web.helpers import attach_error
from app.web.job_forms import ConfirmForm, JobReplyForm
from app.web.provider import bp


@bp.get("/jobs")
@requires(Permission.PROVIDER_AREA)
def jobs_list():
    return render_template("provider/jobs.html", rows=jobs.jobs_for_provider(current_user),
                           reference=jobs.reference, title="Jobs for you")


@bp.route("/jobs/<int:job_id>", methods=["GET", "POST"])
@requires(Permission.PROVIDER_AREA)
def job(job_id: int):
    found, reply = jobs.job_for_provider(current_user, job_id)
    services = jobs.matching_listings(current_user, found)
    form = JobReplyForm()
    # Their matching service first, so the holder can book it from the reply straight away.
    form.listing_id.choices = [
        (str(x.id), f"{x.title} ({format_pence(x.price_pence)} {PriceUnit(x.price_unit).label})")
        for x in services] + [("", "Not one of my listed services")]
    if reply is None and found.status == "open" and form.validate_on_submit():
        listing_id = int(form.listing_id.data) if (form.listing_id.data or "").isdigit() else None
        try:
            jobs.reply(current_user, job_id, form.message.data, listing_id)
        except DomainError as err:
            attach_error(form, err, default_field="message")
        else:
            flash("Your reply has been sent. The person can now compare replies and may message you.", "success")
            return redirect(url_for("provider.job", job_id=job_id))
    return render_template("provider/job.html", job=found, reply=reply, form=form,
                           withdraw_form=ConfirmForm(), category_label=Category(found.category).label,
                           reference=jobs.reference(found), title=f"Job {jobs.reference(found)}")


@bp.post("/jobs/<int:job_id>/withdraw")
@requires(Permission.PROVIDER_AREA)
def job_withdraw(job_id: int):
    if ConfirmForm().validate_on_submit():
        try:
            jobs.withdraw(current_user, job_id)
        except DomainError as err:
            flash(err.message, "error")
        else:
            flash("Your reply has been withdrawn.", "success")
    return redirect(url_for("provider.job", job_id=job_id))
