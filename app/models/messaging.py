"""Conversations between a budget holder's side and a provider, and the messages in them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.messaging import MAX_BODY_LENGTH
from app.models.base import Base, UTCDateTime, utcnow
from app.models.listing import Listing
from app.models.provider import ProviderProfile
from app.models.user import User


class Conversation(Base):
    """One thread between a holder and a provider, optionally about one listing."""

    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_holder_last", "holder_id", "last_message_at"),
        Index("ix_conversations_provider_last", "provider_profile_id", "last_message_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    provider_profile_id: Mapped[int] = mapped_column(ForeignKey("provider_profiles.id"))
    # Kept if the listing is later hidden: the conversation still happened.
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listings.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    holder: Mapped[User] = relationship(foreign_keys=[holder_id])
    provider: Mapped[ProviderProfile] = relationship()
    listing: Mapped[Listing | None] = relationship()
    messages: Mapped[list[Message]] = relationship(back_populates="conversation",
                                                   order_by="Message.id")


class Message(Base):
    """A message on one side of a conversation. Bodies are plain text, always shown escaped."""

    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint(f"length(body) BETWEEN 1 AND {MAX_BODY_LENGTH}", name="body_length"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # The holder the author wrote for, when the author is someone acting for them.
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    from_provider: Mapped[bool] = mapped_column(Boolean)
    body: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # Read state per side; the author's own side is read when it is sent.
    read_by_holder_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_by_provider_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the phrase matcher found (categories such as "cash"), so pages can warn the holder.
    flagged_categories: Mapped[list] = mapped_column(JSON, default=list)
    # A provider's message that asks for money, card details or secrecy waits for a broker
    # before the holder's side sees it. The sender sees it as sent and is never told why.
    held: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The one open flag per provider that gathers the messages a restricted provider sends
    # (the broker's decision on it settles them all).
    held_for_flag_id: Mapped[int | None] = mapped_column(ForeignKey("flags.id"), index=True)
    # A broker upheld the flag that held it: it is never shown to the holder's side, and the
    # sender sees "Not delivered" (never why).
    not_delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    on_behalf_of: Mapped[User | None] = relationship(foreign_keys=[on_behalf_of_id])
