"""The scheduled jobs, when each is due, and running each due one exactly once across machines.

`carefair scheduler` runs `run_forever`: every few seconds it looks for jobs whose latest due
time has not been claimed yet. A run is claimed twice over:
- a row in `scheduled_job_runs`, unique per (job, due time): of two schedulers (on two machines)
  that see the same due time, one inserts it and the other is refused and skips;
- a lock held while the job runs (a PostgreSQL advisory lock per job; on SQLite a file lock),
  so a slow run is never overlapped by the next due time's run.
A scheduler that was down runs only the latest missed time of each job, once.
Councils that prefer cron run the same jobs as `carefair <group> <command>` (deploy/crontab).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app import clock
from app.extensions import db

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[], str]  # does the work (committing as its services do), says what it did
    every: timedelta | None = None  # due at each multiple of this since midnight UTC ...
    daily_at: tuple[int, int] | None = None  # ... or once a day at this UTC hour and minute
    # Jobs with the same lock never run at once (by default each job has its own).
    lock: str | None = None

    def latest_due(self, now: datetime) -> datetime:
        """The most recent time at or before `now` that this job was due."""
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        if self.every is not None:
            steps = (now - midnight) // self.every
            return midnight + steps * self.every
        hour, minute = self.daily_at or (0, 0)
        today = midnight.replace(hour=hour, minute=minute)
        return today if today <= now else today - timedelta(days=1)


def _send_queued() -> str:
    from app.services import outbox

    sent, failing = outbox.send_queued()
    return f"sent {sent} email(s), {failing} still waiting"


def _digest() -> str:
    from app.services import notify, outbox

    queued = notify.send_digests()
    sent, failing = outbox.send_queued()
    return f"queued {queued} daily summaries; sent {sent}, {failing} still waiting"


def _bookings_run_due() -> str:
    """As `carefair bookings run-due`: confirmations and pools, then every timed exit and
    reminder (expiries, broker reminders and escalations, visit reminders, lapsed offers)."""
    from app.services import bookings

    report = bookings.run_due()
    timers = bookings.run_timers()
    lapsed = sum(timers.lapsed.values())
    return (f"{report.notices_sent} notice(s), {report.auto_confirmed} confirmed, "
            f"{timers.expired} expired, {timers.visit_reminders} visit reminder(s), {lapsed} lapsed, "
            f"{len(report.errors) + len(timers.errors)} problem(s)")


def _payments_reconcile() -> str:
    from app.services import card_steps

    report = card_steps.reconcile()
    return (f"{report.steps.done} card step(s) done, {report.steps.waiting} waiting, "
            f"{report.stray_released} stray authorisation(s) released")


def _ledger_check() -> str:
    """The ledger against the bookings and card payments; a disagreement is logged as an error
    by the scheduler (the summary says how many) for the council's monitoring to pick up."""
    from app.services import ledger_check

    report = ledger_check.run()
    if not report.ok:
        raise RuntimeError(report.summary())
    return report.summary()


def _jobs_notify() -> str:
    from app.services import jobs

    return f"{jobs.run_due()} provider(s) told about jobs"


def _jobs_cover() -> str:
    from app.services import cover

    report = cover.run_due()
    return f"{report.asked} provider(s) asked to cover, {report.lapsed} cover request(s) lapsed"


def _funding_hold_ahead() -> str:
    from app.services.bookings import horizon

    report = horizon.hold_ahead()
    return (f"{report.held} session(s) held, {report.short} not yet funded, "
            f"{report.called_off} called off, {len(report.errors)} problem(s)")


def _pay_waiting() -> str:
    from app.services import card_payments

    paid = card_payments.pay_waiting()
    return f"{paid} payout(s) sent, {len(card_payments.waiting_payouts())} still waiting"


def _vetting_expire() -> str:
    from app.services import vetting

    notices = vetting.expire()
    warned = vetting.warn_before_expiry()
    return f"{len(notices)} provider(s) with expired checks, {len(warned)} warning(s)"


def _brokerage_scan() -> str:
    from app.services import brokerage

    result = brokerage.scan()
    return f"{result.findings} finding(s), {result.filed} new flag(s)"


def _brokerage_scan_requested() -> str:
    from app.services import brokerage

    result = brokerage.run_requested()
    return "no scan asked for" if result is None else \
        f"{result.findings} finding(s), {result.filed} new flag(s)"


