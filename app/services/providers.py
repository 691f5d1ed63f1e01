"""Provider profiles: details, photo, postcode districts covered and weekly availability."""

from __future__ import annotations

import io
import secrets
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from app.domain.access import Role
from app.domain.districts import parse_served_districts
from app.domain.listings import (
    DistrictError,
    Slot,
    Specialism,
    availability_problem,
)
from app.domain.vetting import ProviderType
from app.errors import InvalidInput, NotFound, NotPermitted
from app.extensions import db
from app.models import (
    AvailabilityException,
    AvailabilitySlot,
    ProviderDistrict,
    ProviderProfile,
    User,
)
from app.services import audit, council_settings
from app.signals import send_listing_changed

PHOTO_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
PHOTO_MAX_PIXELS = 40_000_000  # refuse decompression bombs before decoding
PHOTO_MAX_SIDE = 800  # photos are stored re-encoded at most this big, without metadata


@dataclass(frozen=True)
class ProfileInput:
    provider_type: str
    display_name: str
    about: str = ""
    languages: list[str] = field(default_factory=list)
    gender: str | None = None
    specialisms: list[str] = field(default_factory=list)
    districts: str = ""
    venue_accessibility: str = ""


def profile_of(user: User) -> ProviderProfile | None:
    return db.session.scalar(select(ProviderProfile).where(ProviderProfile.user_id == user.id))


def require_profile(user: User) -> ProviderProfile:
    if user.role_enum is not Role.PROVIDER:
        raise NotPermitted("Only providers have a provider profile.")
    profile = profile_of(user)
    if profile is None:
        raise NotFound("Set up your provider profile first.")
    return profile


def _clean(data: ProfileInput) -> dict:
    try:
        provider_type = ProviderType(data.provider_type)
    except ValueError as err:
        raise InvalidInput("Select what kind of provider you are", field="provider_type") from err
    name = data.display_name.strip()
    if not name:
        raise InvalidInput("Enter the name people will see", field="display_name")
    if len(name) > 120:
        raise InvalidInput("Enter a name of 120 characters or fewer", field="display_name")
    if len(data.about) > 5000:
        raise InvalidInput("Enter 5,000 characters or fewer", field="about")
    known = {s.value for s in Specialism}
    if any(s not in known for s in data.specialisms):
        raise InvalidInput("Choose specialisms from the list", field="specialisms")
    languages: list[str] = []
    for lang in data.languages:
        lang = lang.strip()
        if lang and lang.lower() not in (x.lower() for x in languages):
            if len(lang) > 40:
                raise InvalidInput("Enter each language in 40 characters or fewer", field="languages")
            languages.append(lang)
    try:
        districts = parse_served_districts(data.districts)
    except DistrictError as err:
        raise InvalidInput(str(err), field="districts") from err
    if not districts:
        raise InvalidInput("Enter at least one postcode district you cover, like SY1",
                           field="districts")
    if len(districts) > 60:
        raise InvalidInput("Enter 60 postcode districts or fewer", field="districts")
    gender = (data.gender or "").strip() or None
    if gender and len(gender) > 40:
        raise InvalidInput("Enter 40 characters or fewer", field="gender")
    return {
        "provider_type": provider_type.value, "display_name": name, "about": data.about.strip(),
        "languages": languages, "gender": gender,
        "specialisms": [s.value for s in Specialism if s.value in data.specialisms],
        "venue_accessibility": data.venue_accessibility.strip()[:2000], "districts": districts,
    }


def save_profile(actor: User, data: ProfileInput) -> ProviderProfile:
    """Create or update the provider's own profile.

    Raises NotPermitted (not a provider), InvalidInput (field named).
    """
    from app.services.vetting import refresh_visibility

    if actor.role_enum is not Role.PROVIDER:
        raise NotPermitted("Only providers have a provider profile.")
    values = _clean(data)
    districts = values.pop("districts")
    profile = profile_of(actor)
    created = profile is None
    if profile is None:
        profile = ProviderProfile(user_id=actor.id, **values)
        db.session.add(profile)
    else:
        for key, value in values.items():
            setattr(profile, key, value)
    existing = {d.district: d for d in profile.districts}
    profile.districts = [existing.get(code) or ProviderDistrict(district=code) for code in districts]
    db.session.flush()
    audit.record(actor, "provider.profile_created" if created else "provider.profile_updated",
                 "provider_profile", profile.id,
                 details={"provider_type": profile.provider_type, "districts": districts})
    # The type decides which checks are needed, so a change can hide or show listings.
    refresh_visibility(profile, actor=actor)
    listing_ids = [listing.id for listing in profile.listings]
    db.session.commit()
    send_listing_changed(listing_ids)  # search documents include the provider's details
    return profile


