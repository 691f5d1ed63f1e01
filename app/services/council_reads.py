"""What the council API and exports read: filtered, cursor-paged queries over the council's resources."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, exists, func, select

from app.domain.access import Role
from app.domain.ledger import Account, Operation
from app.extensions import db
from app.models import (
    Booking,
    BookingSession,
    Budget,
    Delegation,
    Flag,
    ImportedRecord,
    LedgerTransaction,
    Listing,
    MarketFigureRecord,
    MarketRun,
    MarketShareRecord,
    ProviderDistrict,
    ProviderProfile,
    User,
)
from app.services.ledger import balances

# The kinds of imported_records: the council's reference per imported row.
REF_KINDS = {"providers": "provider", "holders": "holder", "budgets": "budget", "bookings": "booking"}


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _after(day: date) -> datetime:
    return _start(day + timedelta(days=1))


def _created(query: Select, column: Any, args: dict) -> Select:
    if args.get("created_from"):
        query = query.where(column >= _start(args["created_from"]))
    if args.get("created_to"):
        query = query.where(column < _after(args["created_to"]))
    return query


def page(query: Select, id_column: Any, after: int | None, limit: int) -> tuple[list, int | None]:
    """Keyset pagination by id: stable while rows are added, and fast at any depth."""
    if after is not None:
        query = query.where(id_column > after)
    rows = list(db.session.scalars(query.order_by(id_column).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


def references(kind: str, ids: list[int]) -> dict[int, str]:
    """The council's references for some rows of one kind (only imported rows have one)."""
    if not ids:
        return {}
    return dict(db.session.execute(select(ImportedRecord.subject_id, ImportedRecord.reference)
                                   .where(ImportedRecord.kind == kind,
                                          ImportedRecord.subject_id.in_(ids))).all())


# ---------------------------------------------------------------- queries (filters from the API)

def providers_query(args: dict) -> Select:
    query = _created(select(ProviderProfile), ProviderProfile.created_at, args)
    if args.get("district"):
        query = query.where(exists().where(ProviderDistrict.profile_id == ProviderProfile.id,
                                           ProviderDistrict.district == args["district"].upper()))
    live = exists().where(Listing.profile_id == ProviderProfile.id, Listing.is_live.is_(True))
    if args.get("status") == "live":
        query = query.where(live)
    elif args.get("status") == "not_live":
        query = query.where(~live)
    return query


def live_counts(profile_ids: list[int]) -> dict[int, int]:
    if not profile_ids:
        return {}
    return dict(db.session.execute(
        select(Listing.profile_id, func.count()).where(Listing.profile_id.in_(profile_ids),
                                                       Listing.is_live.is_(True))
        .group_by(Listing.profile_id)).all())


def listings_query(args: dict) -> Select:
    query = _created(select(Listing), Listing.created_at, args)
    if args.get("status") == "live":
        query = query.where(Listing.is_live.is_(True))
    elif args.get("status") == "hidden":
        query = query.where(Listing.is_live.is_(False))
    if args.get("category"):
        query = query.where(Listing.category == args["category"])
    if args.get("provider_id"):
        query = query.where(Listing.profile_id == args["provider_id"])
    return query


def holders_query(args: dict) -> Select:
    query = _created(select(User).where(User.role == Role.HOLDER.value), User.created_at, args)
    if args.get("district"):
        query = query.where(User.home_district == args["district"].upper())
    if args.get("status") == "active":
        query = query.where(User.active.is_(True))
    elif args.get("status") == "inactive":
        query = query.where(User.active.is_(False))
    return query


def budgets_query(args: dict) -> Select:
    query = select(Budget)
    if args.get("holder_id"):
        query = query.where(Budget.holder_id == args["holder_id"])
    if args.get("funding_mode"):
        query = query.where(Budget.funding_mode == args["funding_mode"])
    if args.get("starts_from"):
        query = query.where(Budget.start_date >= args["starts_from"])
    if args.get("starts_to"):
        query = query.where(Budget.start_date <= args["starts_to"])
    return query


def budget_balances(budget_id: int) -> dict[str, int]:
    b = balances(budget_id)
    return {"available_pence": b.get(Account.AVAILABLE, 0), "held_pence": b.get(Account.HELD, 0),
            "spent_pence": b.get(Account.SPENT, 0), "contingency_pence": b.get(Account.CONTINGENCY, 0)}


