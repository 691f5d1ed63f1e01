"""One use case, one commit (convention 5), counted with a SQLAlchemy `after_commit` listener on
PostgreSQL with real commits, for every public booking use case: exactly one on council-managed
budgets. On card bookings every call to Stripe (seen by a proxy in front of localstripe) comes
after the use case's one commit of its own rows (booking, sessions, ledger, pause): nothing is
asked of Stripe while its transaction is open. The card step that runs after it commits its own
records of each call and their results, as it must."""

# ruff: noqa: F811  (pytest fixtures imported from tests.stripe_support are used as arguments)
from __future__ import annotations

import pytest

from app.domain.access import Role
from app.extensions import db
from app.services import bookings, ledger
from tests.fault_support import counting_commits, stripe_proxy
from tests.ledger_helpers import key
from tests.race_support import (
    ACTIONS,
    Case,
    Marks,
    bring_to,
    committed_app,
    holder,
    make_user,
    make_world,
    scenario,
)
from tests.stripe_support import localstripe_server, localstripe_url  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.database, pytest.mark.postgres_only]

COUNCIL, CARD = "council_managed", "direct_payment"

# use case -> (the state it starts from, the action that calls it, funding modes)
USE_CASES = {
    "request_booking": ("none", "request", (COUNCIL, CARD)),
    "arrange_booking": ("none", "arrange", (COUNCIL, CARD)),
    "approve": ("awaiting_approval", "approve", (COUNCIL,)),
    "refuse_approval": ("awaiting_approval", "refuse", (COUNCIL,)),
    "accept": ("requested", "accept", (COUNCIL, CARD)),
    "decline": ("requested", "decline", (COUNCIL, CARD)),
    "retry_funding": ("payment_failed", "retry_funding", (COUNCIL,)),
    "cancel_booking by the holder": ("funds_held", "cancel_holder", (COUNCIL, CARD)),
    "cancel_booking by the provider": ("funds_held", "cancel_provider", (COUNCIL, CARD)),
    "pause": ("funds_held", "pause", (COUNCIL, CARD)),
    "resume": ("paused", "resume", (COUNCIL, CARD)),
    "record_delivery": ("past_funds_held", "deliver", (COUNCIL, CARD)),
    "report_no_show": ("past_funds_held", "no_show_by_holder", (COUNCIL, CARD)),
    "confirm_session": ("delivered", "confirm", (COUNCIL, CARD)),
    "dispute_session": ("delivered", "dispute", (COUNCIL, CARD)),
    "resolve_dispute": ("disputed", "resolve_no_refund", (COUNCIL, CARD)),
    "run_due (one automatic confirmation)": ("delivered_due", "auto_confirm", (COUNCIL, CARD)),
    "card_payments.refund_session": ("settled", "refund", (CARD,)),
}


def _arrange(c: Case):
    return bookings.arrange_booking(c.broker, c.holder_id, c.request_input(start=c.start + 4),
                                    options_offered=[c.world.other_listing_id],
                                    options_note="Also offered the other agency")


@pytest.fixture(scope="module")
def counted(app, tmp_path_factory, localstripe_url):
    with stripe_proxy(localstripe_url) as proxy:
        racing = committed_app(tmp_path_factory.mktemp("commits"), stripe_url=proxy.url)
        before = Marks()
        with racing.app_context():
            world = make_world()
            db.session.remove()
        after_world = Marks()
        try:
            yield racing, world, after_world, proxy
        finally:
            with racing.app_context():
                db.engine.dispose()
            before.rewind()
            before.close()
            after_world.close()


@pytest.mark.parametrize(
    ("use_case", "mode"),
    [pytest.param(name, mode, id=f"{name}:{'card' if mode == CARD else 'council'}")
     for name, (_, _, modes) in USE_CASES.items() for mode in modes],
)
def test_each_use_case_commits_exactly_once(counted, use_case, mode):
    app, world, marks, proxy = counted
    start, action, _ = USE_CASES[use_case]
    with scenario(app, marks):
        with app.app_context():
            case = Case(world, mode, holder(mode, stripe_url=proxy.url,
                                            outside_plan=start == "awaiting_approval",
                                            funded=5000 if start == "payment_failed" else 100_000))
            bring_to(case, "requested" if start == "payment_failed" else start)
            if start == "payment_failed":
                # Another booking takes most of the £50 first, so this one's hold fails...
                first = bookings.request_booking(case.holder, case.holder,
                                                 case.request_input(start=case.start + 4))
                bookings.accept(case.provider, first.id)
                assert bookings.accept(case.provider, case.booking_id).state == "payment_failed"
                # ... until the council pays the next instalment in.
                ledger.allocate(case.booking().budget_id, 100_000, idempotency_key=key("topup"),
                                actor=make_user(Role.COUNCIL_ADMIN))
                db.session.commit()
            db.session.remove()
            fn = {"arrange": _arrange,
                  "retry_funding": lambda c: bookings.retry_funding(c.holder, c.holder,
                                                                    c.booking_id)
                  }.get(action) or ACTIONS[action]
            proxy.reset()
            with counting_commits(proxy) as counter:
                result = fn(case)
            db.session.remove()
        assert result is not False, f"{use_case} found nothing to do"
        if mode == COUNCIL:
            assert counter.commits == 1, f"{use_case} committed {counter.commits} times"
        else:
            # Stripe is called after the use case's one commit (by its card step); the gateway's
            # own record of each call, committed just before it, is not the use case's.
            assert counter.use_case_commits_before_stripe() == 1, (
                f"{use_case} committed its rows {counter.use_case_commits_before_stripe()} times "
                f"before its first Stripe call (want exactly once): {counter.events}")
