"""Message pages through the test client: holder and provider sides, people acting for the
holder, read-only circle members, other people's conversations, warnings, escaping, limits."""

import pytest
from sqlalchemy import func, select

from app.domain.access import DelegateKind, Role
from app.models import Conversation, Flag, Message
from tests.messaging_helpers import CASH, delegate, live_listing


@pytest.fixture
def listing_setup(app, make_user):
    with app.app_context():
        provider, listing = live_listing(make_user)
        return provider, listing.id


def _start(client, listing_id, body="Are you free on Tuesdays?"):
    return client.post(f"/my/messages/new/{listing_id}", data={"body": body})


def test_public_listing_page_links_to_message_the_provider(client, listing_setup):
    _, listing_id = listing_setup
    page = client.get(f"/listings/{listing_id}").get_data(as_text=True)
    assert f'href="/my/messages/new/{listing_id}"' in page and "Message this provider" in page


def test_signed_out_visitor_is_asked_to_sign_in_before_messaging(client, listing_setup):
    _, listing_id = listing_setup
    response = client.get(f"/my/messages/new/{listing_id}")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_holder_and_provider_exchange_messages_without_javascript(client, login, make_user,
                                                                  listing_setup, db_session):
    provider, listing_id = listing_setup
    holder = login(make_user(Role.HOLDER, name="Ann Holder"))
    response = _start(client, listing_id)
    assert response.status_code == 302
    thread = db_session.scalar(select(Conversation))
    assert response.headers["Location"].endswith(f"/my/messages/{thread.id}")
    login(provider)
    listing_page = client.get("/provider/messages").get_data(as_text=True)
    assert "Ann Holder" in listing_page and "1 new" in listing_page
    client.post(f"/provider/messages/{thread.id}", data={"body": "Yes, from 10am."})
    login(holder)
    page = client.get(f"/my/messages/{thread.id}").get_data(as_text=True)
    assert "Are you free on Tuesdays?" in page and "Yes, from 10am." in page
    assert 'name="body"' in page
    client.post(f"/my/messages/{thread.id}", data={"body": "Great, see you then."})
    assert db_session.scalar(select(func.count(Message.id))) == 3
    assert "1 new" not in client.get("/my/messages").get_data(as_text=True)


def test_circle_member_reads_shared_messages_but_has_no_reply_form(client, login, make_user,
                                                                   listing_setup, db_session):
    _, listing_id = listing_setup
    holder = login(make_user(Role.HOLDER))
    _start(client, listing_id)
    thread = db_session.scalar(select(Conversation))
    circle = delegate(make_user, holder, DelegateKind.CIRCLE, shares="messages")
    login(circle)
    page = client.get(f"/my/messages/{thread.id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Are you free on Tuesdays?" in text
    assert 'name="body"' not in text and 'id="read-only"' in text
    assert client.post(f"/my/messages/{thread.id}", data={"body": "Hi"}).status_code == 403
    assert client.get(f"/my/messages/new/{listing_id}").status_code == 403
    assert db_session.scalar(select(func.count(Message.id))) == 1


def test_circle_member_without_the_share_cannot_open_messages(client, login, make_user,
                                                              listing_setup):
    holder = make_user(Role.HOLDER)
    login(delegate(make_user, holder, DelegateKind.CIRCLE, shares="plan"))
    assert client.get("/my/messages").status_code == 403


def test_authorised_person_writes_for_the_holder(client, login, make_user, listing_setup,
                                                 db_session):
    _, listing_id = listing_setup
    holder = make_user(Role.HOLDER, name="Ann Holder")
    helper = delegate(make_user, holder, DelegateKind.AUTHORISED)
    login(helper)
    _start(client, listing_id, "Writing for Ann.")
    message = db_session.scalar(select(Message))
    assert message.author_id == helper.id and message.on_behalf_of_id == holder.id
    page = client.get(f"/my/messages/{message.conversation_id}").get_data(as_text=True)
    assert f"{helper.name} for Ann Holder" in page


def test_another_holders_conversation_is_404(client, login, make_user, listing_setup,
                                             db_session):
    _, listing_id = listing_setup
    login(make_user(Role.HOLDER))
    _start(client, listing_id)
    thread = db_session.scalar(select(Conversation))
    login(make_user(Role.HOLDER))
    assert client.get(f"/my/messages/{thread.id}").status_code == 404
    assert client.post(f"/my/messages/{thread.id}", data={"body": "Hi"}).status_code == 404
    login(make_user(Role.PROVIDER))
    assert client.get(f"/provider/messages/{thread.id}").status_code == 404


def test_message_asking_for_cash_is_delivered_with_a_plain_warning_and_flagged(
        client, login, make_user, listing_setup, db_session):
    provider, listing_id = listing_setup
    holder = login(make_user(Role.HOLDER))
    _start(client, listing_id)
    thread = db_session.scalar(select(Conversation))
    login(provider)
    client.post(f"/provider/messages/{thread.id}", data={"body": CASH})
    assert db_session.scalar(select(func.count(Flag.id))) == 1
    login(holder)
    page = client.get(f"/my/messages/{thread.id}").get_data(as_text=True)
    assert "Please pay me in cash next time" in page
    assert "Carefair never asks you to pay in cash" in page and "talk to your broker" in page
    # The holder's own ordinary message carries no warning: only one warning on the page.
    assert page.count("carefair-message-warning") == 1


def test_script_in_a_message_is_shown_as_text(client, login, make_user, listing_setup,
                                              db_session):
    provider, listing_id = listing_setup
    login(make_user(Role.HOLDER))
    _start(client, listing_id, '<script>alert("x")</script>\n<b>bold</b>')
    thread = db_session.scalar(select(Conversation))
    login(provider)
    page = client.get(f"/provider/messages/{thread.id}").get_data(as_text=True)
    assert '<script>alert("x")</script>' not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;<br>&lt;b&gt;bold&lt;/b&gt;" in page


def test_over_long_message_shows_an_error_beside_the_field_and_keeps_the_text(
        client, login, make_user, listing_setup, db_session):
    _, listing_id = listing_setup
    login(make_user(Role.HOLDER))
    response = _start(client, listing_id, "word " * 500)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="body-error"' in page and "2,000 characters or fewer" in page
    assert "word word word" in page
    assert db_session.scalar(select(func.count(Message.id))) == 0


def test_hidden_listing_cannot_be_messaged(client, login, make_user, db_session, listing_setup):
    from app.models import Listing

    _, listing_id = listing_setup
    listing = db_session.get(Listing, listing_id)
    listing.is_live = False
    db_session.commit()
    login(make_user(Role.HOLDER))
    assert client.get(f"/my/messages/new/{listing_id}").status_code == 404


def test_provider_without_a_profile_sees_the_set_up_prompt(client, login_as):
    login_as(Role.PROVIDER)
    response = client.get("/provider/messages")
    assert response.status_code == 200
