"""Booking money benchmark on PostgreSQL: accept and confirm p50 and p95 for council-managed
budgets (ledger only) and card bookings (localstripe for cards, the Connect stub for payouts),
then `carefair ledger check` over everything it made.

Accept holds the money (and authorises the card); confirm captures it (card capture, ledger
capture, payout). Each is timed as the person pressing the button waits for it. WARNING: it
empties the target database's public schema first.

    .venv/bin/python bench/card_bookings.py [--quick] [--database-url URL]

The full run (40 bookings of each kind) takes about a minute on a quiet 2-core machine; --quick
(8 of each) about as long as starting localstripe and migrating.

Prints one figure a line as `name: value unit`. Needs the test extras (localstripe).
"""

from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

# Run as `python bench/<name>.py`, bench/ comes first on the path, where bench/http.py would hide
# the standard library's `http` (which the Stripe SDK imports): take the folder off the path.
_sys.path[:] = [p for p in _sys.path if _Path(p or ".").resolve() != _Path(__file__).resolve().parent]
_sys.path.insert(0, str(_Path(__file__).resolve().parent.parent))


import argparse
import inspect
import os
import statistics
import sys
import threading
import time
from datetime import timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._db import DEFAULT_URL, ensure_database  # noqa: E402
from bench.ledger import load_average, percentile, reset_and_migrate  # noqa: E402


def _with_now(fn, *args, now, **kwargs):
    """Pass `now` where the service takes one (the clock is set as well)."""
    if "now" in inspect.signature(fn).parameters:
        kwargs["now"] = now
    return fn(*args, **kwargs)


def run(app, provider, holder, listing, rounds: int, offset: int) -> tuple[list[float], list[float]]:
    from app.services import bookings
    from tests.booking_helpers import next_weekday, one_off
    from tests.race_support import set_clock

    accepts, confirms = [], []
    for n in range(offset, offset + rounds):
        day = next_weekday(n % 5, weeks_ahead=1 + n // 25)
        hour = 8 + 2 * ((n // 5) % 5)
        booking = bookings.request_booking(holder, holder,
                                           one_off(listing, day=day, start=hour, end=hour + 2))
        started = time.perf_counter()
        booking = bookings.accept(provider, booking.id)
        accepts.append((time.perf_counter() - started) * 1000)
        assert booking.state == "funds_held", booking.state
        s = booking.sessions[0]
        after = s.end_at + timedelta(minutes=5)
        set_clock(after)
        try:
            _with_now(bookings.record_delivery, provider, s.id, actual_start=s.start_at,
                      actual_end=s.end_at, now=after)
            started = time.perf_counter()
            bookings.confirm_session(holder, holder, s.id)
            confirms.append((time.perf_counter() - started) * 1000)
        finally:
            set_clock(None)
    return accepts, confirms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--quick", action="store_true", help="a small version, under a minute")
    args = parser.parse_args()
    ensure_database(args.database_url)
    rounds = 8 if args.quick else 40

    from app.domain.access import Role
    from app.extensions import db
    from app.services import card_payments, ledger_check
    from tests.booking_helpers import holder_with_budget, live_listing
    from tests.factories import UserFactory
    from tests.stripe_support import (
        TEST_SECRET_KEY,
        ConnectStub,
        LocalStripe,
        _stub_handler,
        new_card,
        stripe_client,
    )

    def make_user(role: Role = Role.HOLDER, **fields):
        return UserFactory(role=role.value, **fields)

    app = reset_and_migrate(args.database_url)
    server = LocalStripe()
    stub = ConnectStub()
    http = ThreadingHTTPServer(("127.0.0.1", 0), _stub_handler(stub))
    stub.url = f"http://127.0.0.1:{http.server_address[1]}"
    threading.Thread(target=http.serve_forever, daemon=True).start()
    app.config.update(STRIPE_SECRET_KEY=TEST_SECRET_KEY, STRIPE_API_BASE=server.url,
                      STRIPE_CONNECT_API_BASE=stub.url, STRIPE_MAX_NETWORK_RETRIES=0,
                      STRIPE_TIMEOUT_SECONDS=10, SERVER_NAME="carefair.localhost")
    try:
        with app.test_request_context():
            provider, listing = live_listing(make_user, charge="10.00")
            card_payments.start_onboarding(provider, refresh_url="http://x", return_url="http://x")
            council, _ = holder_with_budget(make_user, mode="council_managed", funded=10_000_000)
            card, _ = holder_with_budget(make_user, mode="direct_payment", funded=10_000_000)
            card_payments.add_card(card, card, new_card(stripe_client(server.url)))
            figures = {}
            for name, holder, offset in (("council", council, 0), ("card", card, rounds)):
                accepts, confirms = run(app, provider, holder, listing, rounds, offset)
                figures[name] = (accepts, confirms)
            print(f"load_average: {load_average()} (1, 5, 15 minutes)")
            for name, (accepts, confirms) in figures.items():
                print(f"{name}_accept_p50: {statistics.median(accepts):.1f} ms")
                print(f"{name}_accept_p95: {percentile(accepts, 95):.1f} ms")
                print(f"{name}_confirm_p50: {statistics.median(confirms):.1f} ms")
                print(f"{name}_confirm_p95: {percentile(confirms, 95):.1f} ms")
            print(f"bookings: {2 * rounds} bookings")
            report = ledger_check.run()
            print(f"ledger_check: {'ok' if report.ok else len(report.disagreements)} "
                  f"({report.in_flight} card payments waiting for Stripe)")
            for disagreement in report.disagreements[:5]:
                print(f"  {disagreement}")
        with app.app_context():
            db.engine.dispose()
    finally:
        http.shutdown()
        server.stop()


if __name__ == "__main__":
    main()
