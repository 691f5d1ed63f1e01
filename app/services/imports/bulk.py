"""Writing a batch of import rows in a few statements: COPY on PostgreSQL, a many-row INSERT elsewhere.

On PostgreSQL, COPY moves a batch in one round trip: several times faster than INSERTs of
thousands of rows, whose long statements the driver would parse afresh each time. The rows go
through the same table constraints, foreign keys and triggers as any INSERT (the provider
exclusion constraint, the unique email), and a row a constraint refuses raises
sqlalchemy's IntegrityError, as an INSERT would.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg
from sqlalchemy import JSON, func, insert, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.services.imports import table


def rows_into(model: Any, rows: list[dict], *, returning_ids: bool = False) -> list[int]:
    """Insert `rows` (dicts with the same keys) into the model's table; their new ids if asked.
    Raises IntegrityError when a constraint refuses a row (nothing of the batch is then kept
    once the caller rolls back)."""
    if not rows:
        return []
    if db.engine.dialect.name != "postgresql":
        statement = insert(table(model))
        if returning_ids:
            statement = statement.returning(table(model).c.id, sort_by_parameter_order=True)
            return list(db.session.scalars(statement, rows))
        db.session.execute(statement, rows)
        return []
    ids: list[int] = []
    if returning_ids:  # taken from the table's own sequence first, then copied with the rows
        sequence = f"{table(model).name}_id_seq"
        ids = list(db.session.scalars(select(func.nextval(sequence)).select_from(
            func.generate_series(1, len(rows)))))
    try:
        _copy(model, rows, ids)
    except psycopg.IntegrityError as err:
        raise IntegrityError(f"COPY {table(model).name}", None, err) from err
    return ids


def _defaults(model: Any, given: list[str]) -> dict[str, Any]:
    """The model's own Python-side default for each column the rows do not give (COPY, unlike
    an INSERT through SQLAlchemy, applies none), so columns added later keep working. Worked
    out once a batch (the models' callable defaults are all the time of day) and sent as text,
    so a mutable default (a JSON list) is never shared."""
    extra: dict[str, Any] = {}
    for col in table(model).columns:
        if col.name in given or col.default is None or col.primary_key:
            continue
        default: Any = col.default
        extra[col.name] = _text(default.arg(None) if default.is_callable else default.arg)
    return extra


def _text(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, list | dict) else value


def _copy(model: Any, rows: list[dict], ids: list[int]) -> None:
    columns = list(rows[0])
    extra = _defaults(model, columns)
    names = (["id"] if ids else []) + columns + list(extra)
    tail = list(extra.values())
    json_columns = [name for name in columns if isinstance(table(model).c[name].type, JSON)]
    cursor = db.session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {table(model).name} ({', '.join(names)}) FROM STDIN") as copy:
        for n, row in enumerate(rows):
            if json_columns:
                row = {**row, **{name: _text(row[name]) for name in json_columns}}
            copy.write_row(([ids[n]] if ids else []) + list(row.values()) + tail)
