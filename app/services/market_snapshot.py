"""Building the frozen MarketSnapshot the brokerage rules read, from the database."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import String, case, cast, func, select

from app.domain.access import Role
from app.domain.bookings import BookingState, CancellationPolicy
from app.domain.listings import postcode_area
from app.domain.rules import MarketSnapshot
from app.domain.rules import model as facts
from app.domain.rules.markets import Arranged, MarketFacts, MarketTotal, ProviderSpend
from app.domain.rules.markets import windows as market_windows
from app.domain.settings import CouncilSettings
from app.domain.vetting import ProviderType
from app.extensions import db
from app.models import (
    AuditEvent,
    Booking,
    BookingSession,
    Conversation,
    Delegation,
    LedgerTransaction,
    Listing,
    Message,
    ProviderDistrict,
    ProviderProfile,
    Review,
    User,
)
from app.models.delegation import STATUS_ACTIVE
from app.services import council_settings

__all__ = ["build_snapshot", "delegation_snapshot", "holder_districts", "market_facts",
           "postcode_area", "provider_areas", "safeguarding_facts", "session_window_start",
           "spend_by_provider_and_category", "with_districts"]

KIND_OF_TYPE = {
    ProviderType.SELF_EMPLOYED_PA: facts.ProviderKind.PA_SELF_EMPLOYED,
    ProviderType.EMPLOYED_PA: facts.ProviderKind.PA_EMPLOYED,
    ProviderType.HOME_CARE_AGENCY: facts.ProviderKind.AGENCY,
    ProviderType.COMMUNITY_ORGANISATION: facts.ProviderKind.COMMUNITY,
    ProviderType.GROUP_ACTIVITY: facts.ProviderKind.GROUP,
}

S = BookingState
# The rules speak the booking states' own names: LIVE_STATES (funds_held, delivered, confirmed,
# disputed, settled) are BookingState values, and "cancelled" is what cancellation_beyond_policy
# looks for. The one state with no counterpart is no_show. Its closest is "cancelled": the
# session did not happen, and the booking service charges a holder's no-show exactly as a
# cancellation by the holder at the start time (report_no_show), so mapping it there lets the
# cancellation rule check that fee too. Every other state passes through unchanged; the rules
# treat a state outside LIVE_STATES as not (or no longer) committed, so only what was charged
# counts as spending.
_STATUS_OF_STATE = {S.NO_SHOW.value: "cancelled"}
# Never an agreement with the provider: not booked sessions, so not in the snapshot.
_NEVER_AGREED = (S.ENQUIRY.value, S.DECLINED.value, S.NOT_APPROVED.value)


def _refunds():
    """Money given back after capture (card_payments.refund_session): per capture transaction."""
    return (select(LedgerTransaction.refund_of_id.label("capture_id"),
                   func.sum(LedgerTransaction.amount_pence).label("pence"))
            .where(LedgerTransaction.refund_of_id.is_not(None))
            .group_by(LedgerTransaction.refund_of_id).subquery("refunds"))


def _charged(refunds):
    """What the holder was charged for the session and kept being charged: the captured charge
    (the price less any dispute refund, or a cancellation / no-show fee) less later refunds."""
    return func.coalesce(BookingSession.charge_pence, 0) - func.coalesce(refunds.c.pence, 0)


def _spend(refunds):
    """BookedSession.spend_pence in SQL: the price while live, else what was charged. The
    statuses in LIVE_STATES are the same words as the session states (see _STATUS_OF_STATE)."""
    return case((BookingSession.state.in_(sorted(facts.LIVE_STATES)), BookingSession.price_pence),
                else_=_charged(refunds))


def session_window_start(as_of: datetime, settings: CouncilSettings) -> datetime:
    """How far back the sessions in a snapshot go: the furthest any rule looks.

    concentration_rising compares the rule window with the one before it (2 x rule_window_days);
    spending_spike reads spend_spike_history_periods + 1 periods; new_delegate_then_spending
    needs the providers a holder used before a delegation that may have started
    new_delegate_watch_days ago (a rule window of history before it is plenty). Rules that read
    every session (rate rises, provider is delegate) then see that much history.
    """
    days = max(2 * settings.rule_window_days,
               settings.spend_spike_period_days * (settings.spend_spike_history_periods + 1),
               settings.new_delegate_watch_days + settings.rule_window_days)
    return as_of - timedelta(days=days)


def provider_areas() -> dict[int, str]:
    """Each provider profile's postcode area, from its districts (see postcode_area)."""
    districts: dict[int, list[str]] = defaultdict(list)
    for profile_id, district in db.session.execute(
            select(ProviderDistrict.profile_id, ProviderDistrict.district)
            .order_by(ProviderDistrict.profile_id, ProviderDistrict.district)):
        districts[profile_id].append(district)
    return {pid: postcode_area(codes) for pid, codes in districts.items()}


