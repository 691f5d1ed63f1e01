"""Public provider and listing pages: only live listings and providers with one are shown."""

from __future__ import annotations

from flask import abort, render_template, send_file
from flask_login import current_user

from app.extensions import db
from app.models import ProviderProfile
from app.services import free_time, providers
from app.services import listings as listing_service
from app.web.context import acting, public
from app.web.public import bp


@bp.get("/providers/<int:profile_id>")
@public
def provider_page(profile_id: int):
    profile = providers.public_profile(profile_id)
    return render_template("public/provider.html", profile=profile,
                           listings=listing_service.live_listings_of(profile),
                           title=profile.display_name)


@bp.get("/providers/<int:profile_id>/photo")
@public
def provider_photo(profile_id: int):
    """The stored photo, for a public provider or for its owner; never a user-chosen path."""
    profile = db.session.get(ProviderProfile, profile_id)
    if profile is None:
        abort(404)
    owner = current_user.is_authenticated and current_user.id == profile.user_id
    if not owner and not providers.is_public(profile):
        abort(404)
    path = providers.photo_file(profile)
    if path is None:
        abort(404)
    response = send_file(path, max_age=300 if not owner else 0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/listings/<int:listing_id>")
@public
def listing_page(listing_id: int):
    listing = listing_service.public_listing(listing_id)
    holder = acting().holder  # a holder's free times also leave out weeks their plan has used
    own = listing_service.client_price(listing, holder.id) if holder is not None else None
    return render_template("public/listing.html", listing=listing, profile=listing.profile,
                           own_price=own,
                           free=free_time.next_free(listing, limit=6,
                                                    holder_id=holder.id if holder else None),
                           visit_minutes=free_time.visit_minutes(listing), title=listing.title)


@bp.app_template_global()
def specialism_labels(values: list[str]) -> list[str]:
    from app.domain.listings import Specialism

    return [Specialism(v).label for v in values if v in Specialism._value2member_map_]


@bp.app_template_global()
def weekday_name(weekday: int) -> str:
    from app.domain.listings import WEEKDAYS

    return WEEKDAYS[weekday]