def instalments_query(budget_id: int) -> Select:
    return select(LedgerTransaction).where(LedgerTransaction.budget_id == budget_id,
                                           LedgerTransaction.operation == Operation.ALLOCATE.value)


def delegations_query(args: dict) -> Select:
    query = _created(select(Delegation), Delegation.created_at, args)
    if args.get("holder_id"):
        query = query.where(Delegation.holder_id == args["holder_id"])
    if args.get("status"):
        query = query.where(Delegation.status == args["status"])
    return query


def bookings_query(args: dict) -> Select:
    query = _created(select(Booking), Booking.created_at, args)
    if args.get("status"):
        query = query.where(Booking.state == args["status"])
    if args.get("holder_id"):
        query = query.where(Booking.holder_id == args["holder_id"])
    if args.get("provider_id"):
        query = query.where(Booking.provider_profile_id == args["provider_id"])
    return query


def sessions_of(booking_ids: list[int]) -> dict[int, list[BookingSession]]:
    out: dict[int, list[BookingSession]] = defaultdict(list)
    if booking_ids:
        for s in db.session.scalars(select(BookingSession).where(BookingSession.booking_id.in_(booking_ids))
                                    .order_by(BookingSession.start_at, BookingSession.id)):
            out[s.booking_id].append(s)
    return out


def sessions_query(args: dict) -> Select:
    query = select(BookingSession)
    if args.get("status"):
        query = query.where(BookingSession.state == args["status"])
    if args.get("starts_from"):
        query = query.where(BookingSession.start_at >= _start(args["starts_from"]))
    if args.get("starts_to"):
        query = query.where(BookingSession.start_at < _after(args["starts_to"]))
    if args.get("provider_id"):
        query = query.where(BookingSession.provider_profile_id == args["provider_id"])
    return query


def flags_query(args: dict) -> Select:
    query = _created(select(Flag), Flag.created_at, args)
    if args.get("status"):
        query = query.where(Flag.status == args["status"])
    if args.get("severity"):
        query = query.where(Flag.severity == args["severity"])
    return query


def scan(query: Select, id_column: Any, batch: int = 1000) -> Iterator[list]:
    """Every row of a query, a batch at a time by id (exports stream; nothing loads it all)."""
    after: int | None = None
    while True:
        rows, _ = page(query, id_column, after, batch)
        if not rows:
            return
        yield rows
        after = rows[-1].id  # earlier batches are dropped: the session holds them only weakly
        if len(rows) < batch:
            return


# ---------------------------------------------------------------- market figures (stored scan runs)

def market_figures_query(run_id: int, args: dict) -> Select:
    """One stored scan run's markets (holder district x category), as the market view shows them."""
    query = select(MarketFigureRecord).where(MarketFigureRecord.run_id == run_id)
    if args.get("district"):
        query = query.where(MarketFigureRecord.district == args["district"].upper())
    if args.get("category"):
        query = query.where(MarketFigureRecord.category == args["category"])
    if args.get("meets_minimums") is not None:
        query = query.where(MarketFigureRecord.meets_minimums.is_(args["meets_minimums"]))
    return query


def run_of_market_figure(figure_id: int | None) -> int | None:
    """The scan run a market figure belongs to (None when there is no such figure)."""
    if figure_id is None:
        return None
    return db.session.scalar(select(MarketFigureRecord.run_id).where(MarketFigureRecord.id == figure_id))


def market_shares(run_id: int, figures: list[MarketFigureRecord]) -> dict[tuple[str, str], list[MarketShareRecord]]:
    """The providers' shares kept for these markets of the run (the largest few and all above the cap)."""
    out: dict[tuple[str, str], list[MarketShareRecord]] = defaultdict(list)
    districts = {f.district for f in figures}
    if not districts:
        return out
    wanted = {(f.district, f.category) for f in figures}
    for share in db.session.scalars(select(MarketShareRecord).where(
            MarketShareRecord.run_id == run_id, MarketShareRecord.district.in_(districts))
            .order_by(MarketShareRecord.share_percent.desc(), MarketShareRecord.provider_profile_id)):
        if (share.district, share.category) in wanted:
            out[(share.district, share.category)].append(share)
    return out


def market_runs_query() -> Select:
    return select(MarketRun)
