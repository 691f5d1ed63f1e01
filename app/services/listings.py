"""Listings: a provider creates and edits what they offer; the public sees only live listings.

After any commit that changes a listing's content or visibility, `listing_changed` is sent
with the listing id (search subscribes to it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app import clock
from app.domain.listings import (
    Category,
    FundingMode,
    PriceError,
    PriceUnit,
    PricingGuidance,
    parse_pounds,
    price_problem,
    pricing_guidance,
)
from app.domain.price_history import PriceStep
from app.domain.price_history import rate_for_client as _rate_for_client
from app.domain.settings import CouncilSettings
from app.errors import InvalidInput, NotFound
from app.extensions import db
from app.models import Listing, ProviderProfile, User
from app.services import audit, council_settings
from app.services.providers import require_profile
from app.signals import listing_changed, send_listing_changed

__all__ = ["ClientPrice", "ListingInput", "client_price", "client_rates", "client_since",
           "create_listing", "existing_clients",
           "guidance", "listing_changed", "listing_for", "listings_of", "live_listings_of",
           "price_history", "public_listing", "rate_for_client", "rates_for_client",
           "update_listing"]

MAX_NOTICE_HOURS = 24 * 14
MAX_MINIMUM_UNITS = 100


@dataclass(frozen=True)
class ListingInput:
    """What the provider typed; money still as text, parsed here into pence."""

    category: str
    title: str
    description: str
    price: str
    price_unit: str
    minimum_units: int = 1
    travel_charge: str = "0"
    cancellation_notice_hours: int = 24
    cancellation_charge: str = "0"
    funding_modes: list[str] = field(default_factory=list)
    published: bool = True
    # A change of price: the day it takes effect (None: today) and whether it applies to
    # people who already use the listing (they are told first, with notice for a rise).
    price_effective: date | None = None
    price_applies_to_existing: bool = True
    bank_holiday_price: str = ""  # empty: the usual price applies on bank holidays
    meets_on_bank_holidays: bool = False  # group sessions: whether they meet on bank holidays


def _pence(raw: str, field_name: str, *, allow_zero: bool) -> int:
    if allow_zero and not (raw or "").strip():
        return 0
    try:
        return parse_pounds(raw)
    except PriceError as err:
        raise InvalidInput(str(err), field=field_name) from err


def _clean(data: ListingInput, settings: CouncilSettings | None = None) -> dict:
    """The listing form's values, checked. `settings`: the council settings in force, when the
    caller already has them (a bulk import checks thousands of rows with one read)."""
    settings = settings or council_settings.current()
    try:
        category = Category(data.category)
    except ValueError as err:
        raise InvalidInput("Select a category", field="category") from err
    try:
        unit = PriceUnit(data.price_unit)
    except ValueError as err:
        raise InvalidInput("Select whether the price is per hour, session or day",
                           field="price_unit") from err
    title = data.title.strip()
    if not title:
        raise InvalidInput("Enter a title", field="title")
    if len(title) > 120:
        raise InvalidInput("Enter a title of 120 characters or fewer", field="title")
    if len(data.description) > 5000:
        raise InvalidInput("Enter 5,000 characters or fewer", field="description")
    price = _pence(data.price, "price", allow_zero=False)
    problem = price_problem(price, unit, settings)
    if problem:
        raise InvalidInput(problem, field="price")
    if not 1 <= data.minimum_units <= MAX_MINIMUM_UNITS:
        raise InvalidInput(f"Enter a minimum booking between 1 and {MAX_MINIMUM_UNITS}",
                           field="minimum_units")
    travel = _pence(data.travel_charge, "travel_charge", allow_zero=True)
    if travel > settings.max_price_pence["session"]:
        raise InvalidInput("That travel charge is too high", field="travel_charge")
    if not 0 <= data.cancellation_notice_hours <= MAX_NOTICE_HOURS:
        raise InvalidInput(f"Enter a notice period between 0 and {MAX_NOTICE_HOURS} hours (2 weeks)",
                           field="cancellation_notice_hours")
    charge = _pence(data.cancellation_charge, "cancellation_charge", allow_zero=True)
    if charge > price * data.minimum_units:
        raise InvalidInput("The cancellation charge cannot be more than the cost of the minimum "
                           "booking", field="cancellation_charge")
    holiday_price = None
    if (data.bank_holiday_price or "").strip():
        holiday_price = _pence(data.bank_holiday_price, "bank_holiday_price", allow_zero=False)
        problem = price_problem(holiday_price, unit, settings)
        if problem:
            raise InvalidInput(problem, field="bank_holiday_price")
    known = {m.value for m in FundingMode}
    modes = [m for m in data.funding_modes if m in known]
    if not modes or len(modes) != len(set(data.funding_modes)):
        raise InvalidInput("Select at least one way people can pay", field="funding_modes")
    return {
        "category": category.value, "title": title, "description": data.description.strip(),
        "price_pence": price, "price_unit": unit.value, "minimum_units": data.minimum_units,
        "travel_charge_pence": travel, "cancellation_notice_hours": data.cancellation_notice_hours,
        "cancellation_charge_pence": charge,
        "funding_modes": [m.value for m in FundingMode if m.value in modes],
        "published": bool(data.published),
        "bank_holiday_price_pence": holiday_price,
        "meets_on_bank_holidays": bool(data.meets_on_bank_holidays),
    }


def listings_of(profile: ProviderProfile) -> list[Listing]:
    return list(profile.listings)


def listing_for(actor: User, listing_id: int) -> Listing:
    """The actor's own listing, or NotFound (never reveal someone else's listing exists)."""
    profile = require_profile(actor)
    listing = db.session.get(Listing, listing_id)
    if listing is None or listing.profile_id != profile.id:
        raise NotFound("We could not find that listing.")
    return listing


def create_listing(actor: User, data: ListingInput) -> Listing:
    """Raises NotFound (no profile yet), InvalidInput (field named)."""
    from app.services.vetting import refresh_visibility

    profile = require_profile(actor)
    values = _clean(data)
    listing = Listing(profile_id=profile.id, is_live=False, **values)
    db.session.add(listing)
    db.session.flush()
    db.session.refresh(profile, ["listings"])
    audit.record(actor, "listing.created", "listing", listing.id,
                 details={k: v for k, v in values.items() if k != "description"})
    refresh_visibility(profile, actor=actor)
    db.session.commit()
    send_listing_changed([listing.id])
    return listing


def update_listing(actor: User, listing_id: int, data: ListingInput) -> Listing:
    """Raises NotFound (not theirs), InvalidInput (field named).

    A change of price is recorded in the listing's price history and is the price for new
    clients at once. A rise that applies to people already using the listing needs the
    council's notice period; they are told now and keep their old rate until the day it takes
    effect (rate_for_client); a rise for new clients only leaves their rate as it was.
    """
    from app.services.vetting import refresh_visibility

    listing = listing_for(actor, listing_id)
    values = _clean(data)
    profile = listing.profile
    before = {k: getattr(listing, k) for k in values if k != "description"}
    if values["price_pence"] != listing.price_pence:
        _price_change(actor, listing, values["price_pence"], data)
    # No autoflush until is_live is recomputed: withdrawn-but-live would break a constraint.
    with db.session.no_autoflush:
        for key, value in values.items():
            setattr(listing, key, value)
        changes = {k: [before[k], values[k]] for k in before if before[k] != values[k]}
        audit.record(actor, "listing.updated", "listing", listing.id, details={"changes": changes})
        refresh_visibility(profile, actor=actor)
    db.session.commit()
    send_listing_changed([listing.id])
    return listing


@dataclass(frozen=True)
class _Named:
    """A provider's public name for a notification's PERSON field."""

    name: str


def existing_clients(listing: Listing) -> list[User]:
    """Holders with a booking on the listing that was agreed or is being asked for."""
    from app.models import Booking

    ids = db.session.scalars(select(Booking.holder_id).where(
        Booking.listing_id == listing.id,
        Booking.state.not_in(("declined", "not_approved", "enquiry"))).distinct()).all()
    return [u for u in (db.session.get(User, i) for i in sorted(ids)) if u is not None]


def _price_change(actor: User, listing: Listing, new_pence: int,
                  data: ListingInput) -> None:
    """Record the change in the price history and tell existing clients of a rise that applies
    to them (before it applies: the notice is checked here)."""
    from app.domain.notifications import UK
    from app.models import PriceChange
    from app.services import notify

    settings = council_settings.current()
    now = clock.now()
    today = now.astimezone(UK).date()
    effective_day = data.price_effective or today
    if effective_day < today:
        raise InvalidInput("The new price cannot start in the past", field="price_effective")
    clients = existing_clients(listing)
    rise = new_pence > listing.price_pence
    applies = bool(data.price_applies_to_existing)
    notice = (effective_day - today).days
    if rise and applies and clients and notice < settings.price_rise_notice_days:
        earliest = today + timedelta(days=settings.price_rise_notice_days)
        raise InvalidInput(
            f"People already use this service, so give them at least "
            f"{settings.price_rise_notice_days} days' notice of a rise: choose "
            f"{earliest.day} {earliest:%B %Y} or later, or keep their current price",
            field="price_effective")
    effective_at = now if effective_day == today else \
        datetime.combine(effective_day, time(0, 0), tzinfo=UK).astimezone(now.tzinfo)
    told = clients if rise and applies else []
    row = PriceChange(listing_id=listing.id, provider_profile_id=listing.profile_id,
                      old_rate_pence=listing.price_pence, new_rate_pence=new_pence,
                      unit=listing.price_unit, announced_at=now, effective_at=effective_at,
                      applies_to_existing=applies, notice_days=notice,
                      existing_clients_told=len(told), recorded_by_id=actor.id)
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "listing.price_change_recorded", "listing", listing.id,
                 details={"old_pence": row.old_rate_pence, "new_pence": new_pence,
                          "effective": effective_day.isoformat(), "applies_to_existing": applies,
                          "existing_clients_told": len(told)})
    for holder in told:
        notify.send(notify.Event.PRICE_RISE_NOTICE, holder, about_holder=holder,
                    link=f"/listings/{listing.id}",
                    context={"provider": _Named(listing.profile.display_name),
                             "effective": effective_day})


def client_since(listing_id: int, holder_id: int) -> datetime | None:
    """When the holder first asked to book the listing (a booking agreed or being asked for),
    or None for someone who is not a client yet."""
    from app.models import Booking

    return db.session.scalar(select(func.min(Booking.created_at)).where(
        Booking.listing_id == listing_id, Booking.holder_id == holder_id,
        Booking.state.not_in(("declined", "not_approved", "enquiry"))))


def _agreed_rate(listing: Listing, holder_id: int, at: datetime) -> int | None:
    """The rate of the holder's accepted service agreement for the listing in force on `at`."""
    from app.models import ServiceAgreement
    from app.services.agreements import version_in_force

    for agreement in db.session.scalars(select(ServiceAgreement).where(
            ServiceAgreement.listing_id == listing.id, ServiceAgreement.holder_id == holder_id,
            ServiceAgreement.status == "accepted").order_by(ServiceAgreement.id.desc())):
        version = version_in_force(agreement, at)
        if version is not None and version.rate_unit == listing.price_unit:
            return version.rate_pence
    return None


