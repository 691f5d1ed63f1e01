"""The ledger check: whether the ledger, the bookings and the card payments tell one story.

Design overview
---------------
`check(facts)` is a pure function from facts (loaded by services/ledger_check.py with a few SQL
aggregates) to a list of disagreements, each in plain words with its booking, session and
amounts. No disagreement means:

* every open hold (money still set aside) belongs to a session, or a pooled participant, that
  is funded and not ended;
* every ended, cancelled or paused session has its hold released or captured, and a funded
  session really has money held;
* what the ledger captured for a session equals what the session says it charged (nothing is
  captured before a session is settled, cancelled with a charge or reported as a no-show);
* no capture has more refunded from it than it captured;
* a session paid by card has, on the card, what the ledger says: the authorisation still open
  equals what is held, and the card captured and refunded what the ledger captured and refunded.

A session whose card is between a commit and Stripe (a card step recorded and not yet run, or a
call recorded and not yet answered) is not compared: a card booking stays accepted with its money
held until its authorisation runs, and a settled session's capture may still be on its way. It
is counted in `Report.in_flight`, and the reconciliation job settles it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from app.domain.bookings import BookingState
from app.domain.money_format import format_pence

# A session in one of these states has its money set aside (and none spent yet).
FUNDED_STATES = frozenset({BookingState.FUNDS_HELD, BookingState.DELIVERED,
                           BookingState.DISPUTED, BookingState.CONFIRMED})
# A session in one of these states is over: what it charged is final.
CHARGED_STATES = frozenset({BookingState.SETTLED, BookingState.CANCELLED, BookingState.NO_SHOW})
# A booking in one of these states holds nothing for a pooled participant any more.
POOL_OVER_STATES = frozenset({BookingState.CANCELLED, BookingState.DECLINED,
                              BookingState.NOT_APPROVED, BookingState.SETTLED,
                              BookingState.NO_SHOW})


class Problem(StrEnum):
    ORPHAN_HOLD = "orphan_hold"  # money held (or captured) that no session or participant owns
    HELD_AFTER_END = "held_after_end"  # a session not funded (or over) still has money held
    FUNDED_NOT_HELD = "funded_not_held"  # a funded session with nothing held for it
    CAPTURE_NOT_CHARGE = "capture_not_charge"  # captured in the ledger != what the session charged
    REFUND_OVER_CAPTURE = "refund_over_capture"  # refunded more than was captured
    CARD_NOT_LEDGER = "card_not_ledger"  # the card payment and the ledger disagree


@dataclass(frozen=True, slots=True)
class HoldFact:
    """One hold transaction and what became of it."""

    hold_id: int
    budget_id: int
    amount_pence: int
    still_held_pence: int  # the hold less its releases and captures
    captured_pence: int  # spent by its captures
    refunded_pence: int  # refunded from those captures


@dataclass(frozen=True, slots=True)
class CaptureFact:
    capture_id: int
    hold_id: int | None
    captured_pence: int
    refunded_pence: int


@dataclass(frozen=True, slots=True)
class SessionFact:
    session_id: int
    booking_id: int
    booking_state: str
    state: str
    price_pence: int
    charge_pence: int | None
    hold_id: int | None
    capture_id: int | None
    pooled: bool = False


@dataclass(frozen=True, slots=True)
class ShareFact:
    """A holder's place in a pooled booking: their share is held from their own budget."""

    participant_id: int
    booking_id: int
    booking_state: str
    state: str  # joined, released, paid
    hold_id: int | None


@dataclass(frozen=True, slots=True)
class CardFact:
    """A session's card payments, summed (a session may have one per funding round)."""

    session_id: int
    booking_id: int
    open_authorised_pence: int  # authorised and not yet captured or cancelled
    captured_pence: int
    refunded_pence: int
    in_flight: bool = False  # a Stripe call recorded and not yet answered
    # A pool participant's share paid by their own card: compared with their share's hold.
    participant_id: int | None = None


@dataclass(frozen=True, slots=True)
class Facts:
    holds: Sequence[HoldFact] = ()
    captures: Sequence[CaptureFact] = ()
    sessions: Sequence[SessionFact] = ()
    shares: Sequence[ShareFact] = ()
    cards: Sequence[CardFact] = ()
    waiting: frozenset[int] = frozenset()  # session ids with a card step not yet run
    waiting_shares: frozenset[int] = frozenset()  # pool participant ids, likewise