def spend_by_provider_and_category(start: datetime, end: datetime) -> list[tuple[int, str, int, int]]:
    """(provider profile id, listing category, spend pence, sessions) for sessions starting in
    [start, end) with some spend: the aggregate of exactly what the snapshot's sessions give the
    concentration rules (a session counts when its spend_pence > 0), without loading each one."""
    refunds = _refunds()
    spend = _spend(refunds)
    rows = db.session.execute(
        select(BookingSession.provider_profile_id, Listing.category, func.sum(spend),
               func.count(BookingSession.id))
        .join(Booking, Booking.id == BookingSession.booking_id)
        .join(Listing, Listing.id == Booking.listing_id)
        .outerjoin(refunds, refunds.c.capture_id == BookingSession.capture_id)
        .where(BookingSession.start_at >= start, BookingSession.start_at < end,
               BookingSession.state.not_in(_NEVER_AGREED), spend > 0)
        .group_by(BookingSession.provider_profile_id, Listing.category)
        .order_by(BookingSession.provider_profile_id, Listing.category))
    return [(pid, category, int(pence), int(n)) for pid, category, pence, n in rows]


def _minutes(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return int((end - start).total_seconds()) // 60


def _sessions(since: datetime, areas: dict[int, str], *, holder_id: int | None = None,
              provider_ids: list[int] | None = None) -> tuple[facts.BookedSession, ...]:
    """Booked sessions starting from `since`, future ones included: a recurring booking is
    booked (and committed spending) weeks ahead, and the rules reading every session (a new
    delegate followed by bookings, rate rises, a provider who is also the delegate) count it.
    Rules about the past cut at as_of themselves (snapshot.window). `holder_id` and
    `provider_ids` narrow it to one holder's sessions with some providers.

    A council's half year is about a million sessions, so memory matters more than anything
    here: the rows are streamed in batches (never all of them at once as well as the facts),
    and the values sessions share (ids, prices, words, cancellation policies) are one object
    each, not one per session. Sorted by id in Python, which is cheaper than in the database.
    """
    refunds = _refunds()
    # When a booking was cancelled, and by whom (an ActorKind value): the audit record that
    # cancel_booking writes (or cancel_session's, below). Sessions cancelled another way
    # (dropped on resume after a pause, a group that did not fill) have none, are charged
    # nothing, and get no cancelled_at, which the cancellation rule skips.
    cancel = (select(AuditEvent.subject_id, AuditEvent.occurred_at, AuditEvent.details)
              .where(AuditEvent.action == "booking.cancelled",
                     AuditEvent.subject_type == "booking").subquery("cancel"))
    # One visit cancelled on its own (visits.cancel_session) is recorded with its session id:
    # that record, when there is one, says when the visit was cancelled and by whom.
    visit = (select(AuditEvent.details["session"].as_integer().label("session_id"),
                    AuditEvent.occurred_at, AuditEvent.details)
             .where(AuditEvent.action == "booking.session_cancelled",
                    AuditEvent.subject_type == "booking").subquery("visit"))
    query = (
        select(BookingSession.id, Booking.holder_id, BookingSession.provider_profile_id,
               Booking.listing_id, Listing.category, Listing.price_unit, Listing.price_pence,
               BookingSession.start_at, BookingSession.end_at, BookingSession.state,
               BookingSession.price_pence, _charged(refunds), BookingSession.actual_start_at,
               BookingSession.actual_end_at, Booking.arranged_by_id, BookingSession.no_show_by,
               Booking.cancellation_notice_hours, Booking.cancellation_charge_pence,
               func.coalesce(visit.c.occurred_at, cancel.c.occurred_at),
               case((visit.c.occurred_at.is_not(None), visit.c.details), else_=cancel.c.details),
               Booking.created_by_id, BookingSession.booking_id, Booking.created_at)
        .join(Booking, Booking.id == BookingSession.booking_id)
        .join(Listing, Listing.id == Booking.listing_id)
        .outerjoin(refunds, refunds.c.capture_id == BookingSession.capture_id)
        .outerjoin(cancel, (BookingSession.state == S.CANCELLED.value)
                   & (cancel.c.subject_id == cast(Booking.id, String)))
        .outerjoin(visit, (BookingSession.state == S.CANCELLED.value)
                   & (visit.c.session_id == BookingSession.id))
        .where(BookingSession.start_at >= since, BookingSession.state.not_in(_NEVER_AGREED),
               *([Booking.holder_id == holder_id] if holder_id is not None else []),
               *([BookingSession.provider_profile_id.in_(provider_ids)]
                 if provider_ids is not None else []))
        .execution_options(yield_per=20_000))
    sessions: dict[int, facts.BookedSession] = {}
    roles = _roles()
    same: dict[Any, Any] = {}  # one object per distinct id, price or word

    def one(value: Any) -> Any:
        return same.setdefault(value, value)

    policies: dict[tuple[int, int | None], CancellationPolicy] = {}
    for (sid, holder_id, pid, listing_id, category, unit, rate, start, end, state, price, charged,
         actual_start, actual_end, arranged_by, no_show_by, notice_hours, fee, cancelled_at,
         details, created_by, booking_id, booked_at) in db.session.execute(query):
        earlier = sessions.get(sid)
        if earlier is not None and (earlier.cancelled_at is None or cancelled_at is None
                                    or earlier.cancelled_at <= cancelled_at):
            continue  # a second cancellation record cannot happen; keep the first if it did
        cancelled_by = (details or {}).get("by") if cancelled_at is not None else None
        if state == S.NO_SHOW.value:
            # Charged as if the side that did not turn up cancelled at the start time.
            cancelled_at, cancelled_by = start, no_show_by
        policy_key = (notice_hours, fee or None)
        policy = policies.get(policy_key)
        if policy is None:
            # The terms the booking carries (booked_policy), shared by sessions with the same.
            policy = policies[policy_key] = CancellationPolicy(notice_hours=notice_hours,
                                                               charge_pence=fee or None)
        sessions[sid] = facts.BookedSession(
            id=sid, holder_id=one(holder_id), provider_id=one(pid),
            listing_id=one(listing_id),
            category=one(category), area=areas.get(pid, ""), unit=one(unit),
            # Bookings do not record the rate agreed, only each session's price, so this is the
            # listing's rate now: rate_rise_for_existing_clients cannot see a rise through it
            # until bookings keep the rate they were made at.
            rate_pence=one(rate), start=start, end=end,
            status=one(_STATUS_OF_STATE.get(state, state)),
            amount_pence=one(price), charged_pence=one(int(charged)),
            billed_minutes=_minutes(actual_start, actual_end),
            actual_start=actual_start, actual_end=actual_end,
            # set only when a broker arranged it for the holder
            brokered_by=one(arranged_by),
            cancelled_at=cancelled_at, cancelled_by=cancelled_by,
            # Whether the holder had paused is not recorded with the cancellation. The policy
            # waives charges while paused, so False only ever allows a larger fee: it can miss a
            # fee charged during a pause, never flag a fair one.
            cancelled_while_paused=False,
            # The terms the booking carries: what the booking service charges by, so a
            # charge beyond them is a charge beyond what the holder agreed to.
            policy=policy,
            booking_id=one(booking_id),
            booked_by_user_id=one(created_by),
            booked_by_kind=_booked_by_kind(created_by, holder_id, arranged_by, roles),
            booked_at=one(booked_at),  # one object per booking, shared by its sessions
        )
    same.clear()
    return tuple(sessions[sid] for sid in sorted(sessions))


def _providers(*, user_id: int | None = None) -> tuple[facts.Provider, ...]:
    """Providers with the accounts linked to them (only the provider's own account is recorded
    so far); with `user_id`, only the providers that account is linked to."""
    query = select(ProviderProfile.id, ProviderProfile.provider_type,
                   ProviderProfile.display_name, ProviderProfile.user_id)
    if user_id is not None:
        query = query.where(ProviderProfile.user_id == user_id)
    return tuple(
        facts.Provider(id=pid, kind=KIND_OF_TYPE[ProviderType(ptype)], name=name,
                       user_ids=frozenset({linked}))
        for pid, ptype, name, linked in db.session.execute(query.order_by(ProviderProfile.id)))


def _delegations(*, holder_id: int | None = None,
                 user_id: int | None = None) -> tuple[facts.Delegation, ...]:
    """Active delegations (accepted, so with a delegate), optionally one holder's to one user."""
    query = select(Delegation.holder_id, Delegation.delegate_id, Delegation.kind,
                   Delegation.accepted_at, Delegation.created_at).where(
        Delegation.status == STATUS_ACTIVE, Delegation.delegate_id.is_not(None))
    if holder_id is not None:
        query = query.where(Delegation.holder_id == holder_id)
    if user_id is not None:
        query = query.where(Delegation.delegate_id == user_id)
    return tuple(
        facts.Delegation(holder_id=holder, user_id=delegate or 0, kind=kind,
                         started_at=accepted_at or created_at)
        for holder, delegate, kind, accepted_at, created_at
        in db.session.execute(query.order_by(Delegation.id)))


def delegation_snapshot(holder_id: int, user_id: int,
                        as_of: datetime | None = None) -> MarketSnapshot:
    """The part of the snapshot that decides whether `user_id`, now acting for `holder_id`, is
    also one of the holder's providers (rule provider_is_delegate): the providers that account
    is linked to, its delegations for the holder, and the holder's sessions with them, over the
    same range as build_snapshot. Read-only: no commit."""
    as_of = as_of or datetime.now(UTC)
    providers = _providers(user_id=user_id)
    if not providers:
        return MarketSnapshot(as_of=as_of)
    sessions = _sessions(session_window_start(as_of, council_settings.current()),
                         provider_areas(), holder_id=holder_id,
                         provider_ids=[p.id for p in providers])
    return MarketSnapshot(as_of=as_of, providers=providers, sessions=sessions,
                          delegations=_delegations(holder_id=holder_id, user_id=user_id))


def build_snapshot(as_of: datetime | None = None) -> MarketSnapshot:
    """Everything the rules can see today. Read-only: no commit.

    Filled here: providers (and their user accounts), published listings and prices, holders
    (with at-risk marks), booked sessions (from bookings: agreed, delivered, charged, cancelled,
    and who booked them; see _sessions for the range), active delegations, recent messages and
    recent reviews; and, from the safeguarding records (safeguarding_facts): concerns and
    complaints with their kinds and reporters, household links and the council's agreements,
    private address keys, listing price history, agreed support-plan changes, when each
    holder's relationship with each provider began, and the alternatives a broker offered.
    Markets (issue 15): brokers' declared conflicts of interest (declared_conflicts), each
    holder's home district (Holder.district, see with_districts; Holder.area, the provider-side
    postcode area, means nothing for a holder) and the markets' aggregates summed in SQL
    (market_facts).
    """
    as_of = as_of or datetime.now(UTC)
    settings = council_settings.current()
    # Plain column queries, not ORM objects: a council has thousands of each, read once.
    providers = _providers()
    areas = provider_areas()
    # A published listing is the provider's offer even while hidden for vetting.
    listings = tuple(
        facts.Listing(id=lid, provider_id=pid, category=category, unit=unit,
                      area=areas.get(pid, ""), rate_pence=price)
        for lid, pid, category, unit, price in db.session.execute(
            select(Listing.id, Listing.profile_id, Listing.category, Listing.price_unit,
                   Listing.price_pence)
            .where(Listing.published.is_(True)).order_by(Listing.id)))
    holders = tuple(
        facts.Holder(id=uid, area="", at_risk=bool(at_risk))
        for uid, at_risk in db.session.execute(
            select(User.id, User.at_risk).where(User.role == Role.HOLDER.value)
            .order_by(User.id)))
    delegations = _delegations()
    since = as_of - timedelta(days=settings.rule_window_days)
    messages = tuple(
        facts.Message(id=mid, holder_id=holder_id, provider_id=provider_id,
                      from_provider=from_provider, sent_at=sent_at, text=body)
        for mid, from_provider, sent_at, body, holder_id, provider_id in db.session.execute(
            select(Message.id, Message.from_provider, Message.sent_at, Message.body,
                   Conversation.holder_id, Conversation.provider_profile_id)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Message.sent_at >= since, Message.sent_at < as_of)
            .order_by(Message.id)))
    # Hidden reviews too, as ratings.review_snapshot does: manipulation matters whether or not
    # a moderator hid the review. The review rules look back review_window_days.
    review_since = as_of - timedelta(days=settings.review_window_days)
    reviews = tuple(
        facts.Review(id=rid, provider_id=pid, holder_id=holder_id, author_user_id=author_id,
                     by_delegate=bool(by_delegate), submitted_at=created_at, overall=overall,
                     respect_dignity=respect)
        for rid, pid, holder_id, author_id, by_delegate, created_at, overall, respect
        in db.session.execute(
            select(Review.id, Review.provider_profile_id, Review.holder_id, Review.author_id,
                   Review.by_delegate, Review.created_at, Review.overall,
                   Review.respect_dignity)
            .where(Review.created_at >= review_since, Review.created_at < as_of)
            .order_by(Review.id)))
    snapshot = MarketSnapshot(
        as_of=as_of, providers=providers, listings=listings, holders=with_districts(holders),
        market_facts=market_facts(as_of, settings), conflicts=declared_conflicts(),
        sessions=_sessions(session_window_start(as_of, settings), areas),
        delegations=delegations, messages=messages, reviews=reviews,
        agreement_versions=agreement_version_facts(),
    )
    return safeguarding_facts(snapshot, settings)


