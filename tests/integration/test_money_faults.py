"""Fault tests on PostgreSQL with real commits: a use case stopped at each step must end where a
clean run ends, after a retry of the same action and `carefair payments reconcile`, checked by
`carefair ledger check` (zero disagreements, nothing left in flight).

* a database error after each write point (each flush that wrote rows, and each commit);
* Stripe down (the connection dropped) or timing out at each call the use case makes;
* the process dying right after its commit, before the Stripe call (a child process that
  exits inside the `after_commit` event), then the reconciliation job.
"""

# ruff: noqa: F811  (pytest fixtures imported from tests.stripe_support are used as arguments)
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict
from functools import partial

import pytest

from app.extensions import db
from app.models import Payment, SessionCardPayment
from app.services import ledger
from tests.crash_child import DIED_AFTER_COMMIT
from tests.fault_support import stripe_proxy, write_faults
from tests.race_support import (
    ACTIONS,
    Case,
    Marks,
    bring_to,
    check_ledger,
    committed_app,
    holder,
    make_world,
    race,
    scenario,
)
from tests.stripe_support import PROJECT_ROOT, localstripe_server, localstripe_url  # noqa: F401

pytestmark = [pytest.mark.database, pytest.mark.postgres_only]

COUNCIL, CARD = "council_managed", "direct_payment"
# A use case with more write points than this is stopped at this many, spread evenly over them
# (the first and the last always included). CI-sized; CAREFAIR_MAX_FAULT_POINTS=100 stops it at
# every one for a long local run.
MAX_FAULT_POINTS = int(os.environ.get("CAREFAIR_MAX_FAULT_POINTS", "3"))

# use case -> (the state it starts from, the action, funding modes)
USE_CASES = {
    "accept": ("requested", "accept", (COUNCIL, CARD)),
    "cancel_booking": ("funds_held", "cancel_holder", (COUNCIL, CARD)),
    "pause": ("funds_held", "pause", (COUNCIL, CARD)),
    "resume": ("paused", "resume", (COUNCIL, CARD)),
    "report_no_show": ("past_funds_held", "no_show_by_holder", (COUNCIL, CARD)),
    "confirm_session": ("delivered", "confirm", (COUNCIL, CARD)),
    "resolve_dispute": ("disputed", "resolve_full_refund", (COUNCIL, CARD)),
    "run_due": ("delivered_due", "auto_confirm", (COUNCIL, CARD)),
    "refund_session": ("settled", "refund", (CARD,)),
}
STRIPE_USE_CASES = {k: v for k, v in USE_CASES.items() if CARD in v[2]}


@pytest.fixture(scope="module")
def faulty(app, tmp_path_factory, localstripe_url):
    with stripe_proxy(localstripe_url) as proxy:
        instance = tmp_path_factory.mktemp("faults")
        racing = committed_app(instance, stripe_url=proxy.url, stripe_timeout=1)
        before = Marks()
        with racing.app_context():
            world = make_world()
            db.session.remove()
        after_world = Marks()
        try:
            yield racing, world, after_world, proxy, instance
        finally:
            with racing.app_context():
                db.engine.dispose()
            before.rewind()
            before.close()
            after_world.close()


def has_reconcile(app) -> bool:
    payments = app.cli.commands.get("payments")
    return payments is not None and "reconcile" in getattr(payments, "commands", {})


