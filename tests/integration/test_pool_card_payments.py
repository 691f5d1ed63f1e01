"""Group (pooled) sessions where participants pay by card, against a real localstripe: each
card-paying participant's share is authorised on their own card when they join (the organiser's
with the request), captured from it on confirmed delivery (only their part of the charge when a
dispute is settled with a refund), and released when the group session is called off, declined,
cancelled or not delivered. A card that refuses gives the place and its hold back. The ledger
check agrees with the cards after each."""

# ruff: noqa: F811  (pytest fixtures imported from tests.stripe_support are used as arguments)
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.domain.access import Role
from app.domain.ledger import Account
from app.domain.payments import PaymentLimitExceeded
from app.errors import Conflict
from app.extensions import db
from app.models import AuditEvent, Booking, CardStep, Notification, Payment, PoolParticipant
from app.services import bookings, card_payments, card_steps, ledger, ledger_check
from tests.booking_helpers import at, holder_with_budget, live_listing, next_weekday
from tests.stripe_support import (  # noqa: F401  (fixtures)
    DECLINED_ON_CHARGE,
    TEST_SECRET_KEY,
    connect_stub,
    localstripe_server,
    localstripe_url,
    new_card,
    stripe_api,
    unused_port,
)

pytestmark = pytest.mark.database

TOTAL = 6000  # £30 an hour for two hours, shared
MOST_EACH = 3000  # split between the minimum of two


@pytest.fixture
def stripe_config(app, app_ctx, localstripe_url, connect_stub, monkeypatch):
    for name, value in {
        "STRIPE_SECRET_KEY": TEST_SECRET_KEY,
        "STRIPE_API_BASE": localstripe_url,
        "STRIPE_CONNECT_API_BASE": connect_stub.url,
        "STRIPE_MAX_NETWORK_RETRIES": 0,
        "STRIPE_TIMEOUT_SECONDS": 5,
    }.items():
        monkeypatch.setitem(app.config, name, value)
    return app.config


@pytest.fixture
def world(stripe_config, make_user, stripe_api):
    """A group provider; Ann and Bea pay by card, Cal's budget is council-managed (no card)."""
    provider, listing = live_listing(make_user, price="30.00", minimum_units=1)
    ann, ann_budget = holder_with_budget(make_user, mode="direct_payment")
    bea, bea_budget = holder_with_budget(make_user, mode="direct_payment")
    cal, cal_budget = holder_with_budget(make_user)
    for person in (ann, bea):
        card_payments.add_card(person, person, new_card(stripe_api))
    return {"provider": provider, "listing": listing, "ann": ann, "bea": bea, "cal": cal,
            "budgets": {"ann": ann_budget, "bea": bea_budget, "cal": cal_budget}}


def _pool(world) -> Booking:
    day = next_weekday(2)
    return bookings.request_booking(world["ann"], world["ann"], bookings.BookingInput(
        world["listing"].id, kind="pooled", start=at(day, 10), end=at(day, 12),
        min_participants=2, max_participants=3, join_deadline=at(day, 9) - timedelta(days=2)))


def _full_pool(world) -> Booking:
    """Ann's group session with Bea and Cal in, accepted and decided: £20 each."""
    pool = _pool(world)
    for who in ("bea", "cal"):
        bookings.join_pool(world[who], world[who], pool.id)
    bookings.accept(world["provider"], pool.id)
    assert bookings.run_due(now=pool.join_deadline + timedelta(minutes=1)).pools_run == 1
    return db.session.get(Booking, pool.id)


def _place(pool: Booking, who) -> PoolParticipant:
    return db.session.scalar(select(PoolParticipant).where(
        PoolParticipant.booking_id == pool.id, PoolParticipant.holder_id == who.id))


def _payment(pool: Booking, who) -> Payment | None:
    return card_payments.session_payment(pool.sessions[0].id, _place(pool, who).id)


def _intent(stripe_api, payment: Payment):
    return stripe_api.v1.payment_intents.retrieve(payment.stripe_payment_intent_id)


def _taken(stripe_api, payment: Payment) -> int:
    """What the card was actually charged, net (localstripe records a partial capture as a full
    charge plus a refund of the rest)."""
    charge = stripe_api.v1.charges.retrieve(payment.stripe_charge_id)
    return charge.amount - charge.amount_refunded if charge.captured else 0


def _balance(world, who, account: Account) -> int:
    return ledger.balances(world["budgets"][who].id)[account]


def _whose(event: AuditEvent) -> int:
    """Whose money an audit event moved (stored as on_behalf_of only when not the actor)."""
    return event.on_behalf_of_id or event.actor_id


def _agrees() -> None:
    report = ledger_check.run()
    assert report.ok, "\n".join(str(d) for d in report.disagreements)


