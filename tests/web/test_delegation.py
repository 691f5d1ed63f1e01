"""Delegation through the web: invitations, acceptance, revoking, stepping down, authorised
people recorded by brokers, switching whose account you act on, and the audit trail of each."""

from __future__ import annotations

import re
from datetime import date, timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
from markupsafe import escape  # names are HTML-escaped on the page (O'Brien: O&#39;Brien)
from sqlalchemy import select

from app.domain.access import Role
from app.models import AuditEvent, Delegation, User
from tests.factories import TEST_PASSWORD


def _emails_to(app, address: str) -> list[str]:
    bodies = []
    for path in sorted(Path(app.config["MAIL_OUTBOX_DIR"]).glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=default_policy)
        if message["To"] == address:
            bodies.append(message.get_body(preferencelist=("plain",)).get_content())
    return bodies


def _link_path(body: str, part: str) -> str:
    """The path of the first link in an email containing `part` (test SERVER_NAME stripped)."""
    link = next(line.strip() for line in body.splitlines() if part in line)
    return link.split("carefair.localhost", 1)[1]


def _page(response) -> str:
    return response.get_data(as_text=True)


def _delegate(db_session, holder: User, person: User, kind: str, shares: str = "") -> Delegation:
    delegation = Delegation(
        holder_id=holder.id, delegate_id=person.id, kind=kind, status="active",
        invited_email=person.email, shares=shares, created_by_id=holder.id,
        legal_basis="lpa" if kind == "authorised" else None,
        review_date=date.today() + timedelta(days=365) if kind == "authorised" else None,
    )
    db_session.add(delegation)
    db_session.commit()
    return delegation


def _events(db_session, action: str) -> list[AuditEvent]:
    return list(db_session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                   .order_by(AuditEvent.id)))


def _invite(client, email: str, kind: str, shares=()):
    return client.post("/my/people/invite", data={"email": email, "kind": kind,
                                                  "shares": list(shares)})


# Inviting ---------------------------------------------------------------------------------

def test_holder_invites_a_nominated_person_who_is_emailed_a_link(app, client, login_as, db_session):
    holder = login_as(Role.HOLDER, name="Alex Morgan")
    response = _invite(client, "Chris@Example.org", "nominated")
    assert response.status_code == 302 and response.headers["Location"].endswith("/my/people")
    delegation = db_session.scalar(select(Delegation).where(Delegation.holder_id == holder.id))
    assert (delegation.kind, delegation.status, delegation.invited_email) == \
        ("nominated", "invited", "chris@example.org")
    [body] = _emails_to(app, "chris@example.org")
    assert "Alex Morgan has invited you to be their nominated person" in body
    assert "/invitations/" in body
    # Only a hash of the link's token is kept.
    token = _link_path(body, "/invitations/").rsplit("/", 1)[1]
    assert token not in (delegation.invite_token_hash or "")
    [event] = _events(db_session, "delegation.invited")
    assert event.actor_id == holder.id and event.on_behalf_of_id is None
    assert event.details["kind"] == "nominated"
    people = _page(client.get("/my/people"))
    assert "chris@example.org" in people and "Invited" in people


@pytest.mark.parametrize("data,field,message", [
    ({"email": "not an email", "kind": "circle", "shares": ["plan"]}, "email",
     "Enter an email address in the correct format"),
    ({"email": "friend@example.org", "kind": "circle"}, "shares",
     "Choose at least one thing to share"),
    ({"email": "friend@example.org"}, "kind", "Select what they should be able to do"),
])
def test_invitation_with_bad_input_is_refused_beside_the_field(client, login_as, db_session,
                                                               data, field, message):
    login_as(Role.HOLDER)
    response = client.post("/my/people/invite", data=data)
    page = _page(response)
    assert response.status_code == 200
    assert "There is a problem" in page and message in page
    assert f'href="#{field}' in page  # the summary links to the field
    assert f'value="{data["email"]}"' in page  # what was typed is kept
    assert db_session.scalar(select(Delegation)) is None


