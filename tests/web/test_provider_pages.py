"""Provider, broker and public pages: forms, bad input beside the field, access, hidden listings."""

import io
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.domain.access import Role
from app.domain.vetting import CheckKind, ProviderType
from app.models import Listing, ProviderProfile, VettingCheck
from app.services import providers, vetting
from tests.provider_helpers import evidence_for, png_bytes, profile_input, verified_provider


@pytest.fixture
def broker(make_user):
    return make_user(Role.BROKER)


def _live_provider(app, make_user, broker, **kwargs):
    with app.app_context():
        user, listing = verified_provider(make_user, broker, **kwargs)
        return user, listing.id, listing.profile_id


PROFILE_FORM = {"provider_type": "self_employed_pa", "display_name": "Jo Bloggs",
                "about": "Hello", "districts": "SY1, TF2", "specialisms": ["autism"],
                "languages": "English, Welsh", "gender": "", "venue_accessibility": ""}


def test_provider_creates_a_profile(client, login_as, db_session):
    user = login_as(Role.PROVIDER)
    response = client.post("/provider/profile", data=PROFILE_FORM, follow_redirects=True)
    assert "Your profile is saved." in response.get_data(as_text=True)
    profile = db_session.scalar(select(ProviderProfile).where(ProviderProfile.user_id == user.id))
    assert profile.district_codes == ["SY1", "TF2"] and profile.languages == ["English", "Welsh"]


