"""Messaging: conversations between a holder's side and a provider, each send one transaction.

Who may do what: the holder, their authorised and nominated people read and send; a circle
member with the MESSAGES share reads only (app.domain.access.may_send_messages); the provider
reads and replies in their own conversations. Every message is run through the phrase matcher:
a match is still delivered, is flagged for a broker at once, and the holder's side sees a
plain warning beside it (serious ones are held for a broker). A provider under restriction
(listings suspended or payouts held) reaches holders only through a broker: each message is
held, gathered on one open flag per provider, released when a broker dismisses that flag or
lifts the restriction, and never delivered (the sender told so) when a broker upholds it.
Notifications never carry the message text.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app import clock
from app.domain.access import Decision, Grant, Permission, Principal, decide, may_send_messages
from app.domain.messaging import (
    clean_body,
    message_finding,
    should_hold,
)
from app.domain.rules.model import Message as MessageFact
from app.domain.rules.phrases import match_phrases
from app.errors import NotFound, NotPermitted
from app.extensions import db
from app.models import Conversation, Message, ProviderProfile, User
from app.services import audit, council_settings, flags, notify, restrictions
from app.services import delegation as delegation_service
from app.services.listings import public_listing
from app.services.providers import require_profile


@dataclass(frozen=True)
class _Named:
    """A name for a notification's PERSON field: a provider's public (maybe business) name."""

    name: str


def _holder_grant(actor: User, holder_id: int) -> Grant:
    grant = delegation_service.grant_for(actor, holder_id)
    principal = Principal(actor.id, actor.role_enum)
    if grant is None or decide(principal, Permission.HOLDER_MESSAGE, grant) is not Decision.ALLOW:
        # Not in this holder's messages at all: the conversation might as well not exist.
        raise NotFound("We could not find that conversation.")
    return grant


def _require_sender(grant: Grant) -> None:
    if not may_send_messages(grant):
        raise NotPermitted("You can read these messages, but only the person or someone who "
                           "acts for them can send messages.")


# Holder side --------------------------------------------------------------------------------

def conversations_for_holder(actor: User, holder_id: int) -> list[tuple[Conversation, int]]:
    """The holder's conversations, latest first, each with its count of unread provider messages."""
    _holder_grant(actor, holder_id)
    unread = (select(Message.conversation_id, func.count().label("n"))
              .where(Message.from_provider.is_(True), Message.read_by_holder_at.is_(None),
                     Message.held.is_(False))
              .group_by(Message.conversation_id).subquery())
    rows = db.session.execute(
        select(Conversation, func.coalesce(unread.c.n, 0))
        .outerjoin(unread, unread.c.conversation_id == Conversation.id)
        .where(Conversation.holder_id == holder_id)
        .options(selectinload(Conversation.provider), selectinload(Conversation.listing))
        .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())).all()
    return [(c, int(n)) for c, n in rows]


def conversation_for_holder(actor: User, holder_id: int, conversation_id: int) -> Conversation:
    """One of the holder's conversations, or NotFound (also for another holder's)."""
    _holder_grant(actor, holder_id)
    conversation = db.session.get(Conversation, conversation_id)
    if conversation is None or conversation.holder_id != holder_id:
        raise NotFound("We could not find that conversation.")
    return conversation


def mark_read_by_holder(actor: User, conversation: Conversation) -> None:
    """The holder's side has read the provider's messages. A circle member reading does not
    count: the holder and the people who act for them have still not seen them."""
    grant = _holder_grant(actor, conversation.holder_id)
    if not may_send_messages(grant):
        return
    now = clock.now()
    changed = False
    for message in conversation.messages:
        if message.from_provider and message.read_by_holder_at is None and not message.held:
            message.read_by_holder_at = now
            changed = True
    if changed:
        db.session.commit()


def start(actor: User, holder_id: int, listing_id: int, body: str) -> Conversation:
    """Send a first message about a live listing (or add to the conversation already about it).

    Raises NotFound (listing not live, or no access), NotPermitted (read-only), InvalidInput.
    """
    _require_sender(_holder_grant(actor, holder_id))
    listing = public_listing(listing_id)
    text = clean_body(body)
    conversation = db.session.scalar(select(Conversation).where(
        Conversation.holder_id == holder_id, Conversation.listing_id == listing.id))
    if conversation is None:
        conversation = Conversation(holder_id=holder_id, provider_profile_id=listing.profile_id,
                                    listing_id=listing.id)
        db.session.add(conversation)
        db.session.flush()
        audit.record(actor, "conversation.started", "conversation", conversation.id,
                     on_behalf_of=db.session.get(User, holder_id),
                     details={"listing_id": listing.id, "provider_profile_id": listing.profile_id})
    _, filed = _post(conversation, actor, text, from_provider=False)
    db.session.commit()
    flags.after_filing(filed)
    return conversation


def send_as_holder(actor: User, holder_id: int, conversation_id: int, body: str) -> Message:
    """Reply in a conversation for the holder. Raises NotFound, NotPermitted, InvalidInput."""
    conversation = conversation_for_holder(actor, holder_id, conversation_id)
    _require_sender(_holder_grant(actor, holder_id))
    message, filed = _post(conversation, actor, clean_body(body), from_provider=False)
    db.session.commit()
    flags.after_filing(filed)
    return message


