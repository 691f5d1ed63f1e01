"""Every route declares an access rule, and every role meets the right answer in every area."""

import re

import pytest

from app.domain.access import Area, DelegateKind, Permission, Role, Share
from app.models import Delegation


def _routes(app):
    for rule in app.url_map.iter_rules():
        yield rule, app.view_functions[rule.endpoint]


def test_every_route_declares_an_access_rule(app):
    missing = [rule.rule for rule, view in _routes(app)
               if not isinstance(getattr(view, "access_rule", None), Permission)]
    assert missing == []


def _sample_url(rule) -> str:
    """Fill a route's variables with plausible values (ids that do not exist)."""
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: "999999" if m.group(1).endswith("id")
                  else "x" * 12, rule.rule)


def _area_routes(app, area):
    return [(rule, view) for rule, view in _routes(app)
            if view.access_rule.area is area and "GET" in rule.methods and "<" not in rule.rule]


ROLE_AREAS = {Area.PROVIDER: Role.PROVIDER, Area.BROKER: Role.BROKER, Area.ADMIN: Role.COUNCIL_ADMIN}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("area", list(ROLE_AREAS))
def test_role_areas_answer_200_to_their_role_and_403_to_others(app, client, login_as, role, area):
    login_as(role)
    routes = _area_routes(app, area)
    assert routes, f"no GET routes in {area}"
    for rule, _ in routes:
        response = client.get(rule.rule)
        expected = 200 if ROLE_AREAS[area] is role else 403
        assert response.status_code == expected, (rule.rule, role)


@pytest.mark.parametrize("area", [Area.ACCOUNT, Area.HOLDER, Area.PROVIDER, Area.BROKER, Area.ADMIN])
def test_signed_out_visitors_are_sent_to_sign_in(app, client, area):
    for rule, _ in _routes(app):
        if rule.endpoint and app.view_functions[rule.endpoint].access_rule.area is area \
                and "GET" in rule.methods:
            response = client.get(_sample_url(rule))
            if rule.rule.startswith("/api/"):
                assert response.status_code == 401, rule.rule
                assert response.get_json()["error"]["status"] == 401
                continue
            assert response.status_code == 302, rule.rule
            assert "/sign-in" in response.headers["Location"]


HOLDER_PAGES = {
    Permission.HOLDER_VIEW_DASHBOARD: "/my/",
    Permission.HOLDER_MANAGE_DELEGATES: "/my/people/invite",
}


@pytest.mark.parametrize("kind,shares,expect_dashboard,expect_invite", [
    (None, "", 200, 200),
    (DelegateKind.AUTHORISED, "", 200, 200),
    (DelegateKind.NOMINATED, "", 200, 403),
    (DelegateKind.CIRCLE, "plan", 200, 403),
])
def test_holder_area_by_delegate_kind(client, make_user, login, db_session, kind, shares,
                                      expect_dashboard, expect_invite):
    holder = make_user(Role.HOLDER)
    if kind is None:
        login(holder)
    else:
        helper = make_user(Role.SUPPORTER)
        db_session.add(Delegation(holder_id=holder.id, delegate_id=helper.id, kind=kind.value,
                                  status="active", invited_email=helper.email, shares=shares,
                                  legal_basis="lpa" if kind is DelegateKind.AUTHORISED else None,
                                  review_date=__import__("datetime").date(2030, 1, 1)
                                  if kind is DelegateKind.AUTHORISED else None,
                                  created_by_id=holder.id))
        db_session.commit()
        login(helper)
    assert client.get("/my/").status_code == expect_dashboard
    assert client.get("/my/people/invite").status_code == expect_invite


@pytest.mark.parametrize("role", [Role.PROVIDER, Role.BROKER, Role.COUNCIL_ADMIN])
def test_staff_and_providers_have_no_holder_area(client, login_as, role):
    login_as(role)
    assert client.get("/my/").status_code == 403


def test_supporter_with_nobody_to_act_for_is_asked_to_choose(client, login_as):
    login_as(Role.SUPPORTER)
    response = client.get("/my/")
    assert response.status_code == 302
    assert "/acting-for" in response.headers["Location"]


def test_unknown_ids_are_404_not_500(client, login_as):
    login_as(Role.BROKER)
    assert client.get("/broker/holders/999999").status_code == 404
    assert client.get("/broker/holders/999999/authorised-person").status_code == 404


def test_circle_member_cannot_revoke_others(client, make_user, login, db_session):
    holder = make_user(Role.HOLDER)
    circle = make_user(Role.SUPPORTER)
    nominated = make_user(Role.SUPPORTER)
    for person, kind in ((circle, "circle"), (nominated, "nominated")):
        db_session.add(Delegation(holder_id=holder.id, delegate_id=person.id, kind=kind,
                                  status="active", invited_email=person.email,
                                  shares=Share.PLAN.value if kind == "circle" else "",
                                  created_by_id=holder.id))
    db_session.commit()
    target = db_session.query(Delegation).filter_by(delegate_id=nominated.id).one()
    login(circle)
    client.post(f"/my/people/{target.id}/revoke", data={})
    db_session.refresh(target)
    assert target.status == "active"
