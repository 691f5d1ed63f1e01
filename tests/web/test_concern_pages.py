"""Raising concerns through the pages: the public without an account, a holder from a booking,
broker triage (refer, close and lift), and the provider never learning who reported."""

import pytest
from sqlalchemy import select

from app.domain.access import Role
from app.extensions import db
from app.models import (
    AuditEvent,
    Concern,
    Flag,
    Notification,
    OutboundEmail,
    SafeguardingReferral,
)
from app.services import bookings, concerns, restrictions
from tests.booking_helpers import holder_with_budget, live_listing, one_off

REPORTER_NAME = "Jane Whistleblower"
REPORTER_EMAIL = "jane.whistle@example.org"
DETAILS = "I saw him take money from her purse on Tuesday while she was asleep."


def _actions(prefix):
    return list(db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.action.startswith(prefix)).order_by(AuditEvent.id)))


@pytest.fixture
def provider(app, make_user):
    with app.app_context():
        user, listing = live_listing(make_user)
        return user, listing.id, listing.profile_id


def _public_concern(client, profile_id, **data):
    form = {"kind": "safeguarding", "harm": "financial_abuse", "details": DETAILS,
            "reporter_name": REPORTER_NAME, "reporter_email": REPORTER_EMAIL, **data}
    return client.post(f"/providers/{profile_id}/concern", data=form)


def test_public_raises_a_safeguarding_concern_without_an_account(client, provider, db_session):
    _, listing_id, profile_id = provider
    page = client.get(f"/providers/{profile_id}").get_data(as_text=True)
    assert f"/providers/{profile_id}/concern" in page  # one click from the provider page
    form = client.get(f"/providers/{profile_id}/concern").get_data(as_text=True)
    assert "You do not need an account" in form and "call 999" in form
    response = _public_concern(client, profile_id)
    assert response.status_code == 302
    concern = db_session.scalar(select(Concern))
    assert response.headers["Location"].endswith(f"/concerns/received?ref={concern.reference}")
    received = client.get(response.headers["Location"]).get_data(as_text=True)
    assert concern.reference in received
    assert (concern.reporter_kind, concern.reporter_user_id, concern.reporter_email) == (
        "public", None, REPORTER_EMAIL)
    # Suspended at once, payouts held, pending triage; the public pages are gone.
    assert restrictions.listings_suspended(profile_id) and restrictions.payouts_held(profile_id)
    assert client.get(f"/listings/{listing_id}").status_code == 404
    assert client.get(f"/providers/{profile_id}").status_code == 404
    flag = db_session.get(Flag, concern.flag_id)
    assert (flag.rule, flag.severity, flag.status) == ("safeguarding_concern", "critical", "open")
    assert _actions("concern.") == ["concern.raised"]
    assert "provider.listings_suspended" in _actions("provider.")
    # The reporter is acknowledged by email with the reference.
    ack = db_session.scalar(select(OutboundEmail).where(OutboundEmail.to_email == REPORTER_EMAIL))
    assert ack is not None and concern.reference in ack.subject


def test_bad_input_is_shown_beside_the_field_keeping_what_was_typed(client, provider, db_session):
    _, _, profile_id = provider
    missing = _public_concern(client, profile_id, harm="", details="Something is wrong here")
    page = missing.get_data(as_text=True)
    assert missing.status_code == 200 and "Select what kind of harm you are worried about" in page
    assert "Something is wrong here" in page
    bad_email = _public_concern(client, profile_id, reporter_email="not-an-email")
    assert "Enter an email address in the correct format" in bad_email.get_data(as_text=True)
    assert db_session.scalar(select(Concern)) is None  # nothing half-written


def test_a_hidden_provider_cannot_be_reported_by_the_public(client, app_ctx, make_user,
                                                             db_session):
    from tests.provider_helpers import verified_provider

    user, listing = verified_provider(make_user, make_user(Role.BROKER), published=False)
    assert client.get(f"/providers/{listing.profile_id}/concern").status_code == 404


def test_public_concerns_are_rate_limited(client, provider, db_session):
    _, _, profile_id = provider
    for _ in range(10):
        _public_concern(client, profile_id, kind="complaint", harm="")
    assert _public_concern(client, profile_id, kind="complaint", harm="").status_code == 429