def agreement_version_facts() -> tuple[facts.AgreementVersion, ...]:
    """Every version of every service agreement, for rules about rates and lock-in (issue 18)."""
    from app.models.jobs import ServiceAgreement, ServiceAgreementVersion

    rows = db.session.execute(
        select(ServiceAgreementVersion, ServiceAgreement.holder_id, ServiceAgreement.profile_id)
        .join(ServiceAgreement, ServiceAgreement.id == ServiceAgreementVersion.agreement_id)
        .order_by(ServiceAgreementVersion.agreement_id, ServiceAgreementVersion.version)).all()
    return tuple(
        facts.AgreementVersion(id=v.id, agreement_id=v.agreement_id, holder_id=holder_id, provider_id=profile_id,
                               version=v.version, rate_pence=v.rate_pence, unit=v.rate_unit,
                               notice_days=v.notice_days, offered_at=v.offered_at,
                               accepted_at=v.decided_at if v.status in ("accepted", "superseded") else None,
                               effective_from=v.effective_from)
        for v, holder_id, profile_id in rows)


# ---------------------------------------------------------------- markets (issue 15)

def holder_districts() -> dict[int, str]:
    """Each holder's home district, where one is recorded (a holder's market; design.md)."""
    return {uid: district or "" for uid, district in db.session.execute(
        select(User.id, User.home_district).where(User.role == Role.HOLDER.value,
                                                  User.home_district.is_not(None)))}


