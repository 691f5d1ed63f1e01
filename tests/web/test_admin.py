"""Council admin pages: filtering the audit log and creating staff accounts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
from sqlalchemy import select

from app.domain.access import Role
from app.models import AuditEvent, User
from app.services import accounts


def _page(response) -> str:
    return response.get_data(as_text=True)


def _rows(page: str) -> list[str]:
    body = page.split('<tbody class="govuk-table__body">', 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr.*?</tr>", body, re.S)


def _count(page: str) -> int:
    return int(re.search(r'id="audit-count">(\d+) event', page).group(1))


@pytest.fixture
def history(db_session, make_user):
    """Three events on known days by two people (one on someone's behalf)."""
    broker = make_user(Role.BROKER, email="broker@example.org")
    holder = make_user(Role.HOLDER, email="holder@example.org")
    for when, actor, action, behalf in (
        (datetime(2025, 1, 10, 9, 0, tzinfo=UTC), broker, "delegation.authorised_recorded", holder),
        (datetime(2025, 2, 20, 23, 59, tzinfo=UTC), holder, "delegation.invited", None),
        (datetime(2025, 3, 5, 0, 0, tzinfo=UTC), holder, "account.password_changed", None),
    ):
        db_session.add(AuditEvent(occurred_at=when, actor_id=actor.id, action=action,
                                  on_behalf_of_id=behalf.id if behalf else None,
                                  subject_type="user", subject_id=str(holder.id), details={}))
    db_session.commit()
    return broker, holder


def _date(name: str, day: str, month: str, year: str) -> list[tuple[str, str]]:
    return [(name, day), (name, month), (name, year)]


def test_audit_log_shows_everything_newest_first(client, login_as, history):
    login_as(Role.COUNCIL_ADMIN)
    page = _page(client.get("/admin/audit"))
    rows = _rows(page)
    assert _count(page) == 3 and len(rows) == 3
    assert "account.password_changed" in rows[0] and "delegation.authorised_recorded" in rows[2]
    assert "broker@example.org" in rows[2] and "holder@example.org" in rows[2]  # on behalf of


def test_audit_log_filters_by_action_prefix(client, login_as, history):
    login_as(Role.COUNCIL_ADMIN)
    page = _page(client.get("/admin/audit", query_string={"action": "delegation."}))
    assert _count(page) == 2
    assert all("delegation." in row for row in _rows(page))
    assert 'value="delegation."' in page  # the filter is kept in the form


def test_audit_log_filters_by_who_did_it(client, login_as, history):
    login_as(Role.COUNCIL_ADMIN)
    page = _page(client.get("/admin/audit", query_string={"actor_email": " Broker@Example.org "}))
    assert _count(page) == 1 and "delegation.authorised_recorded" in _rows(page)[0]


def test_audit_log_filters_by_date_range_inclusive(client, login_as, history):
    login_as(Role.COUNCIL_ADMIN)
    query = _date("on_or_after", "20", "2", "2025") + _date("on_or_before", "5", "3", "2025")
    page = _page(client.get("/admin/audit", query_string=query))
    assert _count(page) == 2
    assert {"delegation.invited", "account.password_changed"} == {
        re.search(r"(delegation\.invited|account\.password_changed)", r).group(1)
        for r in _rows(page)}
    only_january = _date("on_or_before", "19", "2", "2025")
    assert _count(_page(client.get("/admin/audit", query_string=only_january))) == 1


@pytest.mark.parametrize("query", [
    _date("on_or_after", "31", "2", "2025"),
    _date("on_or_after", "x", "y", "z"),
    [("on_or_after", "1")],
    _date("on_or_before", "1", "1", "99999999999"),
    [("page", "-3"), ("page", "nonsense")],
    [("action", "x" * 500)],
])
def test_audit_log_bad_filters_never_crash(client, login_as, history, query):
    login_as(Role.COUNCIL_ADMIN)
    response = client.get("/admin/audit", query_string=query)
    assert response.status_code == 200
    page = _page(response)
    assert "Traceback" not in page
    if query[0][0] != "page":
        assert "There is a problem" in page


@pytest.mark.parametrize("role", [Role.HOLDER, Role.SUPPORTER, Role.PROVIDER, Role.BROKER])
def test_only_council_admins_see_the_audit_log(client, login_as, role):
    login_as(role)
    assert client.get("/admin/audit").status_code == 403


def test_admin_creates_a_broker_who_is_emailed_a_set_password_link(app, client, login_as,
                                                                   db_session):
    admin = login_as(Role.COUNCIL_ADMIN)
    response = client.post("/admin/staff", data={"role": "broker", "name": "Tom Reid",
                                                 "email": "Tom.Reid@council.example"},
                           follow_redirects=True)
    page = _page(response)
    assert "Account created for tom.reid@council.example" in page
    assert "Tom Reid" in page  # listed among current staff
    user = db_session.scalar(select(User).where(User.email == "tom.reid@council.example"))
    assert user.role == "broker" and user.password_hash is None
    event = db_session.scalar(select(AuditEvent)
                              .where(AuditEvent.action == "account.staff_created"))
    assert event.actor_id == admin.id and event.details["role"] == "broker"
    outbox = Path(app.config["MAIL_OUTBOX_DIR"])
    assert any("tom.reid_at_council.example" in p.name for p in outbox.glob("*.eml"))


def test_staff_creation_refuses_a_taken_email_beside_the_field(client, login_as, make_user,
                                                               db_session):
    make_user(Role.HOLDER, email="taken@example.org")
    login_as(Role.COUNCIL_ADMIN)
    page = _page(client.post("/admin/staff", data={"role": "council_admin", "name": "Someone",
                                                   "email": "taken@example.org"}))
    assert "already exists" in page and 'href="#email"' in page
    assert db_session.scalar(select(User).where(User.role == "council_admin",
                                                User.email == "taken@example.org")) is None


@pytest.mark.parametrize("role", [Role.HOLDER, Role.SUPPORTER, Role.PROVIDER, Role.BROKER])
def test_only_council_admins_create_staff(client, login_as, db_session, role):
    login_as(role)
    assert client.get("/admin/staff").status_code == 403
    response = client.post("/admin/staff", data={"role": "council_admin", "name": "Mallory",
                                                 "email": "mallory@example.org"})
    assert response.status_code == 403
    assert db_session.scalar(select(User).where(User.email == "mallory@example.org")) is None


def test_new_staff_get_a_welcome_email_whose_link_still_works_two_days_later(
        app, client, login_as, db_session, monkeypatch):
    login_as(Role.COUNCIL_ADMIN)
    client.post("/admin/staff", data={"role": "broker", "name": "Tom Reid",
                                      "email": "tom.reid@council.example"})
    outbox = Path(app.config["MAIL_OUTBOX_DIR"])
    raw = sorted(p for p in outbox.glob("*.eml") if "tom.reid" in p.name)[-1].read_bytes()
    message = message_from_bytes(raw, policy=default_policy)
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert message["Subject"] == "You have a Carefair staff account: set your password"
    assert "Someone asked to reset" not in body and "72 hours" in body
    link = next(line for line in body.splitlines() if "/reset-password/" in line).strip()
    client.post("/sign-out")

    class TwoDaysLater(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz) + timedelta(days=2)

    monkeypatch.setattr(accounts, "datetime", TwoDaysLater)
    response = client.post(link.split("carefair.localhost", 1)[1],
                           data={"new_password": "tom sets a new one", "confirm_password":
                                 "tom sets a new one"})
    assert response.status_code == 302
    assert accounts.authenticate("tom.reid@council.example", "tom sets a new one") is not None


def test_a_password_reset_link_still_runs_out_after_an_hour(app, client, make_user, monkeypatch):
    user = make_user(email="forgetful@example.org")
    with app.test_request_context():
        token = accounts.make_reset_token(user)

    class TwoHoursLater(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz) + timedelta(hours=2)

    monkeypatch.setattr(accounts, "datetime", TwoHoursLater)
    response = client.post(f"/reset-password/{token}", data={
        "new_password": "brand new secret", "confirm_password": "brand new secret"})
    assert "This link has expired" in response.get_data(as_text=True)


def test_audit_log_page_past_the_end_shows_the_last_page(client, login_as, history):
    login_as(Role.COUNCIL_ADMIN)
    page = _page(client.get("/admin/audit", query_string={"page": "9999"}))
    assert _rows(page) and "Page 9999" not in page


def test_audit_log_to_date_before_from_date_is_explained_beside_the_field(client, login_as,
                                                                         history):
    login_as(Role.COUNCIL_ADMIN)
    query = _date("on_or_after", "5", "3", "2025") + _date("on_or_before", "20", "2", "2025")
    page = _page(client.get("/admin/audit", query_string=query))
    assert "The ‘To’ date must be the same as or after the ‘From’ date" in page
    assert 'id="on_or_before-error"' in page and 'href="#on_or_before"' in page


def test_audit_details_read_in_words(client, login_as, db_session):
    admin = login_as(Role.COUNCIL_ADMIN)
    db_session.add(AuditEvent(actor_id=admin.id, action="booking.settled", subject_type="session",
                              subject_id="7", details={"capture_id": 291, "how": "confirm"}))
    db_session.commit()
    page = _page(client.get("/admin/audit"))
    assert "Booking: settled" in page
    assert "Money taken (ledger transaction): 291<br>How: confirmed by the holder&#39;s side" in page
    assert "capture_id: 291" not in page
