"""Shortlists: providers and listings a holder's side is considering, with private notes, compared.

Who may: the holder, their authorised and nominated people (Permission.HOLDER_FIND_SUPPORT);
a circle member cannot, as they cannot book, and a broker cannot (the notes are the holder's).
Providers never learn they were shortlisted.
Each public function that changes something is one transaction and commits once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app import clock
from app.domain.access import Decision, Permission, Principal, decide
from app.domain.jobs import WeeklyHours, district_distance, next_free_start
from app.domain.listings import Category, PriceUnit
from app.domain.money_format import format_pence as pounds
from app.domain.ratings import RatingSummary
from app.errors import Conflict, InvalidInput, NotFound
from app.extensions import db
from app.models import BookingSession, Listing, ProviderProfile, User
from app.models.booking import NON_BLOCKING_STATES
from app.models.jobs import ShortlistEntry
from app.services import audit, ratings
from app.services import delegation as delegation_service
from app.services.listings import rates_for_client

UK = ZoneInfo("Europe/London")
MAX_NOTE_LENGTH = 500
MAX_ENTRIES = 50  # a shortlist, not a second search index


def require_finder(actor: User, holder: User) -> None:
    """The actor may keep a shortlist and post jobs for this holder, or NotFound."""
    if actor.role == "broker":
        return
    grant = delegation_service.grant_for(actor, holder.id)
    principal = Principal(actor.id, actor.role_enum)
    if grant is None or decide(principal, Permission.HOLDER_FIND_SUPPORT, grant) is not Decision.ALLOW:
        raise NotFound("We could not find that shortlist.")


def require_keeper(actor: User, holder: User) -> None:
    """The actor may see and change the holder's shortlist, or NotFound: the holder and the
    people who act for them in finding support. Unlike posting a job, a broker may not: the
    shortlist and its notes are the holder's own thinking about whom to choose."""
    if actor.role == "broker":
        raise NotFound("We could not find that shortlist.")
    require_finder(actor, holder)


def _clean_note(note: str | None) -> str:
    text = (note or "").strip()
    if len(text) > MAX_NOTE_LENGTH:
        raise InvalidInput(f"Keep the note to {MAX_NOTE_LENGTH} characters or fewer.", field="note")
    return text


def entries(actor: User, holder: User) -> list[ShortlistEntry]:
    require_keeper(actor, holder)
    return list(db.session.scalars(
        select(ShortlistEntry).where(ShortlistEntry.holder_id == holder.id)
        .options(selectinload(ShortlistEntry.profile).selectinload(ProviderProfile.districts),
                 selectinload(ShortlistEntry.listing))
        .order_by(ShortlistEntry.created_at, ShortlistEntry.id)))


def add(actor: User, holder: User, *, profile_id: int, listing_id: int | None = None,
        note: str = "") -> ShortlistEntry:
    """Save a provider (or one of their live listings) to the holder's shortlist.

    Raises NotFound (not the holder's to change, or the provider/listing is not public),
    Conflict (already on the shortlist, or the shortlist is full), InvalidInput (note too long).
    """
    require_keeper(actor, holder)
    clean = _clean_note(note)
    profile = db.session.get(ProviderProfile, profile_id)
    if profile is None or not any(listing.is_live for listing in profile.listings):
        raise NotFound("We could not find that provider.")
    if listing_id is not None:
        listing = db.session.get(Listing, listing_id)
        if listing is None or not listing.is_live or listing.profile_id != profile.id:
            raise NotFound("We could not find that listing. It may no longer be offered.")
    # Lock the holder row so two saves at once cannot both pass the size check.
    db.session.execute(select(User.id).where(User.id == holder.id).with_for_update())
    count = len(db.session.scalars(select(ShortlistEntry.id)
                                   .where(ShortlistEntry.holder_id == holder.id)).all())
    if count >= MAX_ENTRIES:
        raise Conflict(f"Your shortlist already has {MAX_ENTRIES} entries. Remove some first.")
    entry = ShortlistEntry(holder_id=holder.id, profile_id=profile.id, listing_id=listing_id,
                           listing_key=listing_id or 0, note=clean, added_by_id=actor.id)
    db.session.add(entry)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(f"{profile.display_name} is already on the shortlist.") from None
    audit.record(actor, "shortlist.added", "shortlist_entry", entry.id, on_behalf_of=holder,
                 details={"provider_profile_id": profile.id, "listing_id": listing_id})
    db.session.commit()
    return entry