def with_districts(holders: tuple[facts.Holder, ...]) -> tuple[facts.Holder, ...]:
    """The holders with their home districts filled in (build_snapshot's holders)."""
    districts = holder_districts()
    return tuple(replace(h, district=districts.get(h.id, "")) for h in holders)


def market_facts(as_of: datetime, settings: CouncilSettings) -> MarketFacts:
    """rules.markets.facts_from_sessions in SQL: GROUP BY queries over the two windows instead
    of loading every session (a council's year is a million sessions). The same sessions count:
    agreed ones with spend (BookedSession.spend_pence > 0), by the holder's home district."""
    days = settings.market_window_days
    (cur_start, cur_end), (prev_start, _) = market_windows(as_of, days)
    refunds = _refunds()
    spend = _spend(refunds)
    which = case((BookingSession.start_at >= cur_start, 0), else_=1).label("which")
    district = User.home_district

    def base(*columns):
        return (select(*columns)
                .select_from(BookingSession)
                .join(Booking, Booking.id == BookingSession.booking_id)
                .join(Listing, Listing.id == Booking.listing_id)
                .join(User, User.id == Booking.holder_id)
                .outerjoin(refunds, refunds.c.capture_id == BookingSession.capture_id)
                .where(BookingSession.start_at >= prev_start, BookingSession.start_at < cur_end,
                       BookingSession.state.not_in(_NEVER_AGREED), spend > 0))

    # A blank district (left by old data) is no district, as in facts_from_sessions: unplaced.
    placed = func.trim(func.coalesce(district, "")) != ""
    rows = db.session.execute(
        base(which, district, Listing.category, BookingSession.provider_profile_id,
             func.sum(spend), func.count(BookingSession.id),
             func.count(func.distinct(Booking.holder_id)))
        .where(placed)
        .group_by(which, district, Listing.category, BookingSession.provider_profile_id))
    spends: tuple[list[ProviderSpend], list[ProviderSpend]] = ([], [])
    for w, d, category, pid, pence, n, people in rows:
        spends[w].append(ProviderSpend(d, category, pid, int(pence), int(n), int(people)))
    totals: tuple[list[MarketTotal], list[MarketTotal]] = ([], [])
    for w, d, category, people in db.session.execute(
            base(which, district, Listing.category, func.count(func.distinct(Booking.holder_id)))
            .where(placed).group_by(which, district, Listing.category)):
        totals[w].append(MarketTotal(d, category, int(people)))
    current = BookingSession.start_at >= cur_start
    arranged = [
        Arranged(broker, d, category, pid, int(people))
        for broker, d, category, pid, people in db.session.execute(
            base(Booking.arranged_by_id, district, Listing.category,
                 BookingSession.provider_profile_id, func.count(func.distinct(Booking.holder_id)))
            .where(placed, current, Booking.arranged_by_id.is_not(None))
            .group_by(Booking.arranged_by_id, district, Listing.category,
                      BookingSession.provider_profile_id))]
    arranged += [
        Arranged(broker, d, category, None, int(people))
        for broker, d, category, people in db.session.execute(
            base(Booking.arranged_by_id, district, Listing.category,
                 func.count(func.distinct(Booking.holder_id)))
            .where(placed, current, Booking.arranged_by_id.is_not(None))
            .group_by(Booking.arranged_by_id, district, Listing.category))]
    unplaced = db.session.scalar(
        base(func.count(func.distinct(Booking.holder_id))).where(~placed, current))

    def ordered(items):
        return tuple(sorted(items, key=lambda r: tuple(
            (v if v is not None else 0) for v in (getattr(r, f) for f in r.__slots__))))

    return MarketFacts(window_days=days, current=ordered(spends[0]), previous=ordered(spends[1]),
                       current_totals=ordered(totals[0]), previous_totals=ordered(totals[1]),
                       arranged=ordered(arranged), unplaced_holders=int(unplaced or 0))


