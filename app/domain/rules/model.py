"""The frozen market snapshot the rules read, and the findings and actions they lead to."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cached_property

from app.domain.booking_price import CancellationPolicy


class ProviderKind(StrEnum):
    PA_SELF_EMPLOYED = "pa_self_employed"
    PA_EMPLOYED = "pa_employed"  # a PA employed by the holder
    AGENCY = "agency"
    COMMUNITY = "community"  # community organisation or micro-enterprise
    GROUP = "group"  # a group activity

    @property
    def is_one_person(self) -> bool:
        """An individual cannot be in two places at once; an agency sends different staff."""
        return self in (ProviderKind.PA_SELF_EMPLOYED, ProviderKind.PA_EMPLOYED)


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Action(StrEnum):
    """What Carefair does about a finding. None of these directs care or swaps a worker: the
    decision about care stays with the holder, broker and council (design.md, the legal line)."""

    ADVISE = "advise"  # tell the holder or broker; nothing waits
    FLAG = "flag"  # also put it on the broker console for review
    HOLD = "hold"  # hold the booking or payment until a broker approves, and flag
    BLOCK = "block"  # refuse the payment, and flag
    SUSPEND = "suspend"  # hide the provider's listings and hold their payouts, and flag

    @property
    def rank(self) -> int:
        return list(Action).index(self)


@dataclass(frozen=True, slots=True)
class Subject:
    """What a finding is about: provider 12, session 40, market "north/personal_care"."""

    kind: str
    id: int | str

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    subject: Subject
    explanation: str  # plain English, for the broker console and where fitting the holder
    numbers: dict[str, int | float | str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, slots=True)
class Provider:
    id: int
    kind: ProviderKind
    name: str
    # Accounts of the provider and people linked to it (staff, owners, their family).
    user_ids: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Listing:
    id: int
    provider_id: int
    category: str
    unit: str  # hour, session or day
    area: str
    rate_pence: int


@dataclass(frozen=True, slots=True)
class Holder:
    id: int
    area: str
    at_risk: bool = False


# Booking states in which the agreed price counts as spending (see app.domain.bookings).
LIVE_STATES = frozenset({"funds_held", "delivered", "confirmed", "disputed", "settled"})


@dataclass(frozen=True, slots=True)
class BookedSession:
    """One session of a booking, with what was agreed, delivered and charged."""

    id: int
    holder_id: int
    provider_id: int
    listing_id: int
    category: str
    area: str
    unit: str
    rate_pence: int
    start: datetime
    end: datetime
    status: str
    amount_pence: int  # the agreed price
    charged_pence: int = 0  # what the holder has actually been charged (captured or a fee)
    billed_minutes: int | None = None  # the hours the provider recorded as delivered
    actual_start: datetime | None = None
    actual_end: datetime | None = None
    brokered_by: int | None = None  # the broker who arranged it on the holder's behalf
    cancelled_at: datetime | None = None
    cancelled_by: str | None = None  # an ActorKind value
    cancelled_while_paused: bool = False  # the holder had paused (crisis, hospital)
    policy: CancellationPolicy | None = None

    @property
    def booked_minutes(self) -> int:
        return int((self.end - self.start).total_seconds()) // 60

    @property
    def delivered_times(self) -> tuple[datetime, datetime]:
        """The recorded times where there are some, else the booked times."""
        return (self.actual_start or self.start, self.actual_end or self.end)

    @property
    def spend_pence(self) -> int:
        """Money committed to the provider: the price while live, the fee once cancelled."""
        return self.amount_pence if self.status in LIVE_STATES else self.charged_pence


@dataclass(frozen=True, slots=True)
class Delegation:
    holder_id: int
    user_id: int
    kind: str  # authorised, nominated or circle (app.domain.access.DelegateKind)
    started_at: datetime


@dataclass(frozen=True, slots=True)
class ConflictOfInterest:
    broker_id: int
    provider_id: int
    description: str


@dataclass(frozen=True, slots=True)
class HouseholdLink:
    """A provider who is a close relative of the holder, as declared or found by a broker."""

    holder_id: int
    provider_id: int
    same_household: bool
    council_agreed: bool = False


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    holder_id: int
    provider_id: int
    from_provider: bool
    sent_at: datetime
    text: str


@dataclass(frozen=True, slots=True)
class Review:
    id: int
    provider_id: int
    holder_id: int
    author_user_id: int
    by_delegate: bool
    submitted_at: datetime
    overall: int  # 1 to 5
    respect_dignity: int  # 1 to 5


@dataclass(frozen=True, slots=True)
class SafeguardingConcern:
    id: int
    provider_id: int
    raised_at: datetime
    summary: str
    open: bool = True


@dataclass(frozen=True)
class MarketSnapshot:
    """Everything the rules may look at, frozen at `as_of`. Services build it; rules only read."""

    as_of: datetime
    providers: tuple[Provider, ...] = ()
    listings: tuple[Listing, ...] = ()
    holders: tuple[Holder, ...] = ()
    sessions: tuple[BookedSession, ...] = ()
    delegations: tuple[Delegation, ...] = ()
    conflicts: tuple[ConflictOfInterest, ...] = ()
    household_links: tuple[HouseholdLink, ...] = ()
    messages: tuple[Message, ...] = ()
    reviews: tuple[Review, ...] = ()
    concerns: tuple[SafeguardingConcern, ...] = ()

    # Lookups are built once per snapshot; cached_property writes past the frozen guard.
    @cached_property
    def provider_by_id(self) -> dict[int, Provider]:
        return {p.id: p for p in self.providers}

    @cached_property
    def holder_by_id(self) -> dict[int, Holder]:
        return {h.id: h for h in self.holders}

    @cached_property
    def sessions_by_holder(self) -> dict[int, list[BookedSession]]:
        grouped: dict[int, list[BookedSession]] = defaultdict(list)
        for s in self.sessions:
            grouped[s.holder_id].append(s)
        return grouped

    @cached_property
    def sessions_by_provider(self) -> dict[int, list[BookedSession]]:
        grouped: dict[int, list[BookedSession]] = defaultdict(list)
        for s in self.sessions:
            grouped[s.provider_id].append(s)
        return grouped

    def provider_name(self, provider_id: int) -> str:
        provider = self.provider_by_id.get(provider_id)
        return provider.name if provider else f"Provider {provider_id}"

    def window(self, days: int, *, offset_days: int = 0) -> tuple[datetime, datetime]:
        """[start, end) of a rolling window of `days` ending `offset_days` before as_of."""
        end = self.as_of - timedelta(days=offset_days)
        return end - timedelta(days=days), end

    def sessions_between(self, start: datetime, end: datetime) -> list[BookedSession]:
        return [s for s in self.sessions if start <= s.start < end]
