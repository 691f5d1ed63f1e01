"""The booking lifecycle: states, events, who may do each event, and when delivery confirms.

A booking (or one session of a recurring booking) moves through design.md's lifecycle:

    enquiry -> requested -> [awaiting_approval ->] requested -> accepted | declined
    accepted -> funds_held (or payment_failed, retried) -> delivered -> confirmed | disputed
    confirmed -> settled;  disputed -> settled (a broker decides full, partial or no refund)
    cancelled, no_show, not_approved, declined, expired and settled are final; paused resumes
    to accepted. A request nobody answered in time (provider or broker) expires (app.domain.waits).

`transition(state, event, actor)` is the one place that says which moves exist and who may
make them. It is pure: the service loads the booking, asks for the new state, and saves it.
Pricing, schedules, pooling and approval live in their own modules and are re-exported here
so services can write `from app.domain import bookings` and find everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from app.domain.approval import ApprovalRequest, needs_broker_approval
from app.domain.booking_price import (
    CancellationOutcome,
    CancellationPolicy,
    ListingTerms,
    Quote,
    Unit,
    cancellation_charge,
    pence_for_minutes,
    quote,
    quote_breakdown,
)
from app.domain.errors import Conflict, NotPermitted
from app.domain.pooling import PoolDecision, PoolTerms, check_can_join, decide_pool, split_shares
from app.domain.schedule import (
    DatesOff,
    Session,
    Unavailability,
    WeeklyPattern,
    WeeklySlot,
    expand_weekly,
    minutes_between,
    overlaps,
    unavailable_sessions,
    validate_sessions,
)
from app.domain.settings import CouncilSettings
from app.domain.waits import after_real_hours, utc

__all__ = [
    "ActorKind", "ApprovalRequest", "BookingState", "CancellationOutcome", "CancellationPolicy",
    "ConfirmationPlan", "DatesOff", "Event", "IllegalTransition", "ListingTerms",
    "NotYourMove", "PoolDecision", "PoolTerms", "Quote", "Session", "Unavailability", "Unit",
    "WeeklyPattern", "WeeklySlot", "allowed_events", "cancellation_charge", "check_can_join",
    "confirmation_plan", "decide_pool", "expand_weekly", "may_auto_confirm", "minutes_between",
    "move", "HasState",
    "needs_broker_approval", "overlaps", "pence_for_minutes", "quote", "quote_breakdown",
    "split_shares", "transition", "unavailable_sessions", "validate_sessions",
]


class BookingState(StrEnum):
    ENQUIRY = "enquiry"
    REQUESTED = "requested"
    AWAITING_APPROVAL = "awaiting_approval"  # waiting for a broker (design.md, approval queue)
    NOT_APPROVED = "not_approved"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    PAYMENT_FAILED = "payment_failed"  # the hold or card failed: not booked and not charged
    FUNDS_HELD = "funds_held"
    DELIVERED = "delivered"
    CONFIRMED = "confirmed"
    DISPUTED = "disputed"
    SETTLED = "settled"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    PAUSED = "paused"
    EXPIRED = "expired"  # nobody answered the request in time: the slot is free again

    @property
    def label(self) -> str:
        return _STATE_LABELS[self]

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES


_STATE_LABELS = {
    BookingState.ENQUIRY: "Enquiry",
    BookingState.REQUESTED: "Requested",
    BookingState.AWAITING_APPROVAL: "Waiting for a broker to approve",
    BookingState.NOT_APPROVED: "Not approved by a broker",
    BookingState.ACCEPTED: "Accepted by the provider",
    BookingState.DECLINED: "Declined by the provider",
    BookingState.PAYMENT_FAILED: "Payment did not go through",
    BookingState.FUNDS_HELD: "Booked (money set aside)",
    BookingState.DELIVERED: "Delivered, waiting for confirmation",
    BookingState.CONFIRMED: "Confirmed",
    BookingState.DISPUTED: "Disputed",
    BookingState.SETTLED: "Paid",
    BookingState.CANCELLED: "Cancelled",
    BookingState.NO_SHOW: "Did not happen (no-show)",
    BookingState.PAUSED: "Paused",
    BookingState.EXPIRED: "Expired: not answered in time",
}

FINAL_STATES = frozenset({
    BookingState.NOT_APPROVED, BookingState.DECLINED, BookingState.SETTLED,
    BookingState.CANCELLED, BookingState.NO_SHOW, BookingState.EXPIRED,
})

# States where money is held for the booking: leaving them to a final state must release it.
HOLDING_STATES = frozenset({BookingState.FUNDS_HELD, BookingState.DELIVERED, BookingState.DISPUTED,
                            BookingState.CONFIRMED})


class Event(StrEnum):
    REQUEST = "request"
    HOLD_FOR_APPROVAL = "hold_for_approval"
    APPROVE = "approve"
    REFUSE_APPROVAL = "refuse_approval"
    ACCEPT = "accept"
    DECLINE = "decline"
    HOLD_FUNDS = "hold_funds"
    PAYMENT_FAILED = "payment_failed"
    RECORD_DELIVERY = "record_delivery"
    CONFIRM = "confirm"
    AUTO_CONFIRM = "auto_confirm"
    DISPUTE = "dispute"
    RESOLVE_DISPUTE = "resolve_dispute"
    SETTLE = "settle"
    CANCEL = "cancel"
    REPORT_NO_SHOW = "report_no_show"
    PAUSE = "pause"
    RESUME = "resume"
    EXPIRE = "expire"
    RESUME_REQUEST = "resume_request"
    AWAIT_CARD = "await_card"
    # A booking whose every session is over: settled if any was paid, else cancelled.
    FINISH = "finish"
    FINISH_UNPAID = "finish_unpaid"

    @property
    def label(self) -> str:
        """A verb phrase that reads after "cannot": "the provider cannot confirm this booking"."""
        return _EVENT_PHRASES.get(self, self.value.replace("_", " "))


_EVENT_PHRASES = {
    Event.HOLD_FOR_APPROVAL: "send for approval",
    Event.REFUSE_APPROVAL: "refuse",
    Event.HOLD_FUNDS: "hold money for",
    Event.PAYMENT_FAILED: "mark as unpaid",
    Event.RECORD_DELIVERY: "record delivery of",
    Event.AUTO_CONFIRM: "automatically confirm",
    Event.RESOLVE_DISPUTE: "resolve the dispute on",
    Event.REPORT_NO_SHOW: "report a no-show on",
    Event.RESUME_REQUEST: "resume",
    Event.AWAIT_CARD: "try the card again for",
    Event.FINISH_UNPAID: "finish",
}


class ActorKind(StrEnum):
    """Who is acting. A delegate is an authorised or nominated person (circles never book)."""

    HOLDER = "holder"
    DELEGATE = "delegate"
    PROVIDER = "provider"
    BROKER = "broker"
    SYSTEM = "system"

    @property
    def label(self) -> str:
        return {
            ActorKind.HOLDER: "the budget holder",
            ActorKind.DELEGATE: "someone acting for the budget holder",
            ActorKind.PROVIDER: "the provider",
            ActorKind.BROKER: "a broker",
            ActorKind.SYSTEM: "Carefair itself",
        }[self]


S, E, A = BookingState, Event, ActorKind
_HOLDER_SIDE = frozenset({A.HOLDER, A.DELEGATE})
# A broker may act on a holder's behalf (arranging, pausing, cancelling, co-signing).
_HOLDER_OR_BROKER = _HOLDER_SIDE | {A.BROKER}
_ANY_PERSON = _HOLDER_OR_BROKER | {A.PROVIDER}

_OPEN = frozenset(BookingState) - FINAL_STATES
# event -> (states it may start from, state it leads to, who may do it)
_MOVES: dict[Event, tuple[frozenset[BookingState], BookingState, frozenset[ActorKind]]] = {
    E.REQUEST: (frozenset({S.ENQUIRY}), S.REQUESTED, _HOLDER_OR_BROKER),
    E.HOLD_FOR_APPROVAL: (frozenset({S.REQUESTED}), S.AWAITING_APPROVAL, frozenset({A.SYSTEM})),
    E.APPROVE: (frozenset({S.AWAITING_APPROVAL}), S.REQUESTED, frozenset({A.BROKER})),
    E.REFUSE_APPROVAL: (frozenset({S.AWAITING_APPROVAL}), S.NOT_APPROVED, frozenset({A.BROKER})),
    E.ACCEPT: (frozenset({S.REQUESTED}), S.ACCEPTED, frozenset({A.PROVIDER})),
    E.DECLINE: (frozenset({S.REQUESTED}), S.DECLINED, frozenset({A.PROVIDER})),
    # Funds are held by Carefair once the provider accepts; a retry after a failed card is the same.
    E.HOLD_FUNDS: (frozenset({S.ACCEPTED, S.PAYMENT_FAILED}), S.FUNDS_HELD, frozenset({A.SYSTEM})),
    E.PAYMENT_FAILED: (frozenset({S.ACCEPTED}), S.PAYMENT_FAILED, frozenset({A.SYSTEM})),
    # A retry on a card budget: the ledger holds again and the booking waits, accepted, for the
    # card's answer (which runs after the commit) before it is funded or fails again.
    E.AWAIT_CARD: (frozenset({S.PAYMENT_FAILED}), S.ACCEPTED, frozenset({A.SYSTEM})),
    E.RECORD_DELIVERY: (frozenset({S.FUNDS_HELD}), S.DELIVERED, frozenset({A.PROVIDER})),
    # A broker confirms only as the co-signer for holders at risk (see confirmation_plan).
    E.CONFIRM: (frozenset({S.DELIVERED}), S.CONFIRMED, _HOLDER_OR_BROKER),
    E.AUTO_CONFIRM: (frozenset({S.DELIVERED}), S.CONFIRMED, frozenset({A.SYSTEM})),
    E.DISPUTE: (frozenset({S.DELIVERED}), S.DISPUTED, _HOLDER_OR_BROKER),
    E.RESOLVE_DISPUTE: (frozenset({S.DISPUTED}), S.SETTLED, frozenset({A.BROKER})),
    E.SETTLE: (frozenset({S.CONFIRMED}), S.SETTLED, frozenset({A.SYSTEM})),
    # The system cancels too: a pooled session that did not fill, an enquiry that went stale.
    E.CANCEL: (
        frozenset({S.ENQUIRY, S.REQUESTED, S.AWAITING_APPROVAL, S.ACCEPTED, S.PAYMENT_FAILED,
                   S.FUNDS_HELD, S.PAUSED}),
        S.CANCELLED,
        _ANY_PERSON | {A.SYSTEM},
    ),
    # Either side may report that the other did not turn up; the service records which side.
    E.REPORT_NO_SHOW: (frozenset({S.FUNDS_HELD}), S.NO_SHOW, _ANY_PERSON),
    # A pause covers requests still waiting for the provider or a broker too: otherwise they
    # would be funded on acceptance while the holder is in hospital.
    E.PAUSE: (frozenset({S.REQUESTED, S.AWAITING_APPROVAL, S.ACCEPTED, S.FUNDS_HELD,
                         S.PAYMENT_FAILED}), S.PAUSED, _HOLDER_OR_BROKER),
    # Holds were released on pause, so resuming goes back to accepted and funds are held again.
    E.RESUME: (frozenset({S.PAUSED}), S.ACCEPTED, _HOLDER_OR_BROKER),
    # Only the scheduled job expires a request, when its deadline has passed (app.domain.waits).
    E.EXPIRE: (frozenset({S.REQUESTED, S.AWAITING_APPROVAL}), S.EXPIRED, frozenset({A.SYSTEM})),
    # A request paused before the provider answered goes back to them: resuming never skips
    # the provider's acceptance (nor a broker's approval: the service re-holds it for them).
    E.RESUME_REQUEST: (frozenset({S.PAUSED}), S.REQUESTED, _HOLDER_OR_BROKER),
    # The booking once its sessions are all over (each moved on its own): the system closes it.
    E.FINISH: (_OPEN, S.SETTLED, frozenset({A.SYSTEM})),
    E.FINISH_UNPAID: (_OPEN, S.CANCELLED, frozenset({A.SYSTEM})),
}


class IllegalTransition(Conflict):
    """The booking is not in a state where this can happen."""


class NotYourMove(NotPermitted):
    """This kind of person may not do this to a booking."""


def transition(state: BookingState | str, event: Event | str,
               actor: ActorKind | str) -> BookingState:
    """The state after `event` by `actor`, or IllegalTransition / NotYourMove saying why not."""
    state, event, actor = BookingState(state), Event(event), ActorKind(actor)
    sources, target, actors = _MOVES[event]
    if state not in sources:
        raise IllegalTransition(
            f"You cannot {event.label} this booking now: its status is '{state.label}'.",
            field="status",
        )
    if actor not in actors:
        raise NotYourMove(f"{actor.label.capitalize()} cannot {event.label} this booking.")
    return target


class HasState(Protocol):
    """A booking or one of its sessions: anything whose `state` moves through _MOVES."""

    state: Any


def move(thing: HasState, event: Event | str, actor: ActorKind | str) -> BookingState:
    """Make `event` happen to a booking or session: the one place in Carefair where a booking's
    or session's state changes (tests/unit/test_state_changes.py scans the code for others).
    Raises IllegalTransition or NotYourMove as transition() does, changing nothing."""
    target = transition(thing.state, event, actor)
    thing.state = target
    return target


def allowed_events(state: BookingState | str, actor: ActorKind | str) -> list[Event]:
    """The events this actor may do now, in declaration order: for showing buttons."""
    state, actor = BookingState(state), ActorKind(actor)
    return [event for event, (sources, _, actors) in _MOVES.items()
            if state in sources and actor in actors]


@dataclass(frozen=True, slots=True)
class ConfirmationPlan:
    """How delivered hours get confirmed: by the holder, a co-signing broker, or automatically."""

    needs_broker_cosign: bool
    auto_confirm_at: datetime | None  # None: never automatically
    notice_at: datetime | None  # when to tell the holder that auto-confirmation is coming


def confirmation_plan(delivered_at: datetime, holder_at_risk: bool,
                      settings: CouncilSettings) -> ConfirmationPlan:
    """design.md: holders at risk never auto-confirm (a broker co-signs); others after 72 hours."""
    if holder_at_risk:
        return ConfirmationPlan(needs_broker_cosign=True, auto_confirm_at=None, notice_at=None)
    # In UTC: 72 hours means 72 real hours, also across a clock change (wall-clock arithmetic on
    # a Europe/London datetime would give 71 or 73).
    auto_at = after_real_hours(delivered_at, settings.auto_confirm_hours)
    # Never send the notice before the delivery itself, whatever the settings say.
    notice_at = max(utc(delivered_at), auto_at - timedelta(hours=settings.auto_confirm_notice_hours))
    return ConfirmationPlan(needs_broker_cosign=False, auto_confirm_at=auto_at, notice_at=notice_at)


def may_auto_confirm(now: datetime, delivered_at: datetime, holder_at_risk: bool,
                     notice_sent: bool, settings: CouncilSettings) -> bool:
    """True when the system may confirm now: not at risk, time is up, and the notice went out."""
    plan = confirmation_plan(delivered_at, holder_at_risk, settings)
    if plan.auto_confirm_at is None:
        return False
    # Without the notice the holder had no chance to dispute: wait until it has been sent.
    return notice_sent and utc(now) >= plan.auto_confirm_at
