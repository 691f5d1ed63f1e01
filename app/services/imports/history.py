"""Importing historical bookings as settled history: rows written straight into the settled state, moving no money.

Why its own module, and why not through services/bookings: a booking made years ago in
another system was requested, accepted, delivered, confirmed and paid there. Replaying that
lifecycle would hold, capture and pay out money that has already changed hands. So each row
becomes one Booking with one BookingSession, both `settled`, written directly:
- it counts where history should: ratings eligibility (a settled session may be reviewed),
  market figures and the brokerage rules (they read settled sessions' charge_pence);
- it moves no money: no ledger legs (budgets' balances are untouched), no card payment, no
  payout, and settled_on stays empty so it never appears in a remittance file (the council
  paid it long ago, outside Carefair);
- the provider's time is still theirs: overlapping sessions of one provider are refused, as
  the database's exclusion constraint would (PostgreSQL) and the booking service does;
- one audit event per batch says who imported which references (a million rows would
  otherwise be a million events saying the same thing).
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from app.domain.errors import Conflict, DomainError, InvariantBroken
from app.domain.money import parse_pounds
from app.extensions import db
from app.models import Booking, BookingSession, Budget, ImportedRecord, Listing, User
from app.models.booking import NON_BLOCKING_STATES
from app.services import audit
from app.services.imports import Checked, Written, among, reference_of, referenced, require_columns, table

UK = ZoneInfo("Europe/London")
MAX_HOURS = 24


def _moment(raw: str, name: str, c: Checked) -> datetime | None:
    """ISO 8601; a time without an offset is UK clock time (what a council's system shows)."""
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        c.fail(name, f"Enter {name} as a date and time like 2025-05-01T09:00 (UK time) or with an offset.")
        return None
    return (value.replace(tzinfo=UK) if value.tzinfo is None else value).astimezone(UTC)


class HistoricalBookings:
    """Columns: reference, holder_reference, provider_reference, start, end, amount (pounds),
    category (blank: the provider's first listing), budget_reference (blank: the holder's budget
    that covers the date)."""

    kind = "booking"
    batch_size = 2000
    tables = ("listings", "budgets", "booking_sessions")  # what the checks look up, besides the references
    required = ("holder_reference", "provider_reference", "start", "end", "amount")

    def start_pass(self) -> None:
        # The clash check looks only at sessions that start at most this long before a batch's
        # first start, so the provider-and-start index bounds it on both sides; otherwise each
        # batch would read every earlier session of its providers (a year of them, at the end).
        self.longest: timedelta | None = None  # SQLite (small councils' trials): no bound needed
        if db.engine.dialect.name == "postgresql":
            longest = db.session.scalar(select(func.max(BookingSession.end_at - BookingSession.start_at)))
            self.longest = max(timedelta(hours=MAX_HOURS), longest or timedelta(0))

    def check(self, rows: list[tuple[int, dict]]) -> list[Checked]:
        out = []
        now = datetime.now(UTC)
        for line, row in rows:
            c = Checked(line, None)
            reference_of(row, c)
            if not require_columns(row, self.required, c):
                out.append(c)
                continue
            clean = {k: (row.get(k) or "").strip() for k in
                     ("holder_reference", "provider_reference", "category", "budget_reference")}
            start, end = _moment(row["start"], "start", c), _moment(row["end"], "end", c)
            if start and end:
                if end <= start:
                    c.fail("end", "The end must be after the start.")
                elif end - start > timedelta(hours=MAX_HOURS):
                    c.fail("end", f"A session can be at most {MAX_HOURS} hours long.")
                elif end > now:
                    c.fail("end", "Only bookings that have already happened can be imported as history.")
            try:
                clean["pence"] = parse_pounds(row["amount"], field="amount")
            except DomainError as err:
                c.fail("amount", err.message)
            clean["start"], clean["end"] = start, end
            c.clean = clean
            out.append(c)
        self._resolve(out)
        return out

    def _resolve(self, out: list[Checked]) -> None:
        """Look up the batch's references in a few queries and check each row against them."""
        done = referenced(self.kind, [c.reference for c in out if c.reference])
        live = [c for c in out if c.clean and c.reference not in done]
        holders = referenced("holder", list({c.clean["holder_reference"] for c in live if c.clean}))
        profiles = referenced("provider", list({c.clean["provider_reference"] for c in live if c.clean}))
        budget_refs = referenced("budget", list({c.clean["budget_reference"] for c in live
                                                if c.clean and c.clean["budget_reference"]}))
        listings: dict[int, list[Listing]] = defaultdict(list)
        for listing in db.session.scalars(select(Listing).where(among(Listing.profile_id, list(profiles.values())))
                                          .order_by(Listing.id)):
            listings[listing.profile_id].append(listing)
        budgets: dict[int, list[Budget]] = defaultdict(list)
        for b in db.session.scalars(select(Budget).where(among(Budget.holder_id, list(holders.values())))):
            budgets[b.holder_id].append(b)
        by_id = {b.id: b for bs in budgets.values() for b in bs}
        for c in out:
            if c.reference in done:
                c.unchanged, c.errors = True, []
        for c in live:
            v = c.clean
            if not (v is not None):
                raise InvariantBroken("expected: v is not None")
            holder_id, profile_id = holders.get(v["holder_reference"]), profiles.get(v["provider_reference"])
            if holder_id is None:
                c.fail("holder_reference", f"No holder has been imported with the reference {v['holder_reference']}.")
            if profile_id is None:
                c.fail("provider_reference",
                       f"No provider has been imported with the reference {v['provider_reference']}.")
            if c.errors or holder_id is None or profile_id is None:
                continue
            options = [li for li in listings[profile_id] if not v["category"] or li.category == v["category"]]
            if not options:
                c.fail("category", f"Provider {v['provider_reference']} has no listing in the category "
                                   f"{v['category'] or '(any)'}.")
                continue
            day = v["start"].astimezone(UK).date()
            if v["budget_reference"]:
                budget = by_id.get(budget_refs.get(v["budget_reference"], -1))
                if budget is None:
                    c.fail("budget_reference", f"No budget of this holder has the reference {v['budget_reference']}.")
                    continue
            else:
                covering = [b for b in budgets[holder_id] if b.start_date <= day <= b.end_date]
                if not covering:
                    c.fail("budget_reference", f"The holder has no budget covering {day:%-d %B %Y}. "
                                               "Import the budget for that year first.")
                    continue
                budget = covering[0]
            v.update(holder_id=holder_id, profile_id=profile_id, listing_id=options[0].id,
                     budget_id=budget.id, funding_mode=budget.funding_mode)
        self._overlaps([c for c in live if not c.errors and c.clean and "profile_id" in c.clean])

    def _overlaps(self, rows: list[Checked]) -> None:
        """A provider cannot have been in two sessions at once: refuse clashes within the batch
        and with sessions already stored (imported earlier or booked on Carefair)."""
        if not rows:
            return
        lo = min(c.clean["start"] for c in rows if c.clean)
        hi = max(c.clean["end"] for c in rows if c.clean)
        stored: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
        profile_ids = list({c.clean["profile_id"] for c in rows if c.clean})
        query = (select(BookingSession.provider_profile_id, BookingSession.start_at, BookingSession.end_at)
                 .where(among(BookingSession.provider_profile_id, profile_ids),
                        BookingSession.start_at < hi, BookingSession.end_at > lo,
                        BookingSession.state.not_in(NON_BLOCKING_STATES)))
        if self.longest is not None:
            query = query.where(BookingSession.start_at > lo - self.longest)
        for pid, start, end in db.session.execute(query):
            stored[pid].append((start, end))
        for c in sorted(rows, key=lambda c: (c.clean["profile_id"], c.clean["start"]) if c.clean else (0, lo)):
            v = c.clean
            if not (v is not None):
                raise InvariantBroken("expected: v is not None")
            busy = stored[v["profile_id"]]
            if any(s < v["end"] and v["start"] < e for s, e in busy):
                c.fail("start", "The provider already has a session at this time.")
            else:
                busy.append((v["start"], v["end"]))

    def write(self, rows: list[Checked], actor: User) -> Written:
        """The whole batch in one transaction: bookings, their sessions and their references."""
        now = datetime.now(UTC)
        try:
            return self._insert(rows, actor, now)
        except IntegrityError:
            # Someone booked the provider at one of these times since the check: refuse the batch.
            db.session.rollback()
            return [(c, Conflict("The provider already has a session at this time, so this batch was "
                                 "not imported. Run the file again.")) for c in rows]

    def _insert(self, rows: list[Checked], actor: User, now: datetime) -> Written:
        actor_id = actor.id
        booking_rows = [
            {"holder_id": c.clean["holder_id"], "listing_id": c.clean["listing_id"],
             "provider_profile_id": c.clean["profile_id"], "budget_id": c.clean["budget_id"],
             "kind": "one_off", "state": "settled", "total_pence": c.clean["pence"],
             "funding_mode": c.clean["funding_mode"], "notes": "Imported history",
             "created_by_id": actor_id, "approval_reasons": [], "approval_codes": [],
             "options_offered": [],
             "from_contingency": False, "hold_round": 0,
             "created_at": c.clean["start"], "updated_at": now}
            for c in rows if c.clean]
        if db.engine.dialect.name == "postgresql":
            booking_ids = _copy_with_ids(booking_rows)
        else:
            bookings = table(Booking)
            returning = insert(bookings).returning(bookings.c.id, sort_by_parameter_order=True)
            booking_ids = list(db.session.scalars(returning, booking_rows))
        session_rows = [
            {"booking_id": bid, "provider_profile_id": c.clean["profile_id"], "start_at": c.clean["start"],
             "end_at": c.clean["end"], "state": "settled", "price_pence": c.clean["pence"],
             "charge_pence": c.clean["pence"], "confirmed_at": c.clean["end"]}
            for bid, c in zip(booking_ids, rows, strict=True) if c.clean]
        reference_rows = [{"kind": self.kind, "reference": c.reference, "subject_id": bid, "imported_at": now}
                          for bid, c in zip(booking_ids, rows, strict=True)]
        if db.engine.dialect.name == "postgresql":
            _copy(BookingSession, session_rows)
            _copy(ImportedRecord, reference_rows)
        else:
            db.session.execute(insert(table(BookingSession)), session_rows)
            db.session.execute(insert(table(ImportedRecord)), reference_rows)
        audit.record(actor, "booking.history_imported", "booking", None,
                     details={"count": len(rows), "first_reference": rows[0].reference,
                              "last_reference": rows[-1].reference,
                              "first_booking_id": booking_ids[0], "last_booking_id": booking_ids[-1]})
        db.session.commit()
        return [(c, None) for c in rows]


# PostgreSQL's COPY moves a batch in one round trip: about ten times faster than INSERTs of
# thousands of rows, whose statements the driver would parse afresh each time. The rows go
# through the same table constraints (the provider exclusion constraint included).

def _with_defaults(model: Any, rows: list[dict]) -> list[dict]:
    """Fill each column a row does not give from the model's own Python-side default (COPY,
    unlike an INSERT through SQLAlchemy, applies none), so columns added later keep working."""
    missing = [col for col in table(model).columns
               if col.name not in rows[0] and col.default is not None and not col.primary_key]
    if not missing:
        return rows
    extra = {}
    for col in missing:
        default: Any = col.default
        extra[col.name] = default.arg(None) if default.is_callable else default.arg
    # Fresh values per row for mutable defaults (a JSON list), as an INSERT would give.
    return [{**row, **{k: (list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v)
                       for k, v in extra.items()}} for row in rows]


def _copy(model: Any, rows: list[dict]) -> None:
    if not rows:
        return
    rows = _with_defaults(model, rows)
    columns = list(rows[0])
    cursor = db.session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {table(model).name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([json.dumps(v) if isinstance(v, list | dict) else v for v in row.values()])


def _copy_with_ids(rows: list[dict]) -> list[int]:
    """COPY bookings with ids taken from the table's own sequence first."""
    ids = list(db.session.scalars(select(func.nextval("bookings_id_seq")).select_from(
        func.generate_series(1, len(rows)))))
    _copy(Booking, [{"id": i, **row} for i, row in zip(ids, rows, strict=True)])
    return ids
