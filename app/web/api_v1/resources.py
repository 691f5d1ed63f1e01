"""Council API routes: providers, holders, budgets, delegations, bookings, remittance, flags, markets."""

from __future__ import annotations

import csv
import io

from app.errors import NotFound
from app.extensions import db
from app.models import (
    Booking,
    Budget,
    Delegation,
    Flag,
    Listing,
    MarketFigureRecord,
    MarketRun,
    ProviderProfile,
    User,
)
from app.services import bookings as booking_service
from app.services import budgets as budget_service
from app.services import council_reads as reads
from app.services import market_view
from app.web.api_v1 import schemas as s
from app.web.api_v1.core import actor, decode_cursor, encode_cursor, new_blueprint, scoped

providers = new_blueprint("providers", "Providers and their listings (scope providers:read)")
holders = new_blueprint("holders", "Budget holders and their districts (scope holders:read)")
budgets = new_blueprint("budgets", "Budgets, balances and instalments (budgets:read, budgets:write)")
delegations = new_blueprint("delegations", "Who acts for whom (delegations:read)")
bookings = new_blueprint("bookings", "Bookings and their sessions (bookings:read)")
remittance = new_blueprint("remittance", "Remittance files for council-managed budgets (remittance:read)")
flags = new_blueprint("flags", "Brokerage flags (flags:read)")
markets = new_blueprint("markets", "Market figures per district and category (market:read)")

BLUEPRINTS = (providers, holders, budgets, delegations, bookings, remittance, flags, markets)


def _paged(query, id_column, args):
    return reads.page(query, id_column, decode_cursor(args.get("cursor")), args["limit"])


# ---------------------------------------------------------------- row -> dict (shared by exports)

def provider_rows(rows: list[ProviderProfile]) -> list[dict]:
    ids = [p.id for p in rows]
    refs, live = reads.references("provider", ids), reads.live_counts(ids)
    return [{"id": p.id, "reference": refs.get(p.id), "display_name": p.display_name,
             "provider_type": p.provider_type, "district_codes": p.district_codes,
             "live_listings": live.get(p.id, 0), "created_at": p.created_at} for p in rows]


def holder_rows(rows: list[User]) -> list[dict]:
    refs = reads.references("holder", [u.id for u in rows])
    return [{"id": u.id, "reference": refs.get(u.id), "name": u.name, "email": u.email,
             "home_district": u.home_district, "active": u.active, "created_at": u.created_at}
            for u in rows]


def budget_rows(rows: list[Budget], *, with_balances: bool = False) -> list[dict]:
    refs = reads.references("budget", [b.id for b in rows])
    return [{"id": b.id, "reference": refs.get(b.id), "holder_id": b.holder_id,
             "annual_pence": b.annual_pence, "start_date": b.start_date, "end_date": b.end_date,
             "frequency": b.frequency, "funding_mode": b.funding_mode,
             "contingency_weeks": b.contingency_weeks, "contingency_pence": b.contingency_pence,
             "created_at": b.created_at,
             "balances": reads.budget_balances(b.id) if with_balances else None} for b in rows]


def booking_rows(rows: list[Booking]) -> list[dict]:
    ids = [b.id for b in rows]
    refs, sessions = reads.references("booking", ids), reads.sessions_of(ids)
    out = []
    for b in rows:
        out.append({"id": b.id, "reference": refs.get(b.id), "holder_id": b.holder_id,
                    "provider_profile_id": b.provider_profile_id, "listing_id": b.listing_id,
                    "budget_id": b.budget_id, "kind": b.kind, "state": b.state,
                    "total_pence": b.total_pence, "funding_mode": b.funding_mode,
                    "historical": b.id in refs, "created_at": b.created_at,
                    "sessions": sessions.get(b.id, [])})
    return out


# ---------------------------------------------------------------- providers and listings

@providers.route("/providers")
@scoped("providers:read")
@providers.arguments(s.ProviderArgs, location="query")
@providers.response(200, s.page_of(s.ProviderOut))
def list_providers(args):
    rows, last = _paged(reads.providers_query(args), ProviderProfile.id, args)
    return {"items": provider_rows(rows), "next_cursor": encode_cursor(last)}


