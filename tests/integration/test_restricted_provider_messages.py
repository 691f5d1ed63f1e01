"""Issue 13: a provider under restriction (listings suspended or payouts held) kept messaging
holders. Now each of their messages waits for a broker: held, flagged, released when a broker
dismisses the flag or lifts the restriction; serious wording still waits for its own flag."""

import pytest
from sqlalchemy import select

from app.domain.access import Role
from app.domain.flags import Effects
from app.domain.messaging import RESTRICTED_SENDER_RULE
from app.extensions import db
from app.models import AuditEvent, Conversation, Flag, Message, Notification
from app.services import flags, messaging, restrictions
from tests.messaging_helpers import live_listing

pytestmark = pytest.mark.database

CARD_DETAILS = "Send me your card details and PIN and keep this between us."


@pytest.fixture
def thread(app_ctx, make_user):
    provider, listing = live_listing(make_user)
    holder = make_user(Role.HOLDER)
    broker = make_user(Role.BROKER)
    conversation = messaging.start(holder, holder.id, listing.id, "Are you free on Tuesdays?")
    return provider, listing, holder, broker, conversation


def _restrict(listing, broker, **effects) -> None:
    restrictions.apply(listing.profile, Effects(**effects), actor=broker, flag=None)
    db.session.commit()


def _seen_by_holder(holder, conversation_id) -> list[str]:
    shown = messaging.conversation_for_holder(holder, holder.id, conversation_id)
    return [m.body for m in shown.messages if not m.held]


def _told_holder(holder) -> int:
    return len(db.session.scalars(select(Notification).where(
        Notification.user_id == holder.id, Notification.event == "message_received")).all())


@pytest.mark.parametrize("effects", [{"suspend_listings": True}, {"hold_payouts": True}])
def test_a_restricted_providers_message_waits_for_a_broker(thread, effects):
    provider, listing, holder, broker, conversation = thread
    _restrict(listing, broker, **effects)

    # Before: the reply reached the holder at once and they were told of it.
    message = messaging.reply_as_provider(provider, conversation.id, "Yes, from 10am.")

    assert db.session.get(Message, message.id).held
    assert "Yes, from 10am." not in _seen_by_holder(holder, conversation.id)
    assert _told_holder(holder) == 0
    flag = db.session.scalar(select(Flag).where(Flag.rule == RESTRICTED_SENDER_RULE))
    assert flag is not None and flag.subject_id == str(message.id) and flag.status == "open"
    assert flag.provider_profile_id == listing.profile_id and flag.holder_id == holder.id


def test_lifting_the_restriction_lets_the_held_message_through(thread):
    provider, listing, holder, broker, conversation = thread
    _restrict(listing, broker, suspend_listings=True)
    message = messaging.reply_as_provider(provider, conversation.id, "Yes, from 10am.")

    restrictions.lift(broker, listing.profile_id, reason="Checked: the complaint was mistaken")

    assert not db.session.get(Message, message.id).held
    assert "Yes, from 10am." in _seen_by_holder(holder, conversation.id)
    assert _told_holder(holder) == 1
    flag = db.session.scalar(select(Flag).where(Flag.rule == RESTRICTED_SENDER_RULE))
    assert flag.status == "dismissed" and "complaint was mistaken" in flag.reason
    released = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "message.released"))
    assert released is not None and released.subject_id == str(message.id)
    # Once lifted, new messages go straight through.
    messaging.reply_as_provider(provider, conversation.id, "See you Tuesday.")
    assert "See you Tuesday." in _seen_by_holder(holder, conversation.id)


def test_a_broker_dismissing_the_flag_lets_the_message_through_while_restricted(thread):
    provider, listing, holder, broker, conversation = thread
    _restrict(listing, broker, hold_payouts=True)
    message = messaging.reply_as_provider(provider, conversation.id, "Yes, from 10am.")
    flag = db.session.scalar(select(Flag).where(Flag.rule == RESTRICTED_SENDER_RULE))

    flags.dismiss(broker, flag.id, reason="An ordinary reply about times")

    assert "Yes, from 10am." in _seen_by_holder(holder, conversation.id)
    assert not db.session.get(Message, message.id).held


def test_lifting_does_not_release_a_message_held_for_what_it_asks(thread):
    provider, listing, holder, broker, conversation = thread
    _restrict(listing, broker, suspend_listings=True)
    message = messaging.reply_as_provider(provider, conversation.id, CARD_DETAILS)
    rules = sorted(f.rule for f in db.session.scalars(select(Flag)))
    assert rules == sorted([RESTRICTED_SENDER_RULE, "suspicious_messages"])

    restrictions.lift(broker, listing.profile_id, reason="Restriction reviewed")

    # The wording's own flag is still open: the message stays held until a broker reads it.
    assert db.session.get(Message, message.id).held
    assert CARD_DETAILS not in _seen_by_holder(holder, conversation.id)


