"""Builders for provider tests: a profile, a listing and verified evidence, through the services."""

from __future__ import annotations

import io
from datetime import date, timedelta

from app.domain.access import Role
from app.domain.listings import Category
from app.domain.vetting import CheckKind, ProviderType, required_checks
from app.services import listings, providers, vetting


def profile_input(provider_type: ProviderType = ProviderType.SELF_EMPLOYED_PA, **overrides):
    values = dict(provider_type=provider_type.value, display_name="Maria Example",
                  about="Kind and patient.", languages=["English"], gender="Woman",
                  specialisms=["dementia"], districts="SY1, SY2")
    values.update(overrides)
    return providers.ProfileInput(**values)


def listing_input(category: Category = Category.PERSONAL_CARE, **overrides):
    values = dict(category=category.value, title="Care at home", description="Help at home.",
                  price="16.50", price_unit="hour", minimum_units=2, travel_charge="0",
                  cancellation_notice_hours=24, cancellation_charge="0",
                  funding_modes=["direct_payment"])
    values.update(overrides)
    return listings.ListingInput(**values)


def evidence_for(kind: CheckKind, n: int = 0, *, expires_on: date | None = None,
                 issued_on: date | None = None) -> vetting.EvidenceInput:
    today = date.today()
    if kind is CheckKind.DBS:
        return vetting.EvidenceInput(kind, "001234567890", issued_on=issued_on or today - timedelta(days=30))
    if kind is CheckKind.CQC:
        return vetting.EvidenceInput(kind, "1-123456789")
    if kind is CheckKind.INSURANCE:
        return vetting.EvidenceInput(kind, "PL-1", issued_on=issued_on,
                                     expires_on=expires_on or today + timedelta(days=200))
    if kind is CheckKind.REFERENCE:
        return vetting.EvidenceInput(kind, f"Referee {n}", details="01743 000000, former employer")
    if kind is CheckKind.TRAINING:
        return vetting.EvidenceInput(kind, "Care Certificate", issued_on=today - timedelta(days=90))
    return vetting.EvidenceInput(kind, "UK passport seen")


def verified_provider(make_user, broker, *, provider_type=ProviderType.SELF_EMPLOYED_PA,
                      category=Category.PERSONAL_CARE, skip: set[CheckKind] = frozenset(),
                      **listing_overrides):
    """A provider user with a profile and one listing, and every required check verified."""
    user = make_user(Role.PROVIDER)
    providers.save_profile(user, profile_input(provider_type))
    listing = listings.create_listing(user, listing_input(category, **listing_overrides))
    for kind, count in required_checks(provider_type, category).items():
        if kind in skip:
            continue
        for n in range(count):
            check = vetting.record_evidence(user, evidence_for(kind, n))
            vetting.decide(broker, check.id, approve=True)
    return user, listing


def png_bytes(size=(40, 30), fmt="PNG") -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (200, 100, 50)).save(out, format=fmt)
    return out.getvalue()