def test_the_form_needs_its_csrf_token(app, client, provider, db_session):
    _, _, profile_id = provider
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert 'name="csrf_token"' in client.get(
            f"/providers/{profile_id}/concern").get_data(as_text=True)
        assert _public_concern(client, profile_id).status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert db_session.scalar(select(Concern)) is None


def _booked(make_user, listing_id):
    holder, _ = holder_with_budget(make_user)
    from app.models import Listing

    booking = bookings.request_booking(holder, holder, one_off(db.session.get(Listing, listing_id)))
    return holder, booking


def test_holder_raises_a_complaint_from_a_booking_in_two_clicks(app_ctx, client, login, make_user,
                                                                  provider, db_session):
    _, listing_id, profile_id = provider
    holder, booking = _booked(make_user, listing_id)
    login(holder)
    page = client.get(f"/my/bookings/{booking.id}").get_data(as_text=True)
    link = f"/providers/{profile_id}/concern?holder={holder.id}&amp;from=booking%3A{booking.id}"
    assert link.replace("%3A", ":") in page  # click one
    response = client.post(link.replace("&amp;", "&"), data={  # click two: send
        "kind": "complaint", "details": "Arrived an hour late three times."})
    concern = db_session.scalar(select(Concern))
    assert response.headers["Location"].endswith(f"/concerns/{concern.id}?new=1")
    assert (concern.reporter_kind, concern.holder_id, concern.raised_from) == (
        "holder", holder.id, f"booking:{booking.id}")
    # A complaint goes to a broker but does not suspend anyone.
    assert not restrictions.listings_suspended(profile_id)
    assert db_session.get(Flag, concern.flag_id).severity == "medium"
    mine = client.get(f"/concerns/{concern.id}?new=1").get_data(as_text=True)
    assert concern.reference in mine and "Waiting for a broker" in mine
    assert db_session.scalar(select(Notification).where(
        Notification.user_id == holder.id, Notification.event == "concern_received")) is not None


def test_someone_else_cannot_report_for_a_holder_they_do_not_act_for(app_ctx, client, login, make_user,
                                                                       provider, db_session):
    _, listing_id, profile_id = provider
    holder, booking = _booked(make_user, listing_id)
    login(make_user(Role.HOLDER))
    response = client.post(f"/providers/{profile_id}/concern?holder={holder.id}",
                           data={"kind": "complaint", "details": "x"})
    assert response.status_code == 404 and db_session.scalar(select(Concern)) is None


def test_a_provider_cannot_report_themselves_but_can_report_another(app_ctx, client, login, make_user,
                                                                      provider, db_session):
    own_user, _, profile_id = provider
    login(own_user)
    page = client.post(f"/providers/{profile_id}/concern",
                       data={"kind": "fraud", "details": "x"}).get_data(as_text=True)
    assert "You cannot raise a concern about your own service" in page
    other_user, other_listing = live_listing(make_user)
    client.post(f"/providers/{other_listing.profile_id}/concern",
                data={"kind": "fraud", "details": "They bill for visits they never make."})
    concern = db_session.scalar(select(Concern))
    assert (concern.reporter_kind, concern.reporter_user_id) == ("provider", own_user.id)
    assert db_session.get(Flag, concern.flag_id).action == "hold"


def _raise_as_holder(make_user, profile_id, listing_id):
    holder, booking = _booked(make_user, listing_id)
    holder.name = REPORTER_NAME
    db.session.commit()
    concern = concerns.raise_concern(holder, profile_id, concerns.ConcernInput(
        kind="safeguarding", harm="abuse", details=f"{DETAILS} Signed, {REPORTER_NAME}.",
        holder_id=holder.id, raised_from=f"booking:{booking.id}"))
    return holder, concern


