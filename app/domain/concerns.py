"""Concerns about providers: kinds, harms, who reported, statuses, and what each kind does at once."""

from __future__ import annotations

from enum import StrEnum

MAX_DETAILS_LENGTH = 5000
MAX_REASON_LENGTH = 2000


class ConcernKind(StrEnum):
    SAFEGUARDING = "safeguarding"  # abuse, neglect, financial abuse: suspends and holds at once
    COMPLAINT = "complaint"  # about the quality of support
    FRAUD = "fraud"  # possible fraud: bookings wait for a broker

    @property
    def label(self) -> str:
        return {
            ConcernKind.SAFEGUARDING: "Someone may be at risk of harm (abuse, neglect or "
                                      "financial abuse)",
            ConcernKind.COMPLAINT: "A complaint about the quality of support",
            ConcernKind.FRAUD: "Possible fraud (for example, charging for support not given)",
        }[self]

    @property
    def short(self) -> str:
        return {ConcernKind.SAFEGUARDING: "Safeguarding", ConcernKind.COMPLAINT: "Complaint",
                ConcernKind.FRAUD: "Possible fraud"}[self]


class Harm(StrEnum):
    ABUSE = "abuse"
    NEGLECT = "neglect"
    FINANCIAL_ABUSE = "financial_abuse"

    @property
    def label(self) -> str:
        return {Harm.ABUSE: "Abuse (physical, emotional, sexual or discriminatory)",
                Harm.NEGLECT: "Neglect (needs not met, support missed)",
                Harm.FINANCIAL_ABUSE: "Financial abuse (money, cards, gifts, pressure)"}[self]


class ReporterKind(StrEnum):
    HOLDER = "holder"
    DELEGATE = "delegate"
    PROVIDER = "provider"
    STAFF = "staff"
    PUBLIC = "public"


class ConcernStatus(StrEnum):
    OPEN = "open"  # waiting for a broker's triage
    REFERRED = "referred"  # referred to the council's safeguarding team (Care Act s.42)
    CLOSED = "closed"  # closed by a broker with a reason

    @property
    def label(self) -> str:
        return {ConcernStatus.OPEN: "Waiting for a broker",
                ConcernStatus.REFERRED: "Referred to the council's safeguarding team",
                ConcernStatus.CLOSED: "Closed"}[self]


class ConcernError(ValueError):
    """A concern's details do not make sense; `field` names the form field."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def check_concern(kind: str, harm: str | None, details: str) -> tuple[ConcernKind, Harm | None,
                                                                    str]:
    """The kind, harm and details as stored, or ConcernError naming the field."""
    try:
        chosen = ConcernKind(kind)
    except ValueError:
        raise ConcernError("Select what kind of concern it is", "kind") from None
    which: Harm | None = None
    if chosen is ConcernKind.SAFEGUARDING:
        try:
            which = Harm(harm or "")
        except ValueError:
            raise ConcernError("Select what kind of harm you are worried about", "harm") from None
    text = (details or "").replace("\r\n", "\n").strip()
    if not text:
        raise ConcernError("Tell us what happened or what worries you", "details")
    if len(text) > MAX_DETAILS_LENGTH:
        raise ConcernError(f"Enter {MAX_DETAILS_LENGTH:,} characters or fewer", "details")
    return chosen, which, text


# What the reporter is told when a broker closes or refers a concern: fixed words, so nothing
# about the provider's private circumstances or the council's enquiry leaks to them.
OUTCOME_REFERRED = ("A broker has looked at your concern and passed it to the council's "
                    "safeguarding team, who will decide what happens next.")
OUTCOME_CLOSED = "A broker has looked at your concern and closed it."
