"""Demo data that shows every step of the journeys today: provider photos (initials drawn with
Pillow), visits in the past waiting to be confirmed or reviewed, and reviews spread over months
across many listings. Idempotent; anything the services refuse is skipped with a warning."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select

from app import clock
from app.errors import DomainError
from app.extensions import db
from app.models import Booking, BookingSession, ProviderProfile, User
from app.services import accounts, bookings, budgets, free_time, providers, ratings
from app.services.booking_seed import BROKER, MARIA

log = logging.getLogger(__name__)
NOTE = "Went well."  # marks the visits this loader made, for seeding twice
# Soft, distinct backgrounds with dark text (contrast well above 4.5:1).
COLOURS = ["#c5e1a5", "#f3e6a0", "#f8c9a0", "#b3d4ef", "#d9c2e9", "#9fd8a8", "#f4c2c2"]
COMMENTS = [
    "Always on time and never rushed me.",
    "Kind, patient and listened to what I wanted.",
    "Good support, though the first visit started late.",
    "Helped me get back out into town. I feel more confident.",
    "Friendly and respectful. I would book again.",
    "Fine, but I would like more notice of changes.",
]


def initials_picture(name: str, seq: int) -> bytes:
    """A square picture of a name's initials on a soft colour, as PNG bytes."""
    letters = "".join(part[0] for part in name.split()[:2]).upper() or "?"
    image = Image.new("RGB", (320, 320), COLOURS[seq % len(COLOURS)])
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=140)
    box = draw.textbbox((0, 0), letters, font=font)
    x = (320 - (box[2] - box[0])) / 2 - box[0]
    y = (320 - (box[3] - box[1])) / 2 - box[1]
    draw.text((x, y), letters, fill="#0b0c0c", font=font)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _photos() -> None:
    profiles = db.session.scalars(select(ProviderProfile).order_by(ProviderProfile.id)).all()
    for seq, profile in enumerate(profiles):
        if profile.photo_filename or seq % 5 == 4:  # most, not all: some people have no photo
            continue
        try:
            providers.save_photo(profile.user, initials_picture(profile.display_name, seq))
        except DomainError as err:
            db.session.rollback()
            log.warning("Demo photo for %s skipped: %s", profile.display_name, err.message)


def _past_visit(provider: User, holder: User, listing, weeks_ago: int, *, confirm: bool):
    """A visit some weeks ago in the provider's first weekly slot, delivered (and confirmed and
    paid if `confirm`). None when the provider has no weekly times."""
    profile = listing.profile
    slot = min(profile.slots, key=lambda x: (x.weekday, x.start_time), default=None)
    if slot is None:
        return None
    today = clock.now().date()
    day = today - timedelta(days=(today.weekday() - slot.weekday) % 7 + 7 * weeks_ago)
    start = bookings.local(day, slot.start_time)
    slot_end = bookings.local(day, slot.end_time)
    wanted = free_time.visit_minutes(listing)
    end = min(start + timedelta(minutes=wanted), slot_end)
    data = bookings.BookingInput(listing.id, start=start, end=end)
    booking = bookings.request_booking(
        holder, holder, data, now=datetime.combine(day - timedelta(days=3), time(9), tzinfo=UTC))
    if booking.state == "awaiting_approval":
        broker = accounts.find_by_email(BROKER)
        if broker is None:
            return None
        booking = bookings.approve(broker, booking.id, note="Demo.")
    bookings.accept(provider, booking.id)
    s = booking.sessions[0]
    # Recorded today (not on the visit's day), so the 72 hours before hours confirm themselves
    # run from now and the demo shows a visit waiting for the holder.
    bookings.record_delivery(provider, s.id, actual_start=s.start_at, actual_end=s.end_at,
                             notes=NOTE, now=clock.now() if not confirm else s.end_at)
    if confirm:
        bookings.confirm_session(holder, holder, s.id)
    return booking


def _has_past_visit(holder: User, profile_id: int) -> bool:
    """Whether this loader already gave the holder a visit with this provider (whatever became
    of it: a job may have confirmed it since), so seeding twice changes nothing."""
    return db.session.scalar(select(BookingSession.id).join(Booking).where(
        Booking.holder_id == holder.id, Booking.provider_profile_id == profile_id,
        BookingSession.delivery_notes == NOTE).limit(1)) is not None


def _visits_waiting() -> None:
    maria = accounts.find_by_email(MARIA)
    alex = accounts.find_by_email("holder@carefair.example")
    sam = accounts.find_by_email("sam.holder@carefair.example")
    profile = providers.profile_of(maria) if maria else None
    listing = next((x for x in profile.listings if x.is_live), None) if profile else None
    if listing is None or maria is None or profile is None:
        return
    try:
        if alex is not None and not _has_past_visit(alex, profile.id):
            _past_visit(maria, alex, listing, 1, confirm=False)  # hours to confirm
        if sam is not None and not _has_past_visit(sam, profile.id):
            _past_visit(maria, sam, listing, 2, confirm=True)  # a review to write
    except DomainError as err:
        db.session.rollback()
        log.warning("Demo past visit skipped: %s", err.message)


def _spread_reviews(limit: int = 12) -> None:
    """Reviews by Alex and Sam of many providers, dated over the last six months."""
    holders = [h for h in (accounts.find_by_email("holder@carefair.example"),
                           accounts.find_by_email("sam.holder@carefair.example")) if h]
    # Council-managed budgets only: no card needed, and the listings chosen take them.
    holders = [h for h in holders if (b := budgets.current_budget(h.id)) is not None
               and b.funding_mode == "council_managed"]
    if not holders:
        return
    maria = accounts.find_by_email(MARIA)
    profiles = db.session.scalars(select(ProviderProfile).order_by(ProviderProfile.id)).all()
    made = 0
    for seq, profile in enumerate(profiles):
        if made >= limit:
            break
        if maria is not None and profile.user_id == maria.id:
            continue
        holder = holders[seq % len(holders)]
        # An earlier run got here (a review it wrote, or one the rules refused): never book
        # again, so seeding twice changes nothing.
        if _has_past_visit(holder, profile.id):
            made += 1
            continue
        # (Counted before the listing is looked at: a job may hide a listing between runs.)
        listing = next((x for x in profile.listings
                        if x.is_live and "council_managed" in x.funding_modes), None)
        if listing is None:
            continue
        weeks_ago = 3 + (seq * 11) % 24  # spread over about six months
        try:
            booking = _past_visit(profile.user, holder, listing, weeks_ago, confirm=True)
            if booking is None:
                continue
            chance = next(c for c in ratings.reviewable(holder) if c.booking.id == booking.id)
            overall = 5 - (seq % 4 == 3) - (seq % 7 == 5) * 2
            scores = {"reliable": max(overall - seq % 2, 1), "respect_dignity": overall,
                      "listened": overall, "value": max(overall - 1, 1), "overall": overall}
            written = booking.sessions[0].end_at + timedelta(days=1 + seq % 3)
            ratings.submit_review(holder, holder, booking.id, scores,
                                  COMMENTS[seq % len(COMMENTS)], month=chance.month,
                                  now=written)
            made += 1
        except (DomainError, StopIteration) as err:
            db.session.rollback()
            log.warning("Demo review of %s skipped: %s", profile.display_name,
                        getattr(err, "message", "nothing to review"))


def load_journeys(seed_dir: Path) -> None:
    _photos()
    _visits_waiting()
    _spread_reviews()
