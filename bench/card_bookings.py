"""Card-paid booking figures on a local localstripe and Connect stub: accept (ledger hold + card
authorisation) and confirm (card capture + ledger capture + transfer) per booking.

Run: .venv/bin/python bench/card_bookings.py  (needs the test extras; a throwaway SQLite database).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app  # noqa: E402
from app.config import Config  # noqa: E402
from app.domain.access import Role  # noqa: E402
from app.services import bookings, card_payments  # noqa: E402
from tests.booking_helpers import holder_with_budget, live_listing, next_weekday, one_off  # noqa: E402
from tests.factories import UserFactory  # noqa: E402
from tests.stripe_support import (  # noqa: E402
    TEST_SECRET_KEY,
    ConnectStub,
    LocalStripe,
    _stub_handler,
    new_card,
    stripe_client,
)

ROUNDS = 20


def make_user(role: Role = Role.HOLDER, **fields):
    return UserFactory(role=role.value, **fields)


def main() -> None:
    import threading
    from http.server import ThreadingHTTPServer

    workdir = Path(tempfile.mkdtemp(prefix="carefair-bench-"))
    server = LocalStripe()
    stub = ConnectStub()
    http = ThreadingHTTPServer(("127.0.0.1", 0), _stub_handler(stub))
    stub.url = f"http://127.0.0.1:{http.server_address[1]}"
    threading.Thread(target=http.serve_forever, daemon=True).start()
    app = create_app(
        Config.from_env(
            "test",
            SQLALCHEMY_DATABASE_URI=f"sqlite:///{workdir}/b.db",
            INSTANCE_DIR=str(workdir),
            STRIPE_SECRET_KEY=TEST_SECRET_KEY,
            STRIPE_API_BASE=server.url,
            STRIPE_CONNECT_API_BASE=stub.url,
        )
    )
    try:
        with app.test_request_context():
            from flask_migrate import upgrade

            upgrade()
            provider, listing = live_listing(make_user)
            card_payments.start_onboarding(provider, refresh_url="http://x", return_url="http://x")
            holder, _ = holder_with_budget(make_user, mode="direct_payment", funded=10_000_000)
            card_payments.add_card(holder, holder, new_card(stripe_client(server.url)))
            accept_s = confirm_s = 0.0
            for n in range(ROUNDS):
                day = next_weekday(n % 5, weeks_ahead=1 + n // 5)
                booking = bookings.request_booking(holder, holder, one_off(listing, day=day))
                started = time.perf_counter()
                booking = bookings.accept(provider, booking.id)
                accept_s += time.perf_counter() - started
                s = booking.sessions[0]
                bookings.record_delivery(
                    provider, s.id, actual_start=s.start_at, actual_end=s.end_at, now=s.end_at
                )
                started = time.perf_counter()
                bookings.confirm_session(holder, holder, s.id)
                confirm_s += time.perf_counter() - started
            print(f"card_booking_accept: {accept_s / ROUNDS * 1000:.1f} ms")
            print(f"card_booking_confirm_capture_transfer: {confirm_s / ROUNDS * 1000:.1f} ms")
    finally:
        http.shutdown()
        server.stop()


if __name__ == "__main__":
    main()
