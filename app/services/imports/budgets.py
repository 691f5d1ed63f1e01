"""Importing budgets with the Budgets screen's rules (budgets.create_budget) and audit, written a batch at a time."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

from sqlalchemy import select

from app.domain.budget import budget_end, new_budget_refusals
from app.domain.errors import DomainError
from app.domain.money import parse_pounds
from app.extensions import db
from app.models import AuditEvent, Budget, ImportedRecord, User
from app.services import council_settings
from app.services.imports import (
    Checked,
    Written,
    among,
    audit_row,
    begin_row,
    referenced,
)
from app.services.imports.bulk import rows_into


def parse_date(raw: str | None, name: str, c: Checked) -> date | None:
    try:
        return date.fromisoformat((raw or "").strip())
    except ValueError:
        c.fail(name, f"Enter {name.replace('_', ' ')} as a date like 2025-04-01.")
        return None


class Budgets:
    """Checked with budgets.create_budget's rules (new_budget_refusals: amount, dates, frequency,
    funding mode, contingency, no overlap) and written in bulk: one budget at a time through the service
    costs a commit each, too slow for a council's 50,000.

    Columns: reference, holder_reference, annual_amount (pounds), start_date (2025-04-01),
    frequency (four_weekly, monthly), funding_mode, and contingency_weeks or contingency_amount
    (neither: the council's default weeks). Instalments are recorded through the API."""

    kind = "budget"
    batch_size = 500
    tables = ("budgets",)  # what the checks look up, besides the references
    required = ("holder_reference", "annual_amount", "start_date", "frequency", "funding_mode")
    columns = ("reference", *required, "contingency_weeks", "contingency_amount")  # every column it reads

    def start_pass(self) -> None:
        self.in_file: dict[int, list[tuple[date, date]]] = {}
        self.default_weeks = council_settings.current().contingency_weeks_default  # once a pass

    def check(self, rows: list[tuple[int, dict]]) -> list[Checked]:
        """Parse each row's cells, then refuse what budgets.create_budget would refuse (the
        same function, new_budget_refusals), with the holder's stored budgets looked up per batch."""
        out = []
        for line, row in rows:
            c, complete = begin_row(line, row, self.required)
            if not complete:
                out.append(c)
                continue
            c.clean = self._parse(row, c, self.default_weeks)
            out.append(c)
        done = referenced(self.kind, [c.reference for c in out if c.reference])
        holders = referenced("holder", [c.clean["holder_reference"] for c in out if c.clean])
        existing: dict[int, list[Budget]] = {}
        for b in db.session.scalars(select(Budget).where(among(Budget.holder_id, list(holders.values())))):
            existing.setdefault(b.holder_id, []).append(b)
        adopted = adoptable(b.id for bs in existing.values() for b in bs)
        today = date.today()
        for c in out:
            if c.reference in done:
                c.unchanged, c.errors = True, []
                continue
            if not c.clean:
                continue
            v = c.clean
            holder_id = holders.get(v["holder_reference"])
            if holder_id is None:
                c.fail("holder_reference", f"No holder has been imported with the reference "
                                           f"{v['holder_reference']}. Import holders first.")
                continue
            v["holder_id"] = holder_id
            if c.errors:
                continue  # a cell that could not be read: its refusals would only repeat it
            stored = existing.get(holder_id, [])
            same = [b for b in stored if b.id in adopted and b.start_date == v["start_date"]
                    and b.annual_pence == v["annual_pence"]]
            if same:
                # A run cut off between the budget's commit and its reference's: adopt it.
                v["adopt"] = same[0].id
                adopted.discard(same[0].id)
                self.in_file.setdefault(holder_id, []).append((same[0].start_date, same[0].end_date))
                continue
            for refusal in new_budget_refusals(
                    v["annual_pence"], v["start_date"], v["frequency"], v["funding_mode"],
                    v["contingency_weeks"], v["contingency_pence"], today=today,
                    others=[(b.start_date, b.end_date) for b in stored], holder_name="This holder"):
                c.fail(refusal.field, refusal.message)
            start = v["start_date"]
            if not c.errors:
                end = budget_end(start)
                if any(s <= end and start <= e for s, e in self.in_file.get(holder_id, [])):
                    c.fail("start_date", "An earlier line of this file gives this holder a budget "
                                         "overlapping these dates.")
                self.in_file.setdefault(holder_id, []).append((start, end))
        return out

    @staticmethod
    def _parse(row: dict, c: Checked, default_weeks: int) -> dict:
        """The cells as the values create_budget takes (pounds to pence, text to dates)."""
        clean: dict = {"holder_reference": row["holder_reference"].strip(),
                       "frequency": row["frequency"].strip(), "funding_mode": row["funding_mode"].strip(),
                       "annual_pence": None, "contingency_weeks": None, "contingency_pence": None}
        try:
            clean["annual_pence"] = parse_pounds(row["annual_amount"], field="annual_amount")
        except DomainError as err:
            c.fail("annual_amount", err.message)
        clean["start_date"] = parse_date(row["start_date"], "start_date", c)
        weeks, amount = (row.get("contingency_weeks") or "").strip(), (row.get("contingency_amount") or "").strip()
        if amount:
            try:
                clean["contingency_pence"] = parse_pounds(amount, field="contingency_amount", allow_zero=True)
            except DomainError as err:
                c.fail("contingency_amount", err.message)
        if weeks:
            if not weeks.isdigit() or len(weeks) > 3:
                c.fail("contingency_weeks", "Enter the contingency as a number of weeks, like 4.")
            else:
                clean["contingency_weeks"] = int(weeks)
        if not weeks and not amount:
            clean["contingency_weeks"] = default_weeks
        return clean

    def write(self, rows: list[Checked], actor: User) -> Written:
        """The batch in one transaction: budgets, references and the same audit events as
        budgets.create_budget records (the rows passed its checks, mirrored in `check`)."""
        now = datetime.now(UTC)
        new = [c for c in rows if c.clean and not c.clean.get("adopt")]
        keys = ("holder_id", "annual_pence", "start_date", "frequency", "funding_mode", "contingency_weeks",
                "contingency_pence")
        ids = rows_into(Budget, [{**{k: c.clean[k] for k in keys}, "created_by_id": actor.id, "created_at": now}
                                 for c in new if c.clean], returning_ids=True)
        subject = dict(zip((id(c) for c in new), ids, strict=True))
        rows_into(ImportedRecord, [
            {"kind": self.kind, "reference": c.reference, "imported_at": now,
             "subject_id": c.clean["adopt"] if c.clean.get("adopt") else subject[id(c)]}
            for c in rows if c.clean])
        if new:
            rows_into(AuditEvent, [
                audit_row(now, actor, c.clean["holder_id"], "budget.created", "budget", subject[id(c)],
                          {"annual_pence": c.clean["annual_pence"], "start_date": c.clean["start_date"].isoformat(),
                           "frequency": c.clean["frequency"], "funding_mode": c.clean["funding_mode"],
                           "contingency_weeks": c.clean["contingency_weeks"],
                           "contingency_pence": c.clean["contingency_pence"], "reference": c.reference})
                for c in new if c.clean])
        db.session.commit()
        return [(c, None) for c in rows]


def adoptable(budget_ids: Iterable[int]) -> set[int]:
    """Those of the budgets that no imported reference points at yet (one query per batch)."""
    ids = list(budget_ids)
    if not ids:
        return set()
    taken = set(db.session.scalars(select(ImportedRecord.subject_id).where(
        ImportedRecord.kind == "budget", among(ImportedRecord.subject_id, ids))))
    return set(ids) - taken
