"""PostgreSQL races on a restricted provider's held messages: two brokers deciding the same case
at once (one upholds, one dismisses) settle it once, and two messages sent at once gather on
one case."""

import threading

import pytest
from sqlalchemy import func, select

from app.domain.access import Role
from app.domain.flags import Effects
from app.domain.messaging import RESTRICTED_SENDER_RULE
from app.errors import Conflict
from app.extensions import db
from app.models import Flag, Message, User
from app.services import flags, messaging, restrictions
from tests.factories import UserFactory
from tests.messaging_helpers import live_listing
from tests.race_support import Marks, committed_app

pytestmark = [pytest.mark.database, pytest.mark.postgres_only]


@pytest.fixture
def race_app(app, tmp_path):
    marks = Marks()
    racing = committed_app(tmp_path, pool_size=6)
    try:
        yield racing
    finally:
        with racing.app_context():
            db.engine.dispose()
        marks.rewind()
        marks.close()


def _make_user(role: Role, **fields):
    return UserFactory(role=role.value, **fields)


def _restricted_thread():
    provider, listing = live_listing(_make_user)
    holder = _make_user(Role.HOLDER)
    conversation = messaging.start(holder, holder.id, listing.id, "Are you free on Tuesdays?")
    restrictions.apply(listing.profile, Effects(suspend_listings=True), actor=None, flag=None)
    db.session.commit()
    return provider, listing, holder, conversation


def _together(app, *calls):
    """Run the calls at the same moment, each on its own connection; their outcomes, sorted."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(fn):
        def go():
            with app.app_context():
                barrier.wait()
                try:
                    result = fn()
                except Conflict as err:
                    result = f"refused: {err.message}"
                finally:
                    db.session.remove()
                with lock:
                    outcomes.append(result)
        return go

    threads = [threading.Thread(target=run(fn)) for fn in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(outcomes)


def test_two_brokers_deciding_one_case_at_once_settle_it_once(race_app):
    with race_app.app_context():
        provider, listing, holder, conversation = _restricted_thread()
        message_id = messaging.reply_as_provider(provider, conversation.id, "Yes, from 10am.").id
        flag_id = db.session.scalar(select(Flag.id).where(
            Flag.rule == RESTRICTED_SENDER_RULE, Flag.provider_profile_id == listing.profile_id))
        first, second = _make_user(Role.BROKER).id, _make_user(Role.BROKER).id

    def uphold():
        flags.uphold(db.session.get(User, first), flag_id, outcome="warn", reason="Kept back")
        return "upheld"

    def dismiss():
        flags.dismiss(db.session.get(User, second), flag_id, reason="Ordinary reply")
        return "dismissed"

    outcomes = _together(race_app, uphold, dismiss)

    assert len([o for o in outcomes if o.startswith("refused: This flag has already been")]) == 1
    with race_app.app_context():
        flag = db.session.get(Flag, flag_id)
        message = db.session.get(Message, message_id)
        # Settled one way: delivered (dismissed) or kept back (upheld), never both.
        if flag.status == "upheld":
            assert message.held and message.not_delivered_at is not None
        else:
            assert flag.status == "dismissed"
            assert not message.held and message.not_delivered_at is None


def test_two_messages_sent_at_once_gather_on_one_case(race_app):
    with race_app.app_context():
        provider, listing, holder, conversation = _restricted_thread()
        provider_id, conversation_id, profile_id = provider.id, conversation.id, listing.profile_id

    def send(text):
        def go():
            messaging.reply_as_provider(db.session.get(User, provider_id), conversation_id, text)
            return "sent"
        return go

    assert _together(race_app, send("Yes, from 10am."), send("Or Wednesday?")) == ["sent", "sent"]
    with race_app.app_context():
        assert db.session.scalar(select(func.count(Flag.id)).where(
            Flag.rule == RESTRICTED_SENDER_RULE, Flag.provider_profile_id == profile_id)) == 1
        assert db.session.scalar(select(func.count(Message.id)).where(
            Message.conversation_id == conversation_id, Message.held.is_(True),
            Message.held_for_flag_id.is_not(None))) == 2
