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

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.domain.budget import budget_end
from app.domain.errors import Conflict, DomainError, InvariantBroken
from app.domain.money import parse_pounds
from app.extensions import db
from app.models import Booking, BookingSession, Budget, ImportedRecord, Listing, User
from app.models.booking import NON_BLOCKING_STATES
from app.services import audit
from app.services.imports import Checked, Written, among, begin_row, referenced
from app.services.imports.bulk import rows_into

UK = ZoneInfo("Europe/London")
MAX_HOURS = 24


def _moment(raw: str, name: str, c: Checked) -> datetime | None:
    """ISO 8601; a time without an offset is UK clock time (what a council's system shows)."""
    value = _instant(raw.strip())
    if value is None:
        c.fail(name, f"Enter {name} as a date and time like 2025-05-01T09:00 (UK time) or with an offset.")
    return value


@lru_cache(maxsize=65_536)
def _instant(text: str) -> datetime | None:
    # Cached: sessions start on the hour or half hour, so a year of history repeats a few
    # thousand moments across a million rows (the UK clock conversion is the costly part).
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (value.replace(tzinfo=UK) if value.tzinfo is None else value).astimezone(UTC)


@lru_cache(maxsize=4_096)
def _pence(text: str) -> int | str:
    """parse_pounds (pence, or why not), remembered: a council's history repeats a few amounts."""
    try:
        return parse_pounds(text, field="amount")
    except DomainError as err:
        return err.message


