"""Broker console flag pages and the provider's concerns pages, through the test client."""

import pytest
from sqlalchemy import select

from app.domain.access import Role
from app.domain.rules import Finding, Severity, Subject
from app.extensions import db
from app.models import AuditEvent, Flag
from app.services import flags
from tests.messaging_helpers import live_listing


@pytest.fixture
def flagged(app, make_user):
    """A live listing with one open medium flag and one open high flag about its provider."""
    with app.app_context():
        provider, listing = live_listing(make_user)
        flags.file_findings([
            Finding("price_outlier", Severity.MEDIUM, Subject("listing", listing.id),
                    "Charges far above similar listings.",
                    {"rate_pence": 9000, "peer_median_pence": 1600, "peers": 6}),
            Finding("at_risk_clients_high_prices", Severity.HIGH,
                    Subject("provider", listing.profile_id), "Many clients at risk.",
                    {"at_risk_share_percent": 80.0}),
        ])
        db.session.commit()
        medium, high = db.session.scalars(select(Flag).order_by(Flag.id)).all()
        return provider, listing.id, medium.id, high.id


def test_flag_list_filters_by_status_and_severity(client, login_as, flagged):
    _, _, medium_id, high_id = flagged
    login_as(Role.BROKER)
    page = client.get("/broker/flags").get_data(as_text=True)
    assert f"F-{medium_id}" in page and f"F-{high_id}" in page
    assert page.index(f"F-{high_id}") < page.index(f"F-{medium_id}")  # most severe first
    high_only = client.get("/broker/flags?severity=high").get_data(as_text=True)
    assert f"F-{high_id}" in high_only and f"F-{medium_id}" not in high_only
    assert "No flags match." in client.get("/broker/flags?status=dismissed").get_data(as_text=True)
    # Nonsense filters fall back rather than fail.
    assert client.get("/broker/flags?status=nope&severity=nope&page=x").status_code == 200


def test_flag_detail_shows_the_evidence_numbers(client, login_as, flagged):
    _, _, medium_id, _ = flagged
    login_as(Role.BROKER)
    page = client.get(f"/broker/flags/{medium_id}").get_data(as_text=True)
    assert "Charges far above similar listings." in page
    assert "£90.00" in page and "£16.00" in page and "Peers" in page


def test_dismiss_without_a_reason_shows_the_error_and_with_one_is_audited(
        client, login_as, flagged, db_session):
    _, _, medium_id, _ = flagged
    broker = login_as(Role.BROKER)
    response = client.post(f"/broker/flags/{medium_id}/dismiss", data={"dismiss-reason": ""})
    assert response.status_code == 400 and "Enter why this is not a concern" in \
        response.get_data(as_text=True)
    client.post(f"/broker/flags/{medium_id}/dismiss",
                data={"dismiss-reason": "Night rate, agreed with the council."})
    flag = db_session.get(Flag, medium_id)
    assert flag.status == "dismissed" and flag.reason == "Night rate, agreed with the council."
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "flag.dismissed"))
    assert event.actor_id == broker.id and event.subject_id == str(medium_id)


def test_uphold_suspend_hides_the_public_listing(client, login_as, flagged, db_session):
    _, listing_id, medium_id, _ = flagged
    assert client.get(f"/listings/{listing_id}").status_code == 200
    login_as(Role.BROKER)
    response = client.post(f"/broker/flags/{medium_id}/uphold",
                           data={"uphold-outcome": "suspend_listing",
                                 "uphold-reason": "Charging far more than agreed."},
                           follow_redirects=True)
    assert "listings suspended" in response.get_data(as_text=True)
    assert db_session.get(Flag, medium_id).outcome == "suspend_listing"
    assert client.get(f"/listings/{listing_id}").status_code == 404


def test_uphold_needs_an_outcome(client, login_as, flagged, db_session):
    _, _, medium_id, _ = flagged
    login_as(Role.BROKER)
    response = client.post(f"/broker/flags/{medium_id}/uphold",
                           data={"uphold-reason": "Something"})
    assert response.status_code == 400 and "Select what should happen" in \
        response.get_data(as_text=True)
    assert db_session.get(Flag, medium_id).status == "open"


