"""Existing clients see their own price where they see a listing (the listing page and search)
after a rise for new clients, and when a rise reaches them; new clients see the new price."""

import re
from datetime import date, timedelta

from app.services import bookings, listings
from tests.booking_helpers import holder_with_budget, live_listing, one_off


def _listing_input(listing, price, title=None, **kw):
    return listings.ListingInput(
        category=listing.category, title=title or listing.title, description=listing.description,
        price=price, price_unit=listing.price_unit, minimum_units=listing.minimum_units,
        funding_modes=list(listing.funding_modes), **kw)


def _text(html):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_an_existing_client_sees_their_own_price_and_when_it_changes(app, client, login,
                                                                   make_user, db_session):
    with app.app_context():  # each request then has its own (the acting person is per request)
        provider, listing = live_listing(make_user)
        holder, _ = holder_with_budget(make_user)
        newcomer, _ = holder_with_budget(make_user)
        bookings.request_booking(holder, holder, one_off(listing))
        effective = date.today() + timedelta(days=30)
        # A word no other test's listing uses: the search index outlives each test's rollback.
        listings.update_listing(provider, listing.id, _listing_input(
            listing, "19.50", title="Quillwort care at home", price_effective=effective))

    login(holder)
    page = _text(client.get(f"/listings/{listing.id}").get_data(as_text=True))
    assert "£16.50 per hour for you: your current price, £19.50 from " \
           f"{effective.day} {effective:%B %Y}. New clients pay £19.50." in page
    found = _text(client.get("/search?all=1&q=quillwort")
                  .get_data(as_text=True))
    assert "£16.50 an hour for you (your current price; new clients pay £19.50)" in found
    booking_page = _text(client.get(f"/my/book/{listing.id}").get_data(as_text=True))
    assert "£16.50 per hour for you: your current price, £19.50 from" in booking_page
    with app.app_context():
        from app.services import shortlists

        shortlists.add(holder, holder, profile_id=listing.profile_id, listing_id=listing.id)
        (row,) = shortlists.compare(holder, holder)
        assert row.price == "£16.50 per hour for you (new clients £19.50)"

    login(newcomer)
    html = client.get(f"/listings/{listing.id}").get_data(as_text=True)
    assert "£19.50 per hour" in _text(html) and 'id="your-price"' not in html