@dataclass(frozen=True, slots=True)
class Disagreement:
    problem: Problem
    message: str
    booking_id: int | None = None
    session_id: int | None = None

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class Report:
    disagreements: list[Disagreement] = field(default_factory=list)
    holds: int = 0
    sessions: int = 0
    cards: int = 0
    in_flight: int = 0

    @property
    def ok(self) -> bool:
        return not self.disagreements

    def summary(self) -> str:
        waiting = (f", {self.in_flight} sessions' card payments waiting for Stripe"
                   if self.in_flight else "")
        if self.ok:
            return (f"Ledger check OK: {self.holds} holds, {self.sessions} sessions and "
                    f"{self.cards} card payments agree{waiting}.")
        return (f"Ledger check found {len(self.disagreements)} disagreements "
                f"({self.holds} holds, {self.sessions} sessions, {self.cards} card payments"
                f"{waiting}).")


def _where(booking_id: int | None, session_id: int | None = None) -> str:
    if booking_id is None:
        return "No booking"
    return f"Booking B-{booking_id}" + (f", session {session_id}" if session_id else "")


def _state(value: str) -> BookingState | None:
    try:
        return BookingState(value)
    except ValueError:
        return None


def check(facts: Facts) -> Report:
    """Every disagreement between the ledger, the bookings and the card payments (see above)."""
    found: list[Disagreement] = []
    holds = {h.hold_id: h for h in facts.holds}
    session_of_hold = {s.hold_id: s for s in facts.sessions if s.hold_id is not None}
    share_of_hold = {p.hold_id: p for p in facts.shares if p.hold_id is not None}

    # Holds: each open hold (and each capture) has an owner that is funded and not over.
    for hold in facts.holds:
        session = session_of_hold.get(hold.hold_id)
        share = share_of_hold.get(hold.hold_id)
        if session is None and share is None:
            if hold.still_held_pence or hold.captured_pence:
                moved = (f"{format_pence(hold.still_held_pence)} still held"
                         if hold.still_held_pence else
                         f"{format_pence(hold.captured_pence)} captured")
                found.append(Disagreement(
                    Problem.ORPHAN_HOLD,
                    f"Budget {hold.budget_id}: hold {hold.hold_id} of "
                    f"{format_pence(hold.amount_pence)} has {moved}, but no session or "
                    f"group place owns it.",
                ))
            continue
        if hold.still_held_pence == 0:
            continue
        if session is not None:
            state = _state(session.state)
            if state not in FUNDED_STATES and session.session_id not in facts.waiting:
                found.append(Disagreement(
                    Problem.HELD_AFTER_END,
                    f"{_where(session.booking_id, session.session_id)} is {session.state} "
                    f"(booking {session.booking_state}), but "
                    f"{format_pence(hold.still_held_pence)} is still held for it "
                    f"(hold {hold.hold_id}).",
                    session.booking_id, session.session_id,
                ))
        elif share is not None:
            booking_state = _state(share.booking_state)
            if share.state != "joined" or booking_state in POOL_OVER_STATES:
                found.append(Disagreement(
                    Problem.HELD_AFTER_END,
                    f"{_where(share.booking_id)}: a group place marked {share.state} "
                    f"(booking {share.booking_state}) still has "
                    f"{format_pence(hold.still_held_pence)} held (hold {hold.hold_id}).",
                    share.booking_id,
                ))

    # Sessions: funded means held; captured equals charged.
    pooled_charge: dict[int, int] = defaultdict(int)
    for s in facts.sessions:
        state = _state(s.state)
        held_for = holds.get(s.hold_id) if s.hold_id is not None else None
        if s.pooled:
            if state in CHARGED_STATES:
                pooled_charge[s.booking_id] += s.charge_pence or 0
            continue
        if s.session_id in facts.waiting:
            continue
        if state in FUNDED_STATES and s.price_pence > 0 and (
                held_for is None or held_for.still_held_pence < s.price_pence):
            held = held_for.still_held_pence if held_for else 0
            found.append(Disagreement(
                Problem.FUNDED_NOT_HELD,
                f"{_where(s.booking_id, s.session_id)} is {s.state} for "
                f"{format_pence(s.price_pence)}, but only {format_pence(held)} is held for it.",
                s.booking_id, s.session_id,
            ))
        charged = (s.charge_pence or 0) if state in CHARGED_STATES else 0
        captured = held_for.captured_pence if held_for else 0
        if captured != charged:
            found.append(Disagreement(
                Problem.CAPTURE_NOT_CHARGE,
                f"{_where(s.booking_id, s.session_id)} is {s.state} and charged "
                f"{format_pence(charged)}, but the ledger captured {format_pence(captured)}.",
                s.booking_id, s.session_id,
            ))

    # Pooled bookings: the participants' captures add up to what the sessions charged.
    captured_of_pool: dict[int, int] = defaultdict(int)
    for p in facts.shares:
        share_hold = holds.get(p.hold_id) if p.hold_id is not None else None
        if share_hold is not None:
            captured_of_pool[p.booking_id] += share_hold.captured_pence
    for booking_id in sorted(set(pooled_charge) | set(captured_of_pool)):
        if pooled_charge[booking_id] != captured_of_pool[booking_id]:
            found.append(Disagreement(
                Problem.CAPTURE_NOT_CHARGE,
                f"{_where(booking_id)} (a group session) charged "
                f"{format_pence(pooled_charge[booking_id])}, but the ledger captured "
                f"{format_pence(captured_of_pool[booking_id])} from its participants.",
                booking_id,
            ))

    # Refunds never exceed captures.
    for c in facts.captures:
        if c.refunded_pence > c.captured_pence:
            owner = session_of_hold.get(c.hold_id) if c.hold_id is not None else None
            found.append(Disagreement(
                Problem.REFUND_OVER_CAPTURE,
                f"{_where(owner.booking_id if owner else None, owner.session_id if owner else None)}"
                f": capture {c.capture_id} took "
                f"{format_pence(c.captured_pence)} but {format_pence(c.refunded_pence)} was "
                f"refunded from it.",
                owner.booking_id if owner else None, owner.session_id if owner else None,
            ))

    # Card payments agree with the ledger.
    sessions = {s.session_id: s for s in facts.sessions}
    shares = {p.participant_id: p for p in facts.shares}
    flying = set(facts.waiting)
    for card in facts.cards:
        if card.participant_id is not None:
            if card.in_flight or card.participant_id in facts.waiting_shares:
                flying.add(card.session_id)
                continue
            place = shares.get(card.participant_id)
            card_hold = (holds.get(place.hold_id)
                         if place is not None and place.hold_id is not None else None)
        else:
            if card.in_flight or card.session_id in facts.waiting:
                flying.add(card.session_id)
                continue
            paid_for = sessions.get(card.session_id)
            card_hold = (holds.get(paid_for.hold_id)
                         if paid_for is not None and paid_for.hold_id is not None else None)
        ledger_held = card_hold.still_held_pence if card_hold else 0
        ledger_captured = card_hold.captured_pence if card_hold else 0
        ledger_refunded = card_hold.refunded_pence if card_hold else 0
        where = _where(card.booking_id, card.session_id)
        if card.participant_id is not None:
            where += f", group place {card.participant_id}"
        pairs = (
            ("authorised on the card and not yet taken", card.open_authorised_pence,
             "held in the ledger", ledger_held),
            ("taken from the card", card.captured_pence, "captured in the ledger",
             ledger_captured),
            ("refunded to the card", card.refunded_pence, "refunded in the ledger",
             ledger_refunded),
        )
        for card_words, card_pence, ledger_words, ledger_pence in pairs:
            if card_pence != ledger_pence:
                found.append(Disagreement(
                    Problem.CARD_NOT_LEDGER,
                    f"{where}: {format_pence(card_pence)} {card_words}, but "
                    f"{format_pence(ledger_pence)} {ledger_words}.",
                    card.booking_id, card.session_id,
                ))

    return Report(found, holds=len(facts.holds), sessions=len(facts.sessions),
                  cards=len(facts.cards), in_flight=len(flying))