def client_rates(listing: Listing, holder_id: int | None) -> Callable[[datetime], int]:
    """The holder's rate for the listing on any date, read once (a weekly series asks for many):
    an accepted agreement's rate, else the price history's answer for when they became a
    client, else the listing's price (what new clients pay)."""
    from app.models import PriceChange

    if holder_id is None:
        return lambda at: listing.price_pence
    since = client_since(listing.id, holder_id)
    steps = [PriceStep(c.old_rate_pence, c.new_rate_pence, c.announced_at, c.effective_at,
                       c.applies_to_existing)
             for c in db.session.scalars(select(PriceChange).where(
                 PriceChange.listing_id == listing.id)
                 .order_by(PriceChange.announced_at, PriceChange.id))]
    current = listing.price_pence

    def rate(at: datetime) -> int:
        agreed = _agreed_rate(listing, holder_id, at) if since is not None else None
        return agreed if agreed is not None else _rate_for_client(current, steps, since, at)

    return rate


def rate_for_client(listing: Listing, holder_id: int | None, at: datetime | None = None) -> int:
    """What this holder pays per unit on `at` (default now); see client_rates."""
    return client_rates(listing, holder_id)(at or clock.now())


@dataclass(frozen=True)
class ClientPrice:
    """A client's own price today and the next change coming to them, if any."""

    rate_pence: int
    next_rate_pence: int | None = None
    next_from: date | None = None


