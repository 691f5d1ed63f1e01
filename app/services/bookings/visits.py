"""One visit of a series cancelled on its own, and what a cancellation would cost (asked first)."""

from __future__ import annotations

from datetime import datetime

from app.clock import now as _now
from app.domain import bookings as rules
from app.domain.access import Role
from app.domain.bookings import ActorKind, Event
from app.domain.notifications import Event as Notice
from app.errors import Conflict
from app.models import Booking, BookingSession, User
from app.services import audit, card_steps, ledger, notify, transaction
from app.services.bookings._common import (
    OPEN_SESSION_STATES,
    S,
    _kind_of,
    _link,
    _lock_booking,
    _policy,
    _refuse_own_work,
    _require_holder_side,
    _require_provider,
    _session,
)
from app.services.bookings.cancelling import _money_back
from app.services.bookings.delivery import _close_if_done
from app.services.bookings.pools import _release_pool


@transaction.use_case
def cancel_session(
    actor: User,
    holder: User | None,
    session_id: int,
    *,
    reason: str = "",
    now: datetime | None = None,
) -> BookingSession:
    """The holder's side (or the provider) cancels one visit of a booking; the other visits go ahead.

    The listing's policy decides any charge, as for a whole booking (a provider's cancellation
    costs the holder nothing, and at short notice cover is sought from the holder's back-ups in
    the same transaction: app.services.cover). When no visit is left open, the booking itself
    ends (cancelled, or settled if some were delivered and paid).
    Raises NotFound, NotPermitted, IllegalTransition (the booking cannot be cancelled now),
    Conflict (the visit has started, or is already over or cancelled).
    """
    now = now or _now()
    target = _session(session_id, lock=False)
    booking = _lock_booking(target.booking_id)
    _refuse_own_work(booking, holder, actor, "cancel it")
    by_provider = actor.role_enum is Role.PROVIDER
    if by_provider:
        _require_provider(booking, actor)
    else:
        _require_holder_side(booking, holder, actor)
    kind = _kind_of(actor, booking.holder)
    rules.transition(booking.state, Event.CANCEL, kind)
    s = next(x for x in booking.sessions if x.id == session_id)
    if s.state not in [x.value for x in OPEN_SESSION_STATES]:
        raise Conflict("That visit cannot be cancelled: it is already "
                       f"{S(s.state).label.lower()}.")
    if s.start_at <= now:
        raise Conflict("That visit has already started, so it cannot be cancelled. "
                       "If it did not happen, say so once the provider records it.")
    charge = 0
    if s.hold_id is not None and ledger.held_remaining(s.hold_id) > 0:
        out = rules.cancellation_charge(_policy(booking), s.price_pence, s.start_at,
                                        now, kind.value,
                                        holder_paused=booking.state == S.PAUSED.value)
        charge = out.charge_pence
        s.outcome_note = out.reason
    # The money and the states in one transaction (issue 13); the card follows after commit.
    _money_back(booking, s, charge, actor)
    rules.move(s, Event.CANCEL, kind)
    s.charge_pence = charge
    note = (reason or "").strip()[:500]
    if note:
        s.outcome_note = f"{s.outcome_note} {note}".strip() if s.outcome_note else note
    still_open = [x for x in booking.sessions
                  if x.state in [o.value for o in OPEN_SESSION_STATES]]
    if not still_open:
        remaining = {x.state for x in booking.sessions} - {S.CANCELLED.value}
        if remaining:
            _close_if_done(booking)
        else:
            rules.move(booking, Event.CANCEL, kind)
            booking.cancelled_by_id = actor.id
            booking.cancel_reason = note or None
            if booking.kind == "pooled":
                _release_pool(booking, actor)  # the group's shares, as cancel_booking does
    audit.record(
        actor,
        "booking.session_cancelled",
        "booking",
        booking.id,
        on_behalf_of=booking.holder,
        details={"session": s.id, "by": kind.value, "charge_pence": charge,
                 "reason": note or None},
        at=now,
    )
    if by_provider:
        from app.services import cover

        cover.open_for_cancellation(booking, [s], now)
        notify.send(Notice.SESSION_CANCELLED, booking.holder, about_holder=booking.holder,
                    link=_link(booking), context={"by": actor, "starts": s.start_at})
    else:
        notify.send(
            Notice.SESSION_CANCELLED,
            booking.provider_profile.user,
            link=_link(booking, "provider"),
            context={"by": actor, "starts": s.start_at},
        )
    transaction.commit()
    card_steps.run(booking_id=booking.id)
    return s


def cancellation_preview(
    booking: Booking, kind: ActorKind, *, session_id: int | None = None,
    now: datetime | None = None,
) -> list[tuple[BookingSession, int]]:
    """What cancelling now would cancel and charge, for the page that asks "are you sure?".

    Each open session (or only `session_id`) with the charge the policy booked under would take;
    reads only, so the answer can change by the time the person confirms.
    """
    now = now or _now()
    paused = booking.state == S.PAUSED.value
    preview = []
    policy = _policy(booking)  # the one booked under, not a fee brought in since
    for s in booking.sessions:
        if s.state not in [x.value for x in OPEN_SESSION_STATES]:
            continue
        if session_id is not None and s.id != session_id:
            continue
        charge = 0
        if s.hold_id is not None:
            charge = rules.cancellation_charge(policy, s.price_pence,
                                               s.start_at, now, kind.value,
                                               holder_paused=paused).charge_pence
        preview.append((s, charge))
    return preview
