"""Who may do what: roles, delegation grants and the one function that decides access.

Every route declares a Permission; `decide` turns (who is asking, what they ask, on whose
behalf) into a Decision. It is pure so that the whole matrix can be tested as a table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum


class Role(StrEnum):
    HOLDER = "holder"
    PROVIDER = "provider"
    BROKER = "broker"
    COUNCIL_ADMIN = "council_admin"
    # Someone who only acts for budget holders (a relative, an attorney): no marketplace role.
    SUPPORTER = "supporter"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.HOLDER: "Budget holder",
    Role.PROVIDER: "Provider",
    Role.BROKER: "Broker",
    Role.COUNCIL_ADMIN: "Council admin",
    Role.SUPPORTER: "Supporter",
}


class DelegateKind(StrEnum):
    """design.md 'Who uses it': how someone acts for a budget holder."""

    AUTHORISED = "authorised"  # Care Act s.32: holder lacks capacity; recorded by a broker
    NOMINATED = "nominated"  # Care Act s.31: manages the money with the holder's consent
    CIRCLE = "circle"  # family or friends: see what is shared, suggest, never book

    @property
    def label(self) -> str:
        return {
            DelegateKind.AUTHORISED: "Authorised person",
            DelegateKind.NOMINATED: "Nominated person",
            DelegateKind.CIRCLE: "Circle of support",
        }[self]


class LegalBasis(StrEnum):
    LASTING_POWER_OF_ATTORNEY = "lpa"
    DEPUTYSHIP = "deputyship"
    COUNCIL_AGREED = "council_agreed"

    @property
    def label(self) -> str:
        return {
            LegalBasis.LASTING_POWER_OF_ATTORNEY: "Lasting power of attorney (property and financial affairs)",
            LegalBasis.DEPUTYSHIP: "Deputyship order from the Court of Protection",
            LegalBasis.COUNCIL_AGREED: "A person the council agrees is suitable",
        }[self]


class Share(StrEnum):
    """What a holder may choose to share with a circle-of-support member."""

    BUDGET = "budget"
    PLAN = "plan"
    BOOKINGS = "bookings"
    MESSAGES = "messages"

    @property
    def label(self) -> str:
        return {
            Share.BUDGET: "My budget and spending",
            Share.PLAN: "My support plan",
            Share.BOOKINGS: "My bookings",
            Share.MESSAGES: "My messages with providers",
        }[self]


class Area(StrEnum):
    PUBLIC = "public"
    ACCOUNT = "account"  # any signed-in user, about their own account
    HOLDER = "holder"  # a budget holder's own things, done by them or someone acting for them
    PROVIDER = "provider"
    BROKER = "broker"
    ADMIN = "admin"
    MARKETS = "markets"  # the market view: brokers and council admins alike


class Permission(Enum):
    """Every route names exactly one of these. Value: (area, what it covers, circle share)."""

    PUBLIC = (Area.PUBLIC, "anyone, signed in or not", None)
    # The council API: no session at all; each route checks a bearer token and its scope.
    COUNCIL_API = (Area.PUBLIC, "council systems with an API token (scope checked per route)", None)
    SIGNED_IN = (Area.ACCOUNT, "any signed-in user, for their own account", None)
    HOLDER_VIEW_DASHBOARD = (Area.HOLDER, "see the holder's home page", None)
    HOLDER_VIEW_BUDGET = (Area.HOLDER, "see the budget and ledger statement", Share.BUDGET)
    HOLDER_VIEW_PLAN = (Area.HOLDER, "see the support plan", Share.PLAN)
    HOLDER_EDIT_PLAN = (Area.HOLDER, "change the support plan", None)
    HOLDER_VIEW_BOOKINGS = (Area.HOLDER, "see bookings", Share.BOOKINGS)
    HOLDER_SPEND = (Area.HOLDER, "book, cancel, pause, confirm hours: anything that moves money", None)
    # Reading is shared with circle members who were given MESSAGES; sending also needs
    # `may_send_messages` (below): a circle member can read but never write as the holder.
    HOLDER_MESSAGE = (Area.HOLDER, "read messages with providers (and send them, except the "
                      "circle of support)", Share.MESSAGES)
    HOLDER_SUGGEST = (Area.HOLDER, "suggest a service to the holder", None)
    HOLDER_FIND_SUPPORT = (Area.HOLDER, "keep a shortlist and post jobs for support", None)
    HOLDER_MANAGE_DELEGATES = (Area.HOLDER, "invite or revoke people who act for the holder", None)
    PROVIDER_AREA = (Area.PROVIDER, "a provider's own profile, listings and bookings", None)
    BROKER_AREA = (Area.BROKER, "broker console: vetting, approvals, flags, authorised people", None)
    ADMIN_AREA = (Area.ADMIN, "council admin: budgets, staff, settings, audit, exports", None)
    MARKET_VIEW = (Area.MARKETS, "the market view: concentration, share caps and broker "
                   "steering, for brokers and council admins", None)

    @property
    def area(self) -> Area:
        return self.value[0]

    @property
    def description(self) -> str:
        return self.value[1]

    @property
    def circle_share(self) -> Share | None:
        return self.value[2]


class Decision(StrEnum):
    ALLOW = "allow"
    SIGN_IN = "sign_in"  # not signed in: send to the sign-in page
    FORBIDDEN = "forbidden"  # 403
    NOT_FOUND = "not_found"  # 404: do not reveal that the thing exists


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking. `None` role means not signed in."""

    user_id: int | None
    role: Role | None

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None


