"""The market view, the council settings page, conflicts and home districts, through the client."""

import pytest
from sqlalchemy import select

from app.domain.access import Role
from app.extensions import db
from app.models import AuditEvent
from app.services import brokerage
from tests.market_helpers import concentrated_district

pytestmark = pytest.mark.database


@pytest.fixture
def scanned(app, make_user):
    with app.app_context():
        broker = make_user(Role.BROKER)
        big, small, people = concentrated_district(make_user, broker, "LS6")
        run_id = brokerage.scan().market_run_id
        return big.profile_id, run_id


def test_broker_and_council_admin_see_the_market_view_others_do_not(client, login_as, scanned):
    login_as(Role.BROKER)
    page = client.get("/markets/").get_data(as_text=True)
    assert "LS6: Personal care" in page and "Highly concentrated" in page
    assert "Big Care Ltd (71%)" in page and "1 above the cap" in page
    for role in (Role.HOLDER, Role.PROVIDER, Role.SUPPORTER):
        login_as(role)
        assert client.get("/markets/").status_code == 403
    login_as(Role.COUNCIL_ADMIN)
    assert client.get("/markets/").status_code == 200


def test_a_market_page_has_a_chart_with_a_table_and_the_providers_above_the_cap(
        client, login_as, scanned):
    provider_id, _ = scanned
    login_as(Role.BROKER)
    page = client.get("/markets/LS6/personal_care").get_data(as_text=True)
    assert '<svg' in page and 'id="trend-table"' in page and "5,510" in page
    assert f'/markets/providers/{provider_id}' in page and "Above the cap" in page
    provider = client.get(f"/markets/providers/{provider_id}").get_data(as_text=True)
    assert "Big Care Ltd in the markets" in provider and "highly concentrated" in provider
    assert client.get("/markets/LS9/personal_care").status_code == 404


def test_market_csv_is_a_download_with_defused_cells(client, login_as, scanned, app):
    login_as(Role.BROKER)
    with app.app_context():
        from app.models import ProviderProfile

        profile = db.session.get(ProviderProfile, scanned[0])
        profile.display_name = "=HYPERLINK(1)"
        db.session.commit()
    response = client.get("/markets/markets.csv")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.splitlines()[0].startswith("district,category,spend_pounds")
    assert "'=HYPERLINK(1)" in text and "LS6,personal_care,1960.00,7,3" in text


def test_every_steering_figure_is_a_download(client, login_as, app, make_user):
    from tests.market_helpers import book, holders_in, market_provider

    with app.app_context():
        broker = make_user(Role.BROKER, name="Sam Broker")
        listings = [market_provider(make_user, broker, f"Provider {n}") for n in range(3)]
        for listing in listings:
            for person in holders_in(make_user, "LS6", 3):
                book(listing, person)
        for person in holders_in(make_user, "LS6", 6):
            book(listings[0], person, arranged_by=broker)
        book(listings[1], holders_in(make_user, "LS6", 1)[0], arranged_by=broker)
        brokerage.scan()
    login_as(Role.COUNCIL_ADMIN)
    assert "/markets/steering.csv" in client.get("/markets/steering").get_data(as_text=True)
    response = client.get("/markets/steering.csv")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == ("broker,category,provider,holders_arranged,holders_to_provider,"
                        "broker_share_percent,expected_percent,p_value,districts,finding")
    assert lines[1].startswith("Sam Broker,personal_care,Provider 0,7,6,85.7,")
    assert lines[1].endswith(",LS6,yes") and lines[2].endswith(",LS6,no") and len(lines) == 3


def test_settings_page_keeps_what_was_typed_and_shows_the_error_beside_it(client, login_as):
    login_as(Role.COUNCIL_ADMIN)
    page = client.get("/admin/settings").get_data(as_text=True)
    assert 'name="provider_share_cap_percent"' in page and 'value="30"' in page
    form = {name: value for name, value in _form_values(page).items()}
    form.update(provider_share_cap_percent="150", market_window_days="60")
    response = client.post("/admin/settings", data=form)
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "Share cap (%) must be between 1 and 100" in body
    assert 'href="#provider_share_cap_percent"' in body and 'value="150"' in body
    assert 'value="60"' in body
    assert not db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "council_setting.changed")).all()
    form.update(provider_share_cap_percent="25")
    done = client.post("/admin/settings", data=form, follow_redirects=True).get_data(as_text=True)
    assert "Share cap (%) from 30 to 25" in done and "Market window (days) from 90 to 60" in done
    assert client.get("/admin/settings").status_code == 200
    login_as(Role.BROKER)
    assert client.get("/admin/settings").status_code == 403


