"""What staff see beside a decision: who booked, the holder's money and plan, a flagged message."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.domain.ledger import Account
from app.extensions import db
from app.models import Booking, Delegation, Flag, Message, SupportPlanVersion
from app.services import ledger


@dataclass(frozen=True)
class BookedBy:
    name: str
    email: str
    relation: str  # "the budget holder", "their nominated person", "a broker", ...


@dataclass(frozen=True)
class MoneyAtAGlance:
    available_pence: int
    contingency_pence: int
    held_pence: int
    spent_pence: int
    plan: SupportPlanVersion | None
    planned_for_category_pence: int | None  # what the plan allows for this booking's category


def booked_by(booking: Booking) -> BookedBy:
    """Who asked for the booking, and how they stand to the holder."""
    person = booking.created_by
    if person.id == booking.holder_id:
        relation = "the budget holder"
    elif booking.arranged_by_id == person.id or person.role == "broker":
        relation = "a broker, for the holder"
    else:
        kind = db.session.scalar(select(Delegation.kind).where(
            Delegation.holder_id == booking.holder_id, Delegation.delegate_id == person.id)
            .order_by(Delegation.id.desc()).limit(1))
        relation = {"authorised": "their authorised person", "nominated": "their nominated person",
                    "circle": "someone in their circle of support"}.get(kind or "",
                                                                         "someone else")
    return BookedBy(person.name, person.email, relation)


def money_at_a_glance(booking: Booking) -> MoneyAtAGlance | None:
    """The holder's balances and the plan's amount for the booking's category, or None."""
    if booking.budget_id is None:
        return None
    balances = ledger.balances(booking.budget_id)
    plan = ledger.current_plan(booking.holder_id)
    category = booking.plan_category or booking.listing.category
    planned = next((c.annual_pence for c in plan.categories if c.code == category), None) \
        if plan is not None else None
    return MoneyAtAGlance(balances[Account.AVAILABLE], balances[Account.CONTINGENCY],
                          balances[Account.HELD], balances[Account.SPENT], plan, planned)


def messages_gathered_by(flag: Flag) -> list[Message]:
    """The messages a restricted provider sent that this flag held, oldest first, for the
    broker to read before deciding (one case per provider, not one flag per message)."""
    return list(db.session.scalars(select(Message).where(Message.held_for_flag_id == flag.id)
                                   .order_by(Message.id)))


def message_behind(flag: Flag) -> Message | None:
    """The message a flag is about (a request for cash, say), for the broker to read."""
    if flag.subject_kind != "message" or not str(flag.subject_id).isdigit():
        return None
    return db.session.get(Message, int(flag.subject_id))
