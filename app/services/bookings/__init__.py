"""Booking use cases, one module per lifecycle stage; this package re-exports their names.

Stages: requests (quote, request, arrange), approval (a broker's decision), funding (accept,
decline, holding money), delivery (record, confirm, co-sign, dispute, settle), cancelling
(either side, no-shows), pauses (pause, resume), pools (group sessions), jobs (the scheduled
auto-confirm and pool run) and queries (reading). Shared constants and checks are in _common.

No double-booking: the provider profile row is locked (SELECT ... FOR UPDATE) and existing
sessions re-checked before new ones are written; on PostgreSQL an exclusion constraint is the
last word (a loser of the race gets Conflict).
"""

from app.domain import bookings as rules
from app.services.booked_policy import policy_booked_under as cancellation_policy
from app.services.bookings._common import (
    DISPUTE_OUTCOMES,
    KINDS,
    MEET_AND_GREET_MAX_MINUTES,
    OPEN_SESSION_STATES,
    RULE_CHECKS,
    UK,
    BookingInput,
    BookingQuote,
    S,
    _brokers,
    _kind_of,
    _link,
    _lock_booking,
    _lock_holder,
    _lock_session,
    _now,
    _plan_category,
    _policy,
    _pounds,
    _provider_acts_for_holder,
    _refuse_own_work,
    _require_broker,
    _require_holder_side,
    _require_provider,
    _session,
    _settings,
    _starts,
    _terms,
    get_booking,
    local,
    needs_cosign,
    register_rule_checks,
    require_provider_not_suspended,
)
from app.services.bookings.approval import (
    _decide_approval,
    approval_queue,
    approve,
    refuse_approval,
)
from app.services.bookings.cancelling import (
    _money_back,
    backup_offers,
    cancel_booking,
    report_no_show,
)
from app.services.bookings.delivery import (
    _close_if_done,
    _settle,
    confirm_session,
    cosign_queue,
    dispute_session,
    disputes,
    record_delivery,
    resolve_dispute,
)
from app.services.bookings.funding import (
    _fund,
    _hold_session,
    _mark_funded,
    accept,
    card_authorised,
    card_refused,
    decline,
    retry_funding,
)
from app.services.bookings.hour_caps import OverHourCap, agree_exception, check_hour_cap
from app.services.bookings.jobs import JobReport, run_due
from app.services.bookings.pauses import PAUSABLE, current_pause, pause, resume
from app.services.bookings.pools import (
    _capture_pool,
    _hold_pool_share,
    _join_pool_hold_pending,
    _participant,
    _pool_terms_of,
    _release_pool,
    decide_pool,
    join_pool,
)
from app.services.bookings.queries import (
    booking_for_holder,
    booking_for_provider,
    bookings_of_holder,
    bookings_of_provider,
    group_session_for_joining,
    open_group_sessions,
    remittance_files,
    settled_sessions,
)
from app.services.bookings.requests import (
    _bookable_listing,
    _check_availability,
    _clashes,
    _not_enough_now,
    _pool_terms,
    _sessions_for,
    arrange_booking,
    quote_booking,
    request_booking,
)
from app.services.bookings.timers import (
    LAPSE_STEPS,
    TimerReport,
    expired_alternatives,
    register_lapse,
    request_deadline,
    run_timers,
    similar_listings,
)
from app.services.bookings.visits import cancel_session, cancellation_preview

__all__ = [
    "DISPUTE_OUTCOMES", "KINDS", "MEET_AND_GREET_MAX_MINUTES", "OPEN_SESSION_STATES",
    "RULE_CHECKS", "UK", "BookingInput", "BookingQuote", "JobReport", "S", "rules",
    "_bookable_listing", "_brokers", "_capture_pool", "_check_availability", "_clashes",
    "_close_if_done", "_decide_approval", "_fund", "_hold_pool_share", "_hold_session",
    "_join_pool_hold_pending", "_kind_of", "_link", "_lock_booking", "_mark_funded",
    "_money_back", "_not_enough_now", "_now", "_participant", "_plan_category", "_policy",
    "_pool_terms", "_pool_terms_of", "_pounds", "_provider_acts_for_holder",
    "_refuse_own_work", "_release_pool", "_require_broker", "_require_holder_side",
    "_require_provider", "_session", "_sessions_for", "_settings", "_settle", "_starts",
    "_terms", "accept", "approval_queue", "approve", "arrange_booking", "backup_offers",
    "booking_for_holder", "booking_for_provider", "bookings_of_holder",
    "group_session_for_joining", "open_group_sessions",
    "bookings_of_provider", "cancel_booking", "cancel_session", "cancellation_policy", "cancellation_preview",
    "confirm_session", "cosign_queue",
    "current_pause", "decide_pool", "decline", "dispute_session", "disputes", "get_booking",
    "join_pool", "local", "needs_cosign", "pause", "quote_booking", "record_delivery",
    "refuse_approval", "register_rule_checks", "remittance_files", "report_no_show",
    "request_booking", "resolve_dispute", "resume", "retry_funding", "run_due",
    "settled_sessions", "_lock_holder", "_lock_session", "require_provider_not_suspended",
    "card_authorised", "card_refused", "PAUSABLE",
    # Time (issue 20): timed exits, reminders, hour caps.
    "LAPSE_STEPS", "OverHourCap", "TimerReport", "agree_exception", "check_hour_cap", "expired_alternatives",
    "register_lapse", "request_deadline", "run_timers", "similar_listings",
]
