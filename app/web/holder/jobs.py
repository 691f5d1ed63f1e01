"""Holder area: the shortlist (save, note, compare, remove) and job posts (post, replies, close)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.domain.access import Permission
from app.domain.listings import PriceError, parse_pounds
from app.errors import DomainError, NotFound
from app.services import jobs, shortlists
from app.web.context import acting, requires
from app.web.helpers import attach_error
from app.web.holder import bp
from app.web.job_forms import CloseJobForm, ConfirmForm, JobForm, ShortlistNoteForm


def _int_or_none(raw: str | None) -> int | None:
    try:
        value = int(raw) if raw else None
    except ValueError:
        return None
    return value if value is not None and 0 < value < 2**31 else None


@bp.get("/shortlist")
@requires(Permission.HOLDER_FIND_SUPPORT)
def shortlist():
    ctx = acting()
    return render_template("holder/shortlist.html",
                           comparison=shortlists.compare(current_user, ctx.holder),
                           title="Shortlist")


@bp.post("/shortlist/add")
@requires(Permission.HOLDER_FIND_SUPPORT)
def shortlist_add():
    ctx = acting()
    form = ConfirmForm()
    profile_id = _int_or_none(request.form.get("profile_id"))
    listing_id = _int_or_none(request.form.get("listing_id"))
    if not form.validate_on_submit() or profile_id is None:
        flash("We could not save that to the shortlist. Please try again.", "error")
        return redirect(url_for("holder.shortlist"))
    try:
        entry = shortlists.add(current_user, ctx.holder, profile_id=profile_id, listing_id=listing_id)
    except DomainError as err:
        flash(err.message, "error")
    else:
        flash(f"{entry.profile.display_name} is on the shortlist.", "success")
    return redirect(url_for("holder.shortlist"))


@bp.route("/shortlist/<int:entry_id>/note", methods=["GET", "POST"])
@requires(Permission.HOLDER_FIND_SUPPORT)
def shortlist_note(entry_id: int):
    ctx = acting()
    entry = next((c.entry for c in shortlists.compare(current_user, ctx.holder) if c.entry.id == entry_id), None)
    if entry is None:
        raise NotFound("We could not find that entry on the shortlist.")
    form = ShortlistNoteForm(data={"note": entry.note} if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            shortlists.update_note(current_user, ctx.holder, entry_id, form.note.data or "")
        except DomainError as err:
            attach_error(form, err, default_field="note")
        else:
            flash("Note saved.", "success")
            return redirect(url_for("holder.shortlist"))
    return render_template("holder/shortlist_note.html", form=form, entry=entry,
                           title=f"Note about {entry.profile.display_name}")


@bp.route("/shortlist/<int:entry_id>/remove", methods=["GET", "POST"])
@requires(Permission.HOLDER_FIND_SUPPORT)
def shortlist_remove(entry_id: int):
    """A confirmation page first: removing loses the private note."""
    ctx = acting()
    entry = next((e for e in shortlists.entries(current_user, ctx.holder) if e.id == entry_id), None)
    if entry is None:
        raise NotFound("We could not find that entry on the shortlist.")
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            name = shortlists.remove(current_user, ctx.holder, entry_id)
        except DomainError as err:
            flash(err.message, "error")
        else:
            flash(f"{name} has been taken off the shortlist.", "success")
        return redirect(url_for("holder.shortlist"))
    return render_template("holder/shortlist_remove.html", form=form, entry=entry,
                           title=f"Take {entry.profile.display_name} off the shortlist?")


@bp.get("/jobs")
@requires(Permission.HOLDER_FIND_SUPPORT)
def job_list():
    ctx = acting()
    return render_template("holder/jobs.html", jobs=jobs.jobs_of_holder(current_user, ctx.holder),
                           reference=jobs.reference, title="Job posts")


def job_input(form: JobForm) -> jobs.JobInput | None:
    """The form's values for the service, or None with the money error beside its field."""
    try:
        rate = parse_pounds(form.max_rate.data)
    except PriceError as err:
        form.max_rate.errors = [str(err)]
        form._errors = None
        return None
    return jobs.JobInput(
        category=form.category.data, district=form.district.data, title=form.title.data,
        when=form.when.data, hours_per_week=form.hours_per_week.data, max_rate_pence=rate,
        details=form.details.data or "", skills=tuple(form.skills.data or ()),
        languages=tuple(x for x in (form.languages.data or "").split(",") if x.strip()),
        preferred_gender=form.preferred_gender.data or None)


@bp.route("/jobs/new", methods=["GET", "POST"])
@requires(Permission.HOLDER_FIND_SUPPORT)
def job_new():
    ctx = acting()
    form = JobForm(data={"district": ctx.holder.home_district or ""} if request.method == "GET" else None)
    if form.validate_on_submit() and (data := job_input(form)) is not None:
        try:
            job = jobs.post(current_user, ctx.holder, data)
        except DomainError as err:
            attach_error(form, err)
        else:
            told = jobs.told_count(job)
            flash(f"Job {jobs.reference(job)} is posted. {told} matching provider{'s' if told != 1 else ''} "
                  "have been told so far; more will hear in turns.", "success")
            return redirect(url_for("holder.job_detail", job_id=job.id))
    return render_template("holder/job_new.html", form=form, title="Post a job")


@bp.get("/jobs/<int:job_id>")
@requires(Permission.HOLDER_FIND_SUPPORT)
def job_detail(job_id: int):
    ctx = acting()
    job = jobs.job_for_holder(current_user, ctx.holder, job_id)
    return render_template("holder/job_detail.html", job=job, told=jobs.told_count(job),
                           reference=jobs.reference(job), confirm_form=ConfirmForm(),
                           title=f"Job {jobs.reference(job)}: {job.title}")


@bp.post("/jobs/<int:job_id>/replies/<int:reply_id>/shortlist")
@requires(Permission.HOLDER_FIND_SUPPORT)
def job_reply_shortlist(job_id: int, reply_id: int):
    ctx = acting()
    if ConfirmForm().validate_on_submit():
        try:
            entry = jobs.shortlist_reply(current_user, ctx.holder, job_id, reply_id)
        except DomainError as err:
            flash(err.message, "error")
        else:
            flash(f"{entry.profile.display_name} is on the shortlist.", "success")
    return redirect(url_for("holder.job_detail", job_id=job_id))


@bp.route("/jobs/<int:job_id>/close", methods=["GET", "POST"])
@requires(Permission.HOLDER_FIND_SUPPORT)
def job_close(job_id: int):
    ctx = acting()
    job = jobs.job_for_holder(current_user, ctx.holder, job_id)
    form = CloseJobForm()
    form.filled_by.choices = [(str(r.id), r.profile.display_name) for r in job.replies
                              if r.status == "interested"] + [("none", "Nobody yet: the job is not needed any more")]
    if form.validate_on_submit():
        chosen = None if form.filled_by.data == "none" else _int_or_none(form.filled_by.data)
        try:
            jobs.close(current_user, ctx.holder, job_id, filled_by_reply_id=chosen)
        except DomainError as err:
            attach_error(form, err, default_field="filled_by")
        else:
            flash(f"Job {jobs.reference(job)} is closed. Everyone who replied has been told.", "success")
            return redirect(url_for("holder.job_list"))
    return render_template("holder/job_close.html", form=form, job=job, reference=jobs.reference(job),
                           title=f"Close job {jobs.reference(job)}")


@bp.app_template_filter("listing_category")
def listing_category(code: str) -> str:
    """A listing category's words ("Personal care"), for job posts and their replies."""
    from app.domain.listings import Category

    return Category(code).label if code in Category._value2member_map_ else code
