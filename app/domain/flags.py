"""Flag review: statuses, the outcomes a broker may choose and what each one does.

The legal line (design.md): an outcome only warns, hides listings, holds payouts or refers to
the council's safeguarding team. None swaps a worker or directs how care is carried out.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.domain.rules.model import Action, Finding


class FlagStatus(StrEnum):
    OPEN = "open"
    DISMISSED = "dismissed"
    UPHELD = "upheld"

    @property
    def label(self) -> str:
        return {FlagStatus.OPEN: "Open", FlagStatus.DISMISSED: "Dismissed",
                FlagStatus.UPHELD: "Upheld"}[self]


class Outcome(StrEnum):
    WARN = "warn"
    SUSPEND_LISTING = "suspend_listing"
    HOLD_PAYOUTS = "hold_payouts"
    REFER_SAFEGUARDING = "refer_safeguarding"

    @property
    def label(self) -> str:
        return {
            Outcome.WARN: "Warn the provider",
            Outcome.SUSPEND_LISTING: "Suspend the provider's listings (hidden from search)",
            Outcome.HOLD_PAYOUTS: "Hold the provider's payouts",
            Outcome.REFER_SAFEGUARDING: "Refer to the council's safeguarding team (also "
                                        "suspends listings and holds payouts)",
        }[self]


@dataclass(frozen=True, slots=True)
class Effects:
    """What upholding with an outcome does, besides telling the provider."""

    suspend_listings: bool = False
    hold_payouts: bool = False
    refer_safeguarding: bool = False


EFFECTS: dict[Outcome, Effects] = {
    Outcome.WARN: Effects(),
    Outcome.SUSPEND_LISTING: Effects(suspend_listings=True),
    Outcome.HOLD_PAYOUTS: Effects(hold_payouts=True),
    # design.md: a safeguarding concern suspends listings and holds payouts at once.
    Outcome.REFER_SAFEGUARDING: Effects(suspend_listings=True, hold_payouts=True,
                                        refer_safeguarding=True),
}

# A finding whose action is SUSPEND (a critical one) restricts the provider as soon as it is
# filed, pending a broker's review.
IMMEDIATE = {Action.SUSPEND: Effects(suspend_listings=True, hold_payouts=True)}

MAX_REASON_LENGTH = 2000
MAX_RESPONSE_LENGTH = 4000


@dataclass(frozen=True, slots=True)
class Known:
    """A flag already on file, as far as deciding whether to file a finding again."""

    status: FlagStatus
    evidence: dict


def should_file(finding: Finding, known: list[Known]) -> bool:
    """File a finding unless the same rule and subject is open, or was reviewed with the very
    same numbers (a dismissed flag comes back only when the evidence has changed)."""
    numbers = evidence_of(finding)
    for flag in known:
        if flag.status is FlagStatus.OPEN:
            return False
        if flag.evidence == numbers:
            return False
    return True


def evidence_of(finding: Finding) -> dict:
    """The numbers behind a finding as stored JSON (keys sorted, so comparisons are stable)."""
    return {k: finding.numbers[k] for k in sorted(finding.numbers)}
