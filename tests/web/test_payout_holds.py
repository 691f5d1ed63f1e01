"""Issue 16: a safeguarding concern holds the provider's payouts at once. For council-managed
budgets the council pays from the monthly remittance file, so a held provider's file is marked
and not handed out to be paid until a broker lifts the hold."""

from datetime import UTC, datetime

import pytest

from app.domain.access import Role
from app.services import bookings, concerns, restrictions
from tests.booking_helpers import holder_with_budget, live_listing, one_off

pytestmark = pytest.mark.database


def _settled_session(make_user):
    provider, listing = live_listing(make_user)
    holder, _ = holder_with_budget(make_user)
    booking = bookings.request_booking(holder, holder, one_off(listing))
    bookings.accept(provider, booking.id)
    s = booking.sessions[0]
    bookings.record_delivery(provider, s.id, actual_start=s.start_at, actual_end=s.end_at,
                             now=s.end_at)
    bookings.confirm_session(holder, holder, s.id)
    return listing


def test_a_held_providers_remittance_file_is_marked_and_not_handed_out_until_lifted(
        app, client, login, make_user):
    today = datetime.now(UTC).date()
    month = f"year={today.year}&month={today.month}"
    with app.app_context():
        listing = _settled_session(make_user)
        profile_id, name = listing.profile_id, listing.profile.display_name
        admin, broker = make_user(Role.COUNCIL_ADMIN), make_user(Role.BROKER)
        concerns.raise_concern(None, profile_id, concerns.ConcernInput(
            kind="safeguarding", harm="neglect", details="Left alone all day without food."))

    login(admin)
    page = client.get(f"/admin/remittance?{month}").get_data(as_text=True)
    # Before: the file was offered for payment as if nothing had happened.
    assert f'id="held-{profile_id}"' in page and "Payouts held" in page
    assert f"/admin/remittance/{profile_id}.csv" not in page
    refused = client.get(f"/admin/remittance/{profile_id}.csv?{month}")
    assert refused.status_code == 409
    assert "Do not pay them until the hold is lifted" in refused.get_data(as_text=True)

    with app.app_context():
        restrictions.lift(broker, profile_id, reason="The council found no neglect")
    page = client.get(f"/admin/remittance?{month}").get_data(as_text=True)
    assert "Payouts held" not in page
    paid = client.get(f"/admin/remittance/{profile_id}.csv?{month}")
    assert paid.status_code == 200 and name in paid.get_data(as_text=True)


def test_remittance_files_say_which_providers_payouts_are_held(app_ctx, make_user):
    listing = _settled_session(make_user)
    today = datetime.now(UTC).date()
    [before] = bookings.remittance_files(today.year, today.month)
    assert not before.payouts_held
    concerns.raise_concern(None, listing.profile_id, concerns.ConcernInput(
        kind="safeguarding", harm="abuse", details="Shouted at and pushed."))
    [after] = bookings.remittance_files(today.year, today.month)
    assert after.payouts_held