def test_holder_cannot_invite_themselves(client, login_as, db_session):
    holder = login_as(Role.HOLDER, email="me@example.org")
    page = _page(_invite(client, "ME@example.org", "nominated"))
    assert "You cannot invite yourself" in page and 'href="#email"' in page
    assert db_session.scalar(select(Delegation).where(Delegation.holder_id == holder.id)) is None


def test_inviting_the_same_person_twice_is_refused(client, login_as, db_session):
    login_as(Role.HOLDER)
    assert _invite(client, "twice@example.org", "circle", ["plan"]).status_code == 302
    page = _page(_invite(client, "twice@example.org", "nominated"))
    assert "already been invited or already acts for you" in page
    assert len(db_session.scalars(select(Delegation)).all()) == 1


def test_a_nominated_person_cannot_invite_or_remove_helpers(client, make_user, login, db_session):
    holder = make_user(Role.HOLDER)
    nominated = make_user(Role.SUPPORTER)
    circle = make_user(Role.SUPPORTER)
    _delegate(db_session, holder, nominated, "nominated")
    circle_delegation = _delegate(db_session, holder, circle, "circle", "plan")
    login(nominated)
    assert client.get("/my/people/invite").status_code == 403
    assert _invite(client, "new@example.org", "circle", ["plan"]).status_code == 403
    people = _page(client.get("/my/people"))
    assert "Invite someone" not in people
    response = client.post(f"/my/people/{circle_delegation.id}/revoke", data={},
                           follow_redirects=True)
    assert "Only the budget holder, their authorised person or a broker" in _page(response)
    db_session.refresh(circle_delegation)
    assert circle_delegation.status == "active"
    assert len(db_session.scalars(select(Delegation)).all()) == 2


def test_an_authorised_person_invites_on_the_holders_behalf(client, make_user, login, db_session):
    holder = make_user(Role.HOLDER, name="Joan Okafor")
    attorney = make_user(Role.SUPPORTER)
    _delegate(db_session, holder, attorney, "authorised")
    login(attorney)
    assert _invite(client, "niece@example.org", "circle", ["bookings"]).status_code == 302
    [event] = _events(db_session, "delegation.invited")
    assert event.actor_id == attorney.id and event.on_behalf_of_id == holder.id


# Accepting ----------------------------------------------------------------------------------

def _invitation_path(app, client, holder_email_to: str) -> str:
    [body] = _emails_to(app, holder_email_to)
    return _link_path(body, "/invitations/")


def test_invitee_accepts_and_then_acts_for_the_holder(app, client, make_user, login, db_session):
    holder = make_user(Role.HOLDER, name="Alex Morgan")
    friend = make_user(Role.SUPPORTER, email="friend@example.org")
    login(holder)
    _invite(client, "friend@example.org", "circle", ["plan", "bookings"])
    path = _invitation_path(app, client, "friend@example.org")
    client.post("/sign-out")

    login(friend)
    invitation = _page(client.get(path))
    assert "Alex Morgan has invited you to help" in invitation
    assert "My support plan" in invitation and "My bookings" in invitation
    response = client.post(path, follow_redirects=True)
    page = _page(response)
    assert "You can now help Alex Morgan" in page
    assert "You are acting for Alex Morgan" in page
    delegation = db_session.scalar(select(Delegation).where(Delegation.holder_id == holder.id))
    assert (delegation.status, delegation.delegate_id) == ("active", friend.id)
    assert delegation.invite_token_hash is None  # the link cannot be used again
    [event] = _events(db_session, "delegation.accepted")
    assert event.actor_id == friend.id and event.on_behalf_of_id == holder.id
    used_again = client.get(path)
    assert used_again.status_code == 404 and "already been used" in _page(used_again)


def test_an_invitation_cannot_be_accepted_from_another_email_account(app, client, make_user,
                                                                     login, db_session):
    holder = make_user(Role.HOLDER)
    login(holder)
    _invite(client, "intended@example.org", "nominated")
    path = _invitation_path(app, client, "intended@example.org")
    login(make_user(Role.SUPPORTER, email="someone.else@example.org"))
    page = _page(client.post(path, follow_redirects=True))
    assert "sent to a different email address" in page
    delegation = db_session.scalar(select(Delegation).where(Delegation.holder_id == holder.id))
    assert delegation.status == "invited" and delegation.delegate_id is None
    assert _events(db_session, "delegation.accepted") == []


