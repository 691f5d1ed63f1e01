"""Importing budgets: each row goes through budgets.create_budget (the Budgets screen's own rules and audit)."""

from __future__ import annotations

from datetime import date, timedelta

from flask import current_app
from sqlalchemy import select

from app.domain.budget import Frequency, FundingMode, budget_end
from app.domain.errors import DomainError
from app.domain.money import parse_pounds
from app.extensions import db
from app.models import Budget, ImportedRecord, User
from app.services import budgets
from app.services.imports import Checked, Written, reference_of, referenced, require_columns


def parse_date(raw: str | None, name: str, c: Checked) -> date | None:
    try:
        return date.fromisoformat((raw or "").strip())
    except ValueError:
        c.fail(name, f"Enter {name.replace('_', ' ')} as a date like 2025-04-01.")
        return None


class Budgets:
    """Columns: reference, holder_reference, annual_amount (pounds), start_date (2025-04-01),
    frequency (four_weekly, monthly), funding_mode, and contingency_weeks or contingency_amount
    (neither: the council's default weeks). Instalments are recorded through the API."""

    kind = "budget"
    batch_size = 500
    required = ("holder_reference", "annual_amount", "start_date", "frequency", "funding_mode")

    def start_pass(self) -> None:
        pass

    def check(self, rows: list[tuple[int, dict]]) -> list[Checked]:
        out = []
        for line, row in rows:
            c = Checked(line, None)
            reference_of(row, c)
            if not require_columns(row, self.required, c):
                out.append(c)
                continue
            clean: dict = {"holder_reference": row["holder_reference"].strip()}
            try:
                clean["annual_pence"] = parse_pounds(row["annual_amount"], field="annual_amount")
            except DomainError as err:
                c.fail("annual_amount", err.message)
            clean["start_date"] = parse_date(row["start_date"], "start_date", c)
            if row["frequency"] not in {f.value for f in Frequency}:
                c.fail("frequency", "Enter the frequency as " + " or ".join(f.value for f in Frequency) + ".")
            if row["funding_mode"] not in {m.value for m in FundingMode}:
                c.fail("funding_mode", "Enter the funding mode as one of " +
                       ", ".join(m.value for m in FundingMode) + ".")
            clean["frequency"], clean["funding_mode"] = row["frequency"], row["funding_mode"]
            weeks, amount = (row.get("contingency_weeks") or "").strip(), (row.get("contingency_amount") or "").strip()
            clean["contingency_weeks"] = clean["contingency_pence"] = None
            if weeks and amount:
                c.fail("contingency_weeks", "Give the contingency as weeks or as an amount, not both.")
            elif amount:
                try:
                    clean["contingency_pence"] = parse_pounds(amount, field="contingency_amount", allow_zero=True)
                except DomainError as err:
                    c.fail("contingency_amount", err.message)
            elif weeks:
                if not weeks.isdigit() or not 0 <= int(weeks) <= 26:
                    c.fail("contingency_weeks", "Enter between 0 and 26 weeks.")
                else:
                    clean["contingency_weeks"] = int(weeks)
            else:
                clean["contingency_weeks"] = current_app.config["COUNCIL"].contingency_weeks_default
            c.clean = clean
            out.append(c)
        done = referenced(self.kind, [c.reference for c in out if c.reference])
        holders = referenced("holder", [c.clean["holder_reference"] for c in out if c.clean])
        existing: dict[int, list[Budget]] = {}
        for b in db.session.scalars(select(Budget).where(Budget.holder_id.in_(list(holders.values())))):
            existing.setdefault(b.holder_id, []).append(b)
        for c in out:
            if c.reference in done:
                c.unchanged, c.errors = True, []
                continue
            if not c.clean:
                continue
            holder_id = holders.get(c.clean["holder_reference"])
            if holder_id is None:
                c.fail("holder_reference", f"No holder has been imported with the reference "
                                           f"{c.clean['holder_reference']}. Import holders first.")
                continue
            c.clean["holder_id"] = holder_id
            start = c.clean.get("start_date")
            if start and not c.errors:
                end = budget_end(start)
                clash = [b for b in existing.get(holder_id, []) if b.start_date <= end and start <= b.end_date]
                same = [b for b in clash if b.start_date == start and b.annual_pence == c.clean.get("annual_pence")
                        and not referenced_id(b.id)]
                if same:
                    # A run cut off between the budget's commit and its reference's: adopt it.
                    c.clean["adopt"] = same[0].id
                elif clash:
                    c.fail("start_date", "This holder already has a budget overlapping these dates.")
                latest = date.today() + timedelta(days=366)
                if not budgets.EARLIEST_START <= start <= latest:
                    c.fail("start_date", f"Enter a start date between {budgets.EARLIEST_START:%-d %B %Y} "
                                         f"and {latest:%-d %B %Y}.")
        return out

    def write(self, rows: list[Checked], actor: User) -> Written:
        result: Written = []
        for c in rows:
            assert c.clean is not None and c.reference is not None
            v = c.clean
            if v.get("adopt"):
                db.session.add(ImportedRecord(kind=self.kind, reference=c.reference, subject_id=v["adopt"]))
                db.session.commit()
                result.append((c, None))
                continue
            try:
                budget = budgets.create_budget(
                    v["holder_id"], v["annual_pence"], v["start_date"], v["frequency"], v["funding_mode"],
                    contingency_weeks=v["contingency_weeks"], contingency_pence=v["contingency_pence"],
                    actor=actor)
            except DomainError as err:
                result.append((c, err))
                continue
            db.session.add(ImportedRecord(kind=self.kind, reference=c.reference, subject_id=budget.id))
            db.session.commit()
            result.append((c, None))
        return result


def referenced_id(budget_id: int) -> bool:
    return db.session.scalar(select(ImportedRecord.id).where(
        ImportedRecord.kind == "budget", ImportedRecord.subject_id == budget_id)) is not None