def _deliver(world, pool: Booking):
    s = pool.sessions[0]
    return bookings.record_delivery(world["provider"], s.id, actual_start=s.start_at,
                                    actual_end=s.end_at, now=s.end_at)


def test_each_card_paying_participants_share_is_authorised_on_their_own_card(world, stripe_api):
    pool = _pool(world)
    ann_pays = _payment(pool, world["ann"])
    assert (ann_pays.status, ann_pays.authorised_pence, ann_pays.payer_id) == (
        "authorised", MOST_EACH, world["ann"].id)
    assert _intent(stripe_api, ann_pays).status == "requires_capture"

    bookings.join_pool(world["bea"], world["bea"], pool.id)
    bookings.join_pool(world["cal"], world["cal"], pool.id)
    bea_pays = _payment(pool, world["bea"])
    assert (bea_pays.status, bea_pays.authorised_pence, bea_pays.payer_id) == (
        "authorised", MOST_EACH, world["bea"].id)
    bea_card = card_payments.card_for_budget(world["budgets"]["bea"].id)
    assert bea_pays.stripe_customer_id == bea_card.stripe_customer_id
    assert _payment(pool, world["cal"]) is None  # council-managed: the ledger only
    assert [_balance(world, w, Account.HELD) for w in ("ann", "bea", "cal")] == [MOST_EACH] * 3
    authorised = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "booking.pool_card_authorised")).all()
    assert {(e.actor_id, _whose(e)) for e in authorised} == {
        (world["ann"].id, world["ann"].id), (world["bea"].id, world["bea"].id)}
    _agrees()


def test_confirmed_delivery_takes_each_share_from_its_own_card(world, stripe_api):
    pool = _full_pool(world)
    _deliver(world, pool)
    bookings.confirm_session(world["ann"], world["ann"], pool.sessions[0].id)

    for who in ("ann", "bea"):
        payment = _payment(pool, world[who])
        assert (payment.status, payment.captured_pence) == ("captured", TOTAL // 3)
        assert _taken(stripe_api, payment) == TOTAL // 3
    assert [_balance(world, w, Account.SPENT) for w in ("ann", "bea", "cal")] == [TOTAL // 3] * 3
    assert [_balance(world, w, Account.HELD) for w in ("ann", "bea", "cal")] == [0] * 3
    captured = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "booking.card_captured")).all()
    assert sorted(_whose(e) for e in captured) == sorted(
        [world["ann"].id, world["bea"].id])
    assert all(e.actor_id == world["ann"].id for e in captured)  # Ann confirmed for the group
    assert not db.session.scalars(select(CardStep).where(CardStep.status != "done")).all()
    _agrees()


def test_a_dispute_settled_with_a_refund_takes_only_each_ones_part_of_the_charge(
        world, stripe_api, make_user):
    pool = _full_pool(world)
    s = _deliver(world, pool)
    bookings.dispute_session(world["ann"], world["ann"], s.id, reason="Half the time missing")
    bookings.resolve_dispute(make_user(Role.BROKER), s.id, outcome="partial_refund", refund_pence=3000)

    for who in ("ann", "bea"):
        payment = _payment(pool, world[who])
        assert (payment.status, payment.captured_pence) == ("captured", 1000)
        assert _taken(stripe_api, payment) == 1000
    assert [_balance(world, w, Account.SPENT) for w in ("ann", "bea", "cal")] == [1000] * 3
    assert [_balance(world, w, Account.HELD) for w in ("ann", "bea", "cal")] == [0] * 3
    _agrees()


def test_a_full_refund_takes_nothing_from_anyone_and_releases_the_cards(
        world, stripe_api, make_user):
    pool = _full_pool(world)
    s = _deliver(world, pool)
    bookings.dispute_session(world["ann"], world["ann"], s.id, reason="Nobody came")
    bookings.resolve_dispute(make_user(Role.BROKER), s.id, outcome="full_refund")

    for who in ("ann", "bea"):
        payment = _payment(pool, world[who])
        assert (payment.status, payment.captured_pence) == ("canceled", 0)
        assert _intent(stripe_api, payment).status == "canceled"
    assert [_balance(world, w, Account.SPENT) for w in ("ann", "bea", "cal")] == [0] * 3
    assert [_balance(world, w, Account.HELD) for w in ("ann", "bea", "cal")] == [0] * 3
    _agrees()


def test_cancelling_the_group_session_gives_every_card_its_authorisation_back(
        world, stripe_api):
    pool = _pool(world)
    bookings.join_pool(world["bea"], world["bea"], pool.id)
    bookings.accept(world["provider"], pool.id)
    bookings.cancel_booking(world["ann"], world["ann"], pool.id, reason="Venue closed")

    for who in ("ann", "bea"):
        payment = _payment(pool, world[who])
        assert payment.status == "canceled"
        assert _intent(stripe_api, payment).status == "canceled"
        assert _balance(world, who, Account.HELD) == 0
    released = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "booking.card_released")).all()
    assert sorted(_whose(e) for e in released) == sorted(
        [world["ann"].id, world["bea"].id])
    _agrees()


