"""Bulk import of a council's providers, holders, budgets and historical bookings from CSV or JSON Lines.

How it works (each kind is a module with `check` and `write`):
- The file is read row by row, in batches, twice at most: a first pass checks every row and
  reports each bad one with its line number and a plain reason. A dry run stops there, and so
  does a real run whose file has any bad row: nothing is written unless every row is good.
- The second pass writes, through the same services and rules as the screens (account rules,
  provider profile and listing rules with vetting deciding visibility, budget rules, the audit
  log). Each row is written with its council reference (imported_records) in the same commit,
  so a row is either wholly there or not at all.
- Idempotent by the council's own reference: a row whose reference was imported before is
  "unchanged" and skipped. Running a file twice changes nothing; a run cut off midway (a
  crash, a lost connection) is finished by running the same file again.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from difflib import get_close_matches
from itertools import islice
from pathlib import Path
from typing import Any, cast

from sqlalchemy import ARRAY, Table, any_, bindparam, select, text

from app.domain.errors import DomainError, InvalidInput, InvariantBroken
from app.extensions import db
from app.models import ImportedRecord, User
from app.services.imports import reader

KINDS = ("providers", "holders", "budgets", "bookings")
MAX_KEPT_ERRORS = 10_000  # a report keeps this many; the count goes on (the CLI prints them all)
MAX_REFERENCE = 80


@dataclass(frozen=True)
class RowError:
    line: int
    reference: str | None
    field: str | None
    message: str


@dataclass
class Checked:
    """One row after checking: `clean` values to write, or the reasons it cannot be."""

    line: int
    reference: str | None
    clean: dict[str, Any] | None = None
    errors: list[tuple[str | None, str]] = field(default_factory=list)
    unchanged: bool = False

    def fail(self, field_name: str | None, message: str) -> None:
        self.errors.append((field_name, message))


@dataclass
class Report:
    kind: str
    dry_run: bool
    rows: int = 0
    imported: int = 0  # in a dry run: rows that would be imported
    unchanged: int = 0
    error_count: int = 0
    errors: list[RowError] = field(default_factory=list)

    def add(self, error: RowError) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_KEPT_ERRORS:
            self.errors.append(error)


Progress = Callable[[str, int, int | None], None]  # (phase, rows done, rows in all if known)
OnError = Callable[[RowError], None]


def _importer(kind: str):
    from app.services.imports import budgets, history, people

    table = {"providers": people.Providers, "holders": people.Holders, "budgets": budgets.Budgets,
             "bookings": history.HistoricalBookings}
    if kind not in table:
        raise InvalidInput(f"Choose what to import: {', '.join(KINDS)}.", field="kind")
    return table[kind]()


def _batches(path: Path, fmt: str, size: int) -> Iterator[list[tuple[int, dict | None, str | None]]]:
    it = reader.rows(path, fmt)
    while batch := list(islice(it, size)):
        yield batch


def table(model: Any) -> Table:
    """A model's table, for Core bulk inserts (many rows in a few statements)."""
    return cast(Table, model.__table__)


def among(column: Any, values: list) -> Any:
    """`column IN values` for a batch: on PostgreSQL one array parameter (= ANY), because a
    statement with thousands of separate parameters costs more to prepare than to run."""
    if db.engine.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))


def referenced(kind: str, references: list[str]) -> dict[str, int]:
    """{council reference: our id} for those references already imported as `kind`."""
    if not references:
        return {}
    return dict(db.session.execute(select(ImportedRecord.reference, ImportedRecord.subject_id)
                                   .where(ImportedRecord.kind == kind,
                                          among(ImportedRecord.reference, references))).all())


class _Statistics:
    """Keeps PostgreSQL's statistics of the tables an import grows up to date while it runs.

    An import's lookups (references, clashes) are the same few statements run thousands of
    times, so the driver prepares them and PostgreSQL settles on one plan, made for the table
    sizes it last knew: a plan fit for an empty table turns every lookup into a scan of a
    million rows. ANALYZE gives the planner the new sizes and makes it plan those statements
    afresh. It runs when a run starts and each time the rows written double (a few times in a
    million rows), because autovacuum's own ANALYZE may come late or be turned off."""

    FIRST = 2_000

    def __init__(self, tables: tuple[str, ...]) -> None:
        self.tables = tables if db.engine.dialect.name == "postgresql" else ()
        self.next_at = self.FIRST

    def analyze(self) -> None:
        if self.tables:
            db.session.execute(text("ANALYZE " + ", ".join(self.tables)))
            db.session.commit()

    def written(self, rows: int) -> None:
        if rows >= self.next_at:
            self.analyze()
            self.next_at = rows * 2


def _refuse(report: Report, on_error: OnError | None, error: RowError) -> None:
    report.add(error)
    if on_error:
        on_error(error)


def misspelt_columns(names: Iterable[str], columns: tuple[str, ...]) -> dict[str, str]:
    """{column name given: the column it is probably meant to be}, for names close to one the
    importer reads: a misspelt optional column would otherwise be ignored, and its values
    silently lost for every row. Other columns a council's export carries are ignored."""
    out = {}
    for name in names:
        if name not in columns:
            close = get_close_matches(name, columns, n=1, cutoff=0.8)
            if close:
                out[name] = close[0]
    return out


