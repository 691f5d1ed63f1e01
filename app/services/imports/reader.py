"""Reading an import file row by row (CSV with a header, or JSON Lines), never the whole file at once."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

from app.domain.errors import InvalidInput

FORMATS = ("csv", "jsonl")
MAX_FIELD = 10_000  # a cell longer than this is a broken file, not data


def format_of(path: str | Path, given: str | None = None) -> str:
    if given:
        if given not in FORMATS:
            raise InvalidInput("Choose csv or jsonl as the format.", field="format")
        return given
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise InvalidInput("Name the file .csv or .jsonl, or say which format it is.", field="format")


def rows(path: str | Path, fmt: str) -> Iterator[tuple[int, dict | None, str | None]]:
    """(line number, row, problem): a row with its values as text (None when missing), or the
    reason the line could not be read at all. Line numbers are those a text editor shows."""
    csv.field_size_limit(MAX_FIELD)
    with open(path, encoding="utf-8-sig", newline="" if fmt == "csv" else None) as handle:
        if fmt == "csv":
            yield from _csv_rows(handle)
        else:
            yield from _jsonl_rows(handle)


def _csv_problem(err: csv.Error) -> str:
    """What is wrong with a line the csv module could not read, in words a council officer reads."""
    text = str(err)
    if "unexpected end of data" in text:
        return ("A quoted value on this line is never closed, so every line after it was read as "
                "part of that value. Add the missing \" and import the file again.")
    if "expected after" in text:
        return "A quoted value on this line is followed by more text before the next comma."
    return f"This line cannot be read as CSV: {text}"


def _csv_rows(handle) -> Iterator[tuple[int, dict | None, str | None]]:
    # Strict: a quote left open would otherwise take in the lines after it as one value, and
    # those rows would vanish from the import without a word.
    reader = csv.reader(handle, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return
    except (csv.Error, UnicodeDecodeError) as err:
        yield 1, None, f"The header line cannot be read: {err}"
        return
    names = [h.strip().lower() for h in header]
    while True:
        start = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            yield start, None, _csv_problem(err)
            continue
        except UnicodeDecodeError:
            yield start, None, "This line is not UTF-8 text. Save the file as UTF-8 CSV."
            return
        if not any(v.strip() for v in values):
            continue  # a blank line
        if len(values) > len(names):
            yield start, None, f"This line has {len(values)} values but the header names {len(names)} columns."
            continue
        row = {name: (values[i].strip() if i < len(values) else None) for i, name in enumerate(names)}
        yield start, row, None


def _jsonl_rows(handle) -> Iterator[tuple[int, dict | None, str | None]]:
    number = 0
    while True:
        try:
            line = handle.readline()
        except UnicodeDecodeError:
            yield number + 1, None, "This line is not UTF-8 text."
            return
        if not line:
            return
        number += 1
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            yield number, None, "This line is not valid JSON."
            continue
        if not isinstance(value, dict):
            yield number, None, "Each line must be one JSON object, like {\"reference\": \"H1\", ...}."
            continue
        row: dict = {}
        for key, item in value.items():
            if isinstance(item, list):
                item = " ".join(str(x) for x in item)
            elif isinstance(item, bool):
                item = "yes" if item else "no"
            row[str(key).strip().lower()] = None if item is None else str(item).strip()
        yield number, row, None