def test_a_pool_that_does_not_fill_or_is_declined_releases_the_cards(world, stripe_api):
    lonely = _pool(world)
    assert bookings.run_due(now=lonely.join_deadline + timedelta(minutes=1)).pools_released == 1
    assert _payment(lonely, world["ann"]).status == "canceled"

    declined = bookings.request_booking(world["bea"], world["bea"], bookings.BookingInput(
        world["listing"].id, kind="pooled", start=at(next_weekday(3), 10),
        end=at(next_weekday(3), 12), min_participants=2, max_participants=3,
        join_deadline=at(next_weekday(3), 9) - timedelta(days=2)))
    bookings.decline(world["provider"], declined.id, reason="Fully booked")
    assert _payment(declined, world["bea"]).status == "canceled"
    assert _balance(world, "bea", Account.HELD) == 0
    _agrees()


def test_a_provider_no_show_releases_every_share_and_card(world, stripe_api):
    pool = _full_pool(world)
    s = pool.sessions[0]
    bookings.report_no_show(world["ann"], world["ann"], s.id,
                            now=s.start_at + timedelta(minutes=30))
    for who in ("ann", "bea"):
        assert _payment(pool, world[who]).status == "canceled"
    assert [_balance(world, w, Account.HELD) for w in ("ann", "bea", "cal")] == [0] * 3
    assert [_balance(world, w, Account.SPENT) for w in ("ann", "bea", "cal")] == [0] * 3
    _agrees()


def test_a_declined_card_gives_the_place_and_its_hold_back(world, stripe_api):
    bea = world["bea"]
    card_payments.add_card(bea, bea, new_card(stripe_api, DECLINED_ON_CHARGE))
    pool = _pool(world)
    bookings.join_pool(bea, bea, pool.id)

    place = _place(pool, bea)
    assert place.state == "released"
    assert _balance(world, "bea", Account.HELD) == 0
    assert _payment(pool, bea).status == "declined"
    assert db.session.scalar(select(Notification.event).where(
        Notification.user_id == bea.id)) == "payment_failed"
    refused = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "booking.pool_card_refused"))
    assert _whose(refused) == bea.id
    # Her place does not count: Cal's join makes two, and the group runs with Ann and Cal.
    bookings.join_pool(world["cal"], world["cal"], pool.id)
    with pytest.raises(Conflict, match="given back"):
        bookings.join_pool(bea, bea, pool.id)
    bookings.accept(world["provider"], pool.id)
    assert bookings.run_due(now=pool.join_deadline + timedelta(minutes=1)).pools_run == 1
    assert {p.holder_id: p.share_pence for p in _pool_places(pool) if p.state == "joined"} == {
        world["ann"].id: TOTAL // 2, world["cal"].id: TOTAL // 2}
    _agrees()


def _pool_places(pool: Booking) -> list[PoolParticipant]:
    return list(db.session.scalars(select(PoolParticipant).where(
        PoolParticipant.booking_id == pool.id)))


def test_an_organisers_declined_card_calls_the_request_off(world, stripe_api):
    ann = world["ann"]
    card_payments.add_card(ann, ann, new_card(stripe_api, DECLINED_ON_CHARGE))
    pool = _pool(world)
    assert pool.state == "cancelled"
    assert _balance(world, "ann", Account.HELD) == 0
    assert _place(pool, ann).state == "released"
    _agrees()


def test_joining_without_a_card_is_refused_before_anything_is_held(world, make_user):
    dan, dan_budget = holder_with_budget(make_user, mode="direct_payment")
    pool = _pool(world)
    with pytest.raises(card_payments.NoCardOnFile) as refused:
        bookings.join_pool(dan, dan, pool.id)
    assert refused.value.field == "card"
    assert ledger.balances(dan_budget.id)[Account.HELD] == 0
    assert _place(pool, dan) is None


def test_stripe_down_at_join_leaves_the_share_waiting_until_reconcile(world, app, stripe_api):
    pool = _pool(world)
    live = app.config["STRIPE_API_BASE"]
    app.config["STRIPE_API_BASE"] = f"http://127.0.0.1:{unused_port()}"  # Stripe unreachable
    try:
        bookings.join_pool(world["bea"], world["bea"], pool.id)
    finally:
        app.config["STRIPE_API_BASE"] = live
    assert _place(pool, world["bea"]).state == "joined"  # held, waiting for the card
    assert _balance(world, "bea", Account.HELD) == MOST_EACH
    _agrees()  # between a commit and Stripe: not a disagreement

    card_steps.reconcile()  # `carefair payments reconcile`, from cron
    payment = _payment(pool, world["bea"])
    assert (payment.status, payment.authorised_pence) == ("authorised", MOST_EACH)
    assert _intent(stripe_api, payment).status == "requires_capture"
    assert card_steps.reconcile().steps.done == 0
    _agrees()


def test_a_brokers_refund_of_a_group_session_goes_back_to_each_who_paid(
        world, stripe_api, make_user):
    """A group session's refund used to be refused as 'nothing has been paid' (its money is in
    the participants' shares, not the session): a broker could not give any of it back."""
    pool = _full_pool(world)
    s = _deliver(world, pool)
    bookings.confirm_session(world["ann"], world["ann"], s.id)
    broker = make_user(Role.BROKER)

    card_payments.refund_session(broker, s.id, 3000, reason="The hall was unheated")
    for who in ("ann", "bea"):
        payment = _payment(pool, world[who])
        assert (payment.captured_pence, payment.refunded_pence) == (2000, 1000)
        assert _taken(stripe_api, payment) == 1000
    assert [_balance(world, w, Account.SPENT) for w in ("ann", "bea", "cal")] == [1000] * 3
    refunds = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "ledger.refund")).all()
    assert sorted((e.actor_id, e.on_behalf_of_id) for e in refunds) == sorted(
        (broker.id, world[w].id) for w in ("ann", "bea", "cal"))
    _agrees()

    with pytest.raises(PaymentLimitExceeded, match="only £30.00"):
        card_payments.refund_session(broker, s.id, 3001, reason="More than is left")
    card_payments.refund_session(broker, s.id, 3000, reason="The rest")
    assert [_balance(world, w, Account.SPENT) for w in ("ann", "bea", "cal")] == [0] * 3
    assert all(_taken(stripe_api, _payment(pool, world[w])) == 0 for w in ("ann", "bea"))
    _agrees()