def declared_conflicts() -> tuple[facts.ConflictOfInterest, ...]:
    """Brokers' declared conflicts of interest (app.services.conflicts)."""
    from app.services.conflicts import snapshot_conflicts

    return snapshot_conflicts()


# Safeguarding facts (issue 16) ---------------------------------------------------------------

def _roles() -> dict[int, str]:
    """Each staff or supporter account's role, to tell who booked (holders are the holder)."""
    return dict(db.session.execute(
        select(User.id, User.role).where(User.role != Role.HOLDER.value)).all())


def _booked_by_kind(created_by: int | None, holder_id: int, arranged_by: int | None,
                    roles: dict[int, str]) -> str | None:
    if created_by is None:
        return None
    if created_by == holder_id:
        return "holder"
    if arranged_by is not None or roles.get(created_by) in (Role.BROKER.value,
                                                             Role.COUNCIL_ADMIN.value):
        return "broker"
    return "delegate"


def _concerns(as_of: datetime) -> tuple[facts.SafeguardingConcern, ...]:
    """Every concern raised up to as_of: open ones drive safeguarding_concern, all of them the
    complaint counts. The summary is the kind of harm only (never the reporter's words)."""
    from app.domain.concerns import ConcernStatus, Harm
    from app.models import Concern

    rows = db.session.execute(
        select(Concern.id, Concern.provider_profile_id, Concern.created_at, Concern.kind,
               Concern.harm, Concern.status, Concern.holder_id, Concern.reporter_user_id,
               Concern.reporter_kind)
        .where(Concern.created_at <= as_of).order_by(Concern.id))
    return tuple(
        facts.SafeguardingConcern(
            id=cid, provider_id=pid, raised_at=raised, kind=kind,
            summary=Harm(harm).label.split(" (")[0] if harm else "",
            open=status == ConcernStatus.OPEN.value, holder_id=holder_id,
            reporter_user_id=reporter, reporter_kind=reporter_kind)
        for cid, pid, raised, kind, harm, status, holder_id, reporter, reporter_kind in rows)


