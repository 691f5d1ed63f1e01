"""Helpers shared by the holder, broker and admin budget pages: CSV, statements, plan forms."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal, InvalidOperation

from flask import Response

from app.domain.budget import CATEGORIES, category_label
from app.domain.money import parse_pounds
from app.domain.wording import for_someone_acting, for_staff
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


def budget_page_context(budget: Budget, today: date | None = None, *, staff: bool = False,
                        on_behalf: bool = False) -> dict:
    """What the budget summary shows; `staff` words it about the holder, not to them, and so
    does `on_behalf` (someone acting for the holder)."""
    today = today or date.today()
    summary = budgets.summary(budget, today)
    points = spend_points(budget.annual_pence, budget.start_date, budget.end_date,
                          summary.spend_by_day, today)
    messages = summary.forecast.messages
    return {"budget": budget, "summary": summary, "points": points,
            "forecast_messages": ([for_staff(m) for m in messages] if staff else
                                  [for_someone_acting(m) for m in messages] if on_behalf
                                  else messages),
            "chart": spend_chart(budget.annual_pence, budget.start_date, budget.end_date, points)}


def plan_form_defaults(form, plan: SupportPlanVersion | None) -> None:
    if plan is None:
        return
    form.what_matters.data = plan.what_matters
    form.outcomes.data = plan.outcomes
    for category in plan.categories:
        getattr(form, f"amount_{category.code}").data = pounds_plain(category.annual_pence)
        if category.max_minutes_per_week is not None:
            getattr(form, f"hours_{category.code}").data = hours_plain(
                category.max_minutes_per_week)


def hours_plain(minutes: int) -> str:
    """Minutes as hours for a form: 600 -> '10', 450 -> '7.5'."""
    whole, rest = divmod(minutes, 60)
    return str(whole) if not rest else f"{Decimal(minutes) / 60:.2f}".rstrip("0")


def _parse_hours(raw: str, code: str) -> int:
    return parse_hours(raw, f"hours_{code}", f"the most hours a week for {category_label(code)}")


def parse_hours(raw: str, field: str, what: str = "the hours") -> int:
    """'10' or '7.5' hours (up to a week's 168) as whole minutes, or InvalidInput beside the field."""
    message = f"Enter {what} as a number from 1 to 168, like 10 or 7.5"
    try:
        hours = Decimal(raw.strip())
    except InvalidOperation:
        raise InvalidInput(message, field=field) from None
    if not hours.is_finite():
        raise InvalidInput(message, field=field)
    minutes = hours * 60
    if minutes != minutes.to_integral_value() or not 0 < hours <= 168:
        raise InvalidInput(message, field=field)
    return int(minutes)


def save_plan_from_form(form, holder: User, actor: User, on_behalf_of: User | None):
    """Parse the plan form and save a new version; errors go beside their field. None on error."""
    try:
        amounts = {}
        weekly: dict[str, int] = {}
        for code in CATEGORIES:
            raw = (getattr(form, f"amount_{code}").data or "").strip()
            if raw:
                amounts[code] = parse_pounds(raw, field=f"amount_{code}")
            raw_hours = (getattr(form, f"hours_{code}").data or "").strip()
            if raw_hours:
                weekly[code] = _parse_hours(raw_hours, code)
        if not amounts:
            raise InvalidInput("Enter a yearly amount for at least one category",
                               field=f"amount_{next(iter(CATEGORIES))}")
        return budgets.save_plan(holder.id, form.what_matters.data, form.outcomes.data, amounts,
                                 actor=actor, on_behalf_of=on_behalf_of,
                                 change_note=form.change_note.data, weekly_minutes=weekly)
    except DomainError as err:
        attach_error(form, err)
        return None