# Provider side ------------------------------------------------------------------------------

def conversations_for_provider(actor: User) -> list[tuple[Conversation, int]]:
    profile = require_profile(actor)
    unread = (select(Message.conversation_id, func.count().label("n"))
              .where(Message.from_provider.is_(False), Message.read_by_provider_at.is_(None))
              .group_by(Message.conversation_id).subquery())
    rows = db.session.execute(
        select(Conversation, func.coalesce(unread.c.n, 0))
        .outerjoin(unread, unread.c.conversation_id == Conversation.id)
        .where(Conversation.provider_profile_id == profile.id)
        .options(selectinload(Conversation.holder), selectinload(Conversation.listing))
        .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())).all()
    return [(c, int(n)) for c, n in rows]


def conversation_for_provider(actor: User, conversation_id: int) -> Conversation:
    profile = require_profile(actor)
    conversation = db.session.get(Conversation, conversation_id)
    if conversation is None or conversation.provider_profile_id != profile.id:
        raise NotFound("We could not find that conversation.")
    return conversation


def mark_read_by_provider(actor: User, conversation: Conversation) -> None:
    conversation = conversation_for_provider(actor, conversation.id)
    now = clock.now()
    changed = False
    for message in conversation.messages:
        if not message.from_provider and message.read_by_provider_at is None:
            message.read_by_provider_at = now
            changed = True
    if changed:
        db.session.commit()


def reply_as_provider(actor: User, conversation_id: int, body: str) -> Message:
    """The provider replies. Raises NotFound (not theirs), NotPermitted, InvalidInput."""
    conversation = conversation_for_provider(actor, conversation_id)
    message, filed = _post(conversation, actor, clean_body(body), from_provider=True)
    db.session.commit()
    flags.after_filing(filed)
    return message


# Shared -------------------------------------------------------------------------------------

def _post(conversation: Conversation, author: User, text: str, *,
          from_provider: bool) -> tuple[Message, flags.Filed]:
    """Add a message, check it, flag it if it asks for money or secrecy, tell the other side.
    Joins the caller's transaction."""
    now = clock.now()
    holder = conversation.holder
    on_behalf = None if from_provider or author.id == holder.id else holder
    found = match_phrases(text)
    message = Message(conversation_id=conversation.id, author_id=author.id,
                      on_behalf_of_id=on_behalf.id if on_behalf else None,
                      from_provider=from_provider, body=text, sent_at=now,
                      read_by_holder_at=None if from_provider else now,
                      read_by_provider_at=now if from_provider else None,
                      flagged_categories=sorted(found))
    db.session.add(message)
    conversation.last_message_at = now
    db.session.flush()
    # The text itself stays out of the audit log: it is in the message, and may be private.
    audit.record(author, "message.sent", "message", message.id, on_behalf_of=on_behalf,
                 details={"conversation_id": conversation.id, "length": len(text),
                          "flagged": sorted(found)})
    provider: ProviderProfile = conversation.provider
    fact = MessageFact(id=message.id, holder_id=holder.id, provider_id=provider.id,
                       from_provider=from_provider, sent_at=now, text=text)
    finding = (message_finding(fact, provider.display_name, author.name,
                               council_settings.current()) if found else None)
    # A provider under restriction (listings suspended or payouts held after a flag or a
    # concern) keeps no direct line to holders: every message waits for a broker.
    restricted = from_provider and restrictions.is_restricted(provider.id)
    filed = flags.file_findings([finding]) if finding is not None else flags.Filed()
    if restricted:
        # Gathered with the provider's other held messages on one open flag (None: a broker
        # lifted the restriction while this send waited for it, so it goes through).
        gathered = flags.hold_for_restricted_sender(message, provider)
        restricted = gathered is not None
        if gathered is not None:
            filed.flags += gathered.flags
            filed.hidden_listing_ids += gathered.hidden_listing_ids
    hold = should_hold(fact, finding, sender_restricted=restricted)
    if hold and not restricted and not filed.flags:
        # The council's settings only advise on this wording, so no broker would ever read it:
        # it is delivered with the holder's warning rather than held for good.
        hold = False
    if hold:
        # Held for a broker: the holder's side neither sees it nor hears of it, and the
        # sender's page shows it as sent (they are never told why, or that it is held).
        message.held = True
        audit.record(None, "message.held", "message", message.id,
                     details={"flagged": sorted(found), "provider_restricted": restricted,
                              "flag": (f"F-{message.held_for_flag_id}"
                                       if message.held_for_flag_id else None)})
        return message, filed
    if from_provider:
        notify.send(notify.Event.MESSAGE_RECEIVED, holder, about_holder=holder,
                    link=flags.path_for("holder.conversation",
                                        conversation_id=conversation.id),
                    context={"sender": _Named(provider.display_name)})
    else:
        notify.send(notify.Event.MESSAGE_RECEIVED, provider.user,
                    link=flags.path_for("provider.conversation",
                                        conversation_id=conversation.id),
                    context={"sender": holder})
    return message, filed