ANONYMOUS = Principal(user_id=None, role=None)


@dataclass(frozen=True, slots=True)
class Grant:
    """The asker's standing towards the budget holder they are acting for.

    `kind` is None when the asker *is* the holder.
    """

    holder_id: int
    kind: DelegateKind | None
    shares: frozenset[Share] = frozenset()

    @property
    def is_self(self) -> bool:
        return self.kind is None


# What each delegate kind may do in the holder area, beyond circle sharing.
_FULL_HOLDER_POWERS = frozenset(p for p in Permission if p.area is Area.HOLDER) - {Permission.HOLDER_SUGGEST}
_HOLDER_POWERS: dict[DelegateKind | None, frozenset[Permission]] = {
    None: _FULL_HOLDER_POWERS,
    # An authorised person stands in for a holder who lacks capacity: everything they could do.
    DelegateKind.AUTHORISED: _FULL_HOLDER_POWERS,
    # A nominated person manages money with consent; who may act stays the holder's choice.
    DelegateKind.NOMINATED: _FULL_HOLDER_POWERS - {Permission.HOLDER_MANAGE_DELEGATES},
    # Circle: the dashboard and suggestions; views only of what was shared (checked below).
    DelegateKind.CIRCLE: frozenset({Permission.HOLDER_VIEW_DASHBOARD, Permission.HOLDER_SUGGEST}),
}

# Brokers watch the market (design.md, who uses it); the council commissions it.
_MARKET_ROLES = frozenset({Role.BROKER, Role.COUNCIL_ADMIN})
_ROLE_AREAS = {
    Area.PROVIDER: Role.PROVIDER,
    Area.BROKER: Role.BROKER,
    Area.ADMIN: Role.COUNCIL_ADMIN,
}


def decide(principal: Principal, permission: Permission, grant: Grant | None = None) -> Decision:
    """The single access decision used by every route and API endpoint."""
    area = permission.area
    if area is Area.PUBLIC:
        return Decision.ALLOW
    if not principal.signed_in:
        return Decision.SIGN_IN
    if area is Area.ACCOUNT:
        return Decision.ALLOW
    if area in _ROLE_AREAS:
        return Decision.ALLOW if principal.role is _ROLE_AREAS[area] else Decision.FORBIDDEN
    if area is Area.MARKETS:
        return Decision.ALLOW if principal.role in _MARKET_ROLES else Decision.FORBIDDEN
    # Holder area: needs a grant for the holder being acted for.
    if grant is None:
        return Decision.FORBIDDEN
    if permission in _HOLDER_POWERS[grant.kind]:
        return Decision.ALLOW
    if grant.kind is DelegateKind.CIRCLE and permission.circle_share in grant.shares:
        return Decision.ALLOW
    return Decision.FORBIDDEN


# Who may write to providers for a holder: the holder and people who act for them (authorised,
# nominated). A circle member with the MESSAGES share passes HOLDER_MESSAGE to read only.
_MESSAGE_SENDERS: frozenset[DelegateKind | None] = frozenset(
    {None, DelegateKind.AUTHORISED, DelegateKind.NOMINATED})


def may_send_messages(grant: Grant | None) -> bool:
    """Whether the asker may send messages for the holder (on top of HOLDER_MESSAGE to read)."""
    return grant is not None and grant.kind in _MESSAGE_SENDERS


def holder_powers(grant: Grant) -> list[Permission]:
    """What the asker may do for this holder, for showing on pages ("you can ...")."""
    return [p for p in Permission if p.area is Area.HOLDER
            and decide(Principal(user_id=-1, role=None), p, grant) is Decision.ALLOW]
