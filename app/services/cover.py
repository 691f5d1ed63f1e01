"""Last-minute cover: a provider's late cancellation asks back-ups, then matching providers; the
holder's side accepts one provider who can cover, in one step.

Transactions: opening cover joins the cancellation's transaction (one use case: the provider
cancels and cover is sought, or neither). Each other public function is one use case and locks
the cover request row first, so two people accepting at once (the holder and someone acting for
them, or a double click) queue on that row: the first books, the second is told it is covered.
The scheduled run (`carefair jobs cover`, every five minutes) claims each request with SKIP
LOCKED and commits it on its own, so two runs at once never ask a provider twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app import clock
from app.domain import bookings as rules
from app.domain.access import Decision, Permission, Principal, Role, decide
from app.domain.bookings import ActorKind, Event, Session
from app.domain.cover import Answer, CoverStatus, Wave, matching_wave_at, needs_cover
from app.domain.jobs import Candidate, turn_order
from app.domain.notifications import Event as Notice
from app.errors import Conflict, NotFound
from app.extensions import db
from app.models import Booking, BookingSession, Listing, ProviderDistrict, ProviderProfile, User
from app.models.booking import NON_BLOCKING_STATES
from app.models.jobs import CoverOffer, CoverRequest
from app.services import audit, card_steps, notify, transaction
from app.services import delegation as delegation_service


def _settings():
    from app.services import council_settings

    return council_settings.current()


def reference(cover: CoverRequest | int) -> str:
    return f"C-{cover if isinstance(cover, int) else cover.id}"


HOLDER_LINK = "/my/cover/{id}"
PROVIDER_LINK = "/provider/cover/{id}"


@dataclass(frozen=True)
class RunReport:
    asked: int = 0
    lapsed: int = 0


def _ask(cover: CoverRequest, listing: Listing, wave: Wave, now: datetime) -> None:
    db.session.add(CoverOffer(cover_id=cover.id, profile_id=listing.profile_id, listing_id=listing.id,
                              wave=wave.value, answer=Answer.ASKED.value, asked_at=now))
    notify.send(Notice.COVER_ASKED, listing.profile.user, link=PROVIDER_LINK.format(id=cover.id),
                context={"starts": cover.start_at, "reference": reference(cover)})


def _restricted_profiles() -> set[int]:
    """Providers a broker has restricted (listings suspended or payouts held): they take on no
    new work until it is lifted, so they are neither asked to cover nor booked as cover."""
    from app.models import ProviderRestriction

    return set(db.session.scalars(select(ProviderRestriction.provider_profile_id).where(
        ProviderRestriction.listings_suspended.is_(True)
        | ProviderRestriction.payouts_held.is_(True))))


def _busy_profiles(start: datetime, end: datetime) -> set[int]:
    """Providers with a session that would clash with [start, end)."""
    return set(db.session.scalars(select(BookingSession.provider_profile_id).where(
        BookingSession.state.not_in(NON_BLOCKING_STATES), BookingSession.start_at < end,
        BookingSession.end_at > start)))


def _takes_budget(listing: Listing, funding_mode: str | None) -> bool:
    return not funding_mode or funding_mode in (listing.funding_modes or [])


def open_for_cancellation(booking: Booking, sessions: list[BookingSession], now: datetime) -> int:
    """The provider has just cancelled these sessions: seek cover for those starting within the
    council's short notice. Joins the caller's transaction (the cancellation). Returns how many
    cover requests were opened."""
    settings = _settings()
    due = [s for s in sessions if needs_cover(s.start_at, now, settings)]
    if not due or booking.kind in ("pooled", "meet_and_greet"):
        return 0
    busy_cache: dict[tuple[datetime, datetime], set[int]] = {}
    for s in sorted(due, key=lambda x: x.start_at):
        backups = [b.listing for b in booking.backups
                   if b.listing.is_live and b.listing.profile_id != booking.provider_profile_id
                   and _takes_budget(b.listing, booking.funding_mode)]
        busy = busy_cache.setdefault((s.start_at, s.end_at), _busy_profiles(s.start_at, s.end_at))
        busy = busy | _restricted_profiles()
        backups = [x for x in dict.fromkeys(backups) if x.profile_id not in busy]
        cover = CoverRequest(booking_id=booking.id, session_id=s.id, holder_id=booking.holder_id,
                             listing_id=booking.listing_id, start_at=s.start_at, end_at=s.end_at,
                             status=CoverStatus.OPEN.value, wave=Wave.BACKUPS.value, opened_at=now,
                             next_wave_at=matching_wave_at(now, bool(backups), settings))
        db.session.add(cover)
        db.session.flush()
        asked: set[int] = set()
        for listing in backups:
            if listing.profile_id not in asked:
                asked.add(listing.profile_id)
                _ask(cover, listing, Wave.BACKUPS, now)
        if not backups:
            _matching_wave(cover, booking, now)
        audit.record(None, "cover.opened", "cover_request", cover.id, on_behalf_of=booking.holder,
                     details={"booking_id": booking.id, "session_id": s.id, "backups_asked": len(asked),
                              "wave": cover.wave})
        notify.send(Notice.COVER_NEEDED, booking.holder, about_holder=booking.holder,
                    link=HOLDER_LINK.format(id=cover.id),
                    context={"provider": booking.provider_profile.user, "starts": s.start_at})
    return len(due)


def _matching_listings(cover: CoverRequest, booking: Booking, limit: int) -> list[Listing]:
    """Up to `limit` live listings in the cancelled listing's category from providers who work
    in the holder's district (else where the cancelled provider worked), take this kind of
    budget and are free then, not yet asked: those asked about cover least recently first."""
    holder = booking.holder
    districts = [holder.home_district] if holder.home_district else \
        booking.provider_profile.district_codes
    already = {o.profile_id for o in cover.offers} | {booking.provider_profile_id}
    last_asked = (select(func.max(CoverOffer.asked_at)).where(CoverOffer.profile_id == Listing.profile_id)
                  .correlate(Listing).scalar_subquery().label("at"))
    rows = db.session.execute(
        select(Listing, last_asked)
        .join(ProviderDistrict, ProviderDistrict.profile_id == Listing.profile_id)
        .where(Listing.is_live.is_(True), Listing.category == cover.listing.category,
               ProviderDistrict.district.in_(districts))
        .order_by(Listing.id)).all()
    busy = _busy_profiles(cover.start_at, cover.end_at) | _restricted_profiles()
    by_profile: dict[int, Listing] = {}
    candidates: list[Candidate] = []
    for listing, at in rows:
        if (listing.profile_id in already or listing.profile_id in busy
                or not _takes_budget(listing, booking.funding_mode)):
            continue
        # One listing per provider: their cheapest in the category.
        best = by_profile.get(listing.profile_id)
        if best is None or listing.price_pence < best.price_pence:
            by_profile[listing.profile_id] = listing
        candidates.append(Candidate(profile_id=listing.profile_id, listing_id=listing.id,
                                    rate_pence_per_hour=listing.price_pence,
                                    districts=frozenset(districts), last_told_at=at))
    order = turn_order(cover.id, candidates)
    return [by_profile[pid] for pid in order[:max(limit, 0)]]


def _matching_wave(cover: CoverRequest, booking: Booking, now: datetime) -> int:
    found = _matching_listings(cover, booking, _settings().cover_wave_size)
    for listing in found:
        _ask(cover, listing, Wave.MATCHING, now)
    cover.wave = Wave.MATCHING.value
    cover.next_wave_at = None
    return len(found)


def _tell_not_needed(cover: CoverRequest, keep: int | None = None) -> None:
    for offer in cover.offers:
        if offer.id == keep:
            continue
        if offer.answer == Answer.CAN_COVER:
            notify.send(Notice.COVER_NOT_NEEDED, offer.profile.user, link=PROVIDER_LINK.format(id=cover.id),
                        context={"starts": cover.start_at, "reference": reference(cover)})
        if offer.answer in (Answer.ASKED, Answer.CAN_COVER):
            offer.answer = Answer.NOT_NEEDED.value


def _claim(cover_id: int, *, skip_locked: bool) -> CoverRequest | None:
    return db.session.scalar(select(CoverRequest).where(CoverRequest.id == cover_id)
                             .with_for_update(skip_locked=skip_locked)
                             .execution_options(populate_existing=True))


def _step(cover_id: int, now: datetime, report: dict[str, int]) -> None:
    cover = _claim(cover_id, skip_locked=True)
    if cover is None or cover.status != CoverStatus.OPEN:
        db.session.rollback()
        return
    booking = db.session.get(Booking, cover.booking_id)
    if booking is None:
        db.session.rollback()
        return
    if cover.start_at <= now:
        cover.status = CoverStatus.LAPSED.value
        cover.closed_at, cover.next_wave_at = now, None
        _tell_not_needed(cover)
        audit.record(None, "cover.lapsed", "cover_request", cover.id, on_behalf_of=booking.holder,
                     details={"offers": len(cover.offers)})
        notify.send(Notice.COVER_LAPSED, booking.holder, about_holder=booking.holder,
                    link=HOLDER_LINK.format(id=cover.id), context={"starts": cover.start_at})
        report["lapsed"] += 1
    elif cover.next_wave_at is not None and cover.next_wave_at <= now:
        asked = _matching_wave(cover, booking, now)
        audit.record(None, "cover.matching_asked", "cover_request", cover.id, on_behalf_of=booking.holder,
                     details={"asked": asked})
        # The back-ups did not cover it: a broker may know someone (and hears before it is late).
        for broker in db.session.scalars(select(User).where(
                User.role == Role.BROKER.value, User.active.is_(True)).order_by(User.id)):
            notify.send(Notice.COVER_WAITING_BROKER, broker, link=f"/broker/cover/{cover.id}",
                        context={"client": booking.holder, "starts": cover.start_at})
        report["asked"] += asked
    db.session.commit()


def run_due(now: datetime | None = None) -> RunReport:
    """Ask matching providers where back-ups have had their time, and lapse requests whose session
    has started. For cron every five minutes (`carefair jobs cover`); each request is its own
    transaction, claimed with SKIP LOCKED."""
    now = now or clock.now()
    ids = list(db.session.scalars(select(CoverRequest.id).where(
        CoverRequest.status == CoverStatus.OPEN.value,
        (CoverRequest.start_at <= now) | (CoverRequest.next_wave_at <= now)).order_by(CoverRequest.id)))
    db.session.rollback()
    report = {"asked": 0, "lapsed": 0}
    for cover_id in ids:
        _step(cover_id, now, report)
    return RunReport(**report)


# Reading --------------------------------------------------------------------------------------

def _require(actor: User, holder: User, permission: Permission) -> None:
    """The holder, someone acting for them with this permission, or a broker; else NotFound."""
    if actor.role_enum is Role.BROKER:
        return
    grant = delegation_service.grant_for(actor, holder.id)
    if grant is None or decide(Principal(actor.id, actor.role_enum), permission, grant) is not Decision.ALLOW:
        raise NotFound("We could not find that cover request.")


def for_holder(actor: User, holder: User, cover_id: int) -> CoverRequest:
    _require(actor, holder, Permission.HOLDER_VIEW_BOOKINGS)
    cover = db.session.scalar(select(CoverRequest).where(CoverRequest.id == cover_id)
                              .options(selectinload(CoverRequest.offers)))
    if cover is None or cover.holder_id != holder.id:
        raise NotFound("We could not find that cover request.")
    return cover


def of_holder(actor: User, holder: User) -> list[CoverRequest]:
    _require(actor, holder, Permission.HOLDER_VIEW_BOOKINGS)
    return list(db.session.scalars(select(CoverRequest).where(CoverRequest.holder_id == holder.id)
                                   .order_by(CoverRequest.start_at.desc())))


def open_for_booking(booking_id: int) -> list[CoverRequest]:
    return list(db.session.scalars(select(CoverRequest).where(CoverRequest.booking_id == booking_id)
                                   .order_by(CoverRequest.start_at)))


def for_broker(actor: User, cover_id: int) -> CoverRequest:
    if actor.role_enum is not Role.BROKER:
        raise NotFound("We could not find that cover request.")
    cover = db.session.get(CoverRequest, cover_id)
    if cover is None:
        raise NotFound("We could not find that cover request.")
    return cover


def _profile_of(provider: User) -> ProviderProfile:
    from app.services import providers  # the one lookup of a provider's profile

    profile = providers.profile_of(provider)
    if profile is None:
        raise NotFound("We could not find that cover request.")
    return profile


def asked_of_provider(provider: User) -> list[CoverOffer]:
    """The cover requests this provider was asked about, open ones first, soonest first."""
    from app.services import providers

    profile = providers.profile_of(provider)
    if profile is None:
        return []
    return list(db.session.scalars(
        select(CoverOffer).join(CoverRequest, CoverRequest.id == CoverOffer.cover_id)
        .where(CoverOffer.profile_id == profile.id)
        .options(selectinload(CoverOffer.cover))
        .order_by((CoverRequest.status == CoverStatus.OPEN.value).desc(), CoverRequest.start_at)))


def offer_for_provider(provider: User, cover_id: int) -> CoverOffer:
    """The provider's own ask about this request (they were asked), else NotFound."""
    profile = _profile_of(provider)
    offer = db.session.scalar(select(CoverOffer).where(CoverOffer.cover_id == cover_id,
                                                       CoverOffer.profile_id == profile.id))
    if offer is None:
        raise NotFound("We could not find that cover request.")
    return offer


