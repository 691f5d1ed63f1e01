"""Pooled bookings: a group session shared by several holders, each paying a share of the total.

How it runs: each holder who joins has the largest possible share held (the total split
between the minimum number of people). At the deadline, if the minimum has joined, the
session runs and everyone's share is recomputed for the actual number, releasing the
difference; if not, every hold is released.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from app.domain.errors import Conflict, InvalidInput


class ShareState(StrEnum):
    """One participant's share of a pooled booking, as stored in pool_participants.state."""

    JOINED = "joined"  # their share is held
    RELEASED = "released"  # given back (the pool did not run, or was cancelled)
    PAID = "paid"  # captured for the session that ran


_SHARE_MOVES = {ShareState.JOINED: frozenset({ShareState.RELEASED, ShareState.PAID})}


class HasShareState(Protocol):
    state: Any


def move_share(part: HasShareState, target: ShareState) -> ShareState:
    """Move a participant's share on: the one place its state changes. Only a held (joined)
    share moves; a share already released or paid stays as it is (a pool cancelled after its
    session was paid keeps the payment). Returns the state it is in afterwards."""
    current = ShareState(part.state)
    if target in _SHARE_MOVES.get(current, frozenset()):
        part.state = target
        return target
    return current


@dataclass(frozen=True, slots=True)
class PoolTerms:
    total_pence: int
    min_participants: int
    max_participants: int
    join_deadline: datetime

    def __post_init__(self) -> None:
        if self.total_pence < 0:
            raise InvalidInput("The session price cannot be negative.", field="total_pence")
        if not 1 <= self.min_participants <= self.max_participants:
            raise InvalidInput("The minimum number of people must be at least 1 and no more than "
                               "the maximum.", field="min_participants")

    @property
    def hold_per_person_pence(self) -> int:
        """The most anyone can end up paying: the total split between the minimum, rounded up."""
        return -(-self.total_pence // self.min_participants)


def split_shares(total_pence: int, participants: Sequence[int]) -> dict[int, int]:
    """Each participant's share; shares sum exactly to the total.

    The leftover pennies (at most one each) go to the participants first in sorted order of
    their ids, so the same people always get the same split, whatever order they joined in.
    """
    if not participants:
        raise InvalidInput("A shared session needs at least one person.")
    if len(set(participants)) != len(participants):
        raise InvalidInput("Someone is in the shared session twice.")
    if total_pence < 0:
        raise InvalidInput("The session price cannot be negative.")
    base, leftover = divmod(total_pence, len(participants))
    ordered = sorted(participants)
    return {p: base + (1 if i < leftover else 0) for i, p in enumerate(ordered)}


def check_can_join(terms: PoolTerms, joined: Sequence[int], newcomer: int,
                   now: datetime) -> None:
    """Raise Conflict when the session is full, closed, or the person has already joined."""
    if newcomer in joined:
        raise Conflict("You have already joined this session.")
    if now >= terms.join_deadline:
        raise Conflict("This session has stopped taking people.")
    if len(joined) >= terms.max_participants:
        raise Conflict("This session is full.")


@dataclass(frozen=True, slots=True)
class PoolDecision:
    runs: bool
    shares: dict[int, int]  # what each person pays if it runs (empty if not)
    release: dict[int, int]  # what goes back to each person's budget from their hold
    reason: str


def decide_pool(terms: PoolTerms, joined: Sequence[int], now: datetime) -> PoolDecision | None:
    """At or after the deadline: run with final shares, or release every hold. Before it: None."""
    if now < terms.join_deadline:
        return None
    held = terms.hold_per_person_pence
    if len(joined) < terms.min_participants:
        return PoolDecision(False, {}, {p: held for p in joined},
                            f"Only {len(joined)} of the {terms.min_participants} people needed "
                            "joined by the deadline, so the session will not run.")
    shares = split_shares(terms.total_pence, joined)
    return PoolDecision(True, shares, {p: held - share for p, share in shares.items()},
                        f"{len(joined)} people joined, so the session will run.")