@providers.route("/providers/<int(max=2147483647):provider_id>")
@scoped("providers:read")
@providers.response(200, s.ProviderOut)
def get_provider(provider_id: int):
    profile = db.session.get(ProviderProfile, provider_id)
    if profile is None:
        raise NotFound("There is no such provider.")
    return provider_rows([profile])[0]


@providers.route("/listings")
@scoped("providers:read")
@providers.arguments(s.ListingArgs, location="query")
@providers.response(200, s.page_of(s.ListingOut))
def list_listings(args):
    rows, last = _paged(reads.listings_query(args), Listing.id, args)
    return {"items": rows, "next_cursor": encode_cursor(last)}


# ---------------------------------------------------------------- holders

@holders.route("/holders")
@scoped("holders:read")
@holders.arguments(s.HolderArgs, location="query")
@holders.response(200, s.page_of(s.HolderOut))
def list_holders(args):
    rows, last = _paged(reads.holders_query(args), User.id, args)
    return {"items": holder_rows(rows), "next_cursor": encode_cursor(last)}


@holders.route("/holders/<int(max=2147483647):holder_id>")
@scoped("holders:read")
@holders.response(200, s.HolderOut)
def get_holder(holder_id: int):
    user = db.session.get(User, holder_id)
    if user is None or user.role != "holder":
        raise NotFound("There is no such budget holder.")
    return holder_rows([user])[0]


# ---------------------------------------------------------------- budgets and instalments

@budgets.route("/budgets")
@scoped("budgets:read")
@budgets.arguments(s.BudgetArgs, location="query")
@budgets.response(200, s.page_of(s.BudgetOut))
def list_budgets(args):
    rows, last = _paged(reads.budgets_query(args), Budget.id, args)
    return {"items": budget_rows(rows), "next_cursor": encode_cursor(last)}


@budgets.route("/budgets", methods=["POST"])
@scoped("budgets:write")
@budgets.arguments(s.BudgetIn)
@budgets.response(201, s.BudgetOut)
def create_budget(data):
    """Set up a holder's budget for a year, as the Budgets screen does (same checks, audited)."""
    budget = budget_service.create_budget(
        data["holder_id"], data["annual_pence"], data["start_date"], data["frequency"],
        data["funding_mode"], contingency_weeks=data.get("contingency_weeks"),
        contingency_pence=data.get("contingency_pence"), actor=actor())
    return budget_rows([budget], with_balances=True)[0]


@budgets.route("/budgets/<int(max=2147483647):budget_id>")
@scoped("budgets:read")
@budgets.response(200, s.BudgetOut)
def get_budget(budget_id: int):
    return budget_rows([budget_service.get_budget(budget_id)], with_balances=True)[0]


@budgets.route("/budgets/<int(max=2147483647):budget_id>/instalments")
@scoped("budgets:read")
@budgets.arguments(s.PageArgs, location="query")
@budgets.response(200, s.page_of(s.InstalmentOut))
def list_instalments(args, budget_id: int):
    budget_service.get_budget(budget_id)
    from app.models import LedgerTransaction

    rows, last = _paged(reads.instalments_query(budget_id), LedgerTransaction.id, args)
    return {"items": rows, "next_cursor": encode_cursor(last)}


@budgets.route("/budgets/<int(max=2147483647):budget_id>/instalments", methods=["POST"])
@scoped("budgets:write")
@budgets.arguments(s.InstalmentIn)
@budgets.response(201, s.InstalmentOut)
def record_instalment(data, budget_id: int):
    """Record an instalment received, through the ledger (idempotent by the council's key)."""
    return budget_service.record_instalment(
        budget_id, data["amount_pence"], idempotency_key="api:" + data["idempotency_key"], actor=actor(),
        received_on=data["received_on"], reference=data.get("reference"))


# ---------------------------------------------------------------- delegations

@delegations.route("/delegations")
@scoped("delegations:read")
@delegations.arguments(s.DelegationArgs, location="query")
@delegations.response(200, s.page_of(s.DelegationOut))
def list_delegations(args):
    rows, last = _paged(reads.delegations_query(args), Delegation.id, args)
    return {"items": rows, "next_cursor": encode_cursor(last)}