class HistoricalBookings:
    """Columns: reference, holder_reference, provider_reference, start, end, amount (pounds),
    category (blank: the provider's first listing), budget_reference (blank: the holder's budget
    that covers the date)."""

    kind = "booking"
    batch_size = 2000
    tables = ("listings", "budgets", "booking_sessions")  # what the checks look up, besides the references
    required = ("holder_reference", "provider_reference", "start", "end", "amount")
    columns = ("reference", *required, "category", "budget_reference")  # every column it reads

    def start_pass(self) -> None:
        # The clash check looks only at sessions that start at most this long before a batch's
        # first start, so the provider-and-start index bounds it on both sides; otherwise each
        # batch would read every earlier session of its providers (a year of them, at the end).
        self.longest: timedelta | None = None  # SQLite (small councils' trials): no bound needed
        if db.engine.dialect.name == "postgresql":
            longest = db.session.scalar(select(func.max(BookingSession.end_at - BookingSession.start_at)))
            self.longest = max(timedelta(hours=MAX_HOURS), longest or timedelta(0))
        self.holders: dict[str, int] = {}  # reference -> id, as found in this pass
        self.providers: dict[str, int] = {}
        self.budget_refs: dict[str, int] = {}
        self.listings: dict[int, list[tuple[int, str]]] = {}  # profile -> (listing id, category)
        self.budgets: dict[int, list[tuple[int, date, date, str]]] = {}  # holder -> (id, start, end, mode)

    def check(self, rows: list[tuple[int, dict]]) -> list[Checked]:
        out = []
        now = datetime.now(UTC)
        for line, row in rows:
            c, complete = begin_row(line, row, self.required)
            if not complete:
                out.append(c)
                continue
            clean = {k: row.get(k) or "" for k in  # the reader strips every value
                     ("holder_reference", "provider_reference", "category", "budget_reference")}
            start, end = _moment(row["start"], "start", c), _moment(row["end"], "end", c)
            if start and end:
                if end <= start:
                    c.fail("end", "The end must be after the start.")
                elif end - start > timedelta(hours=MAX_HOURS):
                    c.fail("end", f"A session can be at most {MAX_HOURS} hours long.")
                elif end > now:
                    c.fail("end", "Only bookings that have already happened can be imported as history.")
            pence = _pence(row["amount"])
            if isinstance(pence, str):
                c.fail("amount", pence)
            else:
                clean["pence"] = pence
            clean["start"], clean["end"] = start, end
            c.clean = clean
            out.append(c)
        self._resolve(out)
        return out

    def _known(self, kind: str, cache: dict[str, int], references: set[str]) -> None:
        """Add to `cache` the ids of those references not yet in it (one query)."""
        missing = [r for r in references if r and r not in cache]
        if missing:
            cache.update(referenced(kind, missing))

    def _resolve(self, out: list[Checked]) -> None:
        """Look up the batch's references and check each row against them. What a pass has
        found (holders, providers, their listings and budgets) is kept for its later batches,
        so a batch asks only about the people it is the first to mention."""
        done = referenced(self.kind, [c.reference for c in out if c.reference])
        for c in out:
            if c.reference in done:
                c.unchanged, c.errors = True, []
        live = [c for c in out if c.clean and c.reference not in done]
        values = [c.clean for c in live if c.clean]
        self._known("holder", self.holders, {v["holder_reference"] for v in values})
        self._known("provider", self.providers, {v["provider_reference"] for v in values})
        self._known("budget", self.budget_refs, {v["budget_reference"] for v in values})
        new_profiles = {self.providers[v["provider_reference"]] for v in values
                        if v["provider_reference"] in self.providers} - self.listings.keys()
        for pid in new_profiles:
            self.listings[pid] = []
        if new_profiles:
            for listing_id, pid, category in db.session.execute(
                    select(Listing.id, Listing.profile_id, Listing.category)
                    .where(among(Listing.profile_id, list(new_profiles))).order_by(Listing.id)):
                self.listings[pid].append((listing_id, category))
        new_holders = {self.holders[v["holder_reference"]] for v in values
                       if v["holder_reference"] in self.holders} - self.budgets.keys()
        for hid in new_holders:
            self.budgets[hid] = []
        if new_holders:
            for budget_id, hid, start, mode in db.session.execute(
                    select(Budget.id, Budget.holder_id, Budget.start_date, Budget.funding_mode)
                    .where(among(Budget.holder_id, list(new_holders))).order_by(Budget.start_date)):
                self.budgets[hid].append((budget_id, start, budget_end(start), mode))
        for c in live:
            v = c.clean
            if not (v is not None):
                raise InvariantBroken("expected: v is not None")
            holder_id, profile_id = self.holders.get(v["holder_reference"]), self.providers.get(v["provider_reference"])
            if holder_id is None:
                c.fail("holder_reference", f"No holder has been imported with the reference {v['holder_reference']}.")
            if profile_id is None:
                c.fail("provider_reference",
                       f"No provider has been imported with the reference {v['provider_reference']}.")
            if c.errors or holder_id is None or profile_id is None:
                continue
            options = [lid for lid, category in self.listings[profile_id]
                       if not v["category"] or category == v["category"]]
            if not options:
                c.fail("category", f"Provider {v['provider_reference']} has no listing in the category "
                                   f"{v['category'] or '(any)'}.")
                continue
            day = v["start"].astimezone(UK).date()
            holder_budgets = self.budgets[holder_id]
            if v["budget_reference"]:
                wanted = self.budget_refs.get(v["budget_reference"])
                named = [b for b in holder_budgets if b[0] == wanted]
                if not named:
                    c.fail("budget_reference", f"No budget of this holder has the reference {v['budget_reference']}.")
                    continue
                if not named[0][1] <= day <= named[0][2]:
                    c.fail("budget_reference", f"The budget {v['budget_reference']} does not cover "
                                               f"{day:%-d %B %Y}.")
                    continue
                budget = named[0]
            else:
                covering = [b for b in holder_budgets if b[1] <= day <= b[2]]
                if not covering:
                    c.fail("budget_reference", f"The holder has no budget covering {day:%-d %B %Y}. "
                                               "Import the budget for that year first.")
                    continue
                budget = covering[0]
            v.update(holder_id=holder_id, profile_id=profile_id, listing_id=options[0],
                     budget_id=budget[0], funding_mode=budget[3])
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
        # Each booking carries the cancellation terms of its listing (app.services.booked_policy).
        policy = {lid: (notice, charge or 0) for lid, notice, charge in db.session.execute(
            select(Listing.id, Listing.cancellation_notice_hours, Listing.cancellation_charge_pence)
            .where(among(Listing.id, list({c.clean["listing_id"] for c in rows if c.clean}))))}
        # Columns left out (approval reasons, offers, contingency, ...) take the model's defaults.
        booking_ids = rows_into(Booking, [
            {"holder_id": c.clean["holder_id"], "listing_id": c.clean["listing_id"],
             "cancellation_notice_hours": policy[c.clean["listing_id"]][0],
             "cancellation_charge_pence": policy[c.clean["listing_id"]][1],
             "provider_profile_id": c.clean["profile_id"], "budget_id": c.clean["budget_id"],
             "kind": "one_off", "state": "settled", "total_pence": c.clean["pence"],
             "funding_mode": c.clean["funding_mode"], "notes": "Imported history",
             "created_by_id": actor_id, "created_at": c.clean["start"], "updated_at": now}
            for c in rows if c.clean], returning_ids=True)
        rows_into(BookingSession, [
            {"booking_id": bid, "provider_profile_id": c.clean["profile_id"], "start_at": c.clean["start"],
             "end_at": c.clean["end"], "state": "settled", "price_pence": c.clean["pence"],
             "charge_pence": c.clean["pence"], "confirmed_at": c.clean["end"]}
            for bid, c in zip(booking_ids, rows, strict=True) if c.clean])
        rows_into(ImportedRecord, [{"kind": self.kind, "reference": c.reference, "subject_id": bid, "imported_at": now}
                               for bid, c in zip(booking_ids, rows, strict=True)])
        audit.record(actor, "booking.history_imported", "booking", None,
                     details={"count": len(rows), "first_reference": rows[0].reference,
                              "last_reference": rows[-1].reference,
                              "first_booking_id": booking_ids[0], "last_booking_id": booking_ids[-1]})
        db.session.commit()
        return [(c, None) for c in rows]
