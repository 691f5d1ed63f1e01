"""The holder's address goes to the provider of an accepted home visit only, while it runs."""

from datetime import UTC, datetime, timedelta

import pytest

from app.domain.home_visits import may_see_address

END = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)


def _may(**changes) -> bool:
    args = dict(category="personal_care", booking_state="funds_held", last_visit_ends=END,
                now=END - timedelta(days=2), hours_after=12)
    args.update(changes)
    return may_see_address(**args)


def test_an_accepted_home_visit_shows_the_address_until_hours_after_the_last_visit():
    assert _may()
    assert _may(booking_state="accepted")
    assert _may(now=END + timedelta(hours=12))
    assert not _may(now=END + timedelta(hours=12, minutes=1))


@pytest.mark.parametrize("state", ["requested", "awaiting_approval", "declined", "cancelled",
                                   "settled", "not_approved"])
def test_no_address_before_acceptance_or_after_the_booking_ends(state):
    assert not _may(booking_state=state)


def test_no_address_for_support_away_from_home():
    assert not _may(category="getting_out")
    assert not _may(category="peer_support")
    assert not _may(last_visit_ends=None)
