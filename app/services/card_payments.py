"""Card payments for direct_payment bookings: card on file, authorise, capture, refund, payouts.

How it fits the booking service
-------------------------------
* Only bookings whose budget is `direct_payment` use a card (`uses_card`); council_managed and
  the other modes never reach Stripe. Pooled and free bookings are ledger-only.
* Each session gets its own PaymentIntent (manual capture), because the ledger holds, confirms,
  disputes and cancels per session and a PaymentIntent can be captured only once.
* Every function here calls the gateway BETWEEN transactions (the gateway commits its own
  records) and then commits its own link rows and audit events. The booking service calls them
  where it moves ledger money: the card step comes first when money is taken or released (so a
  Stripe failure leaves the ledger untouched and the same call can be retried), and after the
  ledger hold when money is reserved (so a declined card releases the hold: never booked but not
  funded).
* Idempotency keys are derived from booking, session, payment and operation. An authorisation
  whose outcome is unknown (Stripe unreachable) is retried with its original key, so a retry can
  never authorise twice; an authorisation left over from a failed round is reused, not repeated.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TypedDict

from flask import current_app
from sqlalchemy import select

from app.adapters import stripe_checkout
from app.adapters.stripe_gateway import (
    TRANSFER_CREATE,
    TRANSFER_REVERSE,
    PaymentGateway,
    operation,
    refused_attempts,
    transfers_of,
)
from app.domain import payments as rules
from app.domain.errors import InvariantBroken
from app.domain.payments import NOT_SET_UP_MESSAGE, CardPaymentsNotSetUp, PaymentError
from app.errors import DomainError, InvalidInput, NotFound
from app.extensions import db
from app.models import (
    AuditEvent,
    Booking,
    BookingSession,
    Budget,
    BudgetCard,
    Payment,
    PoolParticipant,
    ProviderPaymentAccount,
    SessionCardPayment,
    User,
)
from app.services import audit, budgets, ledger, stripe_webhooks

CARD_MODE = "direct_payment"
NO_CARD_MESSAGE = (
    "There is no card saved to pay for this booking, so nothing has been taken and the "
    "booking is not confirmed. Add a card, then try again."
)


NO_CARD_BEFORE_REQUEST = (
    "There is no card saved for this budget yet. Bookings from it are paid by card, so add a "
    "card before asking for a paid booking."
)


class NoCardOnFile(PaymentError):
    status_code = 409
    code = "no_card"


def _booking(booking_id: int) -> Booking:
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        raise NotFound("We could not find that booking.")
    return booking


def _session(session_id: int) -> BookingSession:
    s = db.session.get(BookingSession, session_id)
    if s is None:
        raise NotFound("We could not find that session.")
    return s


def _payment(payment_id: int | None) -> Payment:
    payment = db.session.get(Payment, payment_id) if payment_id is not None else None
    if payment is None:
        raise NotFound("That payment does not exist.")
    return payment


def gateway() -> PaymentGateway:
    """The configured gateway; PaymentUnavailable if card payments are not set up."""
    return PaymentGateway.from_config(current_app.config)


def uses_card(booking: Booking) -> bool:
    """Whether the booking's own sessions are paid by the holder's card. A pooled booking's
    sessions are not: each participant's share is, when their budget pays by card
    (`share_uses_card`)."""
    return (
        booking.funding_mode == CARD_MODE
        and booking.kind not in ("meet_and_greet", "pooled")
        and booking.total_pence > 0
    )


def share_uses_card(part: PoolParticipant) -> bool:
    """Whether a participant's share of a pooled session is paid by their own card: their
    budget is direct_payment (whatever the organiser's is) and the share costs something."""
    budget = db.session.get(Budget, part.budget_id)
    return budget is not None and budget.funding_mode == CARD_MODE and part.held_pence > 0


def _participant(participant_id: int | None) -> PoolParticipant | None:
    if participant_id is None:
        return None
    part = db.session.get(PoolParticipant, participant_id)
    if part is None:
        raise NotFound("We could not find that place in the group session.")
    return part


# ---------------------------------------------------------------- the card on file


def payments_set_up() -> bool:
    """Whether this Carefair has a card payment service (a Stripe key) at all."""
    return bool(current_app.config.get("STRIPE_SECRET_KEY"))


def card_problem(budget: Budget | None) -> PaymentError | None:
    """Why a paid booking from this budget could not be paid by card now (field "card"), or
    None: a budget not paid by card, or a saved card with card payments set up."""
    if budget is None or budget.funding_mode != CARD_MODE:
        return None
    if not payments_set_up():
        return CardPaymentsNotSetUp(NOT_SET_UP_MESSAGE, field="card")
    card = card_for_budget(budget.id)
    if card is None or card.stripe_payment_method_id is None:
        return NoCardOnFile(NO_CARD_BEFORE_REQUEST, field="card")
    return None


def holder_card_problem(holder_id: int) -> PaymentError | None:
    """card_problem for the holder's current budget, for the booking form's warning."""
    return card_problem(budgets.current_budget(holder_id))


def check_can_pay(budget: Budget | None, *, kind: str, total_pence: int) -> None:
    """Refuse a booking request that could only fail once the provider accepts.

    Raises CardPaymentsNotSetUp, NoCardOnFile (both with field "card").
    """
    if kind == "meet_and_greet" or total_pence <= 0:
        return  # free
    # A pooled booking: total_pence is this holder's share, held (and authorised on their
    # card) when they join, so a card budget needs its card now.
    problem = card_problem(budget)
    if problem is not None:
        raise problem


def check_ready(booking: Booking) -> None:
    """Before any ledger hold: refuse at once when the card cannot be used at all, so a retry
    that cannot work leaves no set-aside-and-given-back pair on the budget statement.

    Raises CardPaymentsNotSetUp, NoCardOnFile.
    """
    if not uses_card(booking):
        return
    budget = db.session.get(Budget, booking.budget_id) if booking.budget_id else None
    problem = card_problem(budget)
    if isinstance(problem, NoCardOnFile):
        raise NoCardOnFile(NO_CARD_MESSAGE, field="payment_method")
    if problem is not None:
        raise problem


def card_for_budget(budget_id: int | None) -> BudgetCard | None:
    if budget_id is None:
        return None
    return db.session.scalar(select(BudgetCard).where(BudgetCard.budget_id == budget_id))


def _card_budget(holder: User):
    budget = budgets.current_budget(holder.id)
    if budget is None:
        raise InvalidInput("There is no budget to pay from yet.", field="card")
    if budget.funding_mode != CARD_MODE:
        raise InvalidInput(
            "This budget is not paid by card: the council pays providers directly.", field="card"
        )
    return budget


def _customer(gw: PaymentGateway, actor: User, holder: User, budget) -> BudgetCard:
    """The budget's card row with a Stripe customer, creating both if needed (commits)."""
    row = card_for_budget(budget.id)
    if row is not None:
        return row
    earlier = db.session.scalar(
        select(BudgetCard).where(BudgetCard.holder_id == holder.id).order_by(BudgetCard.id.desc())
    )
    if earlier is not None:
        customer_id = earlier.stripe_customer_id  # one Stripe customer per person
    else:
        customer = gw.create_customer(user=holder, idempotency_key=f"holder{holder.id}-customer")
        if not (customer.stripe_id is not None):
            raise InvariantBroken("a customer Stripe created always has its cus_ id")
        customer_id = customer.stripe_id
    row = BudgetCard(
        budget_id=budget.id,
        holder_id=holder.id,
        stripe_customer_id=customer_id,
        added_by_id=actor.id,
    )
    db.session.add(row)
    db.session.commit()
    return row


def _save_card(actor: User, holder: User, row: BudgetCard, details) -> BudgetCard:
    fresh = db.session.get(BudgetCard, row.id)
    # Committed by _customer() just before, and card rows are never deleted.
    if not (fresh is not None):
        raise InvariantBroken("expected: fresh is not None")
    row = fresh
    row.stripe_payment_method_id = details.payment_method_id
    row.brand, row.last4 = details.brand, details.last4
    row.added_by_id = actor.id
    audit.record(
        actor,
        "card.saved",
        "budget",
        row.budget_id,
        on_behalf_of=holder,
        details={"brand": details.brand, "last4": details.last4},
    )
    db.session.commit()
    return row


def add_card(actor: User, holder: User, payment_method_id: str) -> BudgetCard:
    """Save a card (a PaymentMethod id from Stripe) as the budget's card for bookings.

    Raises InvalidInput (not a card budget), PaymentDeclined (the bank refused to save it),
    PaymentUnavailable.
    """
    budget = _card_budget(holder)
    gw = gateway()
    row = _customer(gw, actor, holder, budget)
    gw.attach_payment_method(
        customer_id=row.stripe_customer_id,
        payment_method_id=payment_method_id,
        idempotency_key=f"budget{budget.id}-attach-{payment_method_id}",
    )
    return _save_card(actor, holder, row, stripe_checkout.card_details(gw, payment_method_id))


def start_card_setup(actor: User, holder: User, *, success_url: str, cancel_url: str) -> str:
    """Start Stripe Checkout (setup mode) to save a card; returns the URL to send the holder to."""
    budget = _card_budget(holder)
    gw = gateway()
    row = _customer(gw, actor, holder, budget)
    return stripe_checkout.create_setup_session(
        gw,
        customer_id=row.stripe_customer_id,
        success_url=success_url,
        cancel_url=cancel_url,
        idempotency_key=f"budget{budget.id}-checkout-{secrets.token_hex(8)}",
    )


def finish_card_setup(actor: User, holder: User, checkout_session_id: str) -> BudgetCard:
    """Record the card a finished Checkout Session saved.

    Raises InvalidInput, PaymentUnavailable.
    """
    budget = _card_budget(holder)
    row = card_for_budget(budget.id)
    if row is None or not checkout_session_id:
        raise InvalidInput("We could not find the card you added. Try again.", field="card")
    gw = gateway()
    try:
        method = stripe_checkout.completed_setup_card(
            gw, checkout_session_id=checkout_session_id, customer_id=row.stripe_customer_id
        )
        details = stripe_checkout.card_details(gw, method)
    except ValueError:
        raise InvalidInput("The card was not saved. Try again.", field="card") from None
    return _save_card(actor, holder, row, details)


# ---------------------------------------------------------------- authorising at acceptance


def _rows(session_id: int, participant_id: int | None = None) -> list[SessionCardPayment]:
    """The session's card payment rows: the booking holder's (participant_id None), or one pool
    participant's for their share."""
    owner = (SessionCardPayment.participant_id.is_(None) if participant_id is None
             else SessionCardPayment.participant_id == participant_id)
    return list(
        db.session.scalars(
            select(SessionCardPayment)
            .where(SessionCardPayment.session_id == session_id, owner)
            .order_by(SessionCardPayment.id)
        )
    )


def _payment_of(row: SessionCardPayment | None) -> Payment | None:
    if row is None:
        return None
    if row.payment_id is not None:
        return db.session.get(Payment, row.payment_id)
    op = operation(row.authorise_key)  # recorded, but we stopped before linking it
    return db.session.get(Payment, op.payment_id) if op and op.payment_id else None


def session_payment(session_id: int, participant_id: int | None = None) -> Payment | None:
    """The session's latest card payment (of the pool participant's share, if given), if any."""
    rows = _rows(session_id, participant_id)
    return _payment_of(rows[-1]) if rows else None


class _AuthoriseRequest(TypedDict):
    """The request PaymentGateway.authorise is given (besides who pays and the key)."""

    amount_pence: int
    customer_id: str
    payment_method_id: str
    reference: str


def _authorise(
    gw: PaymentGateway,
    booking: Booking,
    s: BookingSession,
    amount: int,
    new_key: str,
    actor: User | None,
    part: PoolParticipant | None = None,
) -> tuple[Payment, bool]:
    """An authorised payment of at least `amount` for the session (for the pool participant's
    share from their own card, if given); True if made by this call."""
    rows = _rows(s.id, part.id if part is not None else None)
    latest = rows[-1] if rows else None
    payment = _payment_of(latest)
    if (
        payment is not None
        and payment.status == rules.AUTHORISED
        and payment.authorised_pence >= amount
    ):
        return payment, False  # left over from an earlier round: reuse, never repeat
    holder = part.holder if part is not None else booking.holder
    budget_id = part.budget_id if part is not None else booking.budget_id
    provider = booking.provider_profile.user
    # `payment` is `latest`'s payment, so it is None whenever `latest` is.
    if (
        latest is not None
        and payment is not None
        and payment.status in (rules.PENDING, rules.UNAVAILABLE)
    ):
        # Outcome unknown: ask again with the SAME key and request, so Stripe cannot do it twice.
        key, params = (
            latest.authorise_key,
            _AuthoriseRequest(
                amount_pence=payment.amount_pence,
                customer_id=payment.stripe_customer_id,
                payment_method_id=payment.stripe_payment_method_id,
                reference=payment.reference,
            ),
        )
    else:
        card = card_for_budget(budget_id)
        if card is None or card.stripe_payment_method_id is None:
            raise NoCardOnFile(NO_CARD_MESSAGE, field="payment_method")
        key = new_key
        if latest is None or latest.authorise_key != key:
            latest = SessionCardPayment(
                booking_id=booking.id,
                session_id=s.id,
                participant_id=part.id if part is not None else None,
                hold_round=booking.hold_round,
                authorise_key=key,
            )
            db.session.add(latest)
            db.session.commit()  # the key is on record before Stripe is asked
        params = _AuthoriseRequest(
            amount_pence=amount,
            customer_id=card.stripe_customer_id,
            payment_method_id=card.stripe_payment_method_id,
            reference=f"booking:{booking.id}:session:{s.id}"
            + (f":place:{part.id}" if part is not None else ""),
        )
    row_id = latest.id
    try:
        result = gw.authorise(
            payer=holder, provider=provider, actor=actor, idempotency_key=key, **params
        )
    finally:
        _link(row_id)
    return _payment(result.payment_id), not result.replayed


def _link(row_id: int) -> None:
    db.session.rollback()  # nothing of ours is pending; start clean after the gateway's commits
    row = db.session.get(SessionCardPayment, row_id)
    if row is not None and row.payment_id is None:
        op = operation(row.authorise_key)
        if op is not None and op.payment_id is not None:
            row.payment_id = op.payment_id
            db.session.commit()


def authorise_sessions(booking_id: int, session_ids: list[int], actor: User | None) -> None:
    """Authorise each session's price on the budget's card (the ledger already holds it).

    On any refusal, authorisations made by this call are cancelled again and the refusal is
    raised: PaymentDeclined, PaymentUnavailable, NoCardOnFile, PaymentRefused.
    """
    booking = _booking(booking_id)
    if not uses_card(booking):
        return
    gw = gateway()
    made: list[int] = []
    try:
        for sid in session_ids:
            s = _session(sid)
            if s.price_pence <= 0:
                continue
            key = f"b{booking_id}-s{sid}-r{booking.hold_round}-card-authorise"
            payment, new = _authorise(gw, booking, s, s.price_pence, key, actor)
            if new:
                made.append(payment.id)
    except DomainError:
        for payment_id in made:
            _cancel_quietly(gw, booking_id, payment_id, actor)
        raise
    booking = _booking(booking_id)
    audit.record(
        actor,
        "booking.card_authorised",
        "booking",
        booking_id,
        on_behalf_of=booking.holder,
        details={"sessions": session_ids, "new_payments": made},
    )
    db.session.commit()


def authorise_share(booking_id: int, participant_id: int, actor: User | None) -> None:
    """Authorise a pool participant's held share on their own card (the ledger already holds
    it), for the group session. Raises PaymentDeclined, PaymentUnavailable, NoCardOnFile,
    PaymentRefused."""
    booking = _booking(booking_id)
    part = _participant(participant_id)
    if part is None or not share_uses_card(part) or not booking.sessions:
        return
    s = booking.sessions[0]  # a pooled booking is one group session
    key = f"b{booking_id}-s{s.id}-pp{part.id}-card-authorise"
    payment, new = _authorise(gateway(), booking, s, part.held_pence, key, actor, part)
    audit.record(
        actor,
        "booking.pool_card_authorised",
        "booking",
        booking_id,
        on_behalf_of=part.holder,
        details={"participant": part.id, "payment_id": payment.id,
                 "authorised_pence": payment.authorised_pence, "new": new},
    )
    db.session.commit()


def _cancel_quietly(gw, booking_id: int, payment_id: int, actor: User | None) -> None:
    """Release an authorisation; if Stripe is unreachable it stays authorised and is reused (or
    cancelled) next time, never repeated."""
    payment = _payment(payment_id)
    try:
        gw.cancel(
            payment_id=payment_id,
            idempotency_key=f"b{booking_id}-p{payment_id}-card-cancel",
            actor=actor,
        )
    except PaymentError:
        db.session.rollback()
        return
    booking = _booking(booking_id)
    audit.record(
        actor,
        "booking.card_released",
        "payment",
        payment.id,
        on_behalf_of=booking.holder,
        details={"booking_id": booking_id, "released_pence": payment.authorised_pence},
    )
    db.session.commit()


# ---------------------------------------------------------------- taking or releasing the money


def take_for_session(session_id: int, charge: int, actor: User | None,
                     participant_id: int | None = None) -> None:
    """Capture `charge` (0: cancel the authorisation) on the session's card payment (a pool
    participant's share's payment, if given).

    Run by a card step after the use case's commit; a failure leaves the step to retry. A
    lapsed authorisation is renewed (off-session) for the charge. Raises PaymentDeclined,
    PaymentUnavailable, PaymentRefused, NoCardOnFile.
    """
    s = _session(session_id)
    booking = s.booking
    part = _participant(participant_id)
    if not (share_uses_card(part) if part is not None else uses_card(booking)):
        return
    if not _rows(s.id, participant_id):
        # Funded before card payments were switched on (ledger only): no card to settle with.
        return
    payment = session_payment(s.id, participant_id)
    who = f"-pp{participant_id}" if participant_id is not None else ""
    if payment is not None and payment.status in (rules.CAPTURED, rules.REFUNDED):
        return  # done on an earlier attempt
    gw = gateway()
    if charge <= 0:
        if payment is not None and payment.status == rules.AUTHORISED:
            gw.cancel(
                payment_id=payment.id,
                idempotency_key=f"b{booking.id}-s{s.id}-p{payment.id}-card-cancel",
                actor=actor,
            )
            _audit_step(actor, booking, s, payment.id, "booking.card_released", 0,
                        participant_id)
        return
    if payment is None or payment.status != rules.AUTHORISED or payment.authorised_pence < charge:
        key = f"b{booking.id}-s{s.id}{who}-r{booking.hold_round}-card-reauthorise"
        payment, _ = _authorise(gw, booking, s, charge, key, actor, part)
    gw.capture(
        payment_id=payment.id,
        amount_pence=charge,
        idempotency_key=f"b{booking.id}-s{s.id}-p{payment.id}-card-capture",
        actor=actor,
    )
    _audit_step(actor, booking, s, payment.id, "booking.card_captured", charge, participant_id)


def _audit_step(actor, booking, s, payment_id: int, action: str, amount: int,
                participant_id: int | None = None) -> None:
    """Audit a card operation that ran, on behalf of whoever's card it was: the booking's holder,
    or the pool participant whose share it paid."""
    db.session.rollback()
    booking = db.session.get(Booking, booking.id)
    part = _participant(participant_id)
    details = {"booking_id": booking.id, "payment_id": payment_id, "amount_pence": amount}
    if part is not None:
        details["participant"] = part.id
    audit.record(
        actor,
        action,
        "booking_session",
        s.id,
        on_behalf_of=part.holder if part is not None else booking.holder,
        details=details,
    )
    db.session.commit()


@dataclass(frozen=True)
class RefundOutcome:
    payment: Payment | None  # None for a group session (each participant's card has its own)
    taken_back_pence: int  # reversed from the provider's payout by this refund
    still_to_take_back_pence: int  # paid out and refunded, not yet reversed (retried later)


def refund_session(broker: User, session_id: int, amount_pence: int, *, reason: str) -> RefundOutcome:
    """Give money back to the holder's card and budget after a session was paid (a broker's
    decision on a complaint). Never more than was taken and not yet refunded. If the provider
    had already been paid from it, the part refunded beyond what was still held is taken back
    from their payout (a transfer reversal), so Carefair never pays both the holder and the
    provider for the same money; if Stripe cannot do that now, it waits for `pay_waiting`.

    One transaction: the session's booking is locked, the ledger refund written and the card
    refund recorded as a card step (its key fixed now), then one commit; the card refund runs
    after the commit. A group session's refund is split between its participants the way their
    shares were, each from what they paid (their budget, and their own card if they paid by
    card). Raises InvalidInput, InsufficientFunds (more than is left to refund), NotFound
    (nothing refunded), NotPermitted (not a broker), ConflictOfInterest.
    """
    from app.services import card_steps, conflicts, transaction
    from app.services.bookings._common import _lock_session, _require_broker

    try:
        _require_broker(broker)
        if not (reason or "").strip():
            raise InvalidInput("Say why the money is being given back.", field="reason")
        s = _lock_session(session_id)
        # A refund takes back what the provider was paid: not for a broker conflicted with them.
        conflicts.refuse_if_conflicted(broker, s.provider_profile_id, "give refunds about them")
        if s.booking.kind == "pooled":
            _refund_pool(broker, s, amount_pence, reason.strip()[:300])
            transaction.commit()
            booking_id = s.booking_id
            card_steps.run(booking_id=booking_id)
            return RefundOutcome(None, 0, 0)
        payment = session_payment(s.id)
        if s.capture_id is None or payment is None or payment.captured_pence <= 0:
            raise InvalidInput("Nothing has been paid for this session yet.", field="amount")
        booking = s.booking
        # Keys from the ledger's state before this refund: a retry of a refusal (rolled back)
        # repeats the same keys; the ledger refuses more than was captured less refunds.
        already = payment.captured_pence - ledger.refundable(s.capture_id)
        suffix = f"refund-{already}-{amount_pence}"
        # What the ledger has refunded counts, card refund run or not: never beyond the capture.
        rules.check_refund(amount_pence, captured=payment.captured_pence, refunded=already)
        ledger.refund(
            s.capture_id,
            amount_pence,
            idempotency_key=f"s{s.id}-{suffix}",
            actor=broker,
            on_behalf_of=booking.holder,
            reason=reason.strip()[:300],
        )
        card_steps.record(booking, "refund", session=s, amount=amount_pence, actor=broker,
                          key=f"b{booking.id}-s{s.id}-p{payment.id}-card-{suffix}",
                          reason=reason.strip()[:300])
        transaction.commit()
    except BaseException:
        db.session.rollback()
        raise
    before = _payment(payment.id).transferred_pence
    card_steps.run(booking_id=booking.id)
    left = overpaid_pence(_payment(payment.id))
    return RefundOutcome(_payment(payment.id), before - _payment(payment.id).transferred_pence, left)


def _refund_pool(broker: User, s: BookingSession, amount_pence: int, reason: str) -> None:
    """A group session's refund, in the caller's transaction (the booking is locked): split
    between the participants who paid, as their shares were (split_shares), none given more
    than they paid and have not had back; ledger refunds and card refund steps per participant."""
    from app.domain.pooling import split_shares
    from app.models import LedgerTransaction
    from app.services import card_steps

    booking = s.booking
    paid = sorted((p for p in booking.participants if p.capture_id is not None),
                  key=lambda p: p.holder_id)
    if not paid:
        raise InvalidInput("Nothing has been paid for this session yet.", field="amount")
    captured = {p.id: db.session.get(LedgerTransaction, p.capture_id).amount_pence  # type: ignore[union-attr]
                for p in paid}
    left = {p.id: ledger.refundable(p.capture_id) for p in paid if p.capture_id is not None}
    rules.check_refund(amount_pence, captured=sum(captured.values()),
                       refunded=sum(captured.values()) - sum(left.values()))
    even = split_shares(amount_pence, [p.holder_id for p in paid])
    pieces = {p.id: min(even[p.holder_id], left[p.id]) for p in paid}
    over = amount_pence - sum(pieces.values())
    for p in paid:  # pennies one could not take go to those who can still have some back
        more = min(over, left[p.id] - pieces[p.id])
        pieces[p.id] += more
        over -= more
    for p in paid:
        piece = pieces[p.id]
        if piece <= 0 or p.capture_id is None:
            continue
        already = captured[p.id] - left[p.id]
        ledger.refund(p.capture_id, piece, idempotency_key=f"s{s.id}-pp{p.id}-refund-{already}-{piece}",
                      actor=broker, on_behalf_of=p.holder, reason=reason)
        payment = session_payment(s.id, p.id)
        if payment is not None:
            card_steps.record(booking, "refund", session=s, participant=p, amount=piece,
                              actor=broker, reason=reason,
                              key=f"b{booking.id}-s{s.id}-pp{p.id}-p{payment.id}-card-refund-"
                                  f"{already}-{piece}")


def _retry_suffix(payment_id: int, kind: str) -> str:
    """'' for a first attempt; '-retry<n>' after n attempts Stripe refused for good."""
    refused = refused_attempts(payment_id, kind)
    return f"-retry{refused}" if refused else ""


def overpaid_pence(payment: Payment) -> int:
    """What the provider was paid beyond what this payment still holds after refunds."""
    return max(payment.refunded_pence + payment.transferred_pence - payment.captured_pence, 0)


def take_back_overpaid(session_id: int, participant_id: int | None = None,
                       actor: User | None = None) -> int:
    """Reverse the provider's payout by what was refunded after it was paid, newest transfer
    first. Returns what is still to take back (0 when done). Never raises for a Stripe problem:
    the holder already has their money; the payment keeps the error and `pay_waiting` retries.
    """
    payment = session_payment(session_id, participant_id)
    if payment is None:
        return 0
    s = _session(session_id)
    excess = overpaid_pence(payment)
    # Keyed by how much has been refunded: a retry for the same refunds repeats the same keys.
    base = (f"b{s.booking_id}-s{s.id}-p{payment.id}-card-reverse-{payment.refunded_pence}"
            + _retry_suffix(payment.id, TRANSFER_REVERSE))
    for transfer_id, left in transfers_of(payment.id).items():
        if excess <= 0:
            break
        amount = min(left, excess)
        if amount <= 0:
            continue
        try:
            gateway().reverse_transfer(payment_id=payment.id, transfer_id=transfer_id,
                                       amount_pence=amount, idempotency_key=f"{base}-{transfer_id}",
                                       actor=actor)
        except (PaymentError, NotFound, InvalidInput):
            db.session.rollback()
            break
        _audit_step(actor, s.booking, s, payment.id, "booking.provider_payout_reversed", amount,
                    participant_id)
        excess -= amount
    return overpaid_pence(_payment(payment.id))


# ---------------------------------------------------------------- paying providers


@dataclass(frozen=True)
class Payout:
    payment: Payment
    waiting_pence: int
    reason: str
    provider_name: str


def pay_provider(session_id: int, actor: User | None, participant_id: int | None = None) -> str:
    """Transfer what a captured session payment (or a pool participant's share's payment) owes
    the provider to their connected account.

    Returns "paid", "waiting" (no connected account, or Stripe failed: retried later) or "none".
    Never raises for a payout problem: the holder's side is already settled.
    """
    payment = session_payment(session_id, participant_id)
    if payment is None or payment.status not in (rules.CAPTURED, rules.REFUNDED):
        return "none"
    owed = payment.captured_pence - payment.refunded_pence - payment.transferred_pence
    if owed <= 0:
        return "none"
    if payment.provider_id in _payouts_held_for():
        # A broker holds this provider's payouts (a safeguarding concern, an upheld flag): the
        # money waits, and the hourly pay-waiting job sends it once the hold is lifted.
        return "waiting"
    has_account = db.session.scalar(
        select(ProviderPaymentAccount.id).where(
            ProviderPaymentAccount.provider_id == payment.provider_id
        )
    )
    if has_account is None:
        return "waiting"
    s = _session(session_id)
    try:
        gateway().transfer_to_provider(
            payment_id=payment.id,
            idempotency_key=f"b{s.booking_id}-s{s.id}-p{payment.id}-card-transfer"
            + _retry_suffix(payment.id, TRANSFER_CREATE),
            actor=actor,
        )
    except (PaymentError, NotFound, InvalidInput):
        db.session.rollback()
        return "waiting"
    _audit_step(actor, s.booking, s, payment.id, "booking.provider_paid", owed, participant_id)
    return "paid"


PAYOUT_HELD_REASON = "Held while a broker looks into a concern. It is sent once they lift the hold."


def _payouts_held_for() -> set[int]:
    """The provider user ids whose payouts a broker holds (restrictions are keyed by profile)."""
    from app.models import ProviderProfile, ProviderRestriction

    return set(db.session.scalars(
        select(ProviderProfile.user_id)
        .join(ProviderRestriction, ProviderRestriction.provider_profile_id == ProviderProfile.id)
        .where(ProviderRestriction.payouts_held.is_(True))))


def waiting_payouts(provider_id: int | None = None) -> list[Payout]:
    """Captured card money not yet transferred to providers, with why it waits."""
    query = (
        select(Payment)
        .join(SessionCardPayment, SessionCardPayment.payment_id == Payment.id)
        .where(
            Payment.status.in_((rules.CAPTURED, rules.REFUNDED)),
            Payment.captured_pence - Payment.refunded_pence - Payment.transferred_pence > 0,
        )
        .order_by(Payment.id)
    )
    if provider_id is not None:
        query = query.where(Payment.provider_id == provider_id)
    # provider id -> whether Stripe says they have given every detail it needs
    accounts = {provider: ready for provider, ready in db.session.execute(
        select(ProviderPaymentAccount.provider_id, ProviderPaymentAccount.details_submitted))}
    held = _payouts_held_for()
    return [
        Payout(
            p,
            p.captured_pence - p.refunded_pence - p.transferred_pence,
            PAYOUT_HELD_REASON if p.provider_id in held
            else "The provider has not set up how they get paid yet."
            if p.provider_id not in accounts
            else (p.last_error or ("Waiting to be sent." if accounts[p.provider_id] else
                                   "Stripe still needs details from the provider before paying them.")),
            _provider_name(p.provider_id),
        )
        for p in db.session.scalars(query)
    ]


def _provider_name(provider_id: int | None) -> str:
    if not provider_id:
        return ""
    provider = db.session.get(User, provider_id)
    if not (provider is not None):
        raise InvariantBroken("payments.provider_id is a foreign key to users")
    return provider.name


def waiting_takebacks() -> list[Payout]:
    """Payouts a refund made too large, whose reversal Stripe has not done yet (retried by
    `pay_waiting`): the provider holds money that went back to the holder."""
    query = (
        select(Payment)
        .join(SessionCardPayment, SessionCardPayment.payment_id == Payment.id)
        .where(Payment.refunded_pence + Payment.transferred_pence > Payment.captured_pence)
        .order_by(Payment.id)
    )
    return [
        Payout(p, overpaid_pence(p), p.last_error or "Waiting to be taken back.",
               _provider_name(p.provider_id) if p.provider_id else "")
        for p in db.session.scalars(query)
    ]


def _session_of(payment: Payment) -> tuple[int, int | None]:
    """The session a listed payment pays for, and the pool participant whose share it is."""
    row = db.session.execute(
        select(SessionCardPayment.session_id, SessionCardPayment.participant_id)
        .where(SessionCardPayment.payment_id == payment.id)).first()
    if not (row is not None):
        raise InvariantBroken("waiting payouts and takebacks join on SessionCardPayment")
    return row[0], row[1]


def pay_waiting(provider_id: int | None = None, actor: User | None = None) -> int:
    """Retry every waiting payout (after onboarding, or from `carefair payments pay-waiting`),
    and every reversal of a payout that a later refund made too large."""
    for takeback in waiting_takebacks():
        if provider_id is None or takeback.payment.provider_id == provider_id:
            take_back_overpaid(*_session_of(takeback.payment), actor=actor)
    paid = 0
    for payout in waiting_payouts(provider_id):
        session_id, participant_id = _session_of(payout.payment)
        paid += pay_provider(session_id, actor, participant_id) == "paid"
    return paid


def payout_account(provider: User) -> ProviderPaymentAccount | None:
    return db.session.scalar(
        select(ProviderPaymentAccount).where(ProviderPaymentAccount.provider_id == provider.id)
    )


def start_onboarding(provider: User, *, refresh_url: str, return_url: str) -> str:
    """A Stripe Connect Express account for the provider (made once) and a fresh onboarding link.

    Raises PaymentUnavailable, PaymentRefused.
    """
    gw = gateway()
    if payout_account(provider) is None:
        gw.create_connected_account(
            provider=provider,
            idempotency_key=f"provider{provider.id}-connect-account",
            actor=provider,
        )
    link = gw.create_onboarding_link(
        provider=provider,
        refresh_url=refresh_url,
        return_url=return_url,
        # Links expire within minutes: each request is a new one.
        idempotency_key=f"provider{provider.id}-onboarding-{secrets.token_hex(8)}",
    )
    return link.data["url"]


def funding_failure(booking_id: int) -> tuple[str | None, str | None]:
    """Why money could not last be set aside for a booking: (error code, plain-English reason
    for the holder side), from its latest booking.payment_failed audit event."""
    details = db.session.scalar(
        select(AuditEvent.details)
        .where(
            AuditEvent.action == "booking.payment_failed",
            AuditEvent.subject_type == "booking",
            AuditEvent.subject_id == str(booking_id),
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    if not details:
        return None, None
    return details.get("code"), details.get("reason")


def booking_card_status(booking: Booking, *, for_provider: bool = False) -> list[str]:
    """Plain-English lines about a booking's money, for its pages (holder, provider, broker).

    The holder side and brokers read the reason as the holder was told it ("Your card was
    declined ..."); the provider gets it in words about their client.
    """
    lines: list[str] = []
    if booking.state == "payment_failed":
        code, reason = funding_failure(booking.id)
        if for_provider:
            return [
                f"The money could not be set aside because {rules.provider_failure_cause(code)}. "
                "The booking is not confirmed and nothing has been taken. The client has been "
                "told what to do."
            ]
        if reason:
            lines.append(reason)
        lines.append(
            "The booking is not confirmed and nothing has been taken. Once the problem is "
            "sorted out, try setting the money aside again."
        )
        return lines
    if not uses_card(booking):
        return lines
    card = card_for_budget(booking.budget_id)
    if booking.state == "funds_held" and card is not None and card.last4:
        lines.append(
            f"The price of each visit is reserved on the card ending {card.last4}. It is "
            "only taken when the visit is confirmed."
        )
    waiting = sum(
        p.captured_pence - p.refunded_pence - p.transferred_pence
        for s in booking.sessions
        if (p := session_payment(s.id)) is not None and p.status in (rules.CAPTURED, rules.REFUNDED)
    )
    if waiting > 0:
        from app.domain.money import Money

        lines.append(
            f"{Money(waiting)} paid by card is waiting to be sent to the provider "
            "(they have not set up payouts yet, or the payment service was unavailable)."
        )
    return lines


# ---------------------------------------------------------------- webhooks: reconcile Payments


def _payment_by_intent(intent_id: str | None) -> Payment | None:
    if not intent_id:
        return None
    if not isinstance(intent_id, str):
        # A signed event whose object is malformed: the webhook answers 400 and writes nothing.
        raise ValueError("The payment intent id is not text.")
    return db.session.scalar(
        select(Payment).where(Payment.stripe_payment_intent_id == intent_id).with_for_update()
    )


def _object(event) -> dict:
    """The event's object as a plain dict (SDK objects are not dicts)."""
    obj = event.data.object
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def _reconciled(payment: Payment, event, changes: dict) -> None:
    audit.record(
        None,
        "payment.reconciled",
        "payment",
        payment.id,
        details={"event": event.id, "type": event.type, **changes},
    )


@stripe_webhooks.handles("payment_intent.succeeded")
def on_intent_succeeded(event) -> None:
    """Stripe took the money (e.g. we crashed after capturing and before recording it)."""
    intent = _object(event)
    payment = _payment_by_intent(intent.get("id"))
    received = int(
        intent.get("amount_received")
        # localstripe leaves amount_received out; a succeeded intent there took its amount.
        or (intent.get("amount") if intent.get("status") == "succeeded" else 0)
        or 0
    )
    if payment is None or payment.status != rules.AUTHORISED or received <= 0:
        return
    payment.status = rules.move_payment(payment.status, rules.CAPTURED)
    payment.captured_pence = min(received, payment.authorised_pence)
    _reconciled(payment, event, {"captured_pence": payment.captured_pence})


@stripe_webhooks.handles("payment_intent.payment_failed")
def on_intent_failed(event) -> None:
    intent = _object(event)
    payment = _payment_by_intent(intent.get("id"))
    if payment is None or payment.status not in (rules.PENDING, rules.UNAVAILABLE):
        return
    error = intent.get("last_payment_error") or {}
    payment.status = rules.move_payment(payment.status, rules.DECLINED)
    payment.last_error = rules.decline_message(error.get("code") if error else None)
    _reconciled(payment, event, {"status": payment.status})


@stripe_webhooks.handles("payment_intent.canceled")
def on_intent_canceled(event) -> None:
    """Stripe released the authorisation (ours, or it expired): nothing can be captured now; a
    later capture renews the authorisation."""
    intent = _object(event)
    payment = _payment_by_intent(intent.get("id"))
    if payment is None or payment.status not in (
        rules.AUTHORISED,
        rules.PENDING,
        rules.UNAVAILABLE,
    ):
        return
    payment.status = rules.move_payment(payment.status, rules.CANCELED)
    _reconciled(payment, event, {"status": payment.status})


@stripe_webhooks.handles("charge.refunded")
def on_charge_refunded(event) -> None:
    charge = _object(event)
    payment = _payment_by_intent(charge.get("payment_intent"))
    if not isinstance(charge.get("id"), str | None):
        raise ValueError("The charge id is not text.")
    if payment is None and charge.get("id"):
        payment = db.session.scalar(
            select(Payment).where(Payment.stripe_charge_id == charge.get("id")).with_for_update()
        )
    refunded = min(
        int(charge.get("amount_refunded") or 0), payment.captured_pence if payment else 0
    )
    if payment is None or refunded <= payment.refunded_pence:
        return
    payment.refunded_pence = refunded
    if refunded == payment.captured_pence:
        payment.status = rules.move_payment(payment.status, rules.REFUNDED)
    _reconciled(payment, event, {"refunded_pence": refunded})


@stripe_webhooks.handles("account.updated")
def on_account_updated(event) -> None:
    """A provider's connected account changed at Stripe (onboarding finished, details needed
    again): keep Carefair's copy of whether they can be paid, so their payouts page and the
    brokers' waiting list say why money waits. `pay_waiting` sends what waits once it can."""
    account = _object(event)
    if not isinstance(account.get("id"), str):
        raise ValueError("The account id is not text.")
    row = db.session.scalar(
        select(ProviderPaymentAccount)
        .where(ProviderPaymentAccount.stripe_account_id == account.get("id"))
        .with_for_update()
    )
    if row is None:
        return
    now = {"details_submitted": bool(account.get("details_submitted")),
           "payouts_enabled": bool(account.get("payouts_enabled"))}
    before = {"details_submitted": row.details_submitted, "payouts_enabled": row.payouts_enabled}
    if now == before:
        return
    row.details_submitted, row.payouts_enabled = now["details_submitted"], now["payouts_enabled"]
    audit.record(None, "payment_account.updated", "user", row.provider_id,
                 details={"stripe_account": row.stripe_account_id, "before": before, "now": now,
                          "event": event.id})