def _household_links() -> tuple[facts.HouseholdLink, ...]:
    """Household members recorded as providers on Carefair: who, how related, whether the
    council has agreed to their being paid."""
    from app.models import HouseholdMember

    rows = db.session.execute(
        select(HouseholdMember.holder_id, HouseholdMember.provider_profile_id,
               HouseholdMember.lives_with_holder, HouseholdMember.council_agreed_at,
               HouseholdMember.relation)
        .where(HouseholdMember.provider_profile_id.is_not(None)).order_by(HouseholdMember.id))
    return tuple(facts.HouseholdLink(holder_id=h, provider_id=p or 0, same_household=bool(lives),
                                     council_agreed=agreed is not None, relationship=rel)
                 for h, p, lives, agreed, rel in rows)


def _address_keys() -> dict[int, str]:
    """Each user's private address key (postcode and first line, normalised)."""
    from app.domain.households import address_key
    from app.models import HomeAddress

    keys = {}
    for user_id, line1, postcode in db.session.execute(
            select(HomeAddress.user_id, HomeAddress.line1, HomeAddress.postcode)):
        key = address_key(line1, postcode)
        if key:
            keys[user_id] = key
    return keys


def _price_changes(since: datetime, as_of: datetime) -> tuple[facts.PriceChange, ...]:
    """Price changes announced before as_of and taking effect since `since` (announced maybe
    long before: the rise is charged inside the window)."""
    from app.models import PriceChange

    rows = db.session.execute(
        select(PriceChange.listing_id, PriceChange.provider_profile_id, PriceChange.old_rate_pence,
               PriceChange.new_rate_pence, PriceChange.announced_at, PriceChange.effective_at,
               PriceChange.applies_to_existing)
        .where(PriceChange.effective_at >= since, PriceChange.announced_at <= as_of)
        .order_by(PriceChange.id))
    return tuple(facts.PriceChange(listing_id=lid, provider_id=pid, old_rate_pence=old,
                                   new_rate_pence=new, announced_at=announced,
                                   effective_at=effective, applies_to_existing=bool(existing))
                 for lid, pid, old, new, announced, effective, existing in rows)


