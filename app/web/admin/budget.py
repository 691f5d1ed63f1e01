"""Council admin: create budgets, record instalments, adjust, claw back, export audit CSVs."""

from __future__ import annotations

from datetime import date

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.domain.access import Permission, Role
from app.domain.budget import CATEGORIES, category_label
from app.domain.ledger import Account
from app.domain.money import Money, parse_pounds
from app.errors import DomainError, InvalidInput
from app.extensions import db
from app.models import User
from app.services import budgets, ledger
from app.web.admin import bp
from app.web.budget_forms import AdjustForm, BudgetForm, ClawbackForm, ExportForm, InstalmentForm
from app.web.budget_views import budget_page_context, csv_response, pounds_plain, statement_csv
from app.web.context import requires
from app.web.helpers import attach_error


def _financial_year(today: date) -> tuple[date, date]:
    start = date(today.year if today.month >= 4 else today.year - 1, 4, 1)
    return start, date(start.year + 1, 3, 31)


@bp.get("/budgets")
@requires(Permission.ADMIN_AREA)
def budgets_list():
    first, last = _financial_year(date.today())
    export_form = ExportForm(formdata=None, first=first, last=last)
    return render_template("admin/budgets.html", budgets=budgets.all_budgets(),
                           export_form=export_form, title="Budgets")


@bp.route("/budgets/new", methods=["GET", "POST"])
@requires(Permission.ADMIN_AREA)
def budget_new():
    form = BudgetForm()
    holders = db.session.scalars(select(User).where(User.role == Role.HOLDER.value).order_by(User.name)).all()
    form.holder.choices = [("", "Choose a budget holder")] + [(str(h.id), f"{h.name} ({h.email})") for h in holders]
    if request.method == "GET" and request.args.get("holder"):
        form.holder.data = request.args["holder"]
    if form.validate_on_submit():
        try:
            annual = parse_pounds(form.annual_amount.data, field="annual_amount", label="the annual amount")
            weeks = amount = None
            if form.contingency_kind.data == "amount":
                amount = parse_pounds(form.contingency_amount.data, field="contingency_amount",
                                      allow_zero=True, label="the reserve")
            else:
                raw = (form.contingency_weeks.data or "").strip()
                if not raw.isdigit():
                    raise InvalidInput("Enter the number of weeks as a whole number, like 4",
                                       field="contingency_weeks")
                weeks = int(raw)
            budget = budgets.create_budget(int(form.holder.data), annual, form.start_date.data,
                                           form.frequency.data, form.funding_mode.data,
                                           contingency_weeks=weeks, contingency_pence=amount,
                                           actor=current_user)
        except DomainError as err:
            attach_error(form, err)
        else:
            flash(f"Budget of {Money(budget.annual_pence)} a year created for {budget.holder.name}.", "success")
            return redirect(url_for("admin.budget_detail", budget_id=budget.id))
    return render_template("admin/budget_new.html", form=form, title="Create a budget")


def _detail(budget_id: int, *, form=None, instalment=None, adjust=None, clawback=None, status=200):
    budget = budgets.get_budget(budget_id)
    due_on, due_amount = budgets.next_instalment(budget)
    if instalment is None:
        instalment = InstalmentForm(formdata=None, amount=pounds_plain(due_amount),
                                    received_on=min(due_on, date.today()))
    unspent = sum(ledger.balances(budget.id)[a] for a in (Account.AVAILABLE, Account.CONTINGENCY))
    if clawback is None:
        clawback = ClawbackForm(formdata=None)
    return render_template(
        "admin/budget_detail.html", form=form, instalment_form=instalment,
        adjust_form=adjust or AdjustForm(formdata=None), clawback_form=clawback, unspent=unspent,
        title=f"Budget for {budget.holder.name}", **budget_page_context(budget, staff=True)), status


def _done(tx, what: str, budget_id: int):
    if tx.replayed:
        flash(f"That {what} was already recorded, so nothing was added again.", "error")
    else:
        flash(f"{what.capitalize()} of {Money(tx.amount_pence)} recorded.", "success")
    return redirect(url_for("admin.budget_detail", budget_id=budget_id))


@bp.get("/budgets/<int:budget_id>")
@requires(Permission.ADMIN_AREA)
def budget_detail(budget_id: int):
    return _detail(budget_id)[0]


