"""Helpers shared by the holder, broker and admin budget pages: CSV, statements, plan forms."""

from __future__ import annotations

import csv
import io
from datetime import date

from flask import Response

from app.domain.budget import CATEGORIES
from app.domain.money import parse_pounds
from app.domain.wording import for_staff
from app.errors import DomainError, InvalidInput
from app.models import Budget, SupportPlanVersion, User
from app.services import budgets
from app.web.charts import spend_chart, spend_points
from app.web.helpers import attach_error


def _cell(value) -> str:
    text = "" if value is None else str(value)
    # Spreadsheets run cells starting with these as formulas: defuse text from people.
    if text[:1] in ("=", "+", "@", "\t", "\r") or (text[:1] == "-" and not _is_number(text)):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def pounds_plain(pence: int) -> str:
    sign = "-" if pence < 0 else ""
    whole, part = divmod(abs(pence), 100)
    return f"{sign}{whole}.{part:02d}"


def csv_response(filename: str, header: list[str], rows: list[list]) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return Response(buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def statement_csv(budget: Budget) -> Response:
    rows = [[line.occurred_on.isoformat(), line.transaction_id, line.entry_id, line.description,
             line.account, line.category, pounds_plain(line.amount_pence), line.reference]
            for line in budgets.statement(budget.id)]
    return csv_response(f"budget-{budget.id}-statement.csv",
                        ["date", "transaction", "entry", "description", "account", "category",
                         "amount_pounds", "reference"], rows)


def budget_page_context(budget: Budget, today: date | None = None, *, staff: bool = False) -> dict:
    """What the budget summary shows; `staff` words it about the holder, not to them."""
    today = today or date.today()
    summary = budgets.summary(budget, today)
    points = spend_points(budget.annual_pence, budget.start_date, budget.end_date,
                          summary.spend_by_day, today)
    messages = summary.forecast.messages
    return {"budget": budget, "summary": summary, "points": points,
            "forecast_messages": [for_staff(m) for m in messages] if staff else messages,
            "chart": spend_chart(budget.annual_pence, budget.start_date, budget.end_date, points)}


def plan_form_defaults(form, plan: SupportPlanVersion | None) -> None:
    if plan is None:
        return
    form.what_matters.data = plan.what_matters
    form.outcomes.data = plan.outcomes
    for category in plan.categories:
        getattr(form, f"amount_{category.code}").data = pounds_plain(category.annual_pence)


def save_plan_from_form(form, holder: User, actor: User, on_behalf_of: User | None):
    """Parse the plan form and save a new version; errors go beside their field. None on error."""
    try:
        amounts = {}
        for code in CATEGORIES:
            raw = (getattr(form, f"amount_{code}").data or "").strip()
            if raw:
                amounts[code] = parse_pounds(raw, field=f"amount_{code}")
        if not amounts:
            raise InvalidInput("Enter a yearly amount for at least one category",
                               field=f"amount_{next(iter(CATEGORIES))}")
        return budgets.save_plan(holder.id, form.what_matters.data, form.outcomes.data, amounts,
                                 actor=actor, on_behalf_of=on_behalf_of,
                                 change_note=form.change_note.data)
    except DomainError as err:
        attach_error(form, err)
        return None
