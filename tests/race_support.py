"""Support for race and fault tests on PostgreSQL with real commits: an app whose sessions really
commit, a world of people made once per module, bookings brought to any starting state through
the services, two actions released together on their own connections, and clean-up of every row a
scenario wrote (by id high-water mark) so each scenario's ledger check sees only its own money."""

from __future__ import annotations

import inspect
import os
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import stripe
from sqlalchemy import create_engine, text
from sqlalchemy import inspect as sa_inspect

from app import clock
from app.domain.access import Role
from app.domain.listings import Slot
from app.errors import DomainError
from app.extensions import db
from app.models import Booking, User
from app.services import bookings, card_payments, ledger, ledger_check, providers, stripe_webhooks
from tests.factories import UserFactory
from tests.ledger_helpers import funded_budget, key
from tests.provider_helpers import verified_provider
from tests.stripe_support import TEST_SECRET_KEY


def set_clock(moment: datetime | None) -> None:
    """Move the services' one clock (app.clock) to `moment`, or give it back with None."""
    clock.travel_to(moment)


def make_user(role: Role = Role.HOLDER, **fields) -> User:
    return UserFactory(role=role.value, **fields)


def committed_app(tmp_path, *, stripe_url: str | None = None, pool_size: int = 8,
                  stripe_timeout: int = 5):
    """A second app on TEST_DATABASE_URL whose sessions really commit (no rolled-back test
    transaction), pointed at localstripe when `stripe_url` is given."""
    from app import create_app
    from app.config import Config

    extra = {}
    if stripe_url:
        extra = {"STRIPE_SECRET_KEY": TEST_SECRET_KEY, "STRIPE_API_BASE": stripe_url,
                 # No Connect server: payouts wait (visibly) for the provider's account.
                 "STRIPE_CONNECT_API_BASE": "http://127.0.0.1:9",
                 "STRIPE_MAX_NETWORK_RETRIES": 0, "STRIPE_TIMEOUT_SECONDS": stripe_timeout}
    return create_app(Config.from_env(
        "test",
        SQLALCHEMY_DATABASE_URI=os.environ["TEST_DATABASE_URL"],
        INSTANCE_DIR=str(tmp_path),
        MAIL_OUTBOX_DIR=str(tmp_path / "outbox"),
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": pool_size},
        SERVER_NAME="carefair.localhost",
        **extra,
    ))


class Marks:
    """Every table's highest id at one moment; `rewind()` deletes every row written since."""

    def __init__(self) -> None:
        self.engine = create_engine(os.environ["TEST_DATABASE_URL"])
        inspector = sa_inspect(self.engine)
        self.tables = [t for t in inspector.get_table_names()
                       if any(c["name"] == "id" for c in inspector.get_columns(t))]
        self.marks: dict[str, int] = {}
        self.take()

    def take(self) -> None:
        with self.engine.connect() as conn:
            self.marks = {t: conn.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {t}")).scalar()
                          for t in self.tables}

    def rewind(self) -> None:
        with self.engine.begin() as conn:
            # Past the append-only guards, for this clean-up transaction only (test superuser).
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            if "search_documents" in self.marks:
                conn.execute(text("DELETE FROM search_documents WHERE listing_id > :m"),
                             {"m": self.marks["listings"]})
            for table, mark in self.marks.items():
                conn.execute(text(f"DELETE FROM {table} WHERE id > :m"), {"m": mark})

    def close(self) -> None:
        self.engine.dispose()


def call(fn: Callable, *args, now: datetime | None = None, **kwargs):
    """Call a service, passing `now` only where it takes one (the clock is set as well)."""
    if now is not None and "now" in inspect.signature(fn).parameters:
        kwargs["now"] = now
    return fn(*args, **kwargs)


@dataclass
class World:
    """People made once per module: a broker and a provider whose listing takes both council-
    managed budgets and cards (£16.50 an hour, two hours minimum, £10 for late cancelling)."""

    broker_id: int
    provider_id: int
    listing_id: int
    other_provider_id: int
    other_listing_id: int


def make_world() -> World:
    broker = make_user(Role.BROKER)
    ids = []
    for _ in range(2):
        user, listing = verified_provider(
            make_user, broker, price="16.50", minimum_units=2,
            funding_modes=["direct_payment", "council_managed"], cancellation_charge="10.00",
            cancellation_notice_hours=24)
        providers.set_availability(user, [Slot(d, time(7, 0), time(21, 0)) for d in range(7)])
        ids += [user.id, listing.id]
    return World(broker.id, *ids)