def reconcile(app) -> str:
    """`carefair payments reconcile`, as cron runs it ('' when it is not built yet)."""
    if not has_reconcile(app):
        return ""
    result = app.test_cli_runner().invoke(args=["payments", "reconcile"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.output


def snapshot(app, case: Case) -> dict:
    """What a person would notice, without ids: states, the budget's balances, the card."""
    with app.app_context():
        try:
            booking = case.booking() if case.booking_id else None
            out: dict = {}
            if booking is not None:
                out["booking"] = booking.state
                out["sessions"] = [(s.state, s.charge_pence) for s in booking.sessions]
                out["balances"] = {str(k): v for k, v in ledger.balances(booking.budget_id).items()}
                payments = db.session.query(Payment).join(
                    SessionCardPayment, SessionCardPayment.payment_id == Payment.id).filter(
                    SessionCardPayment.booking_id == booking.id).all()
                out["card"] = (
                    sum(p.authorised_pence for p in payments if p.status == "authorised"),
                    sum(p.captured_pence for p in payments),
                    sum(p.refunded_pence for p in payments),
                )
            return out
        finally:
            db.session.remove()


def prepared(app, world, proxy, mode: str, start: str) -> Case:
    proxy.reset()
    with app.app_context():
        case = Case(world, mode, holder(mode, stripe_url=proxy.url))
        bring_to(case, start)
        db.session.remove()
    return case


def run_action(app, case: Case, action: str) -> str:
    return race(app, [partial(ACTIONS[action], case)])[0]


def _retry_of(action: str):
    """The same press of the button again; after a failed hold (accept or resume could not
    authorise the card), the holder's 'try again' (retry_funding)."""
    def again(case: Case):
        from app.services import bookings

        if case.booking_id and case.booking().state == "payment_failed":
            return bookings.retry_funding(case.holder, case.holder, case.booking_id)
        return ACTIONS[action](case)

    return again


def recover(app, case: Case, action: str) -> list[str]:
    """What people (and cron) do after a failure: reconcile, press the button again, reconcile."""
    reconcile(app)
    again = race(app, [partial(_retry_of(action), case)])[0]
    reconcile(app)
    return [again]


def verdict(app, case: Case, clean: dict, where: str, retried: list[str]) -> list[str]:
    problems = []
    if any(o.startswith("error") for o in retried):
        problems.append(f"{where}: the retry crashed: {retried}")
    report = check_ledger(app)
    if not report.ok:
        problems.append(f"{where}: ledger check: " + " | ".join(map(str, report.disagreements)))
    if report.in_flight:
        problems.append(f"{where}: {report.in_flight} card payments still waiting for Stripe "
                        f"after the retry{'' if has_reconcile(app) else ' (no payments reconcile yet)'}")
    got = snapshot(app, case)
    if got != clean:
        problems.append(f"{where}: ended {got}, a clean run ends {clean}")
    return problems


def clean_run(faulty, mode: str, start: str, action: str, count) -> tuple[dict, int]:
    """Run the use case once with no fault: what it ends as, and how many fault points it has."""
    app, world, marks, proxy, _ = faulty
    with scenario(app, marks):
        case = prepared(app, world, proxy, mode, start)
        proxy.reset()
        with write_faults() as faults:
            outcome = run_action(app, case, action)
        assert outcome == "ok", f"the clean run of {action} did not succeed: {outcome}"
        reconcile(app)
        points = len(faults.points) if count == "writes" else proxy.calls
        return snapshot(app, case), points


def spread(points: int) -> list[int]:
    if points <= MAX_FAULT_POINTS:
        return list(range(1, points + 1))
    step = (points - 1) / max(1, MAX_FAULT_POINTS - 1)
    return sorted({1 + round(step * i) for i in range(MAX_FAULT_POINTS)})


@pytest.mark.parametrize(
    ("use_case", "mode"),
    [pytest.param(name, mode, id=f"{name}:{'card' if mode == CARD else 'council'}")
     for name, (_, _, modes) in USE_CASES.items() for mode in modes],
)
def test_a_database_error_after_each_write_ends_consistent_after_a_retry(faulty, use_case, mode):
    app, world, marks, proxy, _ = faulty
    start, action, _ = USE_CASES[use_case]
    clean, points = clean_run(faulty, mode, start, action, "writes")
    assert points >= 1
    problems: list[str] = []
    for n in spread(points):
        with scenario(app, marks):
            case = prepared(app, world, proxy, mode, start)
            with write_faults(n) as faults:
                outcome = run_action(app, case, action)
            where = f"fault at write point {n} of {points} ({faults.points[n - 1]}): {outcome!r}"
            if not faults.fired:
                problems.append(f"{where}: the fault never fired")
            problems += verdict(app, case, clean, where, recover(app, case, action))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("how", ["down", "timeout"])
@pytest.mark.parametrize("use_case", list(STRIPE_USE_CASES))
def test_stripe_down_or_timing_out_at_each_call_ends_consistent(faulty, use_case, how):
    app, world, marks, proxy, _ = faulty
    start, action, _ = USE_CASES[use_case]
    clean, calls = clean_run(faulty, CARD, start, action, "stripe")
    assert calls >= 1, f"{use_case} made no Stripe call on a card booking"
    problems: list[str] = []
    for n in range(1, calls + 1):
        with scenario(app, marks):
            case = prepared(app, world, proxy, CARD, start)
            proxy.reset(fail_call=n, how=how)
            outcome = run_action(app, case, action)
            failed_call = proxy.log[n - 1] if len(proxy.log) >= n else "?"
            proxy.reset()
            where = f"Stripe {how} at call {n} of {calls} ({failed_call}): {outcome!r}"
            if outcome.startswith("error"):
                problems.append(f"{where}: crashed instead of refusing or waiting")
            problems += verdict(app, case, clean, where, recover(app, case, action))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("use_case", list(STRIPE_USE_CASES))
def test_dying_between_the_commit_and_stripe_is_completed_by_reconcile(faulty, use_case):
    app, world, marks, proxy, instance = faulty
    start, action, _ = USE_CASES[use_case]
    clean, _ = clean_run(faulty, CARD, start, action, "stripe")
    with scenario(app, marks):
        case = prepared(app, world, proxy, CARD, start)
        proxy.reset()
        spec = {"world": asdict(case.world), "mode": CARD, "holder_id": case.holder_id,
                "booking_id": case.booking_id, "session_id": case.session_id,
                "action": action, "stripe_url": proxy.url, "instance": str(instance),
                "now": case.now.isoformat() if case.now else None}
        child = subprocess.run([sys.executable, "-m", "tests.crash_child", json.dumps(spec)],
                               cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
                               env={**os.environ})
        assert child.returncode == DIED_AFTER_COMMIT, (
            f"the use case did not commit: exit {child.returncode} {child.stderr[-500:]}")
        calls_before_death = list(proxy.log)
        assert has_reconcile(app), "`carefair payments reconcile` is not built yet"
        reconcile(app)
        problems = verdict(app, case, clean, f"died after the commit (Stripe calls before: "
                                             f"{calls_before_death})", [])
        if problems:
            # The reconciliation job alone did not finish it: a retry must.
            problems = verdict(app, case, clean, "died after the commit, then a retry",
                               recover(app, case, action))
    assert not problems, "\n".join(problems)
