"""Issue 13: a provider under restriction (listings suspended or payouts held) kept messaging
holders. Now each of their messages waits for a broker: held and gathered on one open flag per
provider, released when a broker dismisses it or lifts the restriction, never delivered (and
the sender told so, never why) when a broker upholds it; serious wording still waits for its
own flag (issue 16)."""

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
    assert flag is not None and flag.status == "open"
    assert (flag.subject_kind, flag.subject_id) == ("provider", str(listing.profile_id))
    assert flag.provider_profile_id == listing.profile_id and flag.holder_id is None
    assert db.session.get(Message, message.id).held_for_flag_id == flag.id


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
    assert "Hi, free Tuesday." in client.get(f"/broker/flags/{flag_id}").get_data(
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
    from app.errors import NotFound, NotPermitted
    from app.models.jobs import JobReply
    from app.services import jobs
    from tests.jobs_helpers import job_input, provider_in

    broker = make_user(Role.BROKER)
    holder = make_user(Role.HOLDER, name="Ann Holder", home_district="LS6")
    provider, listing = provider_in(make_user, broker, name="Alice PA")
    job = jobs.post(holder, holder, job_input())
    _restrict(listing, broker, suspend_listings=True)

    # Refused either way: a restricted provider is not shown the job (job notices skip them)
    # and could not reply to it if they were.
    with pytest.raises((NotFound, NotPermitted)):
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
    message = messaging.reply_as_provider(provider, conversation.id, "Yes, from 10am.")
    assert db.session.get(Message, message.id).held_for_flag_id is not None

    _, elsewhere = bookable_listing(make_user)
    booking = bookings.request_booking(holder, holder, one_off(elsewhere))
    assert booking.state == "requested" and booking.approval_codes == []


# Issue 16: one case per provider, and the broker's decision settles the held messages -------

def _restricted_flags() -> list[Flag]:
    return list(db.session.scalars(select(Flag).where(Flag.rule == RESTRICTED_SENDER_RULE)
                                   .order_by(Flag.id)))


def _told(user, event: str) -> int:
    return len(db.session.scalars(select(Notification).where(
        Notification.user_id == user.id, Notification.event == event)).all())


@pytest.fixture
def two_holders(thread, make_user):
    """The restricted provider writes to two holders, twice to the first."""
    provider, listing, holder, broker, conversation = thread
    other = make_user(Role.HOLDER)
    other_conversation = messaging.start(other, other.id, listing.id, "Do you do weekends?")
    _restrict(listing, broker, suspend_listings=True)
    sent = [messaging.reply_as_provider(provider, conversation.id, "Yes, from 10am."),
            messaging.reply_as_provider(provider, conversation.id, "Shall I bring the forms?"),
            messaging.reply_as_provider(provider, other_conversation.id, "Saturdays only.")]
    return provider, listing, (holder, other), broker, (conversation, other_conversation), sent


def test_a_restricted_providers_messages_gather_on_one_open_flag(two_holders):
    provider, listing, holders, broker, conversations, sent = two_holders

    # Before: three messages filed three flags, three cases for the broker.
    [flag] = _restricted_flags()
    assert flag.status == "open"
    assert {db.session.get(Message, m.id).held_for_flag_id for m in sent} == {flag.id}
    # Brokers heard of the case once, not once a message.
    assert _told(broker, "flag_raised") == 1


def test_the_broker_sees_one_case_listing_every_held_message(app, client, login, make_user):
    with app.app_context():
        provider, listing = live_listing(make_user)
        holder, other, broker = make_user(Role.HOLDER), make_user(Role.HOLDER), make_user(Role.BROKER)
        first = messaging.start(holder, holder.id, listing.id, "Hello?").id
        second = messaging.start(other, other.id, listing.id, "Hi there").id
        _restrict(listing, broker, suspend_listings=True)
        messaging.reply_as_provider(provider, first, "Tuesday suits me.")
        messaging.reply_as_provider(provider, second, "Wednesday suits me.")
        [flag] = _restricted_flags()
        flag_id, holder_names = flag.id, (holder.name, other.name)

    login(broker)
    page = client.get(f"/broker/flags/{flag_id}").get_data(as_text=True)
    assert "The held messages (2)" in page
    assert "Tuesday suits me." in page and "Wednesday suits me." in page
    assert all(f"To {name}" in page for name in holder_names)


def test_upholding_the_case_keeps_the_messages_back_and_tells_the_sender(two_holders):
    provider, listing, (holder, other), broker, conversations, sent = two_holders
    [flag] = _restricted_flags()

    flags.uphold(broker, flag.id, outcome="warn", reason="Pressing people while suspended")

    for m in sent:
        stored = db.session.get(Message, m.id)
        # Before: held for ever, with nobody told anything.
        assert stored.held and stored.not_delivered_at is not None
    assert "Yes, from 10am." not in _seen_by_holder(holder, conversations[0].id)
    assert "Saturdays only." not in _seen_by_holder(other, conversations[1].id)
    assert _told_holder(holder) == 0 and _told_holder(other) == 0
    # The sender hears once a conversation, plainly, and never why.
    notices = db.session.scalars(select(Notification).where(
        Notification.user_id == provider.id,
        Notification.event == "message_not_delivered")).all()
    assert len(notices) == 2
    text = " ".join(f"{n.subject} {n.body}" for n in notices)
    assert "was not delivered" in text and holder.name in text and other.name in text
    assert "restrict" not in text.lower() and "suspend" not in text.lower()
    audited = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "message.not_delivered")).all()
    assert sorted(int(a.subject_id) for a in audited) == sorted(m.id for m in sent)
    assert {a.actor_id for a in audited} == {broker.id}

    # Lifting the restriction later does not deliver what a broker kept back.
    restrictions.lift(broker, listing.profile_id, reason="Suspension served")
    assert all(db.session.get(Message, m.id).held for m in sent)
    assert _told_holder(holder) == 0