def _plan_changes(since: datetime, as_of: datetime) -> tuple[facts.PlanChange, ...]:
    """Agreed support-plan versions since `since`, each category's amount against the holder's
    previous agreed version (a version waiting for a broker, declined or superseded is not an
    agreed change)."""
    from app.models import PlanCategory, PlanReview, SupportPlanVersion
    from app.models.budget import REVIEW_AGREED

    rows = db.session.execute(
        select(SupportPlanVersion.holder_id, SupportPlanVersion.id, SupportPlanVersion.created_at,
               PlanReview.status, PlanReview.decided_at, PlanCategory.code,
               PlanCategory.annual_pence)
        .outerjoin(PlanReview, PlanReview.plan_id == SupportPlanVersion.id)
        .outerjoin(PlanCategory, PlanCategory.plan_id == SupportPlanVersion.id)
        .where(SupportPlanVersion.created_at <= as_of)
        .order_by(SupportPlanVersion.holder_id, SupportPlanVersion.version, PlanCategory.id))
    versions: dict[int, list[tuple[datetime, dict[str, int]]]] = defaultdict(list)
    seen: dict[int, tuple[datetime, dict[str, int]]] = {}
    for holder_id, plan_id, created, status, decided, code, pence in rows:
        if status is not None and status != REVIEW_AGREED:
            continue
        if plan_id not in seen:
            seen[plan_id] = (decided or created, {})
            versions[holder_id].append(seen[plan_id])
        if code is not None:
            seen[plan_id][1][code] = int(pence)
    changes = []
    for holder_id, agreed in versions.items():
        for (_, before), (at, after) in zip(agreed, agreed[1:], strict=False):
            if at < since:
                continue
            for code in sorted(set(before) | set(after)):
                old, new = before.get(code, 0), after.get(code, 0)
                if old != new:
                    changes.append(facts.PlanChange(holder_id=holder_id, category=code,
                                                    old_amount_pence=old, new_amount_pence=new,
                                                    agreed_at=at))
    return tuple(changes)