def test_provider_sees_an_upheld_flag_and_responds_once(client, login, login_as, flagged,
                                                        db_session):
    provider, _, medium_id, high_id = flagged
    login_as(Role.BROKER)
    client.post(f"/broker/flags/{medium_id}/uphold",
                data={"uphold-outcome": "warn", "uphold-reason": "Please explain your price."})
    login(provider)
    listing = client.get("/provider/concerns").get_data(as_text=True)
    assert f"Concern F-{medium_id}" in listing and f"F-{high_id}" not in listing  # open: hidden
    assert client.get(f"/provider/concerns/{high_id}").status_code == 404
    page = client.get(f"/provider/concerns/{medium_id}").get_data(as_text=True)
    assert "Please explain your price." in page and 'name="response"' in page
    client.post(f"/provider/concerns/{medium_id}", data={"response": "Rural travel <b>costs</b>."})
    page = client.get(f"/provider/concerns/{medium_id}").get_data(as_text=True)
    assert "Rural travel &lt;b&gt;costs&lt;/b&gt;." in page and 'name="response"' not in page
    again = client.post(f"/provider/concerns/{medium_id}", data={"response": "Second go"},
                        follow_redirects=True).get_data(as_text=True)
    assert "You have already responded to this concern" in again
    assert db_session.get(Flag, medium_id).provider_response == "Rural travel <b>costs</b>."


def test_other_roles_cannot_reach_the_flag_console(client, login_as, flagged):
    _, _, medium_id, _ = flagged
    for role in (Role.HOLDER, Role.PROVIDER, Role.COUNCIL_ADMIN):
        login_as(role)
        assert client.get("/broker/flags").status_code == 403
        assert client.post(f"/broker/flags/{medium_id}/dismiss",
                           data={"dismiss-reason": "x"}).status_code == 403


def test_unknown_flag_is_404(client, login_as):
    login_as(Role.BROKER)
    assert client.get("/broker/flags/999999").status_code == 404


def test_a_suspended_providers_listings_page_says_a_broker_hid_them(app, client, make_user, login):
    """Not 'hidden until vetting is complete': the provider must know why, and where to respond."""
    from app.domain.flags import Effects
    from app.services import restrictions
    from tests.provider_helpers import verified_provider

    with app.test_request_context():
        broker = make_user(Role.BROKER)
        user, listing = verified_provider(make_user, broker, title="Shopping and errands")
        restrictions.apply(listing.profile, Effects(suspend_listings=True), actor=broker, flag=None)
        db.session.commit()
    login(user)
    page = client.get("/provider/listings").get_data(as_text=True)
    assert "Hidden by a broker" in page
    assert "A broker has hidden your listings" in page
    assert "Hidden until vetting is complete" not in page


def test_a_review_written_by_someone_linked_to_the_provider_reaches_the_flag_console(
        app, client, login_as, make_user):
    from app.domain.access import DelegateKind
    from app.services import ratings
    from tests.booking_helpers import holder_with_budget
    from tests.booking_helpers import live_listing as bookable_listing
    from tests.review_helpers import delegate_of, scores, settled_one_off

    with app.app_context():
        provider, listing = bookable_listing(make_user)
        holder, _ = holder_with_budget(make_user)
        # Booked and settled first: once the provider acts for the holder, a broker must
        # approve their bookings (the provider_is_delegate flag filed on accepting).
        booking_id = settled_one_off(provider, listing, holder).id
        delegate_of(make_user, holder, DelegateKind.NOMINATED, shares=(), user=provider)
        review_id = ratings.submit_review(provider, holder, booking_id, scores(5)).id
    login_as(Role.BROKER)
    console = client.get("/broker/flags").get_data(as_text=True)
    assert "written on behalf of the person supported by someone linked to" in console
    (flag_id,) = [f.id for f in db.session.scalars(select(Flag))
                  if f.rule != "provider_is_delegate"]
    page = client.get(f"/broker/flags/{flag_id}").get_data(as_text=True)
    assert f'href="/broker/reviews/{review_id}"' in page
    assert client.get(f"/broker/reviews/{review_id}").status_code == 200


