"""When a provider may see the holder's home address and phone: an accepted home visit, while
the booking runs (and a few hours after its last visit, for a late note or a lost glove)."""

from __future__ import annotations

from datetime import datetime, timedelta

# Support that happens in the person's home: the provider needs to know where to go.
HOME_VISIT_CATEGORIES = frozenset({"personal_care", "help_at_home"})
# Accepted and not over: money held or being held, visits delivered and being confirmed.
RUNNING_STATES = frozenset({"accepted", "funds_held", "payment_failed", "delivered",
                            "confirmed", "disputed", "paused"})


def may_see_address(*, category: str, booking_state: str, last_visit_ends: datetime | None,
                    now: datetime, hours_after: int) -> bool:
    """Whether the provider of this booking may see where the visits happen, now."""
    if category not in HOME_VISIT_CATEGORIES or booking_state not in RUNNING_STATES:
        return False
    if last_visit_ends is None:
        return False
    return now <= last_visit_ends + timedelta(hours=hours_after)