def test_dismissing_the_case_delivers_every_held_message(two_holders):
    provider, listing, (holder, other), broker, conversations, sent = two_holders
    [flag] = _restricted_flags()

    flags.dismiss(broker, flag.id, reason="Ordinary replies about times")

    assert not any(db.session.get(Message, m.id).held for m in sent)
    assert {"Yes, from 10am.", "Shall I bring the forms?"} <= set(
        _seen_by_holder(holder, conversations[0].id))
    assert "Saturdays only." in _seen_by_holder(other, conversations[1].id)
    # One notice a conversation, not one a message.
    assert _told_holder(holder) == 1 and _told_holder(other) == 1
    released = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "message.released")).all()
    assert {a.actor_id for a in released} == {broker.id} and len(released) == 3


def test_after_a_decision_new_messages_while_restricted_open_a_new_case(two_holders):
    provider, listing, holders, broker, conversations, sent = two_holders
    [first] = _restricted_flags()
    flags.uphold(broker, first.id, outcome="warn", reason="Pressing people while suspended")

    later = messaging.reply_as_provider(provider, conversations[0].id, "Please reply.")

    flags_now = _restricted_flags()
    assert len(flags_now) == 2 and flags_now[1].status == "open"
    assert db.session.get(Message, later.id).held_for_flag_id == flags_now[1].id
    assert db.session.get(Message, later.id).not_delivered_at is None


def test_upholding_a_flag_about_a_held_message_keeps_it_back(thread):
    """A message held for what it asks (no restriction): upheld, it is not delivered."""
    provider, listing, holder, broker, conversation = thread
    message = messaging.reply_as_provider(provider, conversation.id, CARD_DETAILS)
    flag = db.session.scalar(select(Flag).where(Flag.rule == "suspicious_messages"))

    flags.uphold(broker, flag.id, outcome="warn", reason="Asked for card details")

    assert db.session.get(Message, message.id).not_delivered_at is not None
    assert CARD_DETAILS not in _seen_by_holder(holder, conversation.id)
    assert _told(provider, "message_not_delivered") == 1


