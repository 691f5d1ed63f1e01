"""Loads seed/messages.json through the messaging service: demo conversations, one flagged."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from app.extensions import db
from app.models import Conversation, Listing
from app.services import accounts, messaging
from app.services.providers import profile_of


def load_messages(seed_dir: Path) -> None:
    path = seed_dir / "messages.json"
    if not path.exists():
        return
    for row in json.loads(path.read_text())["conversations"]:
        holder = accounts.find_by_email(row["holder"])
        writer = accounts.find_by_email(row["writer"])
        provider = accounts.find_by_email(row["provider"])
        profile = profile_of(provider) if provider is not None else None
        if holder is None or writer is None or provider is None or profile is None:
            continue
        listing = db.session.scalar(select(Listing).where(
            Listing.profile_id == profile.id, Listing.title == row["listing"],
            Listing.is_live.is_(True)))
        if listing is None:
            continue
        exists = db.session.scalar(select(Conversation.id).where(
            Conversation.holder_id == holder.id, Conversation.listing_id == listing.id))
        if exists is not None:
            continue  # seeded before: seeding twice adds nothing
        thread = None
        for message in row["messages"]:
            if thread is None:
                thread = messaging.start(writer, holder.id, listing.id, message["body"])
            elif message["from"] == "provider":
                messaging.reply_as_provider(provider, thread.id, message["body"])
            else:
                messaging.send_as_holder(writer, holder.id, thread.id, message["body"])