def test_not_a_postcode_district_shows_beside_the_field_and_keeps_what_was_typed(client, login_as,
                                                                                db_session):
    login_as(Role.PROVIDER)
    response = client.post("/provider/profile", data={**PROFILE_FORM, "districts": "SY1, Narnia"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "is not a postcode district" in page and 'id="districts-error"' in page
    assert 'value="SY1, Narnia"' in page and 'value="Jo Bloggs"' in page
    assert db_session.scalar(select(func.count(ProviderProfile.id))) == 0


def _error_beside(page: str, field: str) -> str:
    """The text of the error message shown with a field (GOV.UK: <p id="<field>-error">)."""
    found = re.search(rf'<p[^>]*id="{field}-error"[^>]*>(.*?)</p>', page, re.S)
    assert found, f"no error beside {field}"
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


def test_a_district_not_in_use_is_named_beside_the_field_and_nothing_changes(client, login_as,
                                                                             db_session):
    user = login_as(Role.PROVIDER)
    client.post("/provider/profile", data=PROFILE_FORM)
    response = client.post("/provider/profile", data={**PROFILE_FORM, "display_name": "Jo B",
                                                      "districts": "SY1, sy30"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "SY30 is not a postcode district in use" in _error_beside(page, "districts")
    assert 'value="SY1, sy30"' in page and 'value="Jo B"' in page
    db_session.expire_all()
    profile = db_session.scalar(select(ProviderProfile).where(ProviderProfile.user_id == user.id))
    assert profile.district_codes == ["SY1", "TF2"] and profile.display_name == "Jo Bloggs"


def _with_profile(app, client, login_as, provider_type=ProviderType.SELF_EMPLOYED_PA):
    user = login_as(Role.PROVIDER)
    with app.app_context():
        providers.save_profile(user, profile_input(provider_type))
    return user


LISTING_FORM = {"category": "personal_care", "title": "Morning care", "description": "x",
                "price": "16.50", "price_unit": "hour", "minimum_units": "2", "travel_charge": "",
                "cancellation_notice_hours": "24", "cancellation_charge": "",
                "funding_modes": ["direct_payment"], "published": "y"}


@pytest.mark.parametrize("price,message", [("0", "more than £0"), ("9999", "£200.00 per hour or less"),
                                           ("16.555", "2 decimal places")])
def test_bad_price_shows_beside_the_field_and_nothing_is_saved(app, client, login_as, db_session,
                                                              price, message):
    _with_profile(app, client, login_as)
    response = client.post("/provider/listings/new", data={**LISTING_FORM, "price": price})
    page = response.get_data(as_text=True)
    assert message in page and 'id="price-error"' in page and 'value="Morning care"' in page
    assert db_session.scalar(select(func.count(Listing.id))) == 0


def test_new_listing_is_hidden_until_vetted_and_guidance_warns_below_living_wage(app, client,
                                                                                 login_as, db_session):
    _with_profile(app, client, login_as, ProviderType.EMPLOYED_PA)
    response = client.post("/provider/listings/new", data={**LISTING_FORM, "price": "11.00"},
                           follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "below the National Living Wage of £12.71" in page
    assert "Hidden until vetting is complete" in page
    listing_id = db_session.scalar(select(Listing.id))
    assert client.get(f"/listings/{listing_id}").status_code == 404
    edit = client.get(f"/provider/listings/{listing_id}/edit").get_data(as_text=True)
    assert "employed personal assistant is £11.75" in edit and 'value="11.00"' in edit


def test_provider_cannot_edit_another_providers_listing(app, client, login_as, make_user, broker,
                                                        db_session):
    _, listing_id, _ = _live_provider(app, make_user, broker)
    _with_profile(app, client, login_as)
    assert client.get(f"/provider/listings/{listing_id}/edit").status_code == 404
    response = client.post(f"/provider/listings/{listing_id}/edit", data={**LISTING_FORM, "title": "Mine"})
    assert response.status_code == 404
    assert db_session.get(Listing, listing_id).title == "Care at home"


def test_overlapping_availability_is_refused_and_kept(app, client, login_as):
    _with_profile(app, client, login_as)
    typed = "Monday 09:00 to 12:00\nMonday 11:00 to 13:00"
    page = client.post("/provider/availability", data={"slots": typed}).get_data(as_text=True)
    assert "overlaps" in page and 'id="slots-error"' in page and "Monday 11:00 to 13:00" in page
    ok = client.post("/provider/availability", data={"slots": "Monday 09:00 to 12:00"},
                     follow_redirects=True).get_data(as_text=True)
    assert "Your availability is saved." in ok


def _parts(day):
    return [str(day.day), str(day.month), str(day.year)]


def test_dates_away_can_be_added(app, client, login_as):
    _with_profile(app, client, login_as)
    first, last = date.today() + timedelta(days=30), date.today() + timedelta(days=43)
    response = client.post("/provider/availability/away", data={
        "starts_on": _parts(first), "ends_on": _parts(last), "reason": "Holiday"},
        follow_redirects=True)
    assert (f"{first.strftime('%-d %B %Y')} to {last.strftime('%-d %B %Y')}"
            in response.get_data(as_text=True))


def test_dates_away_in_the_past_are_refused_with_the_error_summary(app, client, login_as):
    _with_profile(app, client, login_as)
    gone = date.today() - timedelta(days=10)
    response = client.post("/provider/availability/away", data={
        "starts_on": _parts(gone), "ends_on": _parts(gone + timedelta(days=3)), "reason": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "The first day away must be today or in the future" in page
    assert "govuk-error-summary" in page and 'href="#starts_on"' in page
    assert "You have no dates away." in page


def test_saving_an_empty_availability_box_asks_before_removing_every_time(app, client,
                                                                          login_as):
    user = _with_profile(app, client, login_as)
    client.post("/provider/availability", data={"slots": "Monday 09:00 to 12:00"})
    page = client.post("/provider/availability", data={"slots": "  "}).get_data(as_text=True)
    assert "Remove all your weekly times?" in page
    with app.app_context():
        assert len(providers.profile_of(user).slots) == 1
    done = client.post("/provider/availability", data={"slots": "", "confirm_clear": "yes"},
                       follow_redirects=True).get_data(as_text=True)
    assert "Your weekly times are removed" in done
    with app.app_context():
        assert providers.profile_of(user).slots == []


def test_wrong_type_upload_is_refused_beside_the_field(app, client, login_as):
    user = _with_profile(app, client, login_as)
    response = client.post("/provider/profile/photo", data={
        "photo": (io.BytesIO(b"MZ\x90\x00 not an image"), "me.png")},
        content_type="multipart/form-data")
    assert response.status_code == 400
    assert "JPG, PNG or WEBP" in response.get_data(as_text=True)
    with app.app_context():
        assert providers.profile_of(user).photo_filename is None


def test_far_too_large_upload_is_refused(app, client, login_as):
    _with_profile(app, client, login_as)
    # A raw body: the test client would otherwise spool a multipart file it never closes.
    body = b"--b\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"huge.png\"\r\n\r\n"
    body += b"\x00" * (7 * 1024 * 1024) + b"\r\n--b--\r\n"
    response = client.post("/provider/profile/photo", data=body,
                           content_type="multipart/form-data; boundary=b")
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)


def test_photo_upload_is_served_to_the_owner_but_not_the_public_until_live(app, client, login_as):
    user = _with_profile(app, client, login_as)
    response = client.post("/provider/profile/photo", data={
        "photo": (io.BytesIO(png_bytes()), "../../etc/passwd.png")},
        content_type="multipart/form-data", follow_redirects=True)
    assert "Your photo is saved." in response.get_data(as_text=True)
    with app.app_context():
        profile = providers.profile_of(user)
        assert ".." not in profile.photo_filename and "passwd" not in profile.photo_filename
        profile_id = profile.id
    photo = client.get(f"/providers/{profile_id}/photo")
    assert photo.status_code == 200 and photo.mimetype == "image/png"
    assert photo.get_data().startswith(b"\x89PNG")
    photo.close()
    client.post("/sign-out")
    assert client.get(f"/providers/{profile_id}/photo").status_code == 404


def test_public_pages_show_live_listings_and_hide_the_rest(app, client, make_user, broker):
    _, live_id, live_profile = _live_provider(app, make_user, broker)
    _, hidden_id, hidden_profile = _live_provider(app, make_user, broker, skip={CheckKind.DBS})
    page = client.get(f"/listings/{live_id}").get_data(as_text=True)
    assert "Care at home" in page and "£16.50 per hour" in page
    assert "Care at home" in client.get(f"/providers/{live_profile}").get_data(as_text=True)
    assert client.get(f"/listings/{hidden_id}").status_code == 404
    assert client.get(f"/providers/{hidden_profile}").status_code == 404
    assert client.get("/listings/999999").status_code == 404


def test_checklist_shows_missing_and_pending(app, client, login_as):
    user = _with_profile(app, client, login_as)
    with app.app_context():
        vetting.record_evidence(user, evidence_for(CheckKind.DBS))
    page = client.get("/provider/vetting").get_data(as_text=True)
    assert "Waiting for a broker" in page and "Missing" in page
    assert "/provider/vetting/new?kind=insurance" in page


def test_cqc_number_in_the_wrong_format_is_refused_beside_the_field(app, client, login_as, db_session):
    _with_profile(app, client, login_as, ProviderType.HOME_CARE_AGENCY)
    response = client.post("/provider/vetting/new", data={"kind": "cqc", "reference": "123-ABC"})
    page = response.get_data(as_text=True)
    assert "format 1-123456789" in page and 'id="reference-error"' in page and 'value="123-ABC"' in page
    assert db_session.scalar(select(func.count(VettingCheck.id))) == 0


def test_broker_rejects_with_reason_and_approves_from_the_queue(app, client, login, make_user, broker,
                                                                db_session):
    user = make_user(Role.PROVIDER)
    with app.app_context():
        providers.save_profile(user, profile_input())
        first = vetting.record_evidence(user, evidence_for(CheckKind.DBS)).id
        second = vetting.record_evidence(user, evidence_for(CheckKind.RIGHT_TO_WORK)).id
    login(broker)
    queue = client.get("/broker/vetting").get_data(as_text=True)
    assert "Maria Example" in queue and f"/broker/vetting/{first}" in queue
    page = client.post(f"/broker/vetting/{first}", data={"decision": "reject", "reason": ""})
    assert "Enter a reason" in page.get_data(as_text=True)
    assert db_session.get(VettingCheck, first).status == "pending"
    client.post(f"/broker/vetting/{first}", data={"decision": "reject", "reason": "Blurred"})
    client.post(f"/broker/vetting/{second}", data={"decision": "verify"})
    assert db_session.get(VettingCheck, first).status == "rejected"
    assert db_session.get(VettingCheck, second).status == "verified"
    assert "Nothing is waiting" in client.get("/broker/vetting").get_data(as_text=True)


def test_providers_cannot_use_the_vetting_queue(client, login_as):
    login_as(Role.PROVIDER)
    assert client.get("/broker/vetting").status_code == 403


def test_checklist_warns_about_a_check_that_runs_out_soon(app, client, login, make_user, broker):
    from datetime import date, timedelta

    user, _, _ = _live_provider(app, make_user, broker, skip={CheckKind.INSURANCE})
    with app.app_context():
        soon = vetting.record_evidence(user, evidence_for(
            CheckKind.INSURANCE, expires_on=date.today() + timedelta(days=12)))
        vetting.decide(broker, soon.id, approve=True)
    login(user)
    page = client.get("/provider/vetting").get_data(as_text=True)
    ends = (date.today() + timedelta(days=12)).strftime("%-d %B %Y")
    assert f"Public liability insurance: yours runs out on {ends} (in 12 days)" in page
    assert "/provider/vetting/new?kind=insurance" in page


def test_a_provider_sets_their_week_on_the_grid_without_javascript(app, client, login_as,
                                                                   db_session):
    from app.models import AuditEvent

    user = _with_profile(app, client, login_as)
    client.post("/provider/availability", data={"slots": "Saturday 00:00 to 08:00"})
    ticked = ["0-9", "0-10", "0-11", "2-14", "5-6", "5-7"]
    response = client.post("/provider/availability/grid", data={"cell": ticked})
    assert response.status_code == 302
    page = client.get("/provider/availability").get_data(as_text=True)
    for cell in ticked:
        assert f'value="{cell}" checked' in page
    assert 'value="0-12" checked' not in page
    # The night before the grid's first hour is kept, joined to the ticked morning.
    assert "Saturday 00:00 to 08:00" in page and "Monday 09:00 to 12:00" in page
    event = db_session.scalars(select(AuditEvent).where(
        AuditEvent.action == "provider.availability_set",
        AuditEvent.actor_id == user.id).order_by(AuditEvent.id.desc())).first()
    assert "Wednesday 14:00 to 15:00" in event.details["slots"]