def uploads_dir() -> Path:
    path = Path(current_app.instance_path) / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _reencode_photo(data: bytes) -> tuple[bytes, str]:
    from PIL import Image, UnidentifiedImageError

    limit = council_settings.current().photo_max_bytes
    if not data:
        raise InvalidInput("Choose a photo to upload", field="photo")
    if len(data) > limit:
        raise InvalidInput(f"The photo must be smaller than {limit // (1024 * 1024)} MB", field="photo")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in PHOTO_FORMATS:
                raise InvalidInput("The photo must be a JPG, PNG or WEBP", field="photo")
            if image.width * image.height > PHOTO_MAX_PIXELS:
                raise InvalidInput("The photo is too big. Choose one under 40 megapixels", field="photo")
            image.load()
    except InvalidInput:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombWarning,
            Image.DecompressionBombError) as err:
        raise InvalidInput("The photo must be a JPG, PNG or WEBP", field="photo") from err
    fmt = image.format
    image.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
    # Re-encoding drops EXIF metadata (such as where a phone photo was taken).
    final = image.convert("RGB") if fmt == "JPEG" and image.mode not in ("RGB", "L") else image
    out = io.BytesIO()
    final.save(out, format=fmt)
    return out.getvalue(), PHOTO_FORMATS[fmt]


def save_photo(actor: User, data: bytes) -> ProviderProfile:
    """Check an uploaded photo is a real image of an allowed type and size, and store it under a
    generated name. Raises NotFound (no profile), InvalidInput (field "photo")."""
    profile = require_profile(actor)
    content, ext = _reencode_photo(data)
    name = f"{secrets.token_hex(16)}.{ext}"
    path = uploads_dir() / name
    path.write_bytes(content)
    old = profile.photo_filename
    profile.photo_filename = name
    audit.record(actor, "provider.photo_changed", "provider_profile", profile.id)
    try:
        db.session.commit()
    except Exception:
        path.unlink(missing_ok=True)
        raise
    if old:
        (uploads_dir() / old).unlink(missing_ok=True)
    send_listing_changed([listing.id for listing in profile.listings])
    return profile


def photo_file(profile: ProviderProfile) -> Path | None:
    """The stored photo's path: always our generated name inside uploads/, never user input."""
    if not profile.photo_filename:
        return None
    path = uploads_dir() / Path(profile.photo_filename).name
    return path if path.is_file() else None


def set_availability(actor: User, slots: list[Slot]) -> ProviderProfile:
    """Replace the weekly pattern. Raises NotFound, InvalidInput (field "slots")."""
    profile = require_profile(actor)
    problem = availability_problem(slots)
    if problem:
        raise InvalidInput(problem, field="slots")
    profile.slots = [AvailabilitySlot(weekday=s.weekday, start_time=s.start, end_time=s.end)
                     for s in sorted(slots, key=lambda s: (s.weekday, s.start))]
    audit.record(actor, "provider.availability_set", "provider_profile", profile.id,
                 details={"slots": [str(s) for s in slots]})
    db.session.commit()
    send_listing_changed([listing.id for listing in profile.listings])  # search filters by day
    return profile


def add_exception(actor: User, starts_on: date, ends_on: date, reason: str = "", *,
                  today: date | None = None) -> AvailabilityException:
    """Mark dates away (a holiday). Raises NotFound, InvalidInput."""
    profile = require_profile(actor)
    today = today or datetime.now(ZoneInfo("Europe/London")).date()
    if starts_on < today:
        # Days already gone change nothing for bookings and would only clutter the list.
        raise InvalidInput("The first day away must be today or in the future", field="starts_on")
    if ends_on < starts_on:
        raise InvalidInput("The last day must be the same as or after the first day", field="ends_on")
    if (ends_on - starts_on).days > 366:
        raise InvalidInput("Enter a period of a year or less", field="ends_on")
    exception = AvailabilityException(profile_id=profile.id, starts_on=starts_on, ends_on=ends_on,
                                      reason=(reason or "").strip()[:200])
    db.session.add(exception)
    db.session.flush()
    audit.record(actor, "provider.away_added", "provider_profile", profile.id,
                 details={"from": starts_on.isoformat(), "to": ends_on.isoformat()})
    db.session.commit()
    return exception


def remove_exception(actor: User, exception_id: int) -> None:
    profile = require_profile(actor)
    exception = db.session.get(AvailabilityException, exception_id)
    if exception is None or exception.profile_id != profile.id:
        raise NotFound("We could not find those dates.")
    db.session.delete(exception)
    audit.record(actor, "provider.away_removed", "provider_profile", profile.id,
                 details={"from": exception.starts_on.isoformat(), "to": exception.ends_on.isoformat()})
    db.session.commit()


def public_profile(profile_id: int) -> ProviderProfile:
    """A provider the public may see: one with at least one live listing. Raises NotFound."""
    profile = db.session.get(ProviderProfile, profile_id)
    if profile is None or not any(listing.is_live for listing in profile.listings):
        raise NotFound("We could not find that provider.")
    return profile


def is_public(profile: ProviderProfile) -> bool:
    return any(listing.is_live for listing in profile.listings)
