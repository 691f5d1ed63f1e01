"""Service agreements: the provider offers written terms built from a booking, the holder's side
accepts or asks for changes, a rate change is a new version with notice, unanswered offers lapse.

Each public function is one use case: it locks the agreement row, checks the change, writes the
version and its audit entry and notices, and commits once. Unfair terms are refused when
offered (app.domain.agreements.unfair_terms), so lock-in never reaches a holder.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app import clock
from app.domain import agreements as rules
from app.domain.access import Decision, Permission, Principal, Role, decide
from app.domain.agreements import VersionStatus as V
from app.domain.notifications import Event
from app.errors import Conflict, InvalidInput, NotFound
from app.extensions import db
from app.models import Booking, ProviderProfile, User
from app.models.booking import NON_BLOCKING_STATES
from app.models.jobs import AgreementBooking, ServiceAgreement, ServiceAgreementVersion
from app.services import audit, booked_policy, conflicts, council_settings, notify, providers, transaction
from app.services import delegation as delegation_service

UK = ZoneInfo("Europe/London")
MAX_TEXT = 2000


def _settings():
    return council_settings.current()


def reference(agreement: ServiceAgreement) -> str:
    return f"A-{agreement.id}"


@dataclass(frozen=True)
class _Named:
    name: str


def _profile_of(provider: User) -> ProviderProfile:
    profile = providers.profile_of(provider)  # the one lookup of a provider's profile
    if profile is None:
        raise NotFound("We could not find that agreement.")
    return profile


def _lock(agreement_id: int) -> ServiceAgreement:
    found = db.session.scalar(select(ServiceAgreement).where(ServiceAgreement.id == agreement_id)
                              .with_for_update().execution_options(populate_existing=True))
    if found is None:
        raise NotFound("We could not find that agreement.")
    return found


def _latest(agreement: ServiceAgreement) -> ServiceAgreementVersion:
    return max(agreement.versions, key=lambda v: v.version)


def _clean(text: str | None, field: str) -> str:
    value = (text or "").strip()
    if len(value) > MAX_TEXT:
        raise InvalidInput(f"Keep this to {MAX_TEXT:,} characters or fewer", field=field)
    return value


def _check(terms: rules.Terms, listing) -> None:
    hourly = listing.price_unit == "hour"
    policy = rules.ListingPolicy(notice_hours=listing.cancellation_notice_hours,
                                 charge_pence=listing.cancellation_charge_pence, unit=listing.price_unit,
                                 minimum_minutes=listing.minimum_units * 60 if hourly else None)
    refusals = rules.unfair_terms(terms, _settings(), policy)
    if refusals:
        first = refusals[0]
        raise InvalidInput(first.message, field=first.field)


def suggested_terms(booking: Booking) -> rules.Terms:
    """Terms built from the booking and its listing, for the provider to check and offer: at
    the holder's own rate (an existing client keeps an older price: listings.rate_for_client)."""
    from app.services.listings import rate_for_client

    listing = booking.listing
    times = sorted(booking.sessions, key=lambda s: s.start_at)
    if times:
        first = times[0].start_at.astimezone(UK)
        length = int((times[0].end_at - times[0].start_at).total_seconds() // 60)
        weekly = " every week" if booking.kind == "recurring" else ""
        schedule = f"{first:%A}s{weekly}, {first:%H:%M} for {length // 60} hours" \
            f"{f' {length % 60} minutes' if length % 60 else ''}, from {first.day} {first:%B %Y}"
    else:
        schedule = ""
    return rules.Terms(
        services=f"{listing.title}. {listing.description}".strip(), schedule=schedule,
        rate_pence=rate_for_client(listing, booking.holder_id), rate_unit=listing.price_unit,
        minimum_minutes=listing.minimum_units * 60 if listing.price_unit == "hour" else 0,
        cancellation_notice_hours=listing.cancellation_notice_hours,
        cancellation_charge_pence=listing.cancellation_charge_pence,
        notice_days=min(14, _settings().agreement_max_notice_days),
        complaints="Tell me first. If that does not put it right, contact your broker or the council, "
                   "or raise a concern on Carefair.")


def agreement_for_booking(booking_id: int) -> ServiceAgreement | None:
    return db.session.scalar(select(ServiceAgreement).join(
        AgreementBooking, AgreementBooking.agreement_id == ServiceAgreement.id)
        .where(AgreementBooking.booking_id == booking_id))


def offer(provider: User, booking_id: int, terms: rules.Terms) -> ServiceAgreement:
    """Offer an agreement for a booking of the provider's. Raises NotFound (not theirs),
    Conflict (the booking is over, or already has an agreement), InvalidInput (unfair terms,
    with the field and the plain reason)."""
    profile = _profile_of(provider)
    booking = db.session.scalar(select(Booking).where(Booking.id == booking_id).with_for_update())
    if booking is None or booking.provider_profile_id != profile.id:
        raise NotFound("We could not find that booking.")
    if booking.state in NON_BLOCKING_STATES or booking.state in ("settled", "expired"):
        raise Conflict("This booking has ended, so there is nothing to agree.")
    if agreement_for_booking(booking.id) is not None:
        raise Conflict("This booking already has an agreement. Change its rate or terms there.")
    terms = _cleaned(terms)
    _check(terms, booking.listing)
    now = clock.now()
    agreement = ServiceAgreement(holder_id=booking.holder_id, profile_id=profile.id,
                                 listing_id=booking.listing_id, status="offered", created_at=now)
    db.session.add(agreement)
    db.session.flush()
    db.session.add(_version(agreement, 1, terms, provider, now, effective_from=None))
    db.session.add(AgreementBooking(agreement_id=agreement.id, booking_id=booking.id))
    audit.record(provider, "agreement.offered", "service_agreement", agreement.id,
                 details={"booking_id": booking.id, "version": 1, "rate_pence": terms.rate_pence,
                          "rate_unit": terms.rate_unit, "notice_days": terms.notice_days})
    notify.send(Event.AGREEMENT_OFFERED, booking.holder, about_holder=booking.holder,
                link=f"/my/agreements/{agreement.id}",
                context={"provider": _Named(profile.display_name), "reference": reference(agreement)})
    db.session.commit()
    return agreement


def _cleaned(terms: rules.Terms) -> rules.Terms:
    return replace(terms, services=_clean(terms.services, "services"),
                   schedule=_clean(terms.schedule, "schedule"),
                   complaints=_clean(terms.complaints, "complaints"))


def _version(agreement: ServiceAgreement, number: int, terms: rules.Terms, by: User, now: datetime, *,
             effective_from: datetime | None) -> ServiceAgreementVersion:
    return ServiceAgreementVersion(
        agreement_id=agreement.id, version=number, services=terms.services, schedule=terms.schedule,
        rate_pence=terms.rate_pence, rate_unit=terms.rate_unit or "hour",
        bank_holiday_rate_pence=terms.bank_holiday_rate_pence, minimum_minutes=terms.minimum_minutes,
        cancellation_notice_hours=terms.cancellation_notice_hours,
        cancellation_charge_pence=terms.cancellation_charge_pence, notice_days=terms.notice_days,
        complaints=terms.complaints, exit_fee_pence=0, status=V.OFFERED.value, offered_by_id=by.id,
        offered_at=now, effective_from=effective_from)


def terms_of(version: ServiceAgreementVersion) -> rules.Terms:
    return rules.Terms(services=version.services, schedule=version.schedule, rate_pence=version.rate_pence,
                       rate_unit=version.rate_unit, minimum_minutes=version.minimum_minutes,
                       cancellation_notice_hours=version.cancellation_notice_hours,
                       cancellation_charge_pence=version.cancellation_charge_pence,
                       notice_days=version.notice_days, complaints=version.complaints,
                       bank_holiday_rate_pence=version.bank_holiday_rate_pence)


def _require_holder_side(actor: User, holder_id: int) -> None:
    if actor.role_enum is Role.BROKER:
        return
    grant = delegation_service.grant_for(actor, holder_id)
    if grant is None or decide(Principal(actor.id, actor.role_enum), Permission.HOLDER_SPEND, grant) \
            is not Decision.ALLOW:
        raise NotFound("We could not find that agreement.")


def _refuse_a_conflicted_broker(actor: User, agreement: ServiceAgreement, doing: str) -> None:
    """A broker answering an agreement for a holder is arranging support with that provider, so
    a declared conflict of interest refuses it as it refuses approving and arranging bookings.
    Raises ConflictOfInterest (a NotPermitted); the use case rolls back, writing nothing."""
    if actor.role_enum is Role.BROKER:
        conflicts.refuse_if_conflicted(actor, agreement.profile_id, doing)


def _require_reader(actor: User, holder: User) -> None:
    """The holder, people who act for them, and circle members shown their bookings may read."""
    grant = delegation_service.grant_for(actor, holder.id)
    if grant is None or decide(Principal(actor.id, actor.role_enum), Permission.HOLDER_VIEW_BOOKINGS, grant) \
            is not Decision.ALLOW:
        raise NotFound("We could not find that agreement.")


def for_holder(actor: User, holder: User, agreement_id: int) -> ServiceAgreement:
    """An agreement of the holder's, for the holder or someone who acts for them (circle members
    with the bookings share may read it)."""
    _require_reader(actor, holder)
    found = db.session.get(ServiceAgreement, agreement_id)
    if found is None or found.holder_id != holder.id:
        raise NotFound("We could not find that agreement.")
    return found


def of_holder(actor: User, holder: User) -> list[ServiceAgreement]:
    _require_reader(actor, holder)
    return list(db.session.scalars(select(ServiceAgreement).where(ServiceAgreement.holder_id == holder.id)
                                   .order_by(ServiceAgreement.created_at.desc())))


def for_provider(provider: User, agreement_id: int) -> ServiceAgreement:
    profile = _profile_of(provider)
    found = db.session.get(ServiceAgreement, agreement_id)
    if found is None or found.profile_id != profile.id:
        raise NotFound("We could not find that agreement.")
    return found


@transaction.use_case
def accept(actor: User, holder: User, agreement_id: int) -> ServiceAgreement:
    """The holder's side accepts the newest offered version. Raises NotFound, Conflict."""
    _require_holder_side(actor, holder.id)
    agreement = _lock(agreement_id)
    if agreement.holder_id != holder.id:
        raise NotFound("We could not find that agreement.")
    _refuse_a_conflicted_broker(actor, agreement, "accept their agreements")
    latest = _latest(agreement)
    if latest.status != V.OFFERED:
        raise Conflict("There is no offer waiting to be accepted on this agreement.")
    now = clock.now()
    for older in agreement.versions:
        if older.version != latest.version and older.status in (V.ACCEPTED, V.OFFERED):
            older.status = V.SUPERSEDED.value  # (an offered one is a price change in force by notice)
    latest.status = V.ACCEPTED.value
    latest.decided_by_id, latest.decided_at = actor.id, now
    agreement.status = "accepted"
    # The bookings it covers carry the accepted cancellation terms from now on (and only
    # accepted ones: an offer nobody answered never binds).
    retermed = booked_policy.take_agreed_terms(latest)
    audit.record(actor, "agreement.accepted", "service_agreement", agreement.id, on_behalf_of=holder,
                 details={"version": latest.version, "rate_pence": latest.rate_pence,
                          "cancellation_notice_hours": latest.cancellation_notice_hours,
                          "cancellation_charge_pence": latest.cancellation_charge_pence,
                          "bookings_retermed": retermed})
    notify.send(Event.AGREEMENT_ANSWERED, agreement.profile.user, link=f"/provider/agreements/{agreement.id}",
                context={"client": holder, "reference": reference(agreement)})
    db.session.commit()
    return agreement


@transaction.use_case
def request_changes(actor: User, holder: User, agreement_id: int, note: str) -> ServiceAgreement:
    """The holder's side asks for changes to the newest offer, saying what. Raises NotFound,
    Conflict, InvalidInput."""
    _require_holder_side(actor, holder.id)
    text = _clean(note, "note")
    if not text:
        raise InvalidInput("Say what you would like changed", field="note")
    agreement = _lock(agreement_id)
    if agreement.holder_id != holder.id:
        raise NotFound("We could not find that agreement.")
    _refuse_a_conflicted_broker(actor, agreement, "negotiate their agreements")
    latest = _latest(agreement)
    if latest.status != V.OFFERED:
        raise Conflict("There is no offer waiting for an answer on this agreement.")
    latest.status = V.CHANGES_REQUESTED.value
    latest.change_request = text
    latest.decided_by_id, latest.decided_at = actor.id, clock.now()
    if not any(v.status == V.ACCEPTED for v in agreement.versions):
        agreement.status = "changes_requested"
    audit.record(actor, "agreement.changes_requested", "service_agreement", agreement.id, on_behalf_of=holder,
                 details={"version": latest.version})
    notify.send(Event.AGREEMENT_ANSWERED, agreement.profile.user, link=f"/provider/agreements/{agreement.id}",
                context={"client": holder, "reference": reference(agreement)})
    db.session.commit()
    return agreement


def offer_new_version(provider: User, agreement_id: int, terms: rules.Terms) -> ServiceAgreementVersion:
    """A new version (changed terms or a rate change). A rise reaches an existing client only after
    the council's notice, unless they accept sooner. Raises NotFound, Conflict, InvalidInput."""
    for_provider(provider, agreement_id)
    agreement = _lock(agreement_id)
    if agreement.status in ("ended", "lapsed"):
        raise Conflict("This agreement has ended.")
    terms = _cleaned(terms)
    _check(terms, agreement.listing)
    now = clock.now()
    latest = _latest(agreement)
    # The terms the holder pays under now: the accepted version, or a price change whose notice
    # ran out. The new version is measured against these, so that no rise skips its notice.
    current = version_in_force(agreement, now)
    if latest.status == V.OFFERED and (current is None or latest.version != current.version):
        latest.status = V.SUPERSEDED.value  # the newer offer replaces one not yet answered
    effective = (rules.earliest_effective(now, terms_of(current), terms, _settings())
                 if current is not None else None)
    version = _version(agreement, latest.version + 1, terms, provider, now, effective_from=effective)
    db.session.add(version)
    db.session.flush()
    audit.record(provider, "agreement.new_version", "service_agreement", agreement.id,
                 details={"version": version.version, "rate_pence": terms.rate_pence,
                          "old_rate_pence": current.rate_pence if current is not None else None,
                          "effective_from": effective.isoformat() if effective else None})
    notify.send(Event.AGREEMENT_OFFERED, agreement.holder, about_holder=agreement.holder,
                link=f"/my/agreements/{agreement.id}",
                context={"provider": _Named(agreement.profile.display_name), "reference": reference(agreement)})
    db.session.commit()
    return version


def version_in_force(agreement: ServiceAgreement, at: datetime | None = None) -> ServiceAgreementVersion | None:
    """The terms that apply now: the accepted version, or a change of price alone whose notice
    ran out (a version changing anything else has no effective date: it waits for acceptance)."""
    facts = [rules.VersionFacts(v.version, v.status, v.rate_pence, v.effective_from) for v in agreement.versions]
    chosen = rules.in_force(facts, at or clock.now())
    return next((v for v in agreement.versions if chosen and v.version == chosen.version), None)


def lapse_offers(now: datetime | None = None) -> int:
    """First offers nobody answered within the council's days lapse (a timed exit). For cron."""
    now = now or clock.now()
    cutoff = now - timedelta(days=_settings().agreement_offer_lapse_days)
    waiting = db.session.scalars(select(ServiceAgreement).where(
        ServiceAgreement.status == "offered", ServiceAgreement.created_at <= cutoff)
        .with_for_update(skip_locked=True)).all()
    for agreement in waiting:
        agreement.status = "lapsed"
        for v in agreement.versions:
            if v.status == V.OFFERED:
                v.status = V.LAPSED.value
        audit.record(None, "agreement.lapsed", "service_agreement", agreement.id, at=now)
    db.session.commit()
    return len(waiting)


def pricing_for(booking: Booking, start: datetime, end: datetime) -> int:
    """The price of one session of a booking under the terms in force on its day: the accepted
    agreement version (or a rate change whose notice ran out), else the holder's own rate for the
    listing (listings.client_rates). Bank holidays at the agreed holiday rate, when there is one."""
    from app.services import listings
    from app.services.bookings._common import _settings as booking_settings
    from app.services.bookings._common import _terms

    rate = listings.client_rates(booking.listing, booking.holder_id)(start)
    terms = _terms(booking.listing, rate)
    agreement = agreement_for_booking(booking.id)
    version = version_in_force(agreement, start) if agreement is not None else None
    if version is not None and version.rate_unit == booking.listing.price_unit:
        terms = replace(terms, rate_pence=version.rate_pence,
                        bank_holiday_rate_pence=version.bank_holiday_rate_pence or terms.bank_holiday_rate_pence,
                        # The agreed minimum session (never longer than the listing's: _check).
                        minimum_minutes=min(terms.minimum_minutes, version.minimum_minutes))
    from app.domain import bookings as booking_rules

    return booking_rules.quote_breakdown(terms, start, end,
                                         bank_holiday_region=booking_settings().bank_holiday_region).total_pence