def test_signed_out_invitee_is_sent_to_sign_in_and_back(app, client, login_as):
    login_as(Role.HOLDER)
    _invite(client, "later@example.org", "nominated")
    path = _invitation_path(app, client, "later@example.org")
    client.post("/sign-out")
    response = client.get(path)
    assert response.status_code == 302
    assert "/sign-in?next=" in response.headers["Location"]
    assert path.split("/")[-1] in response.headers["Location"]


def test_a_made_up_invitation_link_is_a_plain_404(client, login_as):
    login_as(Role.SUPPORTER)
    response = client.get("/invitations/not-a-real-token")
    assert response.status_code == 404
    assert "This invitation is not valid" in _page(response)


# Revoking and stepping down -------------------------------------------------------------------

def test_holder_removes_a_helper_who_then_loses_access(client, make_user, login, db_session):
    holder = make_user(Role.HOLDER)
    helper = make_user(Role.SUPPORTER)
    delegation = _delegate(db_session, holder, helper, "nominated")
    login(helper)
    assert client.get("/my/").status_code == 200
    login(holder)
    response = client.post(f"/my/people/{delegation.id}/revoke", data={"reason": "moved away"},
                           follow_redirects=True)
    assert f"{helper.email} can no longer act for {escape(holder.name)}" in _page(response)
    db_session.refresh(delegation)
    assert delegation.status == "revoked" and delegation.revoked_by_id == holder.id
    [event] = _events(db_session, "delegation.revoked")
    assert event.actor_id == holder.id and event.details["reason"] == "moved away"
    login(helper)
    assert client.get("/my/").status_code == 302  # back to choosing whom to act for
    assert "You are not acting for anyone yet" in _page(client.get("/acting-for"))


def test_a_helper_steps_down(client, make_user, login, db_session):
    holder = make_user(Role.HOLDER)
    helper = make_user(Role.SUPPORTER)
    delegation = _delegate(db_session, holder, helper, "circle", "plan")
    login(helper)
    people = _page(client.get("/my/people"))
    assert "Step down" in people
    client.post(f"/my/people/{delegation.id}/revoke", data={})
    db_session.refresh(delegation)
    assert delegation.status == "revoked" and delegation.revoked_by_id == helper.id
    [event] = _events(db_session, "delegation.revoked")
    assert event.actor_id == helper.id and event.on_behalf_of_id == holder.id


def test_a_holder_cannot_remove_their_authorised_person(client, make_user, login, db_session):
    holder = make_user(Role.HOLDER)
    attorney = make_user(Role.SUPPORTER)
    delegation = _delegate(db_session, holder, attorney, "authorised")
    login(holder)
    assert "Remove" not in _page(client.get("/my/people"))
    page = _page(client.post(f"/my/people/{delegation.id}/revoke", data={},
                             follow_redirects=True))
    assert "can only be removed by a broker" in page
    db_session.refresh(delegation)
    assert delegation.status == "active"


def test_a_stranger_cannot_learn_of_or_remove_a_delegation(client, make_user, login, db_session):
    holder = make_user(Role.HOLDER)
    delegation = _delegate(db_session, holder, make_user(Role.SUPPORTER), "nominated")
    login(make_user(Role.HOLDER))
    page = _page(client.post(f"/my/people/{delegation.id}/revoke", data={},
                             follow_redirects=True))
    assert "We could not find that person" in page
    db_session.refresh(delegation)
    assert delegation.status == "active"


# Authorised people, recorded by a broker ------------------------------------------------------