@bp.post("/budgets/<int:budget_id>/instalments")
@requires(Permission.ADMIN_AREA)
def budget_instalment(budget_id: int):
    form = InstalmentForm()
    if form.validate_on_submit():
        try:
            pence = parse_pounds(form.amount.data, field="amount")
            tx = budgets.record_instalment(budget_id, pence, idempotency_key=form.idempotency_key.data,
                                           actor=current_user, received_on=form.received_on.data,
                                           reference=form.reference.data or None)
        except DomainError as err:
            attach_error(form, err)
        else:
            return _done(tx, "instalment", budget_id)
    return _detail(budget_id, form=form, instalment=form, status=400)


@bp.post("/budgets/<int:budget_id>/adjustments")
@requires(Permission.ADMIN_AREA)
def budget_adjust(budget_id: int):
    form = AdjustForm()
    if form.validate_on_submit():
        try:
            pence = parse_pounds(form.amount.data, field="amount")
            signed = pence if form.direction.data == "add" else -pence
            tx = budgets.adjust_budget(budget_id, signed, reason=form.reason.data,
                                      idempotency_key=form.idempotency_key.data, actor=current_user)
        except DomainError as err:
            attach_error(form, err)
        else:
            return _done(tx, "adjustment", budget_id)
    return _detail(budget_id, form=form, adjust=form, status=400)


@bp.post("/budgets/<int:budget_id>/clawbacks")
@requires(Permission.ADMIN_AREA)
def budget_clawback(budget_id: int):
    """Two steps, no JavaScript: the form leads to a confirmation page; money moves only from it.

    Both steps carry the same idempotency key, so a double submit takes the money once.
    """
    form = ClawbackForm()
    if form.validate_on_submit():
        try:
            pence = parse_pounds(form.amount.data, field="amount")
            if form.confirmed.data != "yes":
                preview = ledger.preview_clawback(budget_id, pence, reason=form.reason.data,
                                                  actor=current_user)
                return render_template("admin/clawback_confirm.html", form=form, preview=preview,
                                       amount=pounds_plain(pence),
                                       title="Check before taking money back")
            tx = budgets.claw_back(budget_id, pence, idempotency_key=form.idempotency_key.data,
                                   actor=current_user, reason=form.reason.data)
        except DomainError as err:
            attach_error(form, err)
        else:
            return _done(tx, "clawback", budget_id)
    form.confirmed.data = ""
    return _detail(budget_id, form=form, clawback=form, status=400)


@bp.get("/budgets/<int:budget_id>/statement.csv")
@requires(Permission.ADMIN_AREA)
def budget_statement_csv(budget_id: int):
    return statement_csv(budgets.get_budget(budget_id))


@bp.get("/budgets/audit.csv")
@requires(Permission.ADMIN_AREA)
def budgets_audit_csv():
    form = ExportForm(request.args)
    first, last = _financial_year(date.today())
    if request.args and not form.validate():
        return render_template("admin/budgets.html", budgets=budgets.all_budgets(), export_form=form,
                               form=form, title="Budgets"), 400
    first, last = form.first.data or first, form.last.data or last
    try:
        rows = budgets.period_audit(first, last)
    except DomainError as err:
        attach_error(form, err)
        return render_template("admin/budgets.html", budgets=budgets.all_budgets(), export_form=form,
                               form=form, title="Budgets"), 400
    codes = list(CATEGORIES)
    header = ["budget", "holder", "email", "funding_mode", "period_from", "period_to", "allocated_pounds",
              *[f"spent_{c}_pounds" for c in codes], "spent_total_pounds", "held_pounds",
              "unspent_pounds", "clawed_back_pounds"]
    out = [[r.budget.id, r.budget.holder.name, r.budget.holder.email, r.budget.funding_mode,
            first.isoformat(), last.isoformat(), pounds_plain(r.allocated),
            *[pounds_plain(r.spent_by_category.get(c, 0)) for c in codes], pounds_plain(r.spent),
            pounds_plain(r.held), pounds_plain(r.unspent), pounds_plain(r.clawed_back)] for r in rows]
    return csv_response(f"budgets-audit-{first.isoformat()}-to-{last.isoformat()}.csv", header, out)


# Used by templates to label categories.
bp.add_app_template_filter(category_label, "category_label")
