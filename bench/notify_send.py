"""Benchmark: queueing notifications (holder plus three delegates) and sending the outbox.

Prints `name: value unit` lines. Uses a throw-away SQLite database and the .eml outbox backend.
"""

from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

# Run as `python bench/<name>.py`, bench/ comes first on the path, where bench/http.py would hide
# the standard library's `http` (which the Stripe SDK imports): take the folder off the path.
_sys.path[:] = [p for p in _sys.path if _Path(p or ".").resolve() != _Path(__file__).resolve().parent]
_sys.path.insert(0, str(_Path(__file__).resolve().parent.parent))


import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from app import create_app
from app.config import Config

N = 300


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="carefair-bench-"))
    app = create_app(
        Config.from_env(
            "test",
            SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp / 'bench.db'}",
            INSTANCE_DIR=str(tmp),
            MAIL_OUTBOX_DIR=str(tmp / "outbox"),
            SERVER_NAME="carefair.localhost",
        )
    )
    from flask_migrate import upgrade

    from app.domain.access import DelegateKind, Role, Share
    from app.domain.notifications import Event
    from app.extensions import db
    from app.models import Delegation, User
    from app.services import notify, outbox

    with app.app_context():
        upgrade()
        holder = User(email="h@example.org", name="Holder", role=Role.HOLDER.value)
        provider = User(email="p@example.org", name="Provider", role=Role.PROVIDER.value)
        helpers = [
            User(email=f"d{i}@example.org", name=f"Helper {i}", role=Role.SUPPORTER.value)
            for i in range(3)
        ]
        db.session.add_all([holder, provider, *helpers])
        db.session.flush()
        for i, (helper, kind) in enumerate(
            zip(
                helpers,
                [DelegateKind.AUTHORISED, DelegateKind.NOMINATED, DelegateKind.CIRCLE],
                strict=True,
            )
        ):
            db.session.add(
                Delegation(
                    holder_id=holder.id,
                    delegate_id=helper.id,
                    kind=kind.value,
                    status="active",
                    invited_email=helper.email,
                    shares=Share.BOOKINGS.value,
                    created_by_id=holder.id,
                    legal_basis="deputyship" if i == 0 else None,
                    review_date=date(2030, 1, 1) if i == 0 else None,
                )
            )
        db.session.commit()
        starts = datetime(2026, 7, 3, 9, 0, tzinfo=UTC)
        with app.test_request_context():
            began = time.perf_counter()
            for i in range(N):
                notify.send(
                    Event.BOOKING_ACCEPTED,
                    holder,
                    about_holder=holder,
                    link=f"/my/bookings/{i}",
                    context={"provider": provider, "starts": starts},
                )
                db.session.commit()
            queued = time.perf_counter() - began
            db.session.info.pop("carefair_outbox_ready", None)
            began = time.perf_counter()
            sent = 0
            while True:
                batch, _ = outbox.send_queued()
                if not batch:
                    break
                sent += batch
            sending = time.perf_counter() - began
            began = time.perf_counter()
            for _ in range(200):
                notify.unread_count(holder)
            unread = time.perf_counter() - began
    print(f"notify_send_with_3_delegates: {queued / N * 1000:.2f} ms")
    print(f"outbox_send_to_eml_files: {sent / sending:.0f} emails/s")
    print(f"unread_count_query: {unread / 200 * 1000:.3f} ms")


if __name__ == "__main__":
    main()