def holder(mode: str, *, stripe_url: str | None = None, outside_plan: bool = False,
           funded: int = 100_000) -> int:
    """A holder with a funded budget (council_managed, or direct_payment with a saved card)."""
    categories = {"transport": 300_000} if outside_plan else None
    person, admin, budget = funded_budget(make_user, funded=0, categories=categories)
    if mode != "direct_payment":
        budget.funding_mode = mode
        db.session.commit()
    ledger.allocate(budget.id, funded, idempotency_key=key("alloc"), actor=admin)
    db.session.commit()  # the ledger adds to the caller's transaction
    if mode == "direct_payment":
        from tests.stripe_support import new_card, stripe_client

        assert stripe_url, "a card holder needs localstripe"
        card_payments.add_card(person, person, new_card(stripe_client(stripe_url)))
    return person.id


def future_day(days: int = 9) -> date:
    return (datetime.now(UTC) + timedelta(days=days)).date()


@dataclass
class Case:
    """One scenario's ids: who, which booking and session, and the moments it uses."""

    world: World
    mode: str
    holder_id: int
    booking_id: int | None = None
    session_id: int | None = None
    other_holder_id: int | None = None
    day: date = field(default_factory=future_day)
    start: int = 10
    now: datetime | None = None  # the clock during the race (None: real time)
    extra: dict = field(default_factory=dict)

    def user(self, user_id: int) -> User:
        found = db.session.get(User, user_id)
        assert found is not None
        return found

    @property
    def holder(self) -> User:
        return self.user(self.holder_id)

    @property
    def provider(self) -> User:
        return self.user(self.world.provider_id)

    @property
    def broker(self) -> User:
        return self.user(self.world.broker_id)

    def booking(self) -> Booking:
        assert self.booking_id is not None
        db.session.expire_all()
        found = db.session.get(Booking, self.booking_id)
        assert found is not None
        return found

    def request_input(self, day: date | None = None, start: int | None = None,
                      listing_id: int | None = None) -> bookings.BookingInput:
        start = self.start if start is None else start
        day = day or self.day
        return bookings.BookingInput(
            listing_id=listing_id or self.world.listing_id, kind="one_off",
            start=bookings.local(day, time(start, 0)), end=bookings.local(day, time(start + 2, 0)))


def bring_to(case: Case, state: str) -> Case:
    """Make a booking for the case's holder and walk it to `state` through the services.

    States after delivery use a session three weeks ago: the clock is moved back to book it and
    forward to deliver it, and stays an hour after the session for the race.
    """
    past = state in ("past_funds_held", "delivered", "disputed", "settled", "delivered_due")
    if past:
        moment = datetime.now(UTC) - timedelta(days=28)
        case.day = (moment + timedelta(days=7)).date()
        set_clock(moment)
    else:
        moment = None
    holder = case.holder
    if state == "none":
        return case
    booking = call(bookings.request_booking, holder, holder, case.request_input(), now=moment)
    case.booking_id = booking.id
    case.session_id = booking.sessions[0].id
    if state in ("requested", "awaiting_approval"):
        assert booking.state == state, booking.state
        return case
    booking = bookings.accept(case.provider, booking.id)
    assert booking.state == "funds_held", booking.state
    if state in ("funds_held", "paused", "past_funds_held"):
        if state == "paused":
            call(bookings.pause, holder, holder, reason="In hospital")
        if past:
            s = booking.sessions[0]
            case.now = s.end_at + timedelta(hours=1)
            set_clock(case.now)
        return case
    s = booking.sessions[0]
    delivered_at = s.end_at + timedelta(hours=1)
    set_clock(delivered_at)
    call(bookings.record_delivery, case.provider, s.id, actual_start=s.start_at,
         actual_end=s.end_at, now=delivered_at)
    case.now = delivered_at
    if state == "delivered_due":
        # The automatic confirmation is due: long past its 72 hours.
        case.now = delivered_at + timedelta(days=5)
        set_clock(case.now)
    elif state == "disputed":
        bookings.dispute_session(holder, holder, s.id, reason="The visit was short")
    elif state == "settled":
        bookings.confirm_session(holder, holder, s.id)
    return case