def test_flag_evidence_names_the_people_instead_of_their_ids(app, client, login_as, make_user):
    with app.app_context():
        provider, listing = live_listing(make_user)
        holder = make_user(Role.HOLDER, name="Priya Shah")
        flags.file_findings([
            Finding("money_request", Severity.HIGH, Subject("provider", listing.profile_id),
                    "Asked for cash.", {"provider_id": listing.profile_id, "holder_id": holder.id}),
        ])
        db.session.commit()
        flag_id = db.session.scalar(select(Flag.id))
        provider_name = listing.profile.display_name
    login_as(Role.BROKER)
    page = client.get(f"/broker/flags/{flag_id}").get_data(as_text=True)
    evidence = page[page.index('id="evidence"'):]
    assert "Priya Shah" in evidence and provider_name in evidence
    assert "Holder id" not in evidence and "Provider id" not in evidence


def test_broker_console_says_how_much_waits_in_each_queue(client, login_as, flagged):
    login_as(Role.BROKER)
    page = client.get("/broker/").get_data(as_text=True)
    flags_line = next(line for line in page.splitlines() if "Flags from the brokerage rules" in line)
    assert "2 waiting" in flags_line  # the two open flags
    plans_line = next(line for line in page.splitlines() if "Support plan changes to agree" in line)
    assert "none waiting" in plans_line


def test_market_and_broker_flags_say_what_they_are_about_in_words(
        app, client, login_as, make_user):
    with app.app_context():
        broker = make_user(Role.BROKER, name="Sam Broker")
        flags.file_findings([
            Finding("market_concentration", Severity.MEDIUM, Subject("market", "SY3/personal_care"),
                    "Concentrated.", {"category": "personal_care", "hhi": 6092.5,
                                      "top_share_percent": 76.3, "total_spend_pence": 176100}),
            Finding("broker_steering", Severity.MEDIUM, Subject("broker", broker.id),
                    "Steering.", {"p_value": 0.000244, "broker_share_percent": 100.0}),
        ])
        db.session.commit()
        ids = {f.subject_kind: f.id for f in db.session.scalars(select(Flag))}
    login_as(Role.BROKER)
    market = client.get(f"/broker/flags/{ids['market']}").get_data(as_text=True)
    assert "The market for personal care in SY3" in market
    evidence = market[market.index('id="evidence"'):]
    assert "Personal care" in evidence and "personal_care" not in evidence
    assert "Concentration index (above 1,800 is highly concentrated)" in evidence
    assert "6,092" in evidence and "76.3%" in evidence and "£1,761.00" in evidence
    assert "Hhi" not in evidence
    steering = client.get(f"/broker/flags/{ids['broker']}").get_data(as_text=True)
    assert "Broker Sam Broker" in steering and f"Broker {broker.id}<" not in steering
    evidence = steering[steering.index('id="evidence"'):]
    assert "less than 1 time in 1,000" in evidence and "P value" not in evidence
    assert "100%" in evidence


def test_a_broker_with_a_conflict_is_told_why_instead_of_offered_forms_that_refuse(
        app, client, login_as, make_user, flagged):
    from app.services import conflicts

    provider, listing_id, medium_id, _ = flagged
    with app.app_context():
        profile_id = db.session.get(Flag, medium_id).provider_profile_id
        other = make_user(Role.BROKER)
    broker = login_as(Role.BROKER)
    with app.app_context():
        conflicts.declare(db.session.get(type(broker), broker.id), str(profile_id),
                          "My brother manages this agency")
    page = client.get(f"/broker/flags/{medium_id}").get_data(as_text=True)
    assert "You declared a conflict of interest with this provider" in page
    assert "Ask another broker" in page
    assert f"/broker/flags/{medium_id}/uphold" not in page
    assert f"/broker/flags/{medium_id}/dismiss" not in page
    # Another broker, free of the conflict, gets the forms.
    with client.session_transaction() as session:
        session["_user_id"] = other.get_id()
    page = client.get(f"/broker/flags/{medium_id}").get_data(as_text=True)
    assert f"/broker/flags/{medium_id}/uphold" in page and "cannot-decide" not in page
