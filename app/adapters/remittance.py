"""Monthly remittance CSVs per provider for council_managed budgets, from settled payment lines."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

COLUMNS = (
    "Provider",
    "Provider reference",
    "Holder reference",
    "Booking reference",
    "Service date",
    "Settled date",
    "Hours",
    "Amount (GBP)",
)

# Council finance opens these in spreadsheets: a cell starting with one of these would run as
# a formula (CSV injection), so such text is prefixed with an apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class RemittanceLine:
    """One settled booking (or session) paid from a council_managed budget."""

    provider_id: int
    provider_name: str
    holder_reference: str  # the council's reference for the person, never their name
    booking_reference: str
    service_date: date
    settled_on: date
    hours: Decimal
    amount_pence: int


@dataclass(frozen=True)
class RemittanceFile:
    provider_id: int
    provider_name: str
    filename: str
    content: str
    line_count: int
    total_pence: int
    # A broker holds this provider's payouts (a safeguarding concern): council finance must
    # not pay the file until the hold is lifted.
    payouts_held: bool = False


def pence_to_pounds(pence: int) -> str:
    """Integer pence as a plain pounds string for finance systems: 1234 -> "12.34"."""
    if not isinstance(pence, int) or isinstance(pence, bool):
        raise TypeError("Amounts are integer pence")
    sign = "-" if pence < 0 else ""
    whole, part = divmod(abs(pence), 100)
    return f"{sign}{whole}.{part:02d}"


def format_hours(hours: Decimal | int) -> str:
    if isinstance(hours, float | bool):
        raise TypeError("Hours must be a Decimal or an int, never a float")
    return f"{Decimal(hours).quantize(Decimal('0.01'))}"


def build_monthly_remittances(
    lines: Iterable[RemittanceLine], year: int, month: int
) -> list[RemittanceFile]:
    """One CSV per provider with the lines settled in that month, sorted by service date and
    booking reference, ending with a total row. Providers with nothing settled get no file."""
    if not 1 <= month <= 12:
        raise ValueError("month must be 1 to 12")
    by_provider: dict[int, list[RemittanceLine]] = defaultdict(list)
    for line in lines:
        if not isinstance(line.amount_pence, int) or isinstance(line.amount_pence, bool):
            raise TypeError("Amounts are integer pence")
        if (line.settled_on.year, line.settled_on.month) == (year, month):
            by_provider[line.provider_id].append(line)

    files = []
    for provider_id in sorted(by_provider):
        rows = sorted(
            by_provider[provider_id], key=lambda ln: (ln.service_date, ln.booking_reference)
        )
        name = rows[0].provider_name
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        total = 0
        for ln in rows:
            total += ln.amount_pence
            writer.writerow(
                [
                    _cell(ln.provider_name),
                    f"P{ln.provider_id}",
                    _cell(ln.holder_reference),
                    _cell(ln.booking_reference),
                    ln.service_date.isoformat(),
                    ln.settled_on.isoformat(),
                    format_hours(ln.hours),
                    pence_to_pounds(ln.amount_pence),
                ]
            )
        writer.writerow(["Total", f"P{provider_id}", "", "", "", "", "", pence_to_pounds(total)])
        files.append(
            RemittanceFile(
                provider_id=provider_id,
                provider_name=name,
                filename=f"remittance-{year:04d}-{month:02d}-P{provider_id}-{_slug(name)}.csv",
                content=buffer.getvalue(),
                line_count=len(rows),
                total_pence=total,
            )
        )
    return files


def _cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "provider"
