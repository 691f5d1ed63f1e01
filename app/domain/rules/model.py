"""The frozen market snapshot the rules read, and the findings and actions they lead to."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING

from app.domain.booking_price import CancellationPolicy

if TYPE_CHECKING:
    from app.domain.rules.markets import MarketFacts


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
    # A normalised key of the provider's private home address (never shown to the rules' readers),
    # so a rule can notice a holder and a provider at one address that nobody declared.
    address_key: str | None = None


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
    # The holder's postcode district (outward code, such as "LS6"): with a category, their market.
    district: str = ""
    address_key: str | None = None  # as Provider.address_key


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
    booking_id: int = 0
    # Who asked for the booking: the account and its kind (holder, delegate, broker).
    booked_by_user_id: int | None = None
    booked_by_kind: str | None = None
    agreement_version_id: int | None = None  # the service agreement version it runs under
    booked_at: datetime | None = None  # when the booking was asked for (or arranged)

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
    # When the broker ended it (None: it stands). Bookings the broker arranged after that are
    # not the conflict's: the service let them, because the conflict no longer stood.
    ended_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class HouseholdLink:
    """A provider who is a close relative of the holder, as declared or found by a broker."""

    holder_id: int
    provider_id: int
    same_household: bool
    council_agreed: bool = False
    relationship: str = ""  # as recorded: parent, child, partner, sibling, other relative, friend


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
    """A concern anyone raised about a provider: safeguarding, a complaint or possible fraud."""

    id: int
    provider_id: int
    raised_at: datetime
    summary: str
    open: bool = True
    kind: str = "safeguarding"  # safeguarding, complaint or fraud
    holder_id: int | None = None  # the holder it is about, where there is one
    reporter_user_id: int | None = None  # None for a member of the public without an account
    reporter_kind: str = "public"  # holder, delegate, provider, staff or public


Concern = SafeguardingConcern


@dataclass(frozen=True, slots=True)
class PriceChange:
    """A listing's price change, with when it was announced and when it takes effect."""

    listing_id: int
    provider_id: int
    old_rate_pence: int
    new_rate_pence: int
    announced_at: datetime
    effective_at: datetime
    applies_to_existing: bool = True


@dataclass(frozen=True, slots=True)
class PlanChange:
    """An agreed support plan change: a category's agreed amount from `agreed_at` on."""

    holder_id: int
    category: str
    old_amount_pence: int
    new_amount_pence: int
    agreed_at: datetime


@dataclass(frozen=True, slots=True)
class Relationship:
    """When a holder's relationship with a provider began (their first agreed booking)."""

    holder_id: int
    provider_id: int
    began_at: datetime


@dataclass(frozen=True, slots=True)
class AlternativesOffered:
    """The providers a broker offered a holder before arranging a booking."""

    booking_id: int
    broker_id: int
    provider_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class AgreementVersion:
    """One version of a service agreement between a holder and a provider (issue 18)."""

    id: int
    agreement_id: int
    holder_id: int
    provider_id: int
    version: int
    rate_pence: int
    unit: str
    notice_days: int
    offered_at: datetime
    accepted_at: datetime | None = None
    effective_from: datetime | None = None


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
    price_changes: tuple[PriceChange, ...] = ()
    plan_changes: tuple[PlanChange, ...] = ()
    relationships: tuple[Relationship, ...] = ()
    alternatives_offered: tuple[AlternativesOffered, ...] = ()
    agreement_versions: tuple[AgreementVersion, ...] = ()
    # Markets by holder district, summed by the database (rules.markets); None: from sessions.
    market_facts: MarketFacts | None = None

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

    @cached_property
    def _sessions_between(self) -> dict[tuple[datetime, datetime], list[BookedSession]]:
        return {}

    def sessions_between(self, start: datetime, end: datetime) -> list[BookedSession]:
        """The sessions starting in [start, end). Several rules read the same window: it is
        filtered once per snapshot (a million sessions each time), so do not change the list."""
        key = (start, end)
        found = self._sessions_between.get(key)
        if found is None:
            found = self._sessions_between[key] = [s for s in self.sessions
                                                   if start <= s.start < end]
        return found
