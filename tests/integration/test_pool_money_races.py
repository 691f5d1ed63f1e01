"""Pooled (group) bookings under races on PostgreSQL with real commits: two holders taking the
last place, a join racing the provider's cancelling or the pool's decision at its deadline, two
decisions at once. Exactly one of two conflicting actions wins, each participant's budget holds
exactly their share or nothing, and `carefair ledger check` finds no disagreement after each."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.domain.access import Role
from app.domain.ledger import Account
from app.errors import DomainError
from app.extensions import db
from app.models import AuditEvent, Booking, PoolParticipant, User
from app.services import bookings, ledger, ledger_check
from tests.booking_helpers import at, holder_with_budget, live_listing, next_weekday
from tests.factories import UserFactory
from tests.integration import test_booking_races as _races

pytestmark = [pytest.mark.database, pytest.mark.postgres_only]

race_app = _races.race_app  # a second app whose sessions really commit, rows deleted after

ROUNDS = 3


def _make_user(role: Role, **fields):
    return UserFactory(role=role.value, **fields)


def _race(app, attempts) -> list[str]:
    """Each callable on its own thread and connection, released together: 'ok' or 'refused'."""
    barrier = threading.Barrier(len(attempts))
    outcomes: dict[int, str] = {}

    def run(n, fn):
        with app.app_context():
            barrier.wait()
            try:
                fn()
                outcomes[n] = "ok"
            except DomainError:
                db.session.rollback()
                outcomes[n] = "refused"
            except Exception as err:  # noqa: BLE001  (a crash is an outcome the test reports)
                db.session.rollback()
                outcomes[n] = f"error: {type(err).__name__}: {err}"[:300]
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(n, fn)) for n, fn in enumerate(attempts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return [outcomes.get(n, "error: did not finish") for n in range(len(attempts))]


def _ledger_clean(app) -> None:
    with app.app_context():
        try:
            report = ledger_check.run()
        finally:
            db.session.remove()
    assert report.ok, "\n".join(str(d) for d in report.disagreements)


@pytest.fixture
def people(race_app):
    """A provider (£30 an hour) and four holders with funded budgets: ids only."""
    with race_app.app_context():
        provider, listing = live_listing(_make_user, price="30.00", minimum_units=1)
        holders = [holder_with_budget(_make_user) for _ in range(4)]
        ids = {"provider": provider.id, "listing": listing.id,
               "holders": [h.id for h, _ in holders], "budgets": [b.id for _, b in holders]}
        db.session.remove()
    return ids


def _pool(app, ids, n: int, *, max_participants: int = 3, joined: int = 0,
          accepted: bool = True) -> tuple[int, object]:
    """A pooled booking by the first holder (£60 for two hours, two at least), `joined` more
    holders in; returns its id and its join deadline."""
    with app.app_context():
        organiser = db.session.get(User, ids["holders"][0])
        day = next_weekday(2, 1 + n)  # Wednesdays: no bank holiday among them this year
        deadline = at(day, 9) - timedelta(days=2)
        pool = bookings.request_booking(organiser, organiser, bookings.BookingInput(
            ids["listing"], kind="pooled", start=at(day, 10), end=at(day, 12),
            min_participants=2, max_participants=max_participants, join_deadline=deadline))
        for holder_id in ids["holders"][1:1 + joined]:
            person = db.session.get(User, holder_id)
            bookings.join_pool(person, person, pool.id)
        if accepted:
            bookings.accept(db.session.get(User, ids["provider"]), pool.id)
        pool_id = pool.id
        db.session.remove()
    return pool_id, deadline


def _held(app, ids) -> list[int]:
    with app.app_context():
        try:
            return [ledger.balances(b)[Account.HELD] for b in ids["budgets"]]
        finally:
            db.session.remove()


def _join(ids, who: int, pool_id: int, now=None):
    def act():
        person = db.session.get(User, ids["holders"][who])
        bookings.join_pool(person, person, pool_id, now=now)
    return act


def test_two_holders_racing_for_the_last_place_exactly_one_gets_it(race_app, people):
    for n in range(ROUNDS):
        pool_id, _ = _pool(race_app, people, n, max_participants=2, accepted=False)
        outcomes = _race(race_app, [_join(people, 1, pool_id), _join(people, 2, pool_id)])
        assert sorted(outcomes) == ["ok", "refused"], outcomes
        with race_app.app_context():
            members = db.session.scalars(select(PoolParticipant.holder_id).where(
                PoolParticipant.booking_id == pool_id)).all()
            db.session.remove()
        assert len(members) == 2, members
        held = _held(race_app, people)
        winner = people["holders"].index(next(m for m in members if m != people["holders"][0]))
        loser = 3 - winner
        assert held[winner] > 0 and held[loser] == 0, held
        _ledger_clean(race_app)
        _cancel(race_app, people, pool_id)


def _cancel(app, ids, pool_id: int) -> None:
    """Tidy up between rounds: the organiser cancels, which must release every share."""
    with app.app_context():
        organiser = db.session.get(User, ids["holders"][0])
        if db.session.get(Booking, pool_id).state != "cancelled":
            bookings.cancel_booking(organiser, organiser, pool_id)
        db.session.remove()
    assert _held(app, ids) == [0, 0, 0, 0]


def test_a_join_racing_the_providers_cancelling_leaves_no_share_held(race_app, people):
    for n in range(ROUNDS):
        pool_id, _ = _pool(race_app, people, n, joined=1)

        def cancel(pool_id=pool_id):
            bookings.cancel_booking(db.session.get(User, people["provider"]), None, pool_id)

        outcomes = _race(race_app, [_join(people, 2, pool_id), cancel])
        assert outcomes[1] == "ok", outcomes  # the provider can always cancel
        assert outcomes[0] in ("ok", "refused"), outcomes
        with race_app.app_context():
            assert db.session.get(Booking, pool_id).state == "cancelled"
            db.session.remove()
        assert _held(race_app, people) == [0, 0, 0, 0]
        _ledger_clean(race_app)


def test_a_join_racing_the_decision_at_the_deadline_is_in_it_or_refused(race_app, people):
    """The join was checked against its own clock a moment before the deadline; the decision
    ran at the deadline. Whichever locks the booking first, a holder is either in the pool with
    their final share held, or out with nothing held: never in after the shares were fixed."""
    for n in range(ROUNDS):
        pool_id, deadline = _pool(race_app, people, n, joined=1)

        def decide(pool_id=pool_id, deadline=deadline):
            bookings.decide_pool(pool_id, now=deadline + timedelta(seconds=1))

        outcomes = _race(race_app, [
            _join(people, 2, pool_id, now=deadline - timedelta(milliseconds=1)), decide])
        assert outcomes[1] == "ok", outcomes
        with race_app.app_context():
            parts = db.session.scalars(select(PoolParticipant).where(
                PoolParticipant.booking_id == pool_id)).all()
            shares = {p.holder_id: (p.share_pence, p.held_pence) for p in parts}
            db.session.remove()
        held = _held(race_app, people)
        # Before: the join could land after the decision, in the pool with no share fixed.
        if outcomes[0] == "ok":
            assert len(shares) == 3 and all(s == 2000 for s, _ in shares.values()), shares
        else:
            assert outcomes[0] == "refused", outcomes
            assert len(shares) == 2 and all(s == 3000 for s, _ in shares.values()), shares
        # Until the session is paid for, the most each could pay stays held.
        assert held[:3] == ([3000, 3000, 3000] if outcomes[0] == "ok" else [3000, 3000, 0]), held
        _ledger_clean(race_app)
        _cancel(race_app, people, pool_id)


def test_two_decisions_at_once_decide_the_pool_once(race_app, people):
    for n in range(ROUNDS):
        pool_id, deadline = _pool(race_app, people, n, joined=2)
        later = deadline + timedelta(minutes=1)
        outcomes = _race(race_app, [lambda p=pool_id, t=later: bookings.decide_pool(p, now=t)] * 2)
        assert outcomes == ["ok", "ok"], outcomes  # the second finds it decided: nothing to do
        with race_app.app_context():
            shares = sorted(db.session.scalars(select(PoolParticipant.share_pence).where(
                PoolParticipant.booking_id == pool_id)).all())
            decided = db.session.scalars(select(AuditEvent).where(
                AuditEvent.action == "booking.pool_runs",
                AuditEvent.subject_id == str(pool_id))).all()
            db.session.remove()
        assert shares == [2000, 2000, 2000] and len(decided) == 1, (shares, len(decided))
        assert _held(race_app, people)[:3] == [3000, 3000, 3000]
        _ledger_clean(race_app)
        _cancel(race_app, people, pool_id)


def test_each_pooled_use_case_commits_exactly_once(race_app, people):
    """Convention 5 for group sessions too: requesting, joining, accepting, deciding at the
    deadline and cancelling each commit once (the organiser's share is held in the request's
    own commit), and the ledger agrees afterwards."""
    from tests.fault_support import counting_commits

    day = next_weekday(2, 1)
    deadline = at(day, 9) - timedelta(days=2)
    counts: dict[str, int] = {}

    def counted(name, fn):
        with race_app.app_context():
            with counting_commits() as counter:
                result = fn()
            db.session.remove()
        counts[name] = counter.commits
        return result

    def person(i: int) -> User:
        return db.session.get(User, people["holders"][i])

    pool_id = counted("request_booking (pooled)", lambda: bookings.request_booking(
        person(0), person(0), bookings.BookingInput(
            people["listing"], kind="pooled", start=at(day, 10), end=at(day, 12),
            min_participants=2, max_participants=3, join_deadline=deadline)).id)
    counted("join_pool", lambda: bookings.join_pool(person(1), person(1), pool_id))
    counted("accept (pooled)", lambda: bookings.accept(
        db.session.get(User, people["provider"]), pool_id))
    counted("decide_pool", lambda: bookings.decide_pool(
        pool_id, now=deadline + timedelta(minutes=1)))
    counted("cancel_booking (pooled)", lambda: bookings.cancel_booking(
        db.session.get(User, people["provider"]), None, pool_id))
    assert counts == dict.fromkeys(counts, 1), counts
    assert _held(race_app, people) == [0, 0, 0, 0]
    _ledger_clean(race_app)


def _pool_snapshot(app, ids, pool_id: int) -> dict:
    with app.app_context():
        try:
            booking = db.session.get(Booking, pool_id)
            return {"state": str(booking.state),
                    "decided": booking.pool_decided_at is not None,
                    "participants": sorted((p.holder_id, str(p.state), p.share_pence)
                                           for p in booking.participants),
                    "held": [ledger.balances(b)[Account.HELD] for b in ids["budgets"]]}
        finally:
            db.session.remove()


POOL_FAULT_CASES = {
    # use case -> (holders in before it, the action)
    "join_pool": (0, lambda ids, pool_id, deadline: _join(ids, 1, pool_id)()),
    "decide_pool": (1, lambda ids, pool_id, deadline: bookings.decide_pool(
        pool_id, now=deadline + timedelta(minutes=1))),
    "cancel_booking (pooled)": (1, lambda ids, pool_id, deadline: bookings.cancel_booking(
        db.session.get(User, ids["provider"]), None, pool_id)),
}


@pytest.mark.parametrize("use_case", list(POOL_FAULT_CASES))
def test_a_database_error_at_each_write_of_a_pooled_use_case_leaves_nothing_half_done(
        race_app, people, use_case):
    """Stopped by a database error after each of its writes (each flush, and its commit), the
    use case leaves the pool and every budget as they were; the retry then ends where a clean
    run ends, and the ledger check agrees."""
    from tests.fault_support import InjectedDatabaseError, write_faults

    joined, action = POOL_FAULT_CASES[use_case]

    def run(pool_id, deadline, fail_at=None):
        with race_app.app_context():
            try:
                with write_faults(fail_at) as faults:
                    action(people, pool_id, deadline)
                return faults, "ok"
            except InjectedDatabaseError:
                db.session.rollback()
                return faults, "fault"
            finally:
                db.session.remove()

    pool_id, deadline = _pool(race_app, people, 0, joined=joined)
    faults, outcome = run(pool_id, deadline)
    assert outcome == "ok"
    clean, points = _pool_snapshot(race_app, people, pool_id), len(faults.points)
    _cancel(race_app, people, pool_id)
    assert points >= 2, faults.points  # at least one flush that wrote, and the commit

    for n in range(1, points + 1):
        pool_id, deadline = _pool(race_app, people, n % 3, joined=joined)
        before = _pool_snapshot(race_app, people, pool_id)
        faults, outcome = run(pool_id, deadline, fail_at=n)
        assert outcome == "fault" and faults.fired, (n, faults.points)
        assert _pool_snapshot(race_app, people, pool_id) == before, f"half-written at point {n}"
        _ledger_clean(race_app)
        assert run(pool_id, deadline)[1] == "ok"  # the retry
        after = _pool_snapshot(race_app, people, pool_id)
        assert {k: v for k, v in after.items() if k != "participants"} == {
            k: v for k, v in clean.items() if k != "participants"}, (n, after, clean)
        assert len(after["participants"]) == len(clean["participants"])
        _ledger_clean(race_app)
        _cancel(race_app, people, pool_id)
