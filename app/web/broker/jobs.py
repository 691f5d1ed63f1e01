"""Broker console: post a job for a budget holder (the holder's side then manages the replies)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.domain.access import Permission
from app.errors import DomainError
from app.services import jobs
from app.web.broker import _holder_or_404, bp
from app.web.context import requires
from app.web.helpers import attach_error
from app.web.holder.jobs import job_input
from app.web.job_forms import JobForm


@bp.route("/holders/<int:holder_id>/jobs/new", methods=["GET", "POST"])
@requires(Permission.BROKER_AREA)
def job_new(holder_id: int):
    person = _holder_or_404(holder_id)
    form = JobForm(data={"district": person.home_district or ""} if request.method == "GET" else None)
    if form.validate_on_submit() and (data := job_input(form)) is not None:
        try:
            job = jobs.post(current_user, person, data)
        except DomainError as err:
            attach_error(form, err)
        else:
            told = jobs.told_count(job)
            flash(f"Job {jobs.reference(job)} is posted for {person.name}. {told} matching "
                  f"provider{'s have' if told != 1 else ' has'} been told so far. {person.name} and the "
                  "people who act for them see the replies.", "success")
            return redirect(url_for("broker.holder", holder_id=person.id))
    return render_template("holder/job_new.html", form=form, broker_for=person,
                           title=f"Post a job for {person.name}")
