"""Bad input anywhere gets a plain-English message beside the field, never WTForms' own words."""

import pytest

from app.domain.access import Role
from app.services import providers
from tests.booking_helpers import holder_with_budget, live_listing, next_weekday
from tests.provider_helpers import profile_input

pytestmark = pytest.mark.database

DEVELOPER_WORDS = ["Not a valid", "Field cannot be longer", "Field must be", "This field is required",
                   "Invalid value", "not a valid choice", "Number must be"]


def _assert_plain(page: str) -> None:
    assert [w for w in DEVELOPER_WORDS if w in page] == []


def test_booking_form_explains_bad_numbers_dates_and_long_notes(app, client, login, make_user):
    with app.app_context():
        _, listing = live_listing(make_user)
        holder, _ = holder_with_budget(make_user)
    login(holder)
    day = next_weekday(1)
    page = client.post(f"/my/book/{listing.id}", data={
        "kind": "sometimes", "day": [str(day.day), str(day.month), str(day.year)],
        "start_time": "10:00", "end_time": "12:00", "count": "three",
        "until": ["31", "2", "2027"], "notes": "x" * 2001, "check": "x"}).get_data(as_text=True)
    _assert_plain(page)
    assert "Choose how often" in page
    assert "Enter the number of sessions as a whole number, like 10" in page
    assert "Enter the last date as a real date, like 27 3 2027" in page
    assert "must be 2,000 characters or fewer" in page
    assert 'value="three"' in page


def test_listing_form_explains_bad_numbers_and_long_text(app, client, login_as):
    user = login_as(Role.PROVIDER)
    with app.app_context():
        providers.save_profile(user, profile_input())
    page = client.post("/provider/listings/new", data={
        "category": "nonsense", "title": "Morning care", "description": "x" * 5001,
        "price": "16.50", "price_unit": "fortnight", "minimum_units": "two",
        "cancellation_notice_hours": "a day", "funding_modes": ["magic"], "published": "y",
    }).get_data(as_text=True)
    _assert_plain(page)
    assert "Description must be 5,000 characters or fewer" in page
    assert "Enter a whole number, like 2" in page
    assert "Enter a whole number of hours, like 24" in page
    assert "Select whether the price is per hour, session or day" in page


def test_admin_budget_form_explains_unreadable_choices_and_dates(client, login_as):
    login_as(Role.COUNCIL_ADMIN)
    page = client.post("/admin/budgets/new", data={
        "frequency": "yearly", "funding_mode": "cash", "contingency_kind": "lots",
        "starts_on": ["45", "1", "2026"]}).get_data(as_text=True)
    _assert_plain(page)
