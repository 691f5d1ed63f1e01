"""The inbox, email choices and the admin's view of unsent email, through the test client; email
goes over real SMTP to a local aiosmtpd server."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from app.domain.access import DelegateKind, Role, Share
from app.domain.notifications import Event
from app.models import Delegation, NotificationPreference, OutboundEmail
from app.services import notify

STARTS = datetime(2026, 7, 3, 9, 0, tzinfo=UTC)


def _send(app, db_session, event, recipient, **kwargs):
    with app.test_request_context():
        items = notify.send(event, recipient, **kwargs)
        db_session.commit()
        return [i.id for i in items]


def test_holder_invites_a_helper_while_the_mail_server_is_down_and_the_email_goes_once_it_is_back(
    app, client, db_session, login, make_user, smtp_server
):
    login(make_user(Role.HOLDER, name="Jane Holder"))
    smtp_server.stop()
    response = client.post(
        "/my/people/invite",
        data={"email": "helper@example.org", "kind": "circle", "shares": ["bookings"]},
    )
    # The action succeeded: redirected with the usual confirmation, and the invitation exists.
    assert response.status_code == 302
    assert "Invitation sent to helper@example.org" in client.get("/my/people").get_data(
        as_text=True
    )
    assert db_session.scalar(
        select(Delegation).where(Delegation.invited_email == "helper@example.org")
    )
    queued = db_session.scalar(
        select(OutboundEmail).where(OutboundEmail.to_email == "helper@example.org")
    )
    assert queued.status == "queued" and queued.attempts == 1
    assert "Connection refused" in queued.last_error or "Errno" in queued.last_error

    # A council admin can see the failure.
    login(make_user(Role.COUNCIL_ADMIN))
    assert "Emails not sent" in client.get("/admin/").get_data(as_text=True)
    page = client.get("/admin/email").get_data(as_text=True)
    assert (
        "helper@example.org" in page and "Jane Holder has invited you to help on Carefair" in page
    )
    assert '<dd class="govuk-summary-list__value" id="count-queued">1</dd>' in page

    # The server comes back; the admin tries again (cron's `carefair mail send-queued` would too).
    smtp_server.start()
    assert client.post(f"/admin/email/{queued.id}/retry").status_code == 302
    [email] = smtp_server.to("helper@example.org")
    assert email.subject == "Jane Holder has invited you to help on Carefair"
    assert "Jane Holder has invited you to be their circle of support on Carefair." in email.text
    [link] = [u for u in email.links() if "/invitations/" in u]
    assert "Every email has been sent." in client.get("/admin/email").get_data(as_text=True)

    # The link works for the invited person.
    login(make_user(Role.SUPPORTER, email="helper@example.org"))
    invitation = client.get(link.split("carefair.localhost", 1)[1])
    assert "Jane Holder has invited you to help" in invitation.get_data(as_text=True)


def test_password_reset_email_arrives_over_smtp_with_its_link(
    client, db_session, make_user, smtp_server
):
    make_user(email="forgetful@example.org", name="Fran Forgetful")
    client.post("/reset-password", data={"email": "forgetful@example.org"})
    [email] = smtp_server.to("forgetful@example.org")
    assert email.subject == "Reset your Carefair password"
    assert email.text.startswith("Hello Fran Forgetful,")
    assert any("/reset-password/" in link for link in email.links())
    assert "Change which emails you get" not in (email.html or "")  # cannot be switched off
    # The private link is not kept in the database once the email has gone.
    row = db_session.scalar(
        select(OutboundEmail).where(OutboundEmail.to_email == "forgetful@example.org")
    )
    assert row.status == "sent" and "/reset-password/" not in row.text_body + row.html_body


def test_inbox_lists_newest_first_and_the_header_counts_unread(
    app, client, db_session, login, make_user
):
    holder = login(make_user(Role.HOLDER))
    provider = make_user(Role.PROVIDER, name="Sam Provider")
    older = make_user(Role.PROVIDER, name="Olive Older")
    _send(
        app,
        db_session,
        Event.MESSAGE_RECEIVED,
        holder,
        link="/my/messages/1",
        context={"sender": older},
    )
    [newest] = _send(
        app,
        db_session,
        Event.BOOKING_ACCEPTED,
        holder,
        about_holder=holder,
        link="/my/bookings/7",
        context={"provider": provider, "starts": STARTS},
    )
    page = client.get("/inbox").get_data(as_text=True)
    assert page.index("Sam Provider has accepted your booking") < page.index(
        "New message from Olive Older"
    )
    assert 'id="unread-count">2<' in page

    opened = client.get(f"/inbox/{newest}/open")
    assert opened.status_code == 302 and opened.headers["Location"] == "/my/bookings/7"
    assert 'id="unread-count">1<' in client.get("/inbox").get_data(as_text=True)

    client.post("/inbox/read-all")
    assert 'id="unread-count"' not in client.get("/inbox").get_data(as_text=True)


def test_an_item_about_someone_you_help_switches_to_them_when_opened(
    app, client, db_session, login, make_user
):
    helper = login(make_user(Role.SUPPORTER, name="Helen Helper"))
    first = make_user(Role.HOLDER, name="First Holder")
    second = make_user(Role.HOLDER, name="Second Holder")
    provider = make_user(Role.PROVIDER, name="Sam Provider")
    for holder in (first, second):
        db_session.add(
            Delegation(
                holder_id=holder.id,
                delegate_id=helper.id,
                kind=DelegateKind.CIRCLE.value,
                status="active",
                invited_email=helper.email,
                shares=Share.BOOKINGS.value,
                created_by_id=holder.id,
            )
        )
    db_session.commit()
    _send(
        app,
        db_session,
        Event.BOOKING_ACCEPTED,
        second,
        about_holder=second,
        link="/my/",
        context={"provider": provider, "starts": STARTS},
    )
    page = client.get("/inbox").get_data(as_text=True)
    assert "For Second Holder: Sam Provider has accepted your booking" in page
    assert "About Second Holder" in page
    [item_id] = _helper_items(app, helper)
    response = client.get(f"/inbox/{item_id}/open", follow_redirects=True)
    assert "You are acting for Second Holder" in response.get_data(as_text=True)


def _helper_items(app, helper):
    with app.test_request_context():
        return [i.id for i in notify.inbox(helper)[0]]


def test_someone_elses_inbox_item_is_not_found(app, client, db_session, login, make_user):
    other = make_user(Role.HOLDER)
    [item_id] = _send(
        app,
        db_session,
        Event.MESSAGE_RECEIVED,
        other,
        link="/my/",
        context={"sender": make_user(Role.PROVIDER)},
    )
    login(make_user(Role.HOLDER))
    assert client.get(f"/inbox/{item_id}/open").status_code == 404
    assert client.post(f"/inbox/{item_id}/read").status_code == 302
    with app.test_request_context():
        assert notify.unread_count(other) == 1


def test_email_choices_are_saved_and_security_cannot_be_switched_off(
    client, db_session, login, make_user
):
    user = login(make_user(Role.HOLDER))
    page = client.get("/account/email-preferences").get_data(as_text=True)
    assert "Bookings" in page and "One email a day with a summary" in page
    choices = {
        "bookings": "digest",
        "money": "immediate",
        "messages": "off",
        "plan": "immediate",
        "account": "immediate",
        "safeguarding": "immediate",
        "security": "off",
    }
    refused = client.post("/account/email-preferences", data=choices)
    assert refused.status_code == 200 and "Select how you want security emails" in refused.get_data(as_text=True)
    assert (
        db_session.scalar(
            select(NotificationPreference).where(NotificationPreference.user_id == user.id)
        )
        is None
    )

    choices["security"] = "digest"
    assert client.post("/account/email-preferences", data=choices).status_code == 302
    saved = {
        p.category: p.delivery
        for p in db_session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id == user.id)
        )
    }
    assert (
        saved["bookings"] == "digest"
        and saved["messages"] == "off"
        and saved["security"] == "digest"
    )
    page = client.get("/account/email-preferences").get_data(as_text=True)
    assert 'value="digest" checked' in page


def test_the_unsent_email_page_is_for_council_admins_only(client, login_as):
    login_as(Role.BROKER)
    assert client.get("/admin/email").status_code == 403