# Changing -------------------------------------------------------------------------------------

def _price_for(listing: Listing, start: datetime, end: datetime) -> int:
    from app.services.bookings import _settings as booking_settings
    from app.services.bookings import _terms

    return rules.quote_breakdown(_terms(listing), start, end,
                                 bank_holiday_region=booking_settings().bank_holiday_region).total_pence


@transaction.use_case
def answer(provider: User, cover_id: int, *, can_cover: bool, now: datetime | None = None) -> CoverOffer:
    """The provider says they can (or cannot) cover. Saying yes checks they are still free and
    fixes their price for the session, which the holder's side sees before accepting.

    Raises NotFound (not asked), Conflict (closed, started, or they are booked then), InvalidInput."""
    from app.services.bookings import _check_availability, _clashes

    now = now or clock.now()
    mine = offer_for_provider(provider, cover_id)
    cover = _claim(cover_id, skip_locked=False)
    if cover is None:
        raise NotFound("We could not find that cover request.")
    offer = db.session.scalar(select(CoverOffer).where(CoverOffer.id == mine.id).with_for_update()
                              .execution_options(populate_existing=True))
    if offer is None:
        raise NotFound("We could not find that cover request.")
    if cover.status != CoverStatus.OPEN or cover.start_at <= now:
        raise Conflict("This session no longer needs cover.")
    if offer.answer not in (Answer.ASKED, Answer.CAN_COVER, Answer.CANNOT):
        raise Conflict("This session no longer needs cover.")
    if can_cover:
        listing = db.session.get(Listing, offer.listing_id)
        if listing is None or not listing.is_live or listing.profile_id in _restricted_profiles():
            raise Conflict("The service you would cover with is not live, so you cannot cover this.")
        window = [Session(cover.start_at, cover.end_at)]
        _check_availability(listing.profile, window)
        _clashes(listing.profile_id, window)
        offer.price_pence = _price_for(listing, cover.start_at, cover.end_at)
    first_yes = can_cover and offer.answer != Answer.CAN_COVER
    offer.answer = (Answer.CAN_COVER if can_cover else Answer.CANNOT).value
    offer.answered_at = now
    audit.record(provider, "cover.answered", "cover_offer", offer.id,
                 details={"cover_id": cover.id, "can_cover": can_cover, "price_pence": offer.price_pence})
    if first_yes:
        notify.send(Notice.COVER_OFFERED, cover.holder, about_holder=cover.holder,
                    link=HOLDER_LINK.format(id=cover.id),
                    context={"provider": provider, "starts": cover.start_at})
    transaction.commit()
    return offer


