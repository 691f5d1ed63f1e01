"""Concern journeys in a real browser with axe: a member of the public raises a safeguarding
concern without an account and the provider's listings disappear at once; the broker triages
and refers it, then lifts the suspension and the listings come back; a holder raises a concern
from a booking in two clicks."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Listing, ProviderProfile, User  # noqa: F401
from tests.browser.conftest import assert_accessible, assert_page_contains, sign_in


def _provider(live_server, skip: int = 0) -> tuple[int, int, str]:
    """(profile id, live listing id, name) of a demo personal assistant whose checks are all in
    date today (some demo checks have run out since the seed's dates), that no other journey
    relies on: lifting a suspension must show their listings again."""
    from app.domain.vetting import listing_visibility
    from app.services.vetting import _settings, checks_of, today

    with live_server.app.app_context():
        found = []
        for profile in db.session.scalars(select(ProviderProfile).order_by(ProviderProfile.id)):
            if profile.user.email == "provider@carefair.example" or \
                    profile.provider_type != "self_employed_pa":
                continue
            evidence = [c.as_evidence() for c in checks_of(profile)]
            live = [lst for lst in profile.listings if lst.is_live and listing_visibility(
                profile.type_enum, lst.category_enum, evidence, today(), _settings()).live]
            if live:
                found.append((profile.id, live[0].id, profile.display_name))
        return found[-1 - skip]


def test_public_concern_suspends_at_once_and_the_broker_refers_then_lifts(browser, live_server):
    profile_id, listing_id, name = _provider(live_server)
    public = browser.new_context(base_url=live_server.url)
    try:
        page = public.new_page()
        page.goto(f"/listings/{listing_id}")
        page.get_by_role("link", name=f"Report a concern about {name}").click()  # click one
        assert_accessible(page)
        page.get_by_label("Someone may be at risk of harm").check()
        page.get_by_role("button", name="Send the concern").click()  # nothing else filled in
        summary = page.locator(".govuk-error-summary")
        assert "Select what kind of harm you are worried about" in summary.inner_text()
        assert "Tell us what happened or what worries you" in summary.inner_text()
        assert_accessible(page)
        page.get_by_role("radio", name="Financial abuse (money, cards, gifts, pressure)").check()
        page.get_by_label("What happened, or what worries you?").fill(
            "He keeps asking my neighbour for money and her bank card.")
        page.get_by_label("Your email address (optional)").fill("neighbour@example.org")
        page.get_by_role("button", name="Send the concern").click()  # click two
        assert_page_contains(page, "We have received your concern")
        reference = page.locator("#reference").inner_text()
        assert reference.startswith("C-")
        assert_accessible(page)
        # Hidden at once: the listing and the provider page are gone for the public.
        assert page.goto(f"/listings/{listing_id}").status == 404
        assert page.goto(f"/providers/{profile_id}").status == 404
        assert any(reference in body for body in live_server.emails_to("neighbour@example.org"))
    finally:
        public.close()

    broker = browser.new_context(base_url=live_server.url)
    try:
        page = broker.new_page()
        sign_in(page, "broker@carefair.example")
        page.goto("/broker/")
        page.get_by_role("link", name="Concerns raised about providers").click()
        assert_accessible(page)
        page.get_by_role("link", name=reference).click()
        assert_page_contains(page, "neighbour@example.org")  # brokers see who reported
        assert "listings suspended" in page.locator("#restriction").inner_text()
        assert_accessible(page)
        page.get_by_role("button", name="Record the decision").click()
        assert "Select whether to refer the concern or close it" in \
            page.locator(".govuk-error-summary").inner_text()
        assert_accessible(page)
        page.get_by_label("Refer to the council's safeguarding team").check()
        page.get_by_label("What did you find, and why did you decide this?").fill(
            "Spoke to the neighbour; pattern of requests for money. Referred for a s.42 enquiry.")
        page.get_by_role("button", name="Record the decision").click()
        assert "Referred to the council's safeguarding team" in page.locator("#status").inner_text()
        assert page.locator("#referral").inner_text().startswith("SG-")
        assert_accessible(page)
        # Later the council's team finds it unfounded: the broker lifts the suspension.
        page.get_by_role("link", name="the flag").click()
        page.get_by_label("Why can the restriction be lifted?").fill(
            "The council's enquiry found no abuse; the requests were for a shared taxi.")
        page.get_by_role("button", name="Lift the restriction").click()
        assert_page_contains(page, "no longer held")
        assert_accessible(page)
        assert page.goto(f"/listings/{listing_id}").status == 200
    finally:
        broker.close()
    assert any("passed it to the council" in body
               for body in live_server.emails_to("neighbour@example.org"))


def test_holder_raises_a_concern_from_a_booking_in_two_clicks(page, live_server):
    from app.services import bookings
    from tests.booking_helpers import next_weekday, one_off

    profile_id, listing_id, name = _provider(live_server, skip=1)
    with live_server.app.app_context():
        from app.services import budgets

        listing = db.session.get(Listing, listing_id)
        holder = next(h for h in db.session.scalars(select(User).where(User.email.in_([
            "sam.holder@carefair.example", "holder@carefair.example",
            "joan.holder@carefair.example"])).order_by(User.id))
            if (b := budgets.current_budget(h.id)) is not None
            and b.funding_mode in listing.funding_modes)
        holder_email = holder.email
        slot = max(listing.profile.slots, key=lambda s: (s.end_time.hour - s.start_time.hour))
        booking_id = bookings.request_booking(holder, holder, one_off(
            listing, day=next_weekday(slot.weekday, weeks_ahead=3),
            start=slot.start_time.hour + (1 if slot.start_time.minute else 0),
            end=slot.start_time.hour + (1 if slot.start_time.minute else 0)
            + max(2, listing.minimum_units))).id
    sign_in(page, holder_email)
    page.goto(f"/my/bookings/{booking_id}")
    page.get_by_role("link", name=f"Report a concern about {name}").click()  # click one
    assert_accessible(page)
    assert "You do not need an account" not in assert_page_contains(
        page, "What happened, or what worries you?")  # signed in: no contact fields
    page.get_by_label("A complaint about the quality of support").check()
    page.get_by_label("What happened, or what worries you?").fill(
        "Arrived forty minutes late and left early twice this month.")
    page.get_by_role("button", name="Send the concern").click()  # click two
    assert_page_contains(page, "We have received your concern")
    assert_accessible(page)
    reference = page.locator("#reference").inner_text()
    page.goto("/concerns")
    assert reference in page.content() and "Waiting for a broker" in page.content()
    assert_accessible(page)
    # A complaint does not hide the provider: the broker decides.
    assert page.goto(f"/listings/{listing_id}").status == 200


def test_a_broker_raises_a_concern_from_a_holders_page_in_two_clicks(page, live_server):
    with live_server.app.app_context():
        alex = db.session.scalar(select(User).where(User.email == "holder@carefair.example"))
        maria = db.session.scalar(select(ProviderProfile).join(User).where(
            User.email == "provider@carefair.example"))
        alex_id, alex_name, maria_name = alex.id, alex.name, maria.display_name
    sign_in(page, "broker@carefair.example")
    page.goto(f"/broker/holders/{alex_id}")
    assert_page_contains(page, f"Raise a concern about a provider {alex_name} uses")
    page.get_by_role("link", name=f"Raise a concern about {maria_name}").click()  # click one
    assert_accessible(page)
    assert "You do not need an account" not in assert_page_contains(
        page, "What happened, or what worries you?")
    page.get_by_label("A complaint about the quality of support").check()
    page.get_by_label("What happened, or what worries you?").fill(
        "Alex's sister rang: visits keep starting late and ending early.")
    page.get_by_role("button", name="Send the concern").click()  # click two
    assert_page_contains(page, "We have received your concern")
    reference = page.locator("#reference").inner_text()
    assert_accessible(page)
    page.goto("/broker/concerns")
    assert reference in page.content()
