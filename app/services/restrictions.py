"""Provider restrictions after a flag: listings suspended and payouts held, set and lifted.

Payment code asks `payouts_held(profile_id)` before paying a provider. Suspension works through
the vetting service's `refresh_visibility`, so search is told after the commit like any other
change of visibility. Restrictions only block, hold and hide: they never change the care.
"""

from __future__ import annotations

from sqlalchemy import select

from app.domain.access import Role
from app.domain.flags import Effects
from app.errors import InvalidInput, NotFound, NotPermitted
from app.extensions import db
from app.models import Flag, ProviderProfile, ProviderRestriction, User
from app.services import audit
from app.signals import send_listing_changed


def restriction_of(profile_id: int) -> ProviderRestriction | None:
    return db.session.scalar(select(ProviderRestriction)
                             .where(ProviderRestriction.provider_profile_id == profile_id))


def payouts_held(profile_id: int) -> bool:
    """Whether payouts to this provider are held pending a broker's review (for payment code)."""
    restriction = restriction_of(profile_id)
    return bool(restriction and restriction.payouts_held)


def is_restricted(profile_id: int) -> bool:
    """Listings suspended or payouts held: such a provider cannot accept bookings, and their
    messages to holders wait for a broker."""
    restriction = restriction_of(profile_id)
    return bool(restriction and (restriction.listings_suspended or restriction.payouts_held))


def listings_suspended(profile_id: int) -> bool:
    restriction = restriction_of(profile_id)
    return bool(restriction and restriction.listings_suspended)


def apply(profile: ProviderProfile, effects: Effects, *, actor: User | None,
          flag: Flag | None) -> list[int]:
    """Suspend listings and/or hold payouts. Joins the caller's transaction.

    Returns the ids of listings hidden by it: the caller signals them after its commit.
    """
    from app.services.vetting import refresh_visibility

    if not (effects.suspend_listings or effects.hold_payouts):
        return []
    restriction = restriction_of(profile.id)
    if restriction is None:
        restriction = ProviderRestriction(provider_profile_id=profile.id, listings_suspended=False,
                                          payouts_held=False)
        db.session.add(restriction)
    flag_ref = flag.reference if flag is not None else None
    changed: list[int] = []
    if effects.suspend_listings and not restriction.listings_suspended:
        restriction.listings_suspended = True
        audit.record(actor, "provider.listings_suspended", "provider_profile", profile.id,
                     details={"flag": flag_ref})
    if effects.hold_payouts and not restriction.payouts_held:
        restriction.payouts_held = True
        audit.record(actor, "provider.payouts_held", "provider_profile", profile.id,
                     details={"flag": flag_ref})
    if flag is not None:
        restriction.flag = flag
    db.session.flush()
    if effects.suspend_listings:
        changed = refresh_visibility(profile, actor=actor)
    return changed


def lift(broker: User, profile_id: int, *, reason: str) -> ProviderRestriction:
    """A broker lifts a provider's suspension and payout hold after review.

    Raises NotPermitted (not a broker), NotFound (no restriction), InvalidInput (no reason).
    """
    if broker.role_enum is not Role.BROKER:
        raise NotPermitted("Only a broker can lift a restriction.")
    restriction = restriction_of(profile_id)
    if restriction is None or not (restriction.listings_suspended or restriction.payouts_held):
        raise NotFound("This provider has no restriction to lift.")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Enter why the restriction can be lifted", field="lift_reason")
    if len(reason) > 2000:
        raise InvalidInput("Enter 2,000 characters or fewer", field="lift_reason")
    changed = lift_in_transaction(broker, profile_id, reason=reason)
    db.session.commit()
    send_listing_changed(changed)
    return restriction


def lift_in_transaction(broker: User, profile_id: int, *, reason: str) -> list[int]:
    """Lift any suspension and payout hold, audited; nothing to do when there is none. Messages
    held only because the provider was restricted reach the holders now. Joins the caller's
    transaction; returns the listing ids shown again (signal them after commit)."""
    from app.services.flags import release_restricted_messages
    from app.services.vetting import refresh_visibility

    restriction = restriction_of(profile_id)
    if restriction is None or not (restriction.listings_suspended or restriction.payouts_held):
        return []
    was = {"listings_suspended": restriction.listings_suspended,
           "payouts_held": restriction.payouts_held}
    restriction.listings_suspended = False
    restriction.payouts_held = False
    audit.record(broker, "provider.restriction_lifted", "provider_profile", profile_id,
                 details={**was, "reason": reason})
    db.session.flush()
    release_restricted_messages(broker, profile_id, reason=reason)
    return refresh_visibility(restriction.provider, actor=broker)