def client_price(listing: Listing, holder_id: int) -> ClientPrice | None:
    """For the listing page: what this holder pays now and from when it changes for them, or
    None when they are not a client yet (they pay the listing's price)."""
    from app.domain.notifications import UK
    from app.models import PriceChange

    if client_since(listing.id, holder_id) is None:
        return None
    rate_on = client_rates(listing, holder_id)
    now = clock.now()
    today = rate_on(now)
    for effective in db.session.scalars(select(PriceChange.effective_at).where(
            PriceChange.listing_id == listing.id, PriceChange.effective_at > now)
            .order_by(PriceChange.effective_at)):
        later = rate_on(effective)
        if later != today:
            return ClientPrice(today, later, effective.astimezone(UK).date())
    return ClientPrice(today)


def rates_for_client(listing_ids: Iterable[int], holder_id: int | None) -> dict[int, int]:
    """For a page of listings: the holder's own rate today where it differs from the listing's
    price (an existing client keeping an older price), keyed by listing id; one query when
    none of them changed price."""
    from app.models import PriceChange

    ids = sorted(set(listing_ids))
    if holder_id is None or not ids:
        return {}
    changed = db.session.scalars(select(PriceChange.listing_id).where(
        PriceChange.listing_id.in_(ids)).distinct()).all()
    now = clock.now()
    out = {}
    for listing_id in changed:
        listing = db.session.get(Listing, listing_id)
        if listing is None:
            continue
        rate = rate_for_client(listing, holder_id, now)
        if rate != listing.price_pence:
            out[listing_id] = rate
    return out


def price_history(listing: Listing) -> list:
    from app.models import PriceChange

    return list(db.session.scalars(select(PriceChange).where(
        PriceChange.listing_id == listing.id).order_by(PriceChange.id.desc())))


def guidance(profile: ProviderProfile, category: str | None, unit: str | None,
             pence: int | None) -> PricingGuidance | None:
    """Pricing guidance to show beside the price, or None until a category is chosen."""
    try:
        cat = Category(category) if category else None
        per = PriceUnit(unit) if unit else PriceUnit.HOUR
    except ValueError:
        return None
    if cat is None:
        return None
    return pricing_guidance(profile.type_enum, cat, per, pence, council_settings.current())


def public_listing(listing_id: int) -> Listing:
    """A live listing, or NotFound for anything else (hidden, withdrawn or unknown)."""
    listing = db.session.scalar(select(Listing).where(Listing.id == listing_id)
                                .options(selectinload(Listing.profile)))
    if listing is None or not listing.is_live:
        raise NotFound("We could not find that listing. It may no longer be offered.")
    return listing


def live_listings_of(profile: ProviderProfile) -> list[Listing]:
    return [listing for listing in profile.listings if listing.is_live]
