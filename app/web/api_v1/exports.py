"""Exports of the council API's resources as CSV (cells defused) or JSON Lines, streamed in batches."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema

from app.models import Booking, BookingSession, Budget, Delegation, Flag, Listing, ProviderProfile, User
from app.services import council_reads as reads
from app.web.api_v1 import resources as r
from app.web.api_v1 import schemas as s
from app.web.budget_views import _cell as defuse  # the one CSV defusing helper (convention 18)


@dataclass(frozen=True)
class Export:
    scope: str
    query: Callable[[dict], Any]
    id_column: Any
    rows: Callable[[list], list]
    schema: type[Schema]
    drop: tuple[str, ...] = ()


def _same(rows: list) -> list:
    return rows


EXPORTS: dict[str, Export] = {
    "providers": Export("providers:read", reads.providers_query, ProviderProfile.id, r.provider_rows, s.ProviderOut),
    "listings": Export("providers:read", reads.listings_query, Listing.id, _same, s.ListingOut),
    "holders": Export("holders:read", reads.holders_query, User.id, r.holder_rows, s.HolderOut),
    "budgets": Export("budgets:read", reads.budgets_query, Budget.id, r.budget_rows, s.BudgetOut, ("balances",)),
    "delegations": Export("delegations:read", reads.delegations_query, Delegation.id, _same, s.DelegationOut),
    "bookings": Export("bookings:read", reads.bookings_query, Booking.id, r.booking_rows, s.BookingOut,
                       ("sessions",)),
    "sessions": Export("bookings:read", reads.sessions_query, BookingSession.id, _same, s.SessionOut),
    "flags": Export("flags:read", reads.flags_query, Flag.id, _same, s.FlagOut),
}


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return "" if value is None else value


def stream(resource: str, fmt: str, filters: dict | None = None) -> Iterator[str]:
    """The resource's rows, as CSV or JSON Lines text chunks, one batch of rows at a time."""
    spec = EXPORTS[resource]
    schema = spec.schema(exclude=spec.drop)
    columns = [name for name in schema.fields if name not in spec.drop]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
    for batch in reads.scan(spec.query(filters or {}), spec.id_column):
        dumped = schema.dump(spec.rows(batch), many=True)
        if fmt == "jsonl":
            yield "".join(json.dumps(item, separators=(",", ":")) + "\n" for item in dumped)
            continue
        for item in dumped:
            writer.writerow([defuse(_plain(item.get(name))) for name in columns])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if fmt == "csv" and buffer.tell():
        yield buffer.getvalue()
