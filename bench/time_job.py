"""Timed-exits job figures: one run of `run_timers` over many waiting requests and booked visits
(each reminded or expired in its own transaction), and a second run that finds nothing to do.

Run: .venv/bin/python bench/time_job.py [requests] (needs the test extras; a throwaway SQLite
database). Prints seconds per run and per item.
"""

from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

# Run as `python bench/<name>.py`, bench/ comes first on the path, where bench/http.py would hide
# the standard library's `http` (which the Stripe SDK imports): take the folder off the path.
_sys.path[:] = [p for p in _sys.path if _Path(p or ".").resolve() != _Path(__file__).resolve().parent]
_sys.path.insert(0, str(_Path(__file__).resolve().parent.parent))


import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import clock, create_app  # noqa: E402
from app.config import Config  # noqa: E402
from app.domain.access import Role  # noqa: E402
from app.services import bookings  # noqa: E402
from tests.booking_helpers import holder_with_budget, live_listing, next_weekday, one_off  # noqa: E402
from tests.factories import UserFactory  # noqa: E402


def make_user(role: Role = Role.HOLDER, **fields):
    return UserFactory(role=role.value, **fields)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    workdir = Path(tempfile.mkdtemp(prefix="carefair-bench-"))
    app = create_app(Config.from_env("test", SQLALCHEMY_DATABASE_URI=f"sqlite:///{workdir}/b.db",
                                     INSTANCE_DIR=str(workdir),
                                     MAIL_OUTBOX_DIR=str(workdir / "outbox")))
    with app.test_request_context():
        from flask_migrate import upgrade

        upgrade()
        made = clock.now()
        providers = [live_listing(make_user) for _ in range(max(1, count // 50))]
        holder, _ = holder_with_budget(make_user, funded=50_000_000)
        for n in range(count):
            provider, listing = providers[n % len(providers)]
            slot = n // len(providers)
            day = next_weekday(slot % 5, weeks_ahead=2 + slot // 20)
            hour = 8 + (slot // 5) % 4 * 2
            bookings.request_booking(holder, holder,
                                     one_off(listing, day=day, start=hour, end=hour + 2), now=made)
        for label, hours in (("reminders (48h)", 48), ("expiries (72h)", 72), ("second run", 72)):
            started = time.perf_counter()
            report = bookings.run_timers(made + timedelta(hours=hours))
            took = time.perf_counter() - started
            per = f"{took / report.changed * 1000:.1f} ms per item" if report.changed else "no items"
            print(f"{label}: {report.changed} changed of {count} requests in {took:.2f} s ({per})")


if __name__ == "__main__":
    main()