@pytest.mark.parametrize("use_case", ["join_pool", "confirm_session", "cancel_booking",
                                      "refund_session"])
def test_each_group_use_case_commits_its_rows_once_before_any_card_call(
        world, app, localstripe_url, make_user, use_case):
    """Convention 5 for the participants' cards: the use case's own rows (places, holds,
    captures, states) are written in one commit, and Stripe is asked only after it."""
    from tests.fault_support import counting_commits, stripe_proxy

    broker = make_user(Role.BROKER)
    with stripe_proxy(localstripe_url) as proxy:
        app.config["STRIPE_API_BASE"] = proxy.url
        pool = _pool(world) if use_case == "join_pool" else _full_pool(world)
        s = pool.sessions[0]
        if use_case in ("confirm_session", "refund_session"):
            _deliver(world, pool)
        if use_case == "refund_session":
            bookings.confirm_session(world["ann"], world["ann"], s.id)
        act = {
            "join_pool": lambda: bookings.join_pool(world["bea"], world["bea"], pool.id),
            "confirm_session": lambda: bookings.confirm_session(world["ann"], world["ann"], s.id),
            "cancel_booking": lambda: bookings.cancel_booking(world["ann"], world["ann"],
                                                              pool.id),
            "refund_session": lambda: card_payments.refund_session(broker, s.id, 1500,
                                                                   reason="Cold hall"),
        }[use_case]
        proxy.reset()
        with counting_commits(proxy) as counter:
            act()
    assert any(e.startswith("stripe") for e in counter.events), counter.events
    assert counter.use_case_commits_before_stripe() == 1, counter.events


def test_the_provider_is_paid_each_card_share_and_a_waiting_one_once_they_can_be(
        world, stripe_api, connect_stub):
    pool = _full_pool(world)
    s = _deliver(world, pool)
    bookings.confirm_session(world["ann"], world["ann"], s.id)
    # Not set up for payouts yet: both shares wait, named on the brokers' list.
    waiting = card_payments.waiting_payouts()
    assert sorted(p.payment.payer_id for p in waiting) == sorted(
        [world["ann"].id, world["bea"].id])
    assert all(p.waiting_pence == TOTAL // 3 for p in waiting)

    card_payments.start_onboarding(world["provider"], refresh_url="http://x/refresh",
                                   return_url="http://x/return")
    assert card_payments.pay_waiting() == 2
    transfers = [r for r in connect_stub.requests if r.path == "/v1/transfers"]
    assert sorted(r.form["source_transaction"] for r in transfers) == sorted(
        _payment(pool, world[w]).stripe_charge_id for w in ("ann", "bea"))
    assert all(r.form["amount"] == str(TOTAL // 3) for r in transfers)
    assert card_payments.waiting_payouts() == []
    assert card_payments.pay_waiting() == 0  # paid once