def test_an_unrestricted_providers_ordinary_reply_is_delivered_at_once(thread):
    provider, listing, holder, broker, conversation = thread
    messaging.reply_as_provider(provider, conversation.id, "Yes, from 10am.")
    assert "Yes, from 10am." in _seen_by_holder(holder, conversation.id)
    assert db.session.scalar(select(Flag)) is None


def test_through_the_web_a_suspended_provider_reply_waits_and_lifting_shows_it(
        app, client, login, make_user):
    with app.app_context():
        provider, listing = live_listing(make_user)
        holder, broker = make_user(Role.HOLDER), make_user(Role.BROKER)
        conversation_id = messaging.start(holder, holder.id, listing.id, "Hello?").id
        _restrict(listing, broker, suspend_listings=True)

    login(provider)
    response = client.post(f"/provider/messages/{conversation_id}", data={"body": "Hi, free Tuesday."})
    assert response.status_code == 302
    # The provider's own page shows it as sent: they are never told it is held.
    assert "Hi, free Tuesday." in client.get(f"/provider/messages/{conversation_id}").get_data(
        as_text=True)

    login(holder)
    assert "Hi, free Tuesday." not in client.get(f"/my/messages/{conversation_id}").get_data(
        as_text=True)

    login(broker)
    with app.app_context():
        flag_id = db.session.scalar(select(Flag.id).where(Flag.rule == RESTRICTED_SENDER_RULE))
    assert "sent a message to a budget holder" in client.get(f"/broker/flags/{flag_id}").get_data(
        as_text=True)
    lifted = client.post(f"/broker/flags/{flag_id}/lift",
                         data={"lift-lift_reason": "Reviewed and cleared"})
    assert lifted.status_code == 302

    login(holder)
    assert "Hi, free Tuesday." in client.get(f"/my/messages/{conversation_id}").get_data(
        as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Conversation).where(Conversation.id == conversation_id))


def test_a_restricted_provider_cannot_reply_to_a_job_post(app_ctx, make_user):
    """A job reply is a message in front of a holder: a provider under restriction cannot send
    one, and the holder hears nothing."""
    from app.errors import NotPermitted
    from app.models.jobs import JobReply
    from app.services import jobs
    from tests.jobs_helpers import job_input, provider_in

    broker = make_user(Role.BROKER)
    holder = make_user(Role.HOLDER, name="Ann Holder", home_district="LS6")
    provider, listing = provider_in(make_user, broker, name="Alice PA")
    job = jobs.post(holder, holder, job_input())
    _restrict(listing, broker, suspend_listings=True)

    with pytest.raises(NotPermitted, match="reviewing"):
        jobs.reply(provider, job.id, "I live nearby and am free on weekday mornings.")
    assert db.session.scalar(select(JobReply)) is None
    assert not db.session.scalars(select(Notification).where(
        Notification.user_id == holder.id, Notification.event == "job_reply")).all()

    restrictions.lift(broker, listing.profile_id, reason="Cleared")
    jobs.reply(provider, job.id, "I live nearby and am free on weekday mornings.")
    assert db.session.scalar(select(JobReply)) is not None


def test_a_held_message_does_not_hold_the_holders_own_bookings_elsewhere(thread, make_user):
    """The flag asks a broker to read the message; the holder did nothing wrong, so their new
    booking with another provider goes ahead without waiting for approval."""
    from app.services import bookings
    from tests.booking_helpers import holder_with_budget, one_off
    from tests.booking_helpers import live_listing as bookable_listing

    provider, listing, _, broker, _ = thread
    holder, _ = holder_with_budget(make_user)
    conversation = messaging.start(holder, holder.id, listing.id, "Hello?")
    _restrict(listing, broker, suspend_listings=True)
    messaging.reply_as_provider(provider, conversation.id, "Yes, from 10am.")
    assert db.session.scalar(select(Flag).where(Flag.rule == RESTRICTED_SENDER_RULE,
                                                Flag.holder_id == holder.id)) is not None

    _, elsewhere = bookable_listing(make_user)
    booking = bookings.request_booking(holder, holder, one_off(elsewhere))
    assert booking.state == "requested" and booking.approval_codes == []