# ---------------------------------------------------------------- bookings and sessions

@bookings.route("/bookings")
@scoped("bookings:read")
@bookings.arguments(s.BookingArgs, location="query")
@bookings.response(200, s.page_of(s.BookingOut))
def list_bookings(args):
    rows, last = _paged(reads.bookings_query(args), Booking.id, args)
    return {"items": booking_rows(rows), "next_cursor": encode_cursor(last)}


@bookings.route("/bookings/<int(max=2147483647):booking_id>")
@scoped("bookings:read")
@bookings.response(200, s.BookingOut)
def get_booking(booking_id: int):
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        raise NotFound("There is no such booking.")
    return booking_rows([booking])[0]


@bookings.route("/sessions")
@scoped("bookings:read")
@bookings.arguments(s.SessionArgs, location="query")
@bookings.response(200, s.page_of(s.SessionOut))
def list_sessions(args):
    from app.models import BookingSession

    rows, last = _paged(reads.sessions_query(args), BookingSession.id, args)
    return {"items": rows, "next_cursor": encode_cursor(last)}


# ---------------------------------------------------------------- remittance, flags, markets

@remittance.route("/remittance")
@scoped("remittance:read")
@remittance.arguments(s.RemittanceArgs, location="query")
@remittance.response(200, s.RemittanceOut)
def get_remittance(args):
    """The same files council finance downloads from the Remittance page, line by line."""
    files = []
    for f in booking_service.remittance_files(args["year"], args["month"]):
        rows = list(csv.reader(io.StringIO(f.content)))[1:]
        lines = [dict(zip(("provider", "provider_reference", "holder_reference", "booking_reference",
                           "service_date", "settled_date", "hours", "amount"), r, strict=False))
                 for r in rows if len(r) >= 8 and r[3]]  # the total row has no booking reference
        files.append({"provider_id": f.provider_id, "provider_name": f.provider_name,
                      "filename": f.filename, "line_count": f.line_count, "total_pence": f.total_pence,
                      "payouts_held": f.payouts_held, "lines": lines})
    return {"year": args["year"], "month": args["month"], "files": files}


@flags.route("/flags")
@scoped("flags:read")
@flags.arguments(s.FlagArgs, location="query")
@flags.response(200, s.page_of(s.FlagOut))
def list_flags(args):
    rows, last = _paged(reads.flags_query(args), Flag.id, args)
    return {"items": rows, "next_cursor": encode_cursor(last)}


@markets.route("/markets")
@scoped("market:read")
@markets.arguments(s.MarketArgs, location="query")
@markets.response(200, s.MarketsOut)
def get_markets(args):
    """One stored brokerage scan's market figures (the latest unless run_id is given), as the
    market view shows them: nothing is aggregated on request."""
    run_id = args.get("run_id")
    if run_id is None and args.get("cursor"):
        # A later page stays on the run its first page came from, even when a newer scan has
        # finished since: a client paging through "the latest" never gets two runs mixed.
        run_id = reads.run_of_market_figure(decode_cursor(args["cursor"]))
    run = market_view.run_or_latest(run_id)
    if run is None:
        return {"run": None, "items": [], "next_cursor": None}
    rows, last = _paged(reads.market_figures_query(run.id, args), MarketFigureRecord.id, args)
    shares = reads.market_shares(run.id, rows)
    items = [{**{c.key: getattr(f, c.key) for c in MarketFigureRecord.__table__.columns},
              "shares": shares.get((f.district, f.category), [])} for f in rows]
    return {"run": run, "items": items, "next_cursor": encode_cursor(last)}


@markets.route("/markets/runs")
@scoped("market:read")
@markets.arguments(s.PageArgs, location="query")
@markets.response(200, s.page_of(s.MarketRunOut))
def list_market_runs(args):
    """The stored scan runs, oldest first: pass one's id as run_id to /markets."""
    rows, last = _paged(reads.market_runs_query(), MarketRun.id, args)
    return {"items": rows, "next_cursor": encode_cursor(last)}