@transaction.use_case
def accept(actor: User, holder: User, cover_id: int, offer_id: int, *,
           expected_price_pence: int | None = None, now: datetime | None = None) -> Booking:
    """The holder's side accepts a provider who can cover: in one step the session is booked with
    them (their yes is their acceptance), the money held, the provider told, and everyone else
    who offered told it is covered.

    Race-safe: the cover request row is locked first; a second accept waits, then finds it
    covered (Conflict). Raises NotFound, Conflict (covered, lapsed, the provider is now booked
    then), InvalidInput (the price changed), InsufficientFunds, and what a booking request raises.
    A booking the plan holds for a broker waits for one, as any booking does."""
    from app.services.bookings import BookingInput, S, _fund
    from app.services.bookings.requests import _request

    now = now or clock.now()
    _require(actor, holder, Permission.HOLDER_SPEND)
    cover = _claim(cover_id, skip_locked=False)
    if cover is None or cover.holder_id != holder.id:
        raise NotFound("We could not find that cover request.")
    if cover.status == CoverStatus.COVERED:
        raise Conflict("This session is already covered.")
    if cover.status != CoverStatus.OPEN or cover.start_at <= now:
        raise Conflict("This session can no longer be covered: it has started or the request has closed.")
    offer = next((o for o in cover.offers if o.id == offer_id), None)
    if offer is None or offer.answer != Answer.CAN_COVER:
        raise NotFound("We could not find that offer to cover.")
    if expected_price_pence is not None and offer.price_pence != expected_price_pence:
        from app.errors import InvalidInput

        raise InvalidInput("The price has changed since you saw it. Check it and accept again.",
                           field="offer")
    if offer.profile_id in _restricted_profiles():
        # Restricted since they offered: they take on no new work (and the holder is not told
        # why, which is the provider's business and the broker's).
        raise Conflict("This provider can no longer cover this session. Choose another offer if "
                       "there is one.")
    # A broker accepting for the holder is arranging the booking: not with a provider they
    # declared a conflict with, and counted as theirs (broker steering counts what brokers arrange).
    arranging = actor if actor.role_enum is Role.BROKER else None
    if arranging is not None:
        from app.services import conflicts

        conflicts.refuse_if_conflicted(arranging, offer.profile_id, "arrange cover with them")
    provider = offer.profile.user
    booking = _request(actor, holder, BookingInput(
        listing_id=offer.listing_id, kind="one_off", start=cover.start_at, end=cover.end_at,
        notes=f"Cover for a cancelled session ({reference(cover)})"), now=now, tell_provider=False,
        arranged_by=arranging)
    if booking.state == S.REQUESTED.value:
        # The provider's "I can cover" is their acceptance: no second round trip at short notice.
        rules.move(booking, Event.ACCEPT, ActorKind.PROVIDER)
        for s in booking.sessions:
            if s.state == S.REQUESTED:
                rules.move(s, Event.ACCEPT, ActorKind.PROVIDER)
        audit.record(provider, "booking.accepted", "booking", booking.id, on_behalf_of=holder,
                     details={"cover_id": cover.id})
        _fund(booking, provider, accepted_by=provider)
    cover.status = CoverStatus.COVERED.value
    cover.closed_at, cover.next_wave_at = now, None
    cover.covered_booking_id, cover.covered_by_profile_id = booking.id, offer.profile_id
    offer.answer = Answer.TAKEN.value
    _tell_not_needed(cover, keep=offer.id)
    audit.record(actor, "cover.accepted", "cover_request", cover.id, on_behalf_of=holder,
                 details={"offer_id": offer.id, "booking_id": booking.id, "price_pence": offer.price_pence})
    notify.send(Notice.COVER_TAKEN, provider, link=f"/provider/bookings/{booking.id}",
                context={"client": holder, "starts": cover.start_at})
    transaction.commit()
    card_steps.run(booking_id=booking.id)
    db.session.refresh(booking)
    return booking


@transaction.use_case
def withdraw(actor: User, holder: User, cover_id: int, *, now: datetime | None = None) -> CoverRequest:
    """The holder's side no longer needs cover; providers who offered are told. Raises NotFound,
    Conflict."""
    now = now or clock.now()
    _require(actor, holder, Permission.HOLDER_SPEND)
    cover = _claim(cover_id, skip_locked=False)
    if cover is None or cover.holder_id != holder.id:
        raise NotFound("We could not find that cover request.")
    if cover.status != CoverStatus.OPEN:
        raise Conflict("This cover request is already closed.")
    cover.status = CoverStatus.WITHDRAWN.value
    cover.closed_at, cover.next_wave_at = now, None
    _tell_not_needed(cover)
    audit.record(actor, "cover.withdrawn", "cover_request", cover.id, on_behalf_of=holder)
    transaction.commit()
    return cover
