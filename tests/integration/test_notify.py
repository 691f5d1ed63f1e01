"""Notifications through the services, delivered over real SMTP to a local aiosmtpd server."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.domain.access import DelegateKind, LegalBasis, Role, Share
from app.domain.notifications import MAX_ATTEMPTS, Category, Delivery, Event
from app.errors import InvalidInput
from app.extensions import db
from app.models import Delegation, Notification, NotificationPreference, OutboundEmail
from app.services import notify, outbox

STARTS = datetime(2026, 7, 3, 9, 0, tzinfo=UTC)


def _delegate(holder, person, kind: DelegateKind, shares=()):
    d = Delegation(
        holder_id=holder.id,
        delegate_id=person.id,
        kind=kind.value,
        status="active",
        invited_email=person.email,
        shares=",".join(s.value for s in shares),
        created_by_id=holder.id,
        legal_basis=LegalBasis.DEPUTYSHIP.value if kind is DelegateKind.AUTHORISED else None,
        review_date=date(2027, 1, 1) if kind is DelegateKind.AUTHORISED else None,
    )
    db.session.add(d)
    db.session.commit()
    return d


@pytest.fixture
def household(make_user):
    holder = make_user(Role.HOLDER, name="Jane Holder", email="jane@example.org")
    provider = make_user(Role.PROVIDER, name="Sam Provider", email="sam@example.org")
    nominated = make_user(Role.SUPPORTER, name="Nina Nominated", email="nina@example.org")
    authorised = make_user(Role.SUPPORTER, name="Arthur Authorised", email="arthur@example.org")
    circle_bookings = make_user(Role.SUPPORTER, name="Cara Circle", email="cara@example.org")
    circle_messages = make_user(Role.SUPPORTER, name="Milo Messages", email="milo@example.org")
    _delegate(holder, nominated, DelegateKind.NOMINATED)
    _delegate(holder, authorised, DelegateKind.AUTHORISED)
    _delegate(holder, circle_bookings, DelegateKind.CIRCLE, [Share.BOOKINGS])
    _delegate(holder, circle_messages, DelegateKind.CIRCLE, [Share.MESSAGES])
    return {
        "holder": holder,
        "provider": provider,
        "nominated": nominated,
        "authorised": authorised,
        "circle_bookings": circle_bookings,
        "circle_messages": circle_messages,
    }


def test_holder_and_the_delegates_who_may_see_bookings_get_a_booking_email(
    app_ctx, household, smtp_server
):
    h = household
    notify.send(
        Event.BOOKING_ACCEPTED,
        h["holder"],
        about_holder=h["holder"],
        link="/my/bookings/7",
        context={"provider": h["provider"], "starts": STARTS},
    )
    db.session.commit()
    assert outbox.deliver_ready() == 4

    recipients = sorted(r for m in smtp_server.messages for r in m.rcpt_tos)
    assert recipients == [
        "arthur@example.org",
        "cara@example.org",
        "jane@example.org",
        "nina@example.org",
    ]  # not Milo: he only sees messages
    to_jane = smtp_server.to("jane@example.org")[0]
    assert to_jane.subject == "Sam Provider has accepted your booking"
    assert "Sam Provider has accepted the booking for Friday 3 July 2026 at 10am." in to_jane.text
    to_cara = smtp_server.to("cara@example.org")[0]
    assert to_cara.subject == "For Jane Holder: Sam Provider has accepted your booking"
    assert (
        "This is about Jane Holder, whom you help on Carefair as part of their circle of support."
        in to_cara.text
    )
    # One clear action, linking to the inbox item, which leads to the booking.
    item = db.session.scalar(
        select(Notification).where(Notification.user_id == h["circle_bookings"].id)
    )
    assert item.about_holder_id == h["holder"].id and item.link == "/my/bookings/7"
    assert f"http://carefair.localhost/inbox/{item.id}/open" in to_cara.links()
    assert (
        to_cara.html is not None
        and f'href="http://carefair.localhost/inbox/{item.id}/open"' in to_cara.html
    )
    assert to_cara.mail_from == "no-reply@carefair.example"


def test_a_circle_member_hears_about_messages_only_if_messages_are_shared(
    app_ctx, household, smtp_server
):
    h = household
    notify.send(
        Event.MESSAGE_RECEIVED,
        h["holder"],
        about_holder=h["holder"],
        link="/my/messages/3",
        context={"sender": h["provider"]},
    )
    db.session.commit()
    outbox.deliver_ready()
    assert smtp_server.to("milo@example.org") and not smtp_server.to("cara@example.org")


def test_switched_off_category_stays_in_the_inbox_without_email(app_ctx, household, smtp_server):
    holder = household["holder"]
    notify.set_preferences(holder, {Category.MESSAGES: Delivery.OFF})
    notify.send(
        Event.MESSAGE_RECEIVED,
        holder,
        link="/my/messages/3",
        context={"sender": household["provider"]},
    )
    db.session.commit()
    outbox.deliver_ready()
    assert smtp_server.to("jane@example.org") == []
    items, total = notify.inbox(holder)
    assert total == 1 and items[0].subject == "New message from Sam Provider"
    assert notify.unread_count(holder) == 1


def test_daily_digest_collects_items_into_one_email(app_ctx, household, smtp_server):
    holder, provider = household["holder"], household["provider"]
    notify.set_preferences(
        holder, {Category.BOOKINGS: Delivery.DIGEST, Category.MESSAGES: Delivery.DIGEST}
    )
    notify.send(
        Event.BOOKING_ACCEPTED,
        holder,
        link="/my/bookings/1",
        context={"provider": provider, "starts": STARTS},
    )
    notify.send(Event.MESSAGE_RECEIVED, holder, link="/my/messages/1", context={"sender": provider})
    db.session.commit()
    outbox.deliver_ready()
    assert smtp_server.to("jane@example.org") == []

    assert notify.send_digests() == 1
    outbox.deliver_ready()
    [digest] = smtp_server.to("jane@example.org")
    assert digest.subject == "Your Carefair summary: 2 updates"
    assert "- Sam Provider has accepted your booking" in digest.text
    assert "- New message from Sam Provider" in digest.text
    assert "http://carefair.localhost/inbox" in digest.links()
    assert notify.send_digests() == 0  # nothing is summarised twice


def test_safeguarding_and_security_email_cannot_be_switched_off(app_ctx, household):
    holder = household["holder"]
    with pytest.raises(InvalidInput) as refused:
        notify.set_preferences(holder, {Category.SECURITY: Delivery.OFF})
    assert refused.value.field == "security"
    db.session.add(
        NotificationPreference(user_id=holder.id, category="safeguarding", delivery="off")
    )
    with pytest.raises(IntegrityError):
        db.session.flush()  # the database refuses it too
    db.session.rollback()


def test_email_waits_when_the_server_is_down_and_goes_once_it_is_back(
    app_ctx, household, smtp_server
):
    holder, provider = household["holder"], household["provider"]
    smtp_server.stop()
    notify.send(Event.MESSAGE_RECEIVED, holder, link="/my/messages/3", context={"sender": provider})
    db.session.commit()
    assert outbox.deliver_ready() == 0  # no exception: the action has long succeeded
    row = db.session.scalar(
        select(OutboundEmail).where(OutboundEmail.to_email == "jane@example.org")
    )
    assert row.status == "queued" and row.attempts == 1 and row.last_error
    assert row.next_attempt_at > datetime.now(UTC)
    assert row in outbox.problems()

    smtp_server.start()
    assert outbox.send_queued() == (0, 0)  # not due yet: backing off
    assert outbox.send_queued(now=datetime.now(UTC) + timedelta(minutes=2)) == (1, 0)
    db.session.refresh(row)
    assert row.status == "sent" and row.attempts == 2 and row.last_error is None
    assert [m.subject for m in smtp_server.to("jane@example.org")] == [
        "New message from Sam Provider"
    ]
    assert row not in outbox.problems()


def test_email_is_given_up_on_after_the_last_try(app_ctx, household, smtp_server):
    smtp_server.stop()
    notify.send(
        Event.MESSAGE_RECEIVED,
        household["holder"],
        link="/my/messages/3",
        context={"sender": household["provider"]},
    )
    db.session.commit()
    later = datetime.now(UTC)
    for _ in range(MAX_ATTEMPTS + 2):
        later += timedelta(days=1)
        outbox.send_queued(now=later)
    row = db.session.scalar(select(OutboundEmail))
    assert row.status == "failed" and row.attempts == MAX_ATTEMPTS
    assert outbox.counts()["failed"] == 1


def test_send_queued_command_sends_what_is_waiting(app, app_ctx, household, smtp_server):
    notify.send(
        Event.MESSAGE_RECEIVED,
        household["holder"],
        link="/my/messages/3",
        context={"sender": household["provider"]},
    )
    db.session.commit()  # not delivered yet: that happens when the request ends, or by cron
    result = app.test_cli_runner().invoke(args=["mail", "send-queued"])
    assert result.exit_code == 0, result.output
    assert "Sent 1 email(s); 0 still could not be sent." in result.output
    assert len(smtp_server.to("jane@example.org")) == 1


def test_an_action_that_rolls_back_sends_nothing(app_ctx, household, smtp_server):
    notify.send(
        Event.MESSAGE_RECEIVED,
        household["holder"],
        link="/my/messages/3",
        context={"sender": household["provider"]},
    )
    db.session.rollback()
    assert outbox.deliver_ready() == 0
    assert outbox.send_queued() == (0, 0)
    assert smtp_server.messages == []


# What must never be in an email, even though the person's record holds it (email is often read
# by others in a household): a category of support, a diagnosis, support-plan text, money.
FORBIDDEN = re.compile(
    r"£|\d+\.\d\d|\bbalance\b|\bbudget of\b|dementia|diagnos|mental health|personal care|"
    r"likes to go swimming|category",
    re.IGNORECASE,
)


def test_no_email_carries_support_categories_diagnoses_plan_text_or_balances(
    app_ctx, household, smtp_server
):
    h = household
    holder, provider = h["holder"], h["provider"]
    # Things a careless caller might try to put into an email: each is refused outright.
    from app.domain.notifications import UnsafeContent

    for context in (
        {"provider": provider, "starts": STARTS, "category": "Mental health support"},
        {"provider": provider, "starts": STARTS, "balance": "£1,234.00"},
        {"provider": "Dementia companionship with Sam", "starts": STARTS},
        {"provider": provider, "starts": STARTS, "plan": "Jane likes to go swimming"},
    ):
        with pytest.raises(UnsafeContent):
            notify.send(
                Event.MONEY_HELD, holder, about_holder=holder, link="/my/budget", context=context
            )
    # Every event, sent for real to the holder and everyone acting for them.
    from tests.unit.test_notification_content import SAMPLES

    for event in Event:
        context = {
            name: (provider if kind.value == "person" else SAMPLES[kind])
            for name, kind in event.spec.fields.items()
        }
        notify.send(event, holder, about_holder=holder, link="/my/", context=context)
    db.session.commit()
    outbox.deliver_ready()
    notify.set_preferences(holder, {c: Delivery.DIGEST for c in Category})
    notify.send(
        Event.MONEY_HELD, holder, link="/my/", context={"provider": provider, "starts": STARTS}
    )
    db.session.commit()
    notify.send_digests()
    outbox.deliver_ready()
    assert len(smtp_server.messages) > len(Event)
    for message in smtp_server.messages:
        for body in (message.subject, message.text, message.html or ""):
            assert not FORBIDDEN.search(body), (message.subject, FORBIDDEN.search(body))