def _form_values(page: str) -> dict[str, str]:
    import re

    values = dict(re.findall(r'name="([a-z_:]+)" type="text"[^>]*value="([^"]*)"', page))
    for name, body in re.findall(r'<select class="govuk-select[^"]*" id="[^"]+" name="([^"]+)"'
                                 r'[^>]*>(.*?)</select>', page, re.S):
        values[name] = re.search(r'<option value="([^"]+)" selected', body).group(1)
    if re.search(r'name="share_cap_dampens_search" type="checkbox" value="yes" checked', page):
        values["share_cap_dampens_search"] = "yes"
    return values


def test_broker_declares_a_conflict_and_sees_it(client, login_as, scanned):
    login_as(Role.BROKER)
    response = client.post("/broker/conflicts", data={"provider": "nobody at all",
                                                      "description": "friend"})
    assert "No provider is called “nobody at all”" in response.get_data(as_text=True)
    assert 'value="nobody at all"' in response.get_data(as_text=True)
    done = client.post("/broker/conflicts", data={"provider": "Big Care",
                                                  "description": "My sister runs it"},
                       follow_redirects=True).get_data(as_text=True)
    assert "You will not be able to approve or arrange bookings with Big Care Ltd" in done
    assert "My sister runs it" in done


def test_a_broker_records_a_holders_district_and_a_holder_changes_their_own(
        app, client, login_as, make_user, login):
    holder = make_user(Role.HOLDER)
    login_as(Role.BROKER)
    bad = client.post(f"/broker/holders/{holder.id}/district", data={"district": "LS6 1AB"})
    assert "Enter only the first part of the postcode, like LS6" in bad.get_data(as_text=True)
    ok = client.post(f"/broker/holders/{holder.id}/district", data={"district": "ls6"},
                     follow_redirects=True).get_data(as_text=True)
    assert "Home district saved: LS6." in ok and "Home district: LS6" in ok
    login(holder)
    assert "Home district: LS6" in client.get("/my/").get_data(as_text=True)
    client.post("/my/district", data={"district": "SY1"})
    assert db.session.get(type(holder), holder.id).home_district == "SY1"
    # Search starts from the holder's district, and an emptied box searches everywhere.
    from app.services import search as search_service

    with app.app_context():
        search_service.reindex([])  # an empty index, built (the page needs one)
    assert 'value="SY1"' in client.get("/search").get_data(as_text=True)
    assert 'value="SY1"' not in client.get("/search?district=").get_data(as_text=True)


def test_the_booking_form_advises_a_newcomer_about_a_dominant_provider(
        client, make_user, login, scanned, app):
    from tests.booking_helpers import holder_with_budget

    with app.app_context():
        from app.models import Listing

        listing_id = db.session.scalar(select(Listing.id).where(
            Listing.profile_id == scanned[0]))
    holder, _ = holder_with_budget(make_user)
    holder.home_district = "LS6"
    db.session.commit()
    login(holder)
    page = client.get(f"/my/book/{listing_id}").get_data(as_text=True)
    assert 'id="booking-advice"' in page
    assert "Big Care Ltd already provides 71% of the personal care" in page
    assert 'id="alternatives"' in page and "Small Care 1" in page


def test_the_check_step_advises_before_the_request_is_sent(client, make_user, login, scanned,
                                                           app):
    """The listing's Book button leads through the short steps: their last page, where the
    request is sent, says the same as the one-page form."""
    from datetime import timedelta
    from urllib.parse import quote

    from app import clock
    from tests.booking_helpers import holder_with_budget

    with app.app_context():
        from app.models import Listing

        listing_id = db.session.scalar(select(Listing.id).where(
            Listing.profile_id == scanned[0]))
    holder, _ = holder_with_budget(make_user)
    holder.home_district = "LS6"
    db.session.commit()
    login(holder)
    start = (clock.now() + timedelta(days=10)).replace(hour=10, minute=0, second=0,
                                                       microsecond=0)
    page = client.get(f"/my/book/{listing_id}/check?often=once&minutes=120"
                      f"&start={quote(start.isoformat())}").get_data(as_text=True)
    assert 'id="send"' in page and 'id="booking-advice"' in page
    assert page.index('id="booking-advice"') < page.index('id="send"')
    assert "Big Care Ltd already provides 71% of the personal care" in page
    assert 'id="alternatives"' in page and "Small Care 2" in page


def test_a_broker_measures_the_markets_again_from_the_market_view(client, login_as, scanned):
    login_as(Role.BROKER)
    page = client.post("/markets/scan", follow_redirects=True).get_data(as_text=True)
    assert "The markets were measured again: 0 new flags filed." in page
    login_as(Role.HOLDER)
    assert client.post("/markets/scan").status_code == 403