def test_broker_refers_and_the_reporter_is_told(app_ctx, client, login, make_user, provider, db_session):
    _, listing_id, profile_id = provider
    holder, concern = _raise_as_holder(make_user, profile_id, listing_id)
    broker = login(make_user(Role.BROKER))
    assert concern.reference in client.get("/broker/concerns").get_data(as_text=True)
    detail = client.get(f"/broker/concerns/{concern.id}").get_data(as_text=True)
    assert REPORTER_NAME in detail and "Never tell the provider" in detail
    refused = client.post(f"/broker/concerns/{concern.id}/triage", data={"decision": "refer"})
    assert refused.status_code == 400
    assert "Enter what you found and why you decided this" in refused.get_data(as_text=True)
    client.post(f"/broker/concerns/{concern.id}/triage",
                data={"decision": "refer", "reason": "Police and adult social care informed."})
    db_session.refresh(concern)
    assert concern.status == "referred" and concern.triaged_by_id == broker.id
    referral = db_session.get(SafeguardingReferral, concern.referral_id)
    assert DETAILS in referral.summary
    assert db_session.get(Flag, concern.flag_id).outcome == "refer_safeguarding"
    assert restrictions.listings_suspended(profile_id)  # stays hidden while the council looks
    told = db_session.scalar(select(Notification).where(
        Notification.user_id == holder.id, Notification.event == "concern_referred"))
    assert told is not None and concern.reference in told.subject
    assert _actions("concern.") == ["concern.raised", "concern.referred"]


