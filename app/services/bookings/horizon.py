"""The funding horizon: a weekly series holds only the sessions inside the council's funded period,
and a daily job holds the next ones as instalments arrive.

Money arrives in instalments (4-weekly or monthly), so holding a year of weekly support against the
money available today either refuses it or empties the budget. Accepting a weekly series holds the
sessions starting within `funding_horizon_weeks` (funding._fund); the others stay `accepted` (agreed
by the provider, not yet funded) inside the booking, which is `funds_held`. `hold_ahead` (daily,
`carefair funding hold-ahead`) then, booking by booking, in one transaction each:
- holds every accepted session now inside the horizon, earliest first (state by the domain's
  transition: accepted -> funds_held);
- for one that cannot be held, tells the holder's side and brokers once, early (weeks before it);
- calls off one still unfunded when it would start before the next run plus
  `funding_call_off_hours` (accepted -> cancelled by the system; nothing charged), telling the
  holder's side and the provider.
A card-paid series follows the same window, shortened to `card_authorise_days` (a card
authorisation lapses after about seven days): each session is authorised when it is held (an
`authorise` card step recorded in the same commit and run after it; card_ahead_answered funds it,
or releases the hold and tells the holder's side when the card refuses).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from app import clock
from app.domain import bookings as rules
from app.domain.bookings import ActorKind, Event
from app.domain.notifications import Event as Notice
from app.errors import DomainError
from app.extensions import db
from app.models import Booking, BookingSession
from app.services import audit, notify

RUN_EVERY = timedelta(days=1)  # hold_ahead is a daily job


def _settings():
    from app.services import council_settings

    return council_settings.current()


def horizon_end(now: datetime, *, card: bool = False) -> datetime:
    """Sessions starting before this are held now; later ones as money arrives. A card-paid
    series uses the shorter of the horizon and the card's authorisation window."""
    settings = _settings()
    weeks = timedelta(weeks=settings.funding_horizon_weeks)
    return now + (min(weeks, timedelta(days=settings.card_authorise_days)) if card else weeks)


def _by_card(booking: Booking) -> bool:
    from app.services.card_payments import uses_card

    return uses_card(booking)


def is_deferred(booking: Booking, s: BookingSession, now: datetime) -> bool:
    """A paid session of a weekly series beyond the horizon: accepted, held later."""
    return (booking.kind == "recurring" and s.price_pence > 0
            and s.start_at >= horizon_end(now, card=_by_card(booking)))


def call_off_by(now: datetime) -> datetime:
    """An unfunded session starting before this is called off on this run: the next daily run
    would be later than the council's hours before it."""
    return now + RUN_EVERY + timedelta(hours=_settings().funding_call_off_hours)


@dataclass
class HoldAheadReport:
    held: int = 0
    short: int = 0  # sessions that could not be held (the holder's side told, once)
    called_off: int = 0
    errors: list[str] = field(default_factory=list)


def _claim(booking_id: int) -> Booking | None:
    return db.session.scalar(select(Booking).where(Booking.id == booking_id)
                             .with_for_update(skip_locked=True).execution_options(populate_existing=True))


def _tell_short(booking: Booking, s: BookingSession, now: datetime) -> None:
    from app.services.bookings._common import _brokers, _link

    s.funding_short_told_at = now
    deadline = s.start_at - timedelta(hours=_settings().funding_call_off_hours)
    notify.send(Notice.FUNDING_SHORT, booking.holder, about_holder=booking.holder, link=_link(booking),
                context={"provider": booking.provider_profile.user, "starts": s.start_at,
                         "deadline": deadline})
    for broker in _brokers():
        notify.send(Notice.FUNDING_SHORT_BROKER, broker, link=_link(booking, "broker"),
                    context={"client": booking.holder, "starts": s.start_at, "deadline": deadline})


def _call_off(booking: Booking, s: BookingSession) -> None:
    from app.services.bookings._common import _link

    rules.move(s, Event.CANCEL, ActorKind.SYSTEM)
    s.charge_pence = 0
    s.outcome_note = "Called off: there was not enough money in the budget to fund it in time."
    notify.send(Notice.SESSION_CALLED_OFF, booking.holder, about_holder=booking.holder,
                link=_link(booking), context={"starts": s.start_at})
    notify.send(Notice.SESSION_CALLED_OFF_PROVIDER, booking.provider_profile.user,
                link=_link(booking, "provider"), context={"client": booking.holder, "starts": s.start_at})