# The use cases that touch a booking, each run with objects loaded afresh by id.


def _session(c: Case):
    return next(s for s in c.booking().sessions if s.id == c.session_id)


def _webhook(c: Case):
    event = stripe.Event.construct_from(c.extra["event"], TEST_SECRET_KEY)
    return stripe_webhooks.process(event)


def _auto_confirm(c: Case):
    report = call(bookings.run_due, now=c.now)
    return report.auto_confirmed > 0  # False: it found nothing to confirm


ACTIONS: dict[str, Callable[[Case], object]] = {
    "request": lambda c: bookings.request_booking(
        c.holder, c.holder, c.request_input(start=c.start + 4)),
    "request_same_slot": lambda c: bookings.request_booking(
        c.user(c.other_holder_id), c.user(c.other_holder_id), c.request_input()),
    "approve": lambda c: bookings.approve(c.broker, c.booking_id, note="Agreed at review"),
    "refuse": lambda c: bookings.refuse_approval(c.broker, c.booking_id, note="Not in the plan"),
    "accept": lambda c: bookings.accept(c.provider, c.booking_id),
    "decline": lambda c: bookings.decline(c.provider, c.booking_id, reason="Not free after all"),
    "cancel_holder": lambda c: call(bookings.cancel_booking, c.holder, c.holder, c.booking_id,
                                    now=c.now),
    "cancel_provider": lambda c: call(bookings.cancel_booking, c.provider, None, c.booking_id,
                                      now=c.now),
    "pause": lambda c: call(bookings.pause, c.holder, c.holder, reason="In hospital"),
    "resume": lambda c: call(bookings.resume, c.holder, c.holder, now=c.now),
    "deliver": lambda c: call(bookings.record_delivery, c.provider, c.session_id,
                              actual_start=_session(c).start_at, actual_end=_session(c).end_at,
                              now=c.now),
    "confirm": lambda c: bookings.confirm_session(c.holder, c.holder, c.session_id),
    "dispute": lambda c: bookings.dispute_session(c.holder, c.holder, c.session_id,
                                                  reason="Only one hour happened"),
    "no_show_by_provider": lambda c: call(bookings.report_no_show, c.holder, c.holder,
                                          c.session_id, now=c.now),
    "no_show_by_holder": lambda c: call(bookings.report_no_show, c.provider, None, c.session_id,
                                        now=c.now),
    "resolve_full_refund": lambda c: bookings.resolve_dispute(c.broker, c.session_id,
                                                              outcome="full_refund"),
    "resolve_no_refund": lambda c: bookings.resolve_dispute(c.broker, c.session_id,
                                                            outcome="no_refund"),
    "refund": lambda c: card_payments.refund_session(c.broker, c.session_id, 2000,
                                                     reason="Arrived late"),
    "auto_confirm": _auto_confirm,
    "webhook": _webhook,
}



Outcome = str  # "ok", "refused: <code>", or "error: <exception>" (a bug)


def race(app, actions: list[Callable[[], object]]) -> list[Outcome]:
    """Run each action on its own thread, app context and connection, released together."""
    barrier = threading.Barrier(len(actions))
    outcomes: list[Outcome] = [""] * len(actions)

    def run(i: int, fn: Callable[[], object]) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                result = fn()
                outcomes[i] = "ok" if result is not False else "refused: nothing to do"
            except DomainError as err:
                db.session.rollback()
                outcomes[i] = f"refused: {getattr(err, 'code', '')} {err.message}"
            except Exception as err:  # noqa: BLE001  (a crash is an outcome the test reports)
                db.session.rollback()
                outcomes[i] = f"error: {type(err).__name__}: {err}".splitlines()[0][:300]
                traceback.print_exc()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(actions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return outcomes


def check_ledger(app) -> ledger_check.rules.Report:
    with app.app_context():
        try:
            return ledger_check.run()
        finally:
            db.session.remove()


@contextmanager
def scenario(app, marks: Marks) -> Iterator[None]:
    """Inside the app context for set-up; afterwards the clock is real again and every row the
    scenario wrote is deleted."""
    try:
        yield
    finally:
        set_clock(None)
        with app.app_context():
            db.session.remove()
        marks.rewind()