def test_broker_closes_and_lifts_and_the_listings_come_back(app_ctx, client, login, make_user, provider,
                                                            db_session):
    _, listing_id, profile_id = provider
    _, concern = _raise_as_holder(make_user, profile_id, listing_id)
    login(make_user(Role.BROKER))
    assert client.get(f"/listings/{listing_id}").status_code == 404
    response = client.post(f"/broker/concerns/{concern.id}/triage",
                           data={"decision": "close", "reason": "A misunderstanding about a "
                                 "refund.", "lift": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    db_session.refresh(concern)
    assert concern.status == "closed"
    assert not restrictions.listings_suspended(profile_id)
    assert not restrictions.payouts_held(profile_id)
    assert client.get(f"/listings/{listing_id}").status_code == 200
    assert "provider.restriction_lifted" in _actions("provider.")
    again = client.post(f"/broker/concerns/{concern.id}/triage",
                        data={"decision": "refer", "reason": "Changed my mind"})
    assert "already been triaged" in again.get_data(as_text=True)


def test_the_provider_never_learns_who_reported(app_ctx, client, login, make_user, provider, db_session):
    provider_user, listing_id, profile_id = provider
    holder, concern = _raise_as_holder(make_user, profile_id, listing_id)
    broker = make_user(Role.BROKER)
    concerns.triage(broker, concern.id, decision="refer", reason=f"{REPORTER_NAME} called us.")
    login(provider_user)
    pages = [client.get(path).get_data(as_text=True) for path in (
        "/provider/concerns", f"/provider/concerns/{concern.flag_id}", "/provider/listings",
        "/inbox", "/provider/")]
    assert any(f"F-{concern.flag_id}" in p for p in pages)  # they do see the upheld flag
    emails = db_session.scalars(select(OutboundEmail).where(
        OutboundEmail.user_id == provider_user.id)).all()
    inbox = db_session.scalars(select(Notification).where(
        Notification.user_id == provider_user.id)).all()
    seen = pages + [e.subject + e.text_body + e.html_body for e in emails] + [
        n.subject + n.body for n in inbox]
    for text in seen:
        assert REPORTER_NAME not in text and holder.email not in text
        assert "purse" not in text  # nor the reporter's words
    assert emails or inbox  # they were told something (the flag upheld)


def test_staff_raise_a_concern_from_a_holders_page_and_from_a_flag(app, client, login, make_user,
                                                                   provider, db_session):
    from app.domain.rules import Finding, Severity, Subject
    from app.services import flags

    _, listing_id, profile_id = provider
    with app.app_context():
        holder, _ = _booked(make_user, listing_id)
        broker = login(make_user(Role.BROKER))
        filed = flags.file_findings([Finding(
            "hours_beyond_booking", Severity.MEDIUM, Subject("provider", profile_id),
            "Recorded 3 hours beyond the hours booked.", {"provider_id": profile_id})])
        db.session.commit()
        flag_id = filed.flags[0].id
    page = client.get(f"/broker/holders/{holder.id}").get_data(as_text=True)
    link = f"/providers/{profile_id}/concern?holder={holder.id}&amp;from=holder:{holder.id}"
    assert link in page  # click one, from the holder's page
    response = client.post(link.replace("&amp;", "&"), data={
        "kind": "fraud", "details": "Timesheets do not match what the family tells us."})
    assert response.status_code == 302
    concern = db_session.scalar(select(Concern).order_by(Concern.id.desc()))
    assert (concern.reporter_kind, concern.reporter_user_id, concern.holder_id,
            concern.raised_from) == ("staff", broker.id, holder.id, f"holder:{holder.id}")

    flag_page = client.get(f"/broker/flags/{flag_id}").get_data(as_text=True)
    link = f"/providers/{profile_id}/concern?from=flag:{flag_id}"
    assert link in flag_page  # click one, from the flag
    client.post(link, data={"kind": "safeguarding", "harm": "neglect",
                            "details": "Left alone for hours on the days recorded."})
    concern = db_session.scalar(select(Concern).order_by(Concern.id.desc()))
    assert (concern.kind, concern.reporter_kind, concern.raised_from) == (
        "safeguarding", "staff", f"flag:{flag_id}")
    assert restrictions.listings_suspended(profile_id) and restrictions.payouts_held(profile_id)


@pytest.mark.parametrize("kind, harm", [("safeguarding", "financial_abuse"), ("fraud", "")])
def test_raising_a_concern_never_makes_the_reporters_bookings_elsewhere_wait(
        app_ctx, make_user, provider, db_session, kind, harm):
    """Before: the concern's flag named the holder, so every booking they then made with any
    other provider waited for a broker: reporting a provider held back the person at risk."""
    _, listing_id, profile_id = provider
    holder, _ = _booked(make_user, listing_id)
    concerns.raise_concern(holder, profile_id, concerns.ConcernInput(
        kind=kind, harm=harm or None, details=DETAILS, holder_id=holder.id))

    _, elsewhere = live_listing(make_user)
    booking = bookings.request_booking(holder, holder, one_off(elsewhere))

    assert booking.state == "requested" and booking.approval_codes == []
    if kind == "fraud":  # the reported provider's own new bookings still wait for a broker
        from app.models import Listing

        other_holder, _ = holder_with_budget(make_user)
        with_them = bookings.request_booking(other_holder, other_holder,
                                             one_off(db.session.get(Listing, listing_id), start=14, end=16))
        assert with_them.state == "awaiting_approval"


def test_a_concerns_flag_is_decided_on_the_concern_so_the_reporter_hears(
        app_ctx, client, login, make_user, provider, db_session):
    """Before: the flag page offered uphold and dismiss for a concern's flag; deciding there
    left the concern open and the person who raised it was never told the outcome."""
    _, listing_id, profile_id = provider
    holder, concern = _raise_as_holder(make_user, profile_id, listing_id)
    login(make_user(Role.BROKER))

    page = client.get(f"/broker/flags/{concern.flag_id}").get_data(as_text=True)
    assert 'id="triage-concern"' in page and f"/broker/concerns/{concern.id}" in page
    assert "/dismiss" not in page and "/uphold" not in page
    refused = client.post(f"/broker/flags/{concern.flag_id}/dismiss",
                          data={"dismiss-reason": "Nothing in it"})
    assert refused.status_code == 400
    assert "Decide this on the concern" in refused.get_data(as_text=True)
    assert db_session.get(Flag, concern.flag_id).status == "open"

    client.post(f"/broker/concerns/{concern.id}/triage",
                data={"decision": "close", "reason": "Nothing in it"})
    assert db_session.get(Flag, concern.flag_id).status == "dismissed"
    assert db_session.scalar(select(Notification).where(
        Notification.user_id == holder.id, Notification.event == "concern_closed")) is not None


def test_a_provider_under_review_is_told_a_broker_is_looking_not_shown_an_empty_list(
        app_ctx, client, login, provider, db_session):
    """Before: the listings page said "See the concern and respond" and the concerns page then
    said there were none. Still nothing says who reported or what about."""
    provider_user, _, profile_id = provider
    concerns.raise_concern(None, profile_id, concerns.ConcernInput(
        kind="safeguarding", harm="neglect", details=DETAILS, reporter_name=REPORTER_NAME))
    login(provider_user)
    listings_page = client.get("/provider/listings").get_data(as_text=True)
    assert "See the concern and respond" not in listings_page
    assert "They will tell you what" in listings_page
    page = client.get("/provider/concerns").get_data(as_text=True)
    assert 'id="under-review"' in page and "A broker is looking into a concern" in page
    assert REPORTER_NAME not in page and "purse" not in page and "neglect" not in page.lower()