def _authorised_form(**changes) -> dict:
    review = date.today() + timedelta(days=200)
    data = {"name": "Priya Okafor", "email": "priya@example.org", "legal_basis": "deputyship",
            "review_date": [str(review.day), str(review.month), str(review.year)],
            "notes": "Court of Protection order seen"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_broker_records_an_authorised_person_who_gets_a_set_password_link(app, client, make_user,
                                                                         login, db_session):
    holder = make_user(Role.HOLDER, name="Joan Okafor")
    broker = login(make_user(Role.BROKER))
    response = client.post(f"/broker/holders/{holder.id}/authorised-person",
                           data=_authorised_form())
    assert response.status_code == 302
    person = db_session.scalar(select(User).where(User.email == "priya@example.org"))
    assert person.role == "supporter" and person.password_hash is None
    delegation = db_session.scalar(select(Delegation).where(Delegation.delegate_id == person.id))
    assert (delegation.kind, delegation.status, delegation.legal_basis) == \
        ("authorised", "active", "deputyship")
    assert delegation.review_date == date.today() + timedelta(days=200)
    [event] = _events(db_session, "delegation.authorised_recorded")
    assert event.actor_id == broker.id and event.on_behalf_of_id == holder.id
    assert event.details["legal_basis"] == "deputyship"
    holder_page = _page(client.get(f"/broker/holders/{holder.id}"))
    assert "Priya Okafor – Authorised person (active)" in holder_page

    [body] = _emails_to(app, "priya@example.org")
    assert "authorised person for Joan Okafor" in body
    set_password = _link_path(body, "/reset-password/")
    client.post("/sign-out")
    assert client.post(set_password, data={"new_password": "priya's new password",
                                           "confirm_password": "priya's new password"}
                       ).status_code == 302
    signed_in = client.post("/sign-in", data={"email": "priya@example.org",
                                              "password": "priya's new password"},
                            follow_redirects=True)
    assert "You are acting for Joan Okafor" in _page(signed_in)


@pytest.mark.parametrize("changes,message", [
    ({"review_date": ["1", "1", "2020"]}, "The review date must be in the future"),
    ({"review_date": [str(date.today().day), str(date.today().month), str(date.today().year)]},
     "The review date must be in the future"),
    ({"review_date": ["31", "2", "2030"]}, "Enter a real review date"),
    ({"review_date": ["", "", ""]}, "Enter a real review date"),
    ({"legal_basis": None}, "Select the legal basis"),
    ({"legal_basis": "a hunch"}, "Select the legal basis"),
    ({"email": "nope"}, "Enter an email address in the correct format"),
])
def test_recording_an_authorised_person_with_bad_input_is_refused(client, make_user, login,
                                                                  db_session, changes, message):
    holder = make_user(Role.HOLDER)
    login(make_user(Role.BROKER))
    response = client.post(f"/broker/holders/{holder.id}/authorised-person",
                           data=_authorised_form(**changes))
    page = _page(response)
    assert response.status_code == 200
    assert "There is a problem" in page and message in page
    assert 'value="Priya Okafor"' in page
    assert db_session.scalar(select(Delegation)) is None
    assert db_session.scalar(select(User).where(User.email == "priya@example.org")) is None


def test_a_holder_cannot_be_their_own_authorised_person(client, make_user, login, db_session):
    holder = make_user(Role.HOLDER, email="self@example.org")
    login(make_user(Role.BROKER))
    page = _page(client.post(f"/broker/holders/{holder.id}/authorised-person",
                             data=_authorised_form(email="self@example.org")))
    assert "cannot be their own authorised person" in page
    assert db_session.scalar(select(Delegation)) is None


def test_broker_removes_an_authorised_person(client, make_user, login, db_session):
    holder = make_user(Role.HOLDER)
    delegation = _delegate(db_session, holder, make_user(Role.SUPPORTER), "authorised")
    broker = login(make_user(Role.BROKER))
    response = client.post(f"/broker/delegations/{delegation.id}/revoke", data={})
    assert response.headers["Location"].endswith(f"/broker/holders/{holder.id}")
    db_session.refresh(delegation)
    assert delegation.status == "revoked" and delegation.revoked_by_id == broker.id


@pytest.mark.parametrize("role", [Role.HOLDER, Role.SUPPORTER, Role.PROVIDER, Role.COUNCIL_ADMIN])
def test_only_brokers_record_authorised_people(client, make_user, login, db_session, role):
    holder = make_user(Role.HOLDER)
    login(make_user(role))
    response = client.post(f"/broker/holders/{holder.id}/authorised-person",
                           data=_authorised_form())
    assert response.status_code == 403
    assert db_session.scalar(select(Delegation)) is None


# Acting for more than one holder --------------------------------------------------------------

def test_a_supporter_for_two_holders_chooses_and_switches(client, make_user, login, db_session):
    first = make_user(Role.HOLDER, name="Alex Morgan")
    second = make_user(Role.HOLDER, name="Joan Okafor")
    supporter = make_user(Role.SUPPORTER)
    _delegate(db_session, first, supporter, "nominated")
    _delegate(db_session, second, supporter, "authorised")
    login(supporter)

    response = client.get("/my/")
    assert response.status_code == 302 and "/acting-for" in response.headers["Location"]
    choose = _page(client.get("/acting-for"))
    assert "Alex Morgan – you are their nominated person" in choose
    assert "Joan Okafor – you are their authorised person" in choose
    assert "You are not acting for anyone yet" in choose

    page = _page(client.post("/acting-for", data={"holder_id": first.id}, follow_redirects=True))
    assert "You are now acting for Alex Morgan" in page
    for path in ("/my/", "/my/people", "/acting-for", "/account/password"):
        banner = re.search(r'id="acting-for">(.*?)</div>', _page(client.get(path)), re.S)
        assert banner and "You are acting for Alex Morgan" in banner.group(1), path
    assert client.get("/api/me").get_json()["acting_for"] == \
        {"id": first.id, "name": "Alex Morgan", "as": "nominated"}

    client.post("/acting-for", data={"holder_id": second.id})
    home = _page(client.get("/my/"))
    assert "You are acting for Joan Okafor" in home and "Alex Morgan" not in home
    assert "Joan Okafor&#39;s home" in home


def test_choosing_someone_you_cannot_act_for_is_refused(client, make_user, login, db_session):
    stranger = make_user(Role.HOLDER)
    supporter = make_user(Role.SUPPORTER)
    _delegate(db_session, make_user(Role.HOLDER), supporter, "nominated")
    _delegate(db_session, make_user(Role.HOLDER), supporter, "nominated")
    login(supporter)
    for holder_id in (stranger.id, "nonsense", ""):
        page = _page(client.post("/acting-for", data={"holder_id": holder_id}))
        assert "Choose one of the people listed" in page
    assert client.get("/my/").status_code == 302


def test_acting_for_ends_when_the_delegation_is_revoked(client, make_user, login, db_session):
    first = make_user(Role.HOLDER, name="Alex Morgan")
    second = make_user(Role.HOLDER, name="Joan Okafor")
    supporter = make_user(Role.SUPPORTER)
    chosen = _delegate(db_session, first, supporter, "nominated")
    _delegate(db_session, second, supporter, "nominated")
    login(supporter)
    client.post("/acting-for", data={"holder_id": first.id})
    assert "You are acting for Alex Morgan" in _page(client.get("/my/"))
    chosen.status = "revoked"
    db_session.commit()
    # The one person left is the only choice, so the page moves to them and says so.
    home = _page(client.get("/my/"))
    assert "You are acting for Joan Okafor" in home and "Alex Morgan" not in home


def test_a_holder_who_also_helps_someone_can_switch_back_to_themselves(client, make_user, login,
                                                                       db_session):
    me = make_user(Role.HOLDER, name="Sam Patel")
    other = make_user(Role.HOLDER, name="Dev Patel")
    _delegate(db_session, other, me, "circle", "plan")
    login(me)
    assert "You are acting for" not in _page(client.get("/my/"))
    client.post("/acting-for", data={"holder_id": other.id})
    assert "You are acting for Dev Patel" in _page(client.get("/my/"))
    # A circle member may not manage the holder's helpers, even though they may manage their own.
    assert client.get("/my/people/invite").status_code == 403
    page = _page(client.post("/acting-for", data={"holder_id": me.id}, follow_redirects=True))
    assert "You are now using your own account" in page and "You are acting for" not in page
    assert client.get("/my/people/invite").status_code == 200


def test_signing_in_with_a_password_goes_to_the_only_holder(client, make_user, db_session):
    holder = make_user(Role.HOLDER, name="Alex Morgan")
    helper = make_user(Role.SUPPORTER, email="helper@example.org")
    _delegate(db_session, holder, helper, "circle", "plan")
    page = _page(client.post("/sign-in", data={"email": "helper@example.org",
                                               "password": TEST_PASSWORD}, follow_redirects=True))
    assert "Alex Morgan&#39;s home" in page and "You are acting for Alex Morgan" in page


def test_circle_member_sees_only_their_own_standing(client, make_user, login, db_session):
    from app.models import Delegation

    holder = make_user(Role.HOLDER)
    circle = make_user(Role.SUPPORTER, email="circle-only@example.org")
    attorney = make_user(Role.SUPPORTER, email="attorney-private@example.org")
    db_session.add_all([
        Delegation(holder_id=holder.id, delegate_id=circle.id, kind="circle", status="active",
                   invited_email=circle.email, shares="plan", created_by_id=holder.id),
        Delegation(holder_id=holder.id, delegate_id=attorney.id, kind="authorised", status="active",
                   invited_email=attorney.email, legal_basis="lpa",
                   review_date=__import__("datetime").date(2030, 1, 1), created_by_id=holder.id),
    ])
    db_session.commit()
    login(circle)
    page = client.get("/my/people").get_data(as_text=True)
    assert "circle-only@example.org" in page
    assert "attorney-private@example.org" not in page and "power of attorney" not in page
    login(holder)
    assert "attorney-private@example.org" in client.get("/my/people").get_data(as_text=True)


def test_circle_member_is_not_offered_booking_messaging_or_a_suggest_feature(
        app, client, make_user, login, db_session):
    from tests.booking_helpers import live_listing

    with app.app_context():
        _, listing = live_listing(make_user)
    holder = make_user(Role.HOLDER, name="Alex Morgan")
    circle = make_user(Role.SUPPORTER)
    _delegate(db_session, holder, circle, "circle", "plan")
    login(circle)
    client.post("/acting-for", data={"holder_id": holder.id})
    home = _page(client.get("/my/"))
    assert "uggest" not in home
    page = _page(client.get(f"/listings/{listing.id}"))
    assert 'id="book"' not in page and "Message this provider" not in page
    assert "you can look at services, but booking and messaging providers are for Alex Morgan" in page
    login(holder)
    page = _page(client.get(f"/listings/{listing.id}"))
    assert 'id="book"' in page and "Message this provider" in page


def test_removing_a_helper_asks_first_and_changes_nothing_until_confirmed(
        client, make_user, login, db_session):
    holder = make_user(Role.HOLDER)
    helper = make_user(Role.SUPPORTER)
    delegation = _delegate(db_session, holder, helper, "nominated")
    login(holder)
    people = _page(client.get("/my/people"))
    # "Remove" is a link to a question, not a button that acts at once.
    assert f'href="/my/people/{delegation.id}/remove"' in people
    assert f'action="/my/people/{delegation.id}/revoke"' not in people
    question = _page(client.get(f"/my/people/{delegation.id}/remove"))
    assert f"Remove {escape(helper.name)}?" in question and "Yes, remove them" in question
    assert f'action="/my/people/{delegation.id}/revoke"' in question
    db_session.refresh(delegation)
    assert delegation.status == "active"
    client.post(f"/my/people/{delegation.id}/revoke", data={})
    db_session.refresh(delegation)
    assert delegation.status == "revoked"
    assert client.get(f"/my/people/{delegation.id}/remove").status_code == 404


# Undoing a removal ------------------------------------------------------------------------

def test_a_holder_can_undo_removing_a_helper_for_ten_minutes(client, make_user, login,
                                                              db_session):
    from app import clock

    holder = make_user(Role.HOLDER)
    helper = make_user(Role.SUPPORTER)
    delegation = _delegate(db_session, holder, helper, "circle", "plan")
    login(holder)
    page = _page(client.post(f"/my/people/{delegation.id}/revoke", data={},
                             follow_redirects=True))
    assert "choose Undo beside them within 10 minutes" in page
    assert f'action="/my/people/{delegation.id}/restore"' in page
    page = _page(client.post(f"/my/people/{delegation.id}/restore", data={},
                             follow_redirects=True))
    assert f"{helper.email} can act for {escape(holder.name)} again, as before." in page
    db_session.refresh(delegation)
    assert delegation.status == "active" and delegation.shares == "plan"
    assert delegation.revoked_at is None and delegation.revoked_by_id is None
    [event] = _events(db_session, "delegation.restored")
    assert event.actor_id == holder.id and event.subject_id == str(delegation.id)
    login(helper)
    assert client.get("/my/").status_code == 200  # acting for the holder again

    # Removed again, and eleven minutes pass: it is too late, and nothing changes.
    login(holder)
    client.post(f"/my/people/{delegation.id}/revoke", data={})
    db_session.refresh(delegation)
    with clock.frozen(delegation.revoked_at + timedelta(minutes=11)):
        assert f"/my/people/{delegation.id}/restore" not in _page(client.get("/my/people"))
        page = _page(client.post(f"/my/people/{delegation.id}/restore", data={},
                                 follow_redirects=True))
    assert "It is too late to undo that" in page
    db_session.refresh(delegation)
    assert delegation.status == "revoked"
    assert len(_events(db_session, "delegation.restored")) == 1


def test_only_the_person_who_removed_a_helper_can_undo_it(client, make_user, login, db_session):
    holder = make_user(Role.HOLDER)
    helper = make_user(Role.SUPPORTER)
    delegation = _delegate(db_session, holder, helper, "nominated")
    login(helper)
    client.post(f"/my/people/{delegation.id}/revoke", data={})  # the helper steps down
    assert "/restore" not in _page(client.get("/acting-for"))
    login(holder)
    assert "/restore" not in _page(client.get("/my/people"))
    client.post(f"/my/people/{delegation.id}/restore", data={})
    db_session.refresh(delegation)
    assert delegation.status == "revoked"
    login(make_user(Role.HOLDER))  # a stranger learns nothing
    client.post(f"/my/people/{delegation.id}/restore", data={})
    db_session.refresh(delegation)
    assert delegation.status == "revoked" and _events(db_session, "delegation.restored") == []


def test_a_broker_is_asked_before_removing_someone_and_can_undo_it(client, make_user, login,
                                                                     db_session):
    holder = make_user(Role.HOLDER)
    attorney = make_user(Role.SUPPORTER)
    delegation = _delegate(db_session, holder, attorney, "authorised")
    broker = login(make_user(Role.BROKER))
    page = _page(client.get(f"/broker/holders/{holder.id}"))
    # "Remove" is a link to a question, not a button that acts at once.
    assert f'href="/broker/delegations/{delegation.id}/remove"' in page
    assert f'action="/broker/delegations/{delegation.id}/revoke"' not in page
    question = _page(client.get(f"/broker/delegations/{delegation.id}/remove"))
    assert f"Remove {escape(attorney.name)} from acting for {escape(holder.name)}?" in question
    assert "Yes, remove them" in question and "record a new authorised person" in question
    db_session.refresh(delegation)
    assert delegation.status == "active"
    page = _page(client.post(f"/broker/delegations/{delegation.id}/revoke",
                             data={"reason": "LPA revoked by the court"}, follow_redirects=True))
    assert f"{attorney.email} can no longer act for {escape(holder.name)}" in page
    assert f'action="/broker/delegations/{delegation.id}/restore"' in page
    client.post(f"/broker/delegations/{delegation.id}/restore", data={})
    db_session.refresh(delegation)
    assert delegation.status == "active"
    [event] = _events(db_session, "delegation.restored")
    assert event.actor_id == broker.id and event.on_behalf_of_id == holder.id


def test_a_circle_member_is_told_plainly_what_is_not_shared_with_them(
        client, make_user, login, db_session):
    holder = make_user(Role.HOLDER, name="Alex Morgan")
    circle = make_user(Role.SUPPORTER)
    _delegate(db_session, holder, circle, "circle", "plan")
    login(circle)
    client.post("/acting-for", data={"holder_id": holder.id})
    assert client.get("/my/plan").status_code == 200  # shared
    response = client.get("/my/budget")
    page = _page(response)
    assert response.status_code == 403
    assert "<h1 class=\"govuk-heading-l\">You do not have access to this page</h1>" in page
    assert "Alex Morgan has not shared their budget and spending with you" in page
    assert "ask Alex Morgan if you would like to see it" in page
    response = client.get("/my/address")
    assert response.status_code == 403
    assert "only Alex Morgan or the people who manage their money can do this" in _page(response)
