"""The access matrix: every role and delegate kind against every permission, as a table."""

import pytest

from app.domain.access import (
    ANONYMOUS,
    Area,
    Decision,
    DelegateKind,
    Grant,
    Permission,
    Principal,
    Role,
    Share,
    decide,
)

A, F, S = Decision.ALLOW, Decision.FORBIDDEN, Decision.SIGN_IN
P = Permission

HOLDER_PERMS = [p for p in Permission if p.area is Area.HOLDER]

# Expected decision for a signed-in user of each role with no grant over any holder.
ROLE_AREA_EXPECTED = {
    Role.HOLDER: {Area.PROVIDER: F, Area.BROKER: F, Area.ADMIN: F},
    Role.PROVIDER: {Area.PROVIDER: A, Area.BROKER: F, Area.ADMIN: F},
    Role.BROKER: {Area.PROVIDER: F, Area.BROKER: A, Area.ADMIN: F},
    Role.COUNCIL_ADMIN: {Area.PROVIDER: F, Area.BROKER: F, Area.ADMIN: A},
    Role.SUPPORTER: {Area.PROVIDER: F, Area.BROKER: F, Area.ADMIN: F},
}
AREA_PERMISSION = {Area.PROVIDER: P.PROVIDER_AREA, Area.BROKER: P.BROKER_AREA, Area.ADMIN: P.ADMIN_AREA}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("area", [Area.PROVIDER, Area.BROKER, Area.ADMIN])
def test_role_areas_open_only_to_their_role(role, area):
    principal = Principal(user_id=1, role=role)
    assert decide(principal, AREA_PERMISSION[area]) is ROLE_AREA_EXPECTED[role][area]


@pytest.mark.parametrize("permission", list(Permission))
def test_anonymous_may_only_see_public_pages(permission):
    # The council API has no session at all: its routes check a bearer token and its scope
    # themselves (tests/api/test_api_tokens.py refuses every route without one).
    expected = A if permission in (P.PUBLIC, P.COUNCIL_API) else S
    assert decide(ANONYMOUS, permission) is expected


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("permission", HOLDER_PERMS)
def test_holder_area_needs_a_grant(role, permission):
    assert decide(Principal(1, role), permission, None) is F


ALL_SHARES = frozenset(Share)
HOLDER_TABLE = {
    # permission:                 self, authorised, nominated, circle(all shares), circle(no shares)
    P.HOLDER_VIEW_DASHBOARD:     (A, A, A, A, A),
    P.HOLDER_VIEW_BUDGET:        (A, A, A, A, F),
    P.HOLDER_VIEW_PLAN:          (A, A, A, A, F),
    P.HOLDER_EDIT_PLAN:          (A, A, A, F, F),
    P.HOLDER_VIEW_BOOKINGS:      (A, A, A, A, F),
    P.HOLDER_SPEND:              (A, A, A, F, F),
    P.HOLDER_MESSAGE:            (A, A, A, A, F),
    P.HOLDER_SUGGEST:            (F, F, F, A, A),
    P.HOLDER_MANAGE_DELEGATES:   (A, A, F, F, F),
    P.HOLDER_FIND_SUPPORT:       (A, A, A, F, F),
}
GRANTS = [
    Grant(9, None),
    Grant(9, DelegateKind.AUTHORISED),
    Grant(9, DelegateKind.NOMINATED),
    Grant(9, DelegateKind.CIRCLE, ALL_SHARES),
    Grant(9, DelegateKind.CIRCLE, frozenset()),
]


def test_holder_table_covers_every_holder_permission():
    assert set(HOLDER_TABLE) == set(HOLDER_PERMS)


@pytest.mark.parametrize("permission", HOLDER_PERMS)
@pytest.mark.parametrize("column", range(len(GRANTS)))
def test_holder_area_by_delegate_kind(permission, column):
    principal = Principal(2, Role.SUPPORTER)
    assert decide(principal, permission, GRANTS[column]) is HOLDER_TABLE[permission][column]


def test_circle_member_sees_only_what_was_shared():
    grant = Grant(9, DelegateKind.CIRCLE, frozenset({Share.PLAN}))
    principal = Principal(2, Role.SUPPORTER)
    assert decide(principal, P.HOLDER_VIEW_PLAN, grant) is A
    assert decide(principal, P.HOLDER_VIEW_BUDGET, grant) is F
    assert decide(principal, P.HOLDER_VIEW_BOOKINGS, grant) is F
