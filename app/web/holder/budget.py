"""The holder's budget page, ledger statement (page and CSV) and support plan."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, url_for
from flask_login import current_user

from app.domain.access import Permission
from app.services import budgets, whats_next
from app.services.ledger import current_plan
from app.web.budget_forms import PlanForm
from app.web.budget_views import (
    budget_page_context,
    plan_form_defaults,
    save_plan_from_form,
    statement_csv,
)
from app.web.context import acting, requires
from app.web.holder import bp


def _whose(ctx) -> str:
    return f"{ctx.holder.name}'s" if ctx.on_behalf else "Your"


@bp.get("/budget")
@requires(Permission.HOLDER_VIEW_BUDGET)
def budget():
    ctx = acting()
    current = budgets.current_budget(ctx.holder.id)
    if current is None:
        return render_template("holder/budget_none.html", title=f"{_whose(ctx)} budget")
    return render_template("holder/budget.html", title=f"{_whose(ctx)} budget",
                           requested=whats_next.requested_not_held(ctx.holder.id),
                           **budget_page_context(current, on_behalf=ctx.on_behalf))


@bp.get("/budget/statement")
@requires(Permission.HOLDER_VIEW_BUDGET)
def budget_statement():
    ctx = acting()
    current = budgets.current_budget(ctx.holder.id)
    lines = budgets.statement(current.id) if current else []
    return render_template("holder/budget_statement.html", budget=current,
                           lines=[line for line in lines if line.account != "Council"],
                           title=f"{_whose(ctx)} budget statement")


@bp.get("/budget/statement.csv")
@requires(Permission.HOLDER_VIEW_BUDGET)
def budget_statement_csv():
    ctx = acting()
    current = budgets.current_budget(ctx.holder.id)
    if current is None:
        # A download link must not answer with a web page saved as a .csv file.
        return Response("There is no budget yet, so there is no statement to download.\n",
                        status=404, mimetype="text/plain")
    return statement_csv(current)


@bp.get("/plan")
@requires(Permission.HOLDER_VIEW_PLAN)
def plan():
    ctx = acting()
    return render_template("holder/plan.html", plan=current_plan(ctx.holder.id),
                           proposal=budgets.waiting_proposal(ctx.holder.id),
                           declined=budgets.last_declined(ctx.holder.id),
                           versions=budgets.plan_versions(ctx.holder.id),
                           title=f"{_whose(ctx)} support plan")


@bp.get("/plan/versions/<int:version_id>")
@requires(Permission.HOLDER_VIEW_PLAN)
def plan_version(version_id: int):
    """`version_id` is the plan's version number for this holder (1, 2, ...)."""
    ctx = acting()
    version = version_id
    return render_template("holder/plan.html", plan=budgets.plan_version(ctx.holder.id, version),
                           versions=budgets.plan_versions(ctx.holder.id), old_version=True,
                           title=f"{_whose(ctx)} support plan, version {version}")


@bp.route("/plan/edit", methods=["GET", "POST"])
@requires(Permission.HOLDER_EDIT_PLAN)
def plan_edit():
    ctx = acting()
    form = PlanForm()
    if form.validate_on_submit():
        saved = save_plan_from_form(form, ctx.holder, current_user, ctx.holder)
        if saved is not None and saved.agreed:
            flash(f"Support plan saved as version {saved.version}. Earlier versions are kept.", "success")
            return redirect(url_for("holder.plan"))
        if saved is not None:
            flash(f"Version {saved.version} is waiting for a broker to agree the changes to the "
                  "spending. Until then the agreed plan stays as it is.", "success")
            return redirect(url_for("holder.plan"))
    elif not form.is_submitted():
        # Carry on from a proposal still waiting, so a second edit does not lose the first.
        plan_form_defaults(form, budgets.waiting_proposal(ctx.holder.id) or current_plan(ctx.holder.id))
    return render_template("holder/plan_edit.html", form=form, holder=ctx.holder,
                           cancel_url=url_for("holder.plan"), title="Change the support plan")
