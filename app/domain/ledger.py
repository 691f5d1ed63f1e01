"""The double-entry ledger's rules: accounts, and the balanced legs each money operation posts.

Design overview
---------------
Every budget has its own small chart of accounts. Money only ever moves between them, so each
transaction's legs sum to zero and no money appears or disappears:

    council      the council's side. Goes negative as the council pays money in
                 (allocate, positive adjust) and back up when it recovers money (clawback).
    available    money the holder may spend now, without anyone's approval.
    contingency  the reserve kept back; spending it needs a broker's approval.
    held         money set aside for a booking (at booking time), not yet spent.
    spent        money paid for support that was delivered (captured).

Operations (design.md "Money"):

    allocate   council -> available (+ part to contingency)    an instalment received
    hold       available|contingency -> held                    at booking
    release    held -> where it came from                       on cancel
    capture    held -> spent (the rest back, same transaction)  on confirmed delivery
    refund     spent -> where it came from                      money back from a provider
    clawback   available (then contingency) -> council          never touches held money
    adjust     council <-> available, with a reason             broker or council admin

Balances are sums of entries, never stored columns. Corrections are new reversing
transactions; nothing is ever edited or deleted. The same rules are checked three times:
here (every builder returns legs that sum to zero), in a flush guard (models/ledger.py) and
in the database (append-only triggers; on PostgreSQL a deferred constraint trigger that
rejects an unbalanced transaction or a budget account below zero).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Account(StrEnum):
    COUNCIL = "council"
    AVAILABLE = "available"
    CONTINGENCY = "contingency"
    HELD = "held"
    SPENT = "spent"


# The holder-side accounts: these can never be below zero.
NON_NEGATIVE = (Account.AVAILABLE, Account.CONTINGENCY, Account.HELD, Account.SPENT)


class Operation(StrEnum):
    ALLOCATE = "allocate"
    HOLD = "hold"
    RELEASE = "release"
    CAPTURE = "capture"
    REFUND = "refund"
    CLAWBACK = "clawback"
    ADJUST = "adjust"


@dataclass(frozen=True, slots=True)
class Leg:
    account: Account
    pence: int
    category: str | None = None


class UnbalancedError(ValueError):
    """A programming error: legs that do not sum to zero must never reach the database."""


def check_balanced(legs: list[Leg]) -> list[Leg]:
    if not legs:
        raise UnbalancedError("a transaction needs at least one leg")
    if any(not isinstance(leg.pence, int) or isinstance(leg.pence, bool) for leg in legs):
        raise UnbalancedError("ledger amounts are integer pence")
    if sum(leg.pence for leg in legs) != 0:
        raise UnbalancedError(f"legs sum to {sum(leg.pence for leg in legs)}, not 0")
    return [leg for leg in legs if leg.pence != 0]


def _positive(pence: int) -> None:
    if not isinstance(pence, int) or isinstance(pence, bool) or pence <= 0:
        raise ValueError(f"amount must be a positive number of pence, not {pence!r}")


def allocate(pence: int, to_contingency: int = 0) -> list[Leg]:
    _positive(pence)
    if not 0 <= to_contingency <= pence:
        raise ValueError("the contingency share must be between nothing and the whole amount")
    return check_balanced([
        Leg(Account.COUNCIL, -pence),
        Leg(Account.AVAILABLE, pence - to_contingency),
        Leg(Account.CONTINGENCY, to_contingency),
    ])


def hold(pence: int, *, category: str, from_contingency: bool = False) -> list[Leg]:
    _positive(pence)
    source = Account.CONTINGENCY if from_contingency else Account.AVAILABLE
    return check_balanced([Leg(source, -pence, category), Leg(Account.HELD, pence, category)])


def release(pence: int, *, category: str, from_contingency: bool = False) -> list[Leg]:
    _positive(pence)
    back_to = Account.CONTINGENCY if from_contingency else Account.AVAILABLE
    return check_balanced([Leg(Account.HELD, -pence, category), Leg(back_to, pence, category)])


def capture(pence: int, still_held: int, *, category: str, from_contingency: bool = False) -> list[Leg]:
    """Spend `pence` of a hold; whatever else was held goes back in the same transaction."""
    _positive(pence)
    if pence > still_held:
        raise ValueError("cannot capture more than is held")
    back_to = Account.CONTINGENCY if from_contingency else Account.AVAILABLE
    rest = still_held - pence
    return check_balanced([
        Leg(Account.HELD, -still_held, category),
        Leg(Account.SPENT, pence, category),
        Leg(back_to, rest, category),
    ])


def refund(pence: int, *, category: str, from_contingency: bool = False) -> list[Leg]:
    """Money back from a provider returns to where it was spent from."""
    _positive(pence)
    back_to = Account.CONTINGENCY if from_contingency else Account.AVAILABLE
    return check_balanced([Leg(Account.SPENT, -pence, category), Leg(back_to, pence, category)])


def clawback(pence: int, available: int, contingency: int) -> list[Leg]:
    """Recover unspent money: available first, then the contingency. Held money is never taken."""
    _positive(pence)
    if pence > available + contingency:
        raise ValueError("cannot claw back more than is unspent and not held")
    from_available = min(pence, available)
    return check_balanced([
        Leg(Account.AVAILABLE, -from_available),
        Leg(Account.CONTINGENCY, -(pence - from_available)),
        Leg(Account.COUNCIL, pence),
    ])


def adjust(pence: int) -> list[Leg]:
    """A signed correction between the council and the holder's available money."""
    if not isinstance(pence, int) or isinstance(pence, bool) or pence == 0:
        raise ValueError("an adjustment is a non-zero number of pence")
    return check_balanced([Leg(Account.COUNCIL, -pence), Leg(Account.AVAILABLE, pence)])


def negative_accounts(balances: dict[Account, int]) -> list[Account]:
    """Which holder-side accounts a set of balances would leave below zero (should be none)."""
    return [a for a in NON_NEGATIVE if balances.get(a, 0) < 0]


def apply(balances: dict[Account, int], legs: list[Leg]) -> dict[Account, int]:
    result = dict(balances)
    for leg in legs:
        result[leg.account] = result.get(leg.account, 0) + leg.pence
    return result