# The same jobs, and the same times, as deploy/crontab.
JOBS: list[Job] = [
    Job("mail.send-queued", _send_queued, every=timedelta(minutes=5)),
    Job("bookings.run-due", _bookings_run_due, every=timedelta(hours=1)),
    Job("jobs.notify", _jobs_notify, every=timedelta(hours=1)),
    Job("jobs.cover", _jobs_cover, every=timedelta(minutes=5)),
    Job("payments.pay-waiting", _pay_waiting, every=timedelta(hours=1)),
    Job("payments.reconcile", _payments_reconcile, every=timedelta(minutes=10)),
    Job("ledger.check", _ledger_check, daily_at=(4, 0)),
    Job("funding.hold-ahead", _funding_hold_ahead, daily_at=(5, 0)),
    Job("vetting.expire", _vetting_expire, daily_at=(2, 30)),
    Job("brokerage.scan", _brokerage_scan, daily_at=(3, 0)),
    # A scan a broker asked for from the market view, when too large to run in their request.
    # It shares the daily scan's lock: two scans at once could file the same finding twice.
    Job("brokerage.scan-requested", _brokerage_scan_requested, every=timedelta(minutes=5),
        lock="brokerage.scan"),
    Job("mail.digest", _digest, daily_at=(7, 0)),
]


def _lock_key(name: str) -> int:
    # A stable signed 64-bit key per job name, as pg_try_advisory_lock wants.
    return int.from_bytes(hashlib.sha256(f"carefair-job:{name}".encode()).digest()[:8], "big",
                          signed=True)


@contextmanager
def job_lock(name: str) -> Iterator[bool]:
    """Hold the job's lock while the block runs; yields False (at once) if someone else has it."""
    engine = db.engine
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                    {"k": _lock_key(name)}).scalar())
            conn.commit()
            try:
                yield got
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _lock_key(name)})
                    conn.commit()
        return
    folder = Path(current_app.instance_path) / "job-locks"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{name}.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _claim(job: Job, due: datetime) -> bool:
    """Record that this scheduler runs `job` for `due`; False if another one already has."""
    from app.models import ScheduledJobRun

    try:
        db.session.add(ScheduledJobRun(job=job.name, due_at=due, started_at=clock.now(),
                                       host=socket.gethostname()[:100]))
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


def _finish(job: Job, due: datetime, outcome: str, ok: bool) -> None:
    from app.models import ScheduledJobRun

    row = db.session.query(ScheduledJobRun).filter_by(job=job.name, due_at=due).one()
    row.finished_at = clock.now()
    row.ok = ok
    row.outcome = outcome[:500]
    db.session.commit()


def run_due(jobs: list[Job] | None = None, now: datetime | None = None) -> dict[str, str]:
    """Run each job whose latest due time nobody has claimed. Returns job name -> what happened
    ("ran: ...", "failed: ...", "already run", "running elsewhere")."""
    from app.models import ScheduledJobRun

    now = now or clock.now()
    report: dict[str, str] = {}
    for job in jobs if jobs is not None else JOBS:
        due = job.latest_due(now)
        claimed = db.session.query(ScheduledJobRun.id).filter_by(job=job.name, due_at=due).first()
        db.session.rollback()  # end the read: the lock and the claim below are new transactions
        if claimed is not None:
            continue
        with job_lock(job.lock or job.name) as got:
            if not got:
                report[job.name] = "running elsewhere"
                continue
            if not _claim(job, due):
                report[job.name] = "already run"
                continue
            try:
                outcome = job.run()
            except Exception as err:  # noqa: BLE001 - one failing job must not stop the others
                db.session.rollback()
                log.exception("Scheduled job %s failed", job.name)
                _finish(job, due, f"{type(err).__name__}: {err}", ok=False)
                report[job.name] = f"failed: {type(err).__name__}"
            else:
                _finish(job, due, outcome, ok=True)
                report[job.name] = f"ran: {outcome}"
    return report


def run_forever(app: Flask, *, tick_seconds: float = 20.0, echo: Callable[[str], None] = print,
                stop: Callable[[], bool] = lambda: False) -> None:
    """The long-lived scheduler loop (`carefair scheduler`)."""
    while not stop():
        with app.app_context():
            try:
                for name, what in run_due().items():
                    echo(f"{clock.now():%Y-%m-%d %H:%M:%S} {name}: {what}")
            except Exception:  # noqa: BLE001 - the database may be restarting: try again later
                log.exception("The scheduler could not check its jobs")
            finally:
                db.session.remove()
        time.sleep(tick_seconds)
