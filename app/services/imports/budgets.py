"""Importing budgets with the Budgets screen's rules (budgets.create_budget) and audit, written a batch at a time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert, select

from app.domain.budget import Frequency, FundingMode, budget_end
from app.domain.errors import DomainError
from app.domain.money import parse_pounds
from app.extensions import db
from app.models import AuditEvent, Budget, ImportedRecord, User
from app.services import budgets, council_settings
from app.services.imports import Checked, Written, among, reference_of, referenced, require_columns, table


def parse_date(raw: str | None, name: str, c: Checked) -> date | None:
    try:
        return date.fromisoformat((raw or "").strip())
    except ValueError:
        c.fail(name, f"Enter {name.replace('_', ' ')} as a date like 2025-04-01.")
        return None


class Budgets:
    """Checked with budgets.create_budget's rules (amount, dates, frequency, funding mode,
    contingency, no overlap) and written in bulk: one budget at a time through the service
    costs a commit each, too slow for a council's 50,000.

    Columns: reference, holder_reference, annual_amount (pounds), start_date (2025-04-01),
    frequency (four_weekly, monthly), funding_mode, and contingency_weeks or contingency_amount
    (neither: the council's default weeks). Instalments are recorded through the API."""

    kind = "budget"
    batch_size = 500
    required = ("holder_reference", "annual_amount", "start_date", "frequency", "funding_mode")

    def start_pass(self) -> None:
        self.in_file: dict[int, list[tuple[date, date]]] = {}

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
                clean["contingency_weeks"] = council_settings.current().contingency_weeks_default
            c.clean = clean
            out.append(c)
        done = referenced(self.kind, [c.reference for c in out if c.reference])
        holders = referenced("holder", [c.clean["holder_reference"] for c in out if c.clean])
        existing: dict[int, list[Budget]] = {}
        for b in db.session.scalars(select(Budget).where(among(Budget.holder_id, list(holders.values())))):
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
                elif any(s <= end and start <= e for s, e in self.in_file.get(holder_id, [])):
                    c.fail("start_date", "An earlier line of this file gives this holder a budget "
                                         "overlapping these dates.")
                self.in_file.setdefault(holder_id, []).append((start, end))
                pence = c.clean.get("contingency_pence")
                if pence is not None and pence > c.clean.get("annual_pence", 0):
                    c.fail("contingency_amount", "The contingency reserve cannot be more than the annual amount.")
                latest = date.today() + timedelta(days=366)
                if not budgets.EARLIEST_START <= start <= latest:
                    c.fail("start_date", f"Enter a start date between {budgets.EARLIEST_START:%-d %B %Y} "
                                         f"and {latest:%-d %B %Y}.")
        return out

    def write(self, rows: list[Checked], actor: User) -> Written:
        """The batch in one transaction: budgets, references and the same audit events as
        budgets.create_budget records (the rows passed its checks, mirrored in `check`)."""
        now = datetime.now(UTC)
        new = [c for c in rows if c.clean and not c.clean.get("adopt")]
        keys = ("holder_id", "annual_pence", "start_date", "frequency", "funding_mode", "contingency_weeks",
                "contingency_pence")
        budget_table = table(Budget)
        ids = list(db.session.scalars(
            insert(budget_table).returning(budget_table.c.id, sort_by_parameter_order=True),
            [{**{k: c.clean[k] for k in keys}, "created_by_id": actor.id, "created_at": now}
             for c in new if c.clean])) if new else []
        subject = dict(zip((id(c) for c in new), ids, strict=True))
        db.session.execute(insert(table(ImportedRecord)), [
            {"kind": self.kind, "reference": c.reference, "imported_at": now,
             "subject_id": c.clean["adopt"] if c.clean.get("adopt") else subject[id(c)]}
            for c in rows if c.clean])
        if new:
            db.session.execute(insert(table(AuditEvent)), [
                {"occurred_at": now, "actor_id": actor.id, "on_behalf_of_id": c.clean["holder_id"],
                 "action": "budget.created", "subject_type": "budget", "subject_id": str(subject[id(c)]),
                 "details": {"annual_pence": c.clean["annual_pence"],
                             "start_date": c.clean["start_date"].isoformat(), "frequency": c.clean["frequency"],
                             "funding_mode": c.clean["funding_mode"],
                             "contingency_weeks": c.clean["contingency_weeks"],
                             "contingency_pence": c.clean["contingency_pence"], "reference": c.reference}}
                for c in new if c.clean])
        db.session.commit()
        return [(c, None) for c in rows]


def referenced_id(budget_id: int) -> bool:
    return db.session.scalar(select(ImportedRecord.id).where(
        ImportedRecord.kind == "budget", ImportedRecord.subject_id == budget_id)) is not None
