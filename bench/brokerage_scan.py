"""Benchmark: building the market snapshot from the database and the whole brokerage scan,
plus sending one message (phrase check and flag included).

Prints `name: value unit` lines. Uses a throw-away SQLite database (or BENCH_DATABASE_URL).
One council's scale: a few thousand providers and listings, tens of thousands of holders.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app import create_app
from app.config import Config

PROVIDERS = 3000
HOLDERS = 20000
CONVERSATIONS = 5000
MESSAGES_EACH = 4
BODIES = ["Are you free on Tuesday morning?", "Yes, I can come at 10am.",
          "Thank you, see you then.", "Could you pay me in cash next time?"]


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="carefair-bench-"))
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp / 'bench.db'}"
    app = create_app(Config.from_env("test", SQLALCHEMY_DATABASE_URI=url, INSTANCE_DIR=str(tmp),
                                     MAIL_OUTBOX_DIR=str(tmp / "outbox"),
                                     SERVER_NAME="carefair.localhost"))
    from flask_migrate import upgrade
    from sqlalchemy import insert

    from app.extensions import db
    from app.models import Conversation, Listing, Message, ProviderDistrict, ProviderProfile, User
    from app.services import brokerage, messaging
    from app.services.market_snapshot import build_snapshot

    rng = random.Random(7)
    now = datetime.now(UTC)
    with app.app_context():
        upgrade()
        users = [{"id": i + 1, "email": f"p{i}@example.org", "name": f"Provider {i}",
                  "role": "provider", "active": True, "at_risk": False, "created_at": now}
                 for i in range(PROVIDERS)]
        users += [{"id": PROVIDERS + i + 1, "email": f"h{i}@example.org", "name": f"Holder {i}",
                   "role": "holder", "active": True, "at_risk": i % 10 == 0, "created_at": now}
                  for i in range(HOLDERS)]
        db.session.execute(insert(User), users)
        db.session.execute(insert(ProviderProfile), [
            {"id": i + 1, "user_id": i + 1, "provider_type": "self_employed_pa",
             "display_name": f"Provider {i}", "about": "", "languages": [], "specialisms": [],
             "venue_accessibility": "", "created_at": now, "updated_at": now}
            for i in range(PROVIDERS)])
        db.session.execute(insert(ProviderDistrict), [
            {"profile_id": i + 1, "district": f"SY{i % 9 + 1}"} for i in range(PROVIDERS)])
        db.session.execute(insert(Listing), [
            {"id": i + 1, "profile_id": i + 1, "category": "personal_care", "title": "Care",
             "description": "", "price_pence": rng.randint(1500, 1800) if i % 200 else 6000,
             "price_unit": "hour", "minimum_units": 1, "travel_charge_pence": 0,
             "cancellation_notice_hours": 24, "cancellation_charge_pence": 0,
             "funding_modes": ["direct_payment"], "published": True, "is_live": True,
             "created_at": now, "updated_at": now} for i in range(PROVIDERS)])
        db.session.execute(insert(Conversation), [
            {"id": c + 1, "holder_id": PROVIDERS + 1 + c % HOLDERS,
             "provider_profile_id": 1 + c % PROVIDERS, "listing_id": 1 + c % PROVIDERS,
             "created_at": now, "last_message_at": now} for c in range(CONVERSATIONS)])
        db.session.execute(insert(Message), [
            {"conversation_id": c + 1, "author_id": 1 + c % PROVIDERS if m % 2 else
             PROVIDERS + 1 + c % HOLDERS, "from_provider": bool(m % 2),
             "body": BODIES[m] if c % 50 == 0 else BODIES[m % 3],
             "sent_at": now - timedelta(days=rng.randint(1, 80)), "flagged_categories": []}
            for c in range(CONVERSATIONS) for m in range(MESSAGES_EACH)])
        db.session.commit()

        start = time.perf_counter()
        snapshot = build_snapshot()
        print(f"snapshot_build_{PROVIDERS}_providers_{CONVERSATIONS * MESSAGES_EACH}_messages: "
              f"{(time.perf_counter() - start) * 1000:.0f} ms")
        start = time.perf_counter()
        result = brokerage.scan()
        print(f"brokerage_scan_first: {(time.perf_counter() - start) * 1000:.0f} ms "
              f"({result.filed} flags filed from {result.findings} findings)")
        start = time.perf_counter()
        result = brokerage.scan()
        print(f"brokerage_scan_again: {(time.perf_counter() - start) * 1000:.0f} ms "
              f"({result.filed} filed, {result.already_on_file} already on file)")
        assert len(snapshot.listings) == PROVIDERS

        provider = db.session.get(User, 1)
        conversation = db.session.get(Conversation, 1)
        runs = 50
        with app.test_request_context():
            start = time.perf_counter()
            for n in range(runs):
                messaging.reply_as_provider(provider, conversation.id,
                                            f"See you at {n % 12 + 1}pm on Tuesday.")
            print(f"message_send: {(time.perf_counter() - start) * 1000 / runs:.1f} ms/message")


if __name__ == "__main__":
    main()
