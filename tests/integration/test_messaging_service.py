"""Messaging services on the database: who may read and send, live listings only, flagged
phrases delivered and flagged, notifications without the message text."""

import pytest
from sqlalchemy import func, select

from app.domain.access import DelegateKind, Role
from app.errors import InvalidInput, NotFound, NotPermitted
from app.models import AuditEvent, Flag, Message, Notification, OutboundEmail
from app.services import listings, messaging
from tests.messaging_helpers import CASH, delegate, live_listing
from tests.provider_helpers import listing_input


@pytest.fixture
def setting(app_ctx, make_user):
    provider, listing = live_listing(make_user)
    holder = make_user(Role.HOLDER)
    return provider, listing, holder


def test_holder_starts_a_conversation_and_the_provider_replies(setting, db_session):
    provider, listing, holder = setting
    thread = messaging.start(holder, holder.id, listing.id, "Are you free on Tuesdays?")
    messaging.reply_as_provider(provider, thread.id, "Yes, from 10am.")
    assert [(m.from_provider, m.body) for m in thread.messages] == [
        (False, "Are you free on Tuesdays?"), (True, "Yes, from 10am.")]
    assert messaging.conversations_for_provider(provider) == [(thread, 1)]
    assert messaging.conversations_for_holder(holder, holder.id) == [(thread, 1)]


def test_a_second_first_message_about_the_same_listing_joins_the_conversation(setting):
    _, listing, holder = setting
    first = messaging.start(holder, holder.id, listing.id, "Hello")
    again = messaging.start(holder, holder.id, listing.id, "Hello again")
    assert first.id == again.id and len(again.messages) == 2


def test_conversations_start_only_about_live_listings(setting, make_user):
    provider, listing, holder = setting
    listings.update_listing(provider, listing.id, listing_input(published=False))
    with pytest.raises(NotFound):
        messaging.start(holder, holder.id, listing.id, "Hello")


def test_nominated_person_writes_for_the_holder_and_it_is_recorded(setting, make_user, db_session):
    provider, listing, holder = setting
    helper = delegate(make_user, holder, DelegateKind.NOMINATED)
    thread = messaging.start(helper, holder.id, listing.id, "Writing for my dad.")
    message = thread.messages[0]
    assert message.author_id == helper.id and message.on_behalf_of_id == holder.id
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "message.sent"))
    assert event.actor_id == helper.id and event.on_behalf_of_id == holder.id


def test_circle_member_with_messages_shared_reads_but_cannot_send(setting, make_user):
    provider, listing, holder = setting
    thread = messaging.start(holder, holder.id, listing.id, "Hello")
    circle = delegate(make_user, holder, DelegateKind.CIRCLE, shares="messages")
    assert messaging.conversation_for_holder(circle, holder.id, thread.id) == thread
    with pytest.raises(NotPermitted):
        messaging.send_as_holder(circle, holder.id, thread.id, "Hi from me")
    with pytest.raises(NotPermitted):
        messaging.start(circle, holder.id, listing.id, "Hi from me")


def test_circle_member_without_the_messages_share_cannot_even_read(setting, make_user):
    _, listing, holder = setting
    thread = messaging.start(holder, holder.id, listing.id, "Hello")
    circle = delegate(make_user, holder, DelegateKind.CIRCLE, shares="plan")
    with pytest.raises(NotFound):
        messaging.conversation_for_holder(circle, holder.id, thread.id)


def test_another_holders_conversation_is_not_found(setting, make_user):
    provider, listing, holder = setting
    thread = messaging.start(holder, holder.id, listing.id, "Hello")
    other = make_user(Role.HOLDER)
    with pytest.raises(NotFound):
        messaging.conversation_for_holder(other, other.id, thread.id)
    with pytest.raises(NotFound):
        messaging.send_as_holder(other, other.id, thread.id, "Hi")
    other_provider, _ = live_listing(make_user)
    with pytest.raises(NotFound):
        messaging.reply_as_provider(other_provider, thread.id, "Hi")


def test_over_long_message_is_refused_and_nothing_is_stored(setting, db_session):
    _, listing, holder = setting
    with pytest.raises(InvalidInput) as err:
        messaging.start(holder, holder.id, listing.id, "x" * 2001)
    assert err.value.field == "body"
    assert db_session.scalars(select(Message)).all() == []


def test_message_asking_for_cash_is_delivered_flagged_and_brokers_told(setting, make_user,
                                                                       db_session):
    provider, listing, holder = setting
    broker = make_user(Role.BROKER)
    thread = messaging.start(holder, holder.id, listing.id, "Hello")
    message = messaging.reply_as_provider(provider, thread.id, CASH)
    assert message.flagged_categories == ["cash"]
    flag = db_session.scalar(select(Flag))
    assert (flag.rule, flag.subject_kind, flag.subject_id) == ("suspicious_messages", "message",
                                                               str(message.id))
    assert flag.provider_profile_id == listing.profile_id and flag.holder_id == holder.id
    assert flag.status == "open" and flag.action == "flag"
    told = db_session.scalars(select(Notification).where(Notification.user_id == broker.id)).all()
    assert [n.event for n in told] == ["flag_raised"]


def test_message_notifications_never_carry_the_text(setting, db_session):
    provider, listing, holder = setting
    thread = messaging.start(holder, holder.id, listing.id, "My PIN is 1234 secret words")
    messaging.reply_as_provider(provider, thread.id, "Thanks, private reply words")
    items = db_session.scalars(select(Notification).where(
        Notification.event == "message_received")).all()
    assert {i.user_id for i in items} == {provider.id, holder.id}
    emails = db_session.scalars(select(OutboundEmail)).all()
    texts = [i.subject + i.body for i in items]
    texts += [e.subject + e.text_body + e.html_body for e in emails]
    for text in texts:
        assert "secret words" not in text and "private reply" not in text


def test_reading_marks_the_other_sides_messages_read_but_a_circle_member_reading_does_not(
        setting, make_user):
    provider, listing, holder = setting
    thread = messaging.start(holder, holder.id, listing.id, "Hello")
    messaging.reply_as_provider(provider, thread.id, "Hi there")
    circle = delegate(make_user, holder, DelegateKind.CIRCLE, shares="messages")
    messaging.mark_read_by_holder(circle, thread)
    assert messaging.conversations_for_holder(holder, holder.id)[0][1] == 1
    messaging.mark_read_by_holder(holder, thread)
    assert messaging.conversations_for_holder(holder, holder.id)[0][1] == 0


def test_demo_message_loader_sends_through_the_service_once(setting, tmp_path, db_session):
    import json

    from app.models import Conversation
    from app.services.messaging_seed import load_messages

    provider, listing, holder = setting
    (tmp_path / "messages.json").write_text(json.dumps({"conversations": [{
        "holder": holder.email, "writer": holder.email, "provider": provider.email,
        "listing": listing.title,
        "messages": [{"from": "holder", "body": "Hello"},
                     {"from": "provider", "body": "Pay me in cash please."}]}]}))
    load_messages(tmp_path)
    load_messages(tmp_path)
    assert db_session.scalar(select(func.count(Conversation.id))) == 1
    assert db_session.scalar(select(func.count(Message.id))) == 2
    assert db_session.scalar(select(func.count(Flag.id))) == 1