def _check_pass(importer, path: Path, fmt: str, report: Report, on_error: OnError | None,
                progress: Progress | None, *, writing: bool, actor: User) -> None:
    seen: set[str] = set()
    named: set[str] = set()  # column names looked at for misspellings
    statistics = _Statistics(("imported_records", *importer.tables))
    statistics.analyze()
    importer.start_pass()
    done = 0
    for raw in _batches(path, fmt, importer.batch_size):
        rows: list[tuple[int, dict]] = []
        problems: list[Checked] = []
        for line, row, problem in raw:
            if problem is not None or row is None:
                problems.append(Checked(line, None, errors=[(None, problem or "Unreadable line")]))
                continue
            rows.append((line, row))
            if not row.keys() <= named:
                for name, meant in misspelt_columns(row.keys() - named, importer.columns).items():
                    # On the header line of a CSV file; in JSON Lines, the first line naming it.
                    _refuse(report, on_error, RowError(
                        1 if fmt == "csv" else line, None, name,
                        f"Carefair does not read a column named {name}. Did you mean {meant}?"))
                named.update(row.keys())
        checked = problems + importer.check(rows)
        for c in checked:
            ref = c.reference
            if ref is not None and not c.errors:
                if ref in seen:
                    c.fail("reference", f"The reference {ref} is used on an earlier line of this file.")
                seen.add(ref)
        checked.sort(key=lambda c: c.line)
        good = []
        for c in checked:
            if not writing:
                report.rows += 1
            if c.errors:
                for field_name, message in c.errors:
                    _refuse(report, on_error, RowError(c.line, c.reference, field_name, message))
            elif c.unchanged:
                if not writing:
                    report.unchanged += 1
            else:
                good.append(c)
                if not writing and report.dry_run:
                    report.imported += 1
        if writing:
            # Rows refused only now (a race, or a clash between two rows of this file) are
            # reported the same way; the rest of the batch is written.
            written = importer.write(good, actor) if good else []
            for c, problem in written:
                if problem is None:
                    report.imported += 1
                else:
                    _refuse(report, on_error, RowError(c.line, c.reference, problem.field, problem.message))
            statistics.written(report.imported)
        done += len(raw)
        if progress:
            progress("writing" if writing else "checking", done, report.rows if writing else None)
        # Nothing piles up: the session holds committed rows only by weak reference.


def run(kind: str, path: str | Path, fmt: str | None = None, *, actor: User, dry_run: bool,
        progress: Progress | None = None, on_error: OnError | None = None) -> Report:
    """Import `path` as `kind`. Returns the report; writes only if every row is good.

    Raises InvalidInput (unknown kind or format, missing columns), NotPermitted (not a council admin).
    """
    from app.domain.access import Role
    from app.domain.errors import NotPermitted

    if actor.role_enum is not Role.COUNCIL_ADMIN:
        raise NotPermitted("Only council admins can import data.")
    actor_id = actor.id
    path = Path(path)
    fmt = reader.format_of(path, fmt)
    importer = _importer(kind)
    report = Report(kind=kind, dry_run=dry_run)
    # The app's own objects (modules, mappers) never become garbage: take them out of the
    # collector's sight, so its passes over a long file stay short.
    gc.freeze()
    _check_pass(importer, path, fmt, report, on_error, progress, writing=False, actor=actor)
    db.session.rollback()  # checking reads only; end its transaction before writing
    if dry_run or report.error_count:
        return report
    if db.engine.dialect.name == "postgresql":
        # Safe to trade durability of the last few commits for speed here: a run cut off is
        # finished by running the file again (every row carries its reference).
        db.session.execute(text("SET synchronous_commit TO off"))
    try:
        again = db.session.get(User, actor_id)
        if not (again is not None):
            raise InvariantBroken("expected: again is not None")
        _check_pass(importer, path, fmt, report, on_error, progress, writing=True, actor=again)
    finally:
        if db.engine.dialect.name == "postgresql":
            db.session.rollback()
            db.session.execute(text("SET synchronous_commit TO DEFAULT"))
            db.session.commit()
    return report


def audit_row(now: datetime, actor: User, on_behalf_of: int | None, action: str, subject_type: str,
              subject_id: int, details: dict) -> dict:
    """An audit_events row as audit.record makes it, for a bulk insert of a batch's events."""
    return {"occurred_at": now, "actor_id": actor.id, "on_behalf_of_id": on_behalf_of, "action": action,
            "subject_type": subject_type, "subject_id": str(subject_id), "details": details}


def begin_row(line: int, row: dict, required: tuple[str, ...]) -> tuple[Checked, bool]:
    """A row's check begun: its reference read, and whether every required column has a value."""
    c = Checked(line, None)
    reference_of(row, c)
    return c, require_columns(row, required, c)


def require_columns(row: dict, columns: tuple[str, ...], c: Checked) -> bool:
    missing = [name for name in columns if not row.get(name)]  # the reader strips every value
    for name in missing:
        c.fail(name, f"Enter {name.replace('_', ' ')}.")
    return not missing


def reference_of(row: dict, c: Checked) -> str | None:
    ref = (row.get("reference") or "").strip()
    if not ref:
        c.fail("reference", "Enter the council's reference for this row.")
        return None
    if len(ref) > MAX_REFERENCE:
        c.fail("reference", f"The reference must be {MAX_REFERENCE} characters or fewer.")
        return None
    c.reference = ref
    return ref


Written = list[tuple[Checked, DomainError | None]]  # what `write` returns: each row, refused or not