def test_the_provider_sees_not_delivered_beside_a_message_kept_back(
        app, client, login, make_user):
    with app.app_context():
        provider, listing = live_listing(make_user)
        holder, broker = make_user(Role.HOLDER), make_user(Role.BROKER)
        conversation_id = messaging.start(holder, holder.id, listing.id, "Hello?").id
        _restrict(listing, broker, suspend_listings=True)
        message_id = messaging.reply_as_provider(provider, conversation_id, "Call me.").id
        [flag] = _restricted_flags()
        flag_id = flag.id

    login(provider)
    page = client.get(f"/provider/messages/{conversation_id}").get_data(as_text=True)
    assert "Call me." in page and f"not-delivered-{message_id}" not in page  # waiting: as sent

    login(broker)
    assert client.post(f"/broker/flags/{flag_id}/uphold", data={
        "uphold-outcome": "warn", "uphold-reason": "Contact while suspended"}).status_code == 302

    login(provider)
    page = client.get(f"/provider/messages/{conversation_id}").get_data(as_text=True)
    assert f'id="not-delivered-{message_id}">Not delivered' in page
    login(holder)
    assert "Call me." not in client.get(f"/my/messages/{conversation_id}").get_data(as_text=True)


def test_wording_the_council_only_advises_on_is_delivered_not_held_for_good(
        thread, make_user):
    """With high findings set to advise, no broker is asked to read the message, so holding
    it would keep it back for ever: it reaches the holder with the warning instead."""
    from app.domain import setting_fields
    from app.services import council_settings

    provider, listing, holder, broker, conversation = thread
    settings = council_settings.current()
    raw = {f.name: setting_fields.display(f, setting_fields.value_of(settings, f.name))
           for f in setting_fields.FIELDS}
    council_settings.save(make_user(Role.COUNCIL_ADMIN), {**raw, "action_for_high": "advise"})

    message = messaging.reply_as_provider(provider, conversation.id, CARD_DETAILS)

    assert not db.session.get(Message, message.id).held
    assert CARD_DETAILS in _seen_by_holder(holder, conversation.id)


def test_a_providers_request_for_card_details_does_not_hold_the_holders_bookings_elsewhere(
        thread, make_user):
    """The holder is the person it was aimed at: before, the flag named them and every booking
    they then made with another provider waited for a broker. A request written on the holder's
    side (someone acting for them asking a provider for cash) still does."""
    from app.services import bookings
    from tests.booking_helpers import holder_with_budget, one_off
    from tests.booking_helpers import live_listing as bookable_listing

    provider, listing, _, broker, _ = thread
    holder, _ = holder_with_budget(make_user)
    conversation = messaging.start(holder, holder.id, listing.id, "Hello?")
    messaging.reply_as_provider(provider, conversation.id, CARD_DETAILS)
    flag = db.session.scalar(select(Flag).where(Flag.rule == "suspicious_messages"))
    assert flag.holder_id == holder.id and flag.action == "hold"

    _, elsewhere = bookable_listing(make_user)
    booking = bookings.request_booking(holder, holder, one_off(elsewhere))
    assert booking.state == "requested" and booking.approval_codes == []

    # Nearest case that should hold: the holder's side asks a provider for cash and secrecy.
    other, _ = holder_with_budget(make_user)
    asking = messaging.start(other, other.id, listing.id, "Hello?")
    messaging.send_as_holder(other, other.id, asking.id,
                             "Pay me in cash and keep this between us, don't tell the council.")
    _, third = bookable_listing(make_user)
    held = bookings.request_booking(other, other, one_off(third))
    assert held.state == "awaiting_approval"


def test_a_send_that_finds_the_restriction_lifted_under_the_lock_is_not_held(thread):
    """A lift that commits while a send waits for the provider's restriction row: the send read
    "restricted" before the lock, but under it the restriction is gone, so nothing holds the
    message (before: it was held under a new case although the provider was cleared)."""
    provider, listing, holder, broker, conversation = thread
    _restrict(listing, broker, suspend_listings=True)
    restrictions.lift(broker, listing.profile_id, reason="Cleared")
    message = Message(conversation_id=conversation.id, author_id=provider.id, from_provider=True,
                      body="Yes, from 10am.")
    db.session.add(message)
    db.session.flush()

    assert flags.hold_for_restricted_sender(message, listing.profile) is None
    assert message.held_for_flag_id is None
    assert _restricted_flags() == []