def _hold_ahead_one(booking_id: int, now: datetime, report: HoldAheadReport) -> None:
    from app.services import card_payments, card_steps, ledger
    from app.services.bookings._common import S
    from app.services.bookings.delivery import _close_if_done
    from app.services.bookings.funding import _hold_session

    booking = _claim(booking_id)
    if booking is None or booking.state != S.FUNDS_HELD.value or booking.budget_id is None:
        db.session.rollback()
        return
    by_card = card_payments.uses_card(booking)
    end = horizon_end(now, card=by_card)
    # A session with a hold but still accepted is waiting for its card's answer: not again.
    due = sorted((s for s in booking.sessions if s.state == S.ACCEPTED.value and s.start_at < end
                  and s.hold_id is None), key=lambda s: s.start_at)
    if not due:
        db.session.rollback()
        return
    ledger.lock_budget(booking.budget_id)  # bookings before budgets, as everywhere
    approver = booking.approved_by if booking.approval_reasons else None
    held, short, called_off = [], [], []
    from app.services import agreements

    covered = agreements.agreement_for_booking(booking.id) is not None
    repriced: dict[int, tuple[int, int]] = {}
    for s in due:
        if covered:
            # Under a written agreement each session is charged at the version in force on its day
            # (a rate change reaches it once accepted or once its notice has run out).
            price = agreements.pricing_for(booking, s.start_at, s.end_at)
            if price != s.price_pence:
                repriced[s.id] = (s.price_pence, price)
                booking.total_pence += price - s.price_pence
                s.price_pence = price
        try:
            ledger.check_can_hold(booking.budget_id, [s.price_pence],
                                  contingency_allowed=approver is not None and booking.from_contingency)
            hold = _hold_session(booking, s, approver)
        except DomainError:
            if s.start_at <= call_off_by(now):
                _call_off(booking, s)
                called_off.append(s.id)
            else:
                if s.funding_short_told_at is None:
                    _tell_short(booking, s, now)
                short.append(s.id)
            continue
        s.hold_id = hold.id
        held.append(s.id)
        if by_card:
            # Funded once the card answers (card_ahead_answered), as at acceptance.
            card_steps.record(booking, "authorise", session=s, amount=s.price_pence, actor=None,
                              key=f"b{booking.id}-s{s.id}-r{booking.hold_round}-step-authorise",
                              reason="ahead")
        else:
            rules.move(s, Event.HOLD_FUNDS, ActorKind.SYSTEM)
    audit.record(None, "booking.held_ahead", "booking", booking.id, on_behalf_of=booking.holder,
                 details={"held": held, "short": short, "called_off": called_off,
                          "repriced": {str(k): v for k, v in repriced.items()}})
    if called_off:
        _close_if_done(booking)
    db.session.commit()
    report.held += len(held)
    report.short += len(short)
    report.called_off += len(called_off)
    if held and by_card:
        card_steps.run(booking_id=booking.id)


def card_ahead_answered(booking_id: int, session_ids: list[int], step_ids: list[int],
                        err: DomainError | None) -> None:
    """The card answered for sessions the daily job held: authorised ones are funded (accepted ->
    funds_held); refused ones have their ledger hold released and stay accepted, the holder's
    side and brokers told (once), so the next run tries again or calls them off. One commit."""
    from app.services import card_steps, ledger
    from app.services.bookings._common import S, _lock_booking

    booking = _lock_booking(booking_id)
    card_steps.finish(step_ids, "done" if err is None else "failed", err.message if err else None)
    now = clock.now()
    for s in booking.sessions:
        if s.id not in session_ids or s.state != S.ACCEPTED.value or s.hold_id is None:
            continue
        if err is None and booking.state == S.FUNDS_HELD.value:
            rules.move(s, Event.HOLD_FUNDS, ActorKind.SYSTEM)
            continue
        if ledger.held_remaining(s.hold_id) > 0:
            ledger.release(s.hold_id, idempotency_key=f"b{booking.id}-s{s.id}-r{booking.hold_round}-ahead-undo",
                           actor=None, on_behalf_of=booking.holder)
        s.hold_id = None
        if err is not None and s.funding_short_told_at is None:
            _tell_short(booking, s, now)
    audit.record(None, "booking.card_ahead_answered", "booking", booking.id, on_behalf_of=booking.holder,
                 details={"sessions": session_ids, "refused": err.message if err else None})
    db.session.commit()


def hold_ahead(now: datetime | None = None) -> HoldAheadReport:
    """The daily job (`carefair funding hold-ahead`): hold each weekly series' sessions now inside
    the funding horizon, tell the holder's side and brokers early about one that cannot be
    funded, and call off one still unfunded a day before. One transaction per booking, claimed
    with SKIP LOCKED, so a second run at once changes nothing twice."""
    now = now or clock.now()
    from app.services.bookings._common import S

    ids = list(db.session.scalars(
        select(Booking.id).join(BookingSession, BookingSession.booking_id == Booking.id)
        .where(Booking.state == S.FUNDS_HELD.value, Booking.kind == "recurring",
               BookingSession.state == S.ACCEPTED.value, BookingSession.hold_id.is_(None),
               BookingSession.start_at < horizon_end(now))
        .distinct().order_by(Booking.id)))
    db.session.rollback()
    report = HoldAheadReport()
    for booking_id in ids:
        try:
            _hold_ahead_one(booking_id, now, report)
        except DomainError as err:
            db.session.rollback()
            report.errors.append(f"booking {booking_id}: {err.message}")
    return report