def _relationships(as_of: datetime) -> tuple[facts.Relationship, ...]:
    """When each holder began with each provider: their first agreed session, however long ago
    (the snapshot's sessions only go back so far)."""
    rows = db.session.execute(
        select(Booking.holder_id, BookingSession.provider_profile_id,
               func.min(BookingSession.start_at))
        .join(Booking, Booking.id == BookingSession.booking_id)
        .where(BookingSession.state.not_in(_NEVER_AGREED), BookingSession.start_at <= as_of)
        .group_by(Booking.holder_id, BookingSession.provider_profile_id)
        .order_by(Booking.holder_id, BookingSession.provider_profile_id))
    return tuple(facts.Relationship(holder_id=h, provider_id=p, began_at=began)
                 for h, p, began in rows)


def _alternatives_offered(since: datetime) -> tuple[facts.AlternativesOffered, ...]:
    """The listings a broker offered before arranging a booking, as providers."""
    rows = db.session.execute(
        select(Booking.id, Booking.arranged_by_id, Booking.options_offered)
        .where(Booking.arranged_by_id.is_not(None), Booking.created_at >= since)
        .order_by(Booking.id)).all()
    listing_ids = {int(x) for _, _, offered in rows for x in (offered or [])}
    provider_of = dict(db.session.execute(
        select(Listing.id, Listing.profile_id).where(Listing.id.in_(listing_ids))).all()) \
        if listing_ids else {}
    return tuple(
        facts.AlternativesOffered(
            booking_id=bid, broker_id=broker,
            provider_ids=tuple(dict.fromkeys(provider_of[int(x)] for x in (offered or [])
                                             if int(x) in provider_of)))
        for bid, broker, offered in rows)


def safeguarding_facts(snapshot: MarketSnapshot, settings: CouncilSettings) -> MarketSnapshot:
    """The snapshot with what the safeguarding rules need from the safeguarding records."""
    as_of = snapshot.as_of
    since = session_window_start(as_of, settings)
    keys = _address_keys()
    holders = tuple(replace(h, address_key=keys.get(h.id)) for h in snapshot.holders)
    owner = dict(db.session.execute(select(ProviderProfile.id, ProviderProfile.user_id)).all())
    providers = tuple(replace(p, address_key=keys.get(owner.get(p.id, 0)))
                      for p in snapshot.providers)
    return replace(
        snapshot, holders=holders, providers=providers, concerns=_concerns(as_of),
        household_links=_household_links(),
        price_changes=_price_changes(as_of - timedelta(days=settings.rule_window_days), as_of),
        plan_changes=_plan_changes(since, as_of), relationships=_relationships(as_of),
        alternatives_offered=_alternatives_offered(since))