def _own_entry(actor: User, holder: User, entry_id: int) -> ShortlistEntry:
    require_keeper(actor, holder)
    entry = db.session.scalar(select(ShortlistEntry).where(ShortlistEntry.id == entry_id)
                              .with_for_update())
    if entry is None or entry.holder_id != holder.id:
        raise NotFound("We could not find that entry on the shortlist.")
    return entry


def update_note(actor: User, holder: User, entry_id: int, note: str) -> ShortlistEntry:
    entry = _own_entry(actor, holder, entry_id)
    entry.note = _clean_note(note)
    audit.record(actor, "shortlist.note_changed", "shortlist_entry", entry.id, on_behalf_of=holder)
    db.session.commit()
    return entry


def remove(actor: User, holder: User, entry_id: int) -> str:
    """Take an entry off the shortlist; returns the provider's name for the confirmation."""
    entry = _own_entry(actor, holder, entry_id)
    name = entry.profile.display_name
    audit.record(actor, "shortlist.removed", "shortlist_entry", entry.id, on_behalf_of=holder,
                 details={"provider_profile_id": entry.profile_id, "listing_id": entry.listing_id})
    db.session.delete(entry)
    db.session.commit()
    return name


@dataclass(frozen=True)
class Comparison:
    """One column of the side-by-side comparison, in words a person reads."""

    entry: ShortlistEntry
    name: str
    what: str  # the listing's title and category, or the provider's categories
    price: str
    distance_rank: int
    distance: str
    rating: RatingSummary
    languages: str
    specialisms: str
    next_free: str


def _price_words(listing: Listing, own: dict[int, int] | None = None) -> str:
    """The price, or the holder's own where they keep an older one (listings.rate_for_client)."""
    unit = PriceUnit(listing.price_unit).label
    if own and listing.id in own:
        return f"{pounds(own[listing.id])} {unit} for you (new clients {pounds(listing.price_pence)})"
    return f"{pounds(listing.price_pence)} {unit}"


def compare(actor: User, holder: User) -> list[Comparison]:
    """The shortlist side by side: price, distance in districts, ratings, languages, next free time.

    The order is the order the entries were saved: Carefair does not rank the holder's choices.
    """
    result: list[Comparison] = []
    for entry in entries(actor, holder):
        profile = entry.profile
        live = [listing for listing in profile.listings if listing.is_live]
        shown = [entry.listing] if entry.listing is not None and entry.listing.is_live else live
        own = rates_for_client([x.id for x in shown], holder.id)
        rank, words = district_distance(holder.home_district, [d.district for d in profile.districts])
        rating = (ratings.rating_for_listing(entry.listing.id) if entry.listing is not None
                  else ratings.provider_summary(profile.id))
        result.append(Comparison(
            entry=entry,
            name=profile.display_name,
            what=("; ".join(f"{x.title} ({Category(x.category).label})" for x in shown)
                  or "No services offered at the moment"),
            price="; ".join(_price_words(x, own) for x in shown) or "Not offered now",
            distance_rank=rank,
            distance=words,
            rating=rating,
            languages=", ".join(profile.languages or []) or "Not given",
            specialisms=", ".join(_specialism_label(s) for s in profile.specialisms or []) or "None listed",
            next_free=next_free_words(profile, now=clock.now()),
        ))
    return result


def _specialism_label(code: str) -> str:
    from app.domain.listings import Specialism

    try:
        return Specialism(code).label
    except ValueError:
        return code


def next_free_words(profile: ProviderProfile, *, now: datetime) -> str:
    """"Tuesday 9 December 2026 at 9am", or why there is nothing to show."""
    if not profile.slots:
        return "Has not set their usual hours"
    busy = db.session.execute(
        select(BookingSession.start_at, BookingSession.end_at)
        .where(BookingSession.provider_profile_id == profile.id,
               BookingSession.end_at > now,
               BookingSession.state.not_in(NON_BLOCKING_STATES))).all()
    start = next_free_start(
        now,
        [WeeklyHours(s.weekday, s.start_time.hour * 60 + s.start_time.minute,
                     s.end_time.hour * 60 + s.end_time.minute) for s in profile.slots],
        [(e.starts_on, e.ends_on) for e in profile.exceptions],
        [(b.start_at, b.end_at) for b in busy])
    if start is None:
        return "Nothing free in the next four weeks"
    local = start.astimezone(UK)
    return f"{local:%A} {local.day} {local:%B %Y}, {local:%H:%M}"
