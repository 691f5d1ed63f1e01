"""Whole journeys in Chromium against the live demo: every role reaches its home, delegation
works end to end, errors are announced properly, and every page visited passes axe."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DEMO_PASSWORD, assert_accessible, assert_page_contains, sign_in

# (email, path of their home, heading, whose account the page must say is being acted on)
DEMO_HOMES = [
    ("holder@carefair.example", "/my/", "Your home", None),
    ("card.holder@carefair.example", "/my/", "Your home", None),
    ("authorised@carefair.example", "/my/", "Joan Okafor's home", "Joan Okafor"),
    ("nominated@carefair.example", "/my/", "Alex Morgan's home", "Alex Morgan"),
    ("circle@carefair.example", "/my/", "Alex Morgan's home", "Alex Morgan"),
    ("provider@carefair.example", "/provider/", "Your provider home", None),
    ("broker@carefair.example", "/broker/", "Broker console", None),
    ("admin@carefair.example", "/admin/", "Council admin", None),
]


def _unique_email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.org"


def test_every_demo_sign_in_is_listed_here(live_server):
    from app.services import demo_seed

    assert sorted(e for _, e, _ in demo_seed.sign_in_table()) == sorted(e for e, *_ in DEMO_HOMES)


@pytest.mark.parametrize("email,path,heading,acting_for", DEMO_HOMES,
                         ids=[e.split("@")[0] for e, *_ in DEMO_HOMES])
def test_each_demo_role_signs_in_and_reaches_their_own_home(page, live_server, email, path,
                                                            heading, acting_for):
    sign_in(page, email)
    assert page.url == live_server.url + path
    assert page.get_by_role("heading", level=1).inner_text() == heading
    banner = page.locator("#acting-for")
    if acting_for:
        assert f"You are acting for {acting_for}" in banner.inner_text()
    else:
        expect(banner).to_have_count(0)
    assert_accessible(page)


def test_public_pages_are_accessible(page, live_server):
    for path in ("/", "/accessibility", "/reset-password"):
        page.goto(path)
        assert_accessible(page)
    page.get_by_role("link", name="Accessibility statement").click()
    heading = page.get_by_role("heading", level=1).inner_text()
    assert heading == "Accessibility statement for Carefair"


def test_the_accessibility_check_itself_fails_on_a_broken_page(page, live_server):
    page.goto("/accessibility")
    page.evaluate("""() => {
        document.querySelector('main').insertAdjacentHTML('beforeend', '<img src="/x.png">');
        document.documentElement.removeAttribute('lang');
    }""")
    with pytest.raises(pytest.fail.Exception) as failure:
        assert_accessible(page)
    assert "image-alt" in str(failure.value) and "html-has-lang" in str(failure.value)


def test_sign_up_as_a_budget_holder(page, live_server):
    email = _unique_email("new-holder")
    page.goto("/sign-up")
    assert_accessible(page)
    page.get_by_label("Find and pay for support with my personal budget").check()
    page.get_by_label("Your full name").fill("Robin Ellis")
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Continue").click()
    assert_page_contains(page, "Check your email to finish signing up")
    assert_accessible(page)
    page.goto(live_server.link_in_latest_email_to(email, "/sign-up/"))
    assert_accessible(page)
    page.get_by_label("Create a password").fill("a long enough password")
    page.get_by_label("Type the password again").fill("a long enough password")
    page.get_by_role("button", name="Create account").click()
    assert page.url == live_server.url + "/my/"
    assert_page_contains(page, "Your account has been created")
    assert page.get_by_role("heading", level=1).inner_text() == "Your home"
    assert_accessible(page)


def test_holder_invites_a_circle_member_who_accepts_from_the_email(browser, live_server):
    invitee = _unique_email("friend")
    holder_ctx = browser.new_context(base_url=live_server.url)
    friend_ctx = browser.new_context(base_url=live_server.url)
    try:
        holder = holder_ctx.new_page()
        sign_in(holder, "holder@carefair.example")
        holder.get_by_role("link", name="People who help").first.click()
        assert_accessible(holder)
        holder.get_by_role("link", name="Invite someone").click()
        assert_accessible(holder)
        holder.get_by_label("Their email address").fill(invitee)
        holder.get_by_label("Circle of support", exact=False).check()
        holder.get_by_label("My support plan").check()
        holder.get_by_role("button", name="Send invitation").click()
        assert_page_contains(holder, f"Invitation sent to {invitee}")
        assert_accessible(holder)

        link = live_server.link_in_latest_email_to(invitee, "/invitations/")
        assert link.startswith(live_server.url)

        friend = friend_ctx.new_page()
        friend.goto("/sign-up")
        friend.get_by_label("Help someone I know who has a personal budget").check()
        friend.get_by_label("Your full name").fill("Fran Jones")
        friend.get_by_label("Email address").fill(invitee)
        friend.get_by_role("button", name="Continue").click()
        friend.goto(live_server.link_in_latest_email_to(invitee, "/sign-up/"))
        friend.get_by_label("Create a password").fill("a long enough password")
        friend.get_by_label("Type the password again").fill("a long enough password")
        friend.get_by_role("button", name="Create account").click()
        assert_accessible(friend)
        friend.goto(link)
        assert friend.get_by_role("heading", level=1).inner_text() == \
            "Alex Morgan has invited you to help"
        assert_page_contains(friend, "My support plan")
        assert_accessible(friend)
        friend.get_by_role("button", name="Accept invitation").click()
        assert friend.url == live_server.url + "/my/"
        assert "You are acting for Alex Morgan" in friend.locator("#acting-for").inner_text()
        assert_accessible(friend)

        holder.goto("/my/people")
        row = holder.get_by_role("row").filter(has_text=invitee)
        assert "Active" in row.inner_text()
    finally:
        holder_ctx.close()
        friend_ctx.close()


def test_broker_records_an_authorised_person_with_a_review_date(page, live_server):
    person = _unique_email("attorney")
    sign_in(page, "broker@carefair.example")
    page.get_by_role("link", name="Budget holders").first.click()
    assert_accessible(page)
    page.get_by_label("Name or email").fill("Sam")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Sam Patel").click()
    assert_accessible(page)
    page.get_by_role("link", name="Record an authorised person").click()
    assert_accessible(page)
    page.get_by_label("Authorised person's full name").fill("Pat Patel")
    page.get_by_label("Their email address").fill(person)
    page.get_by_label("Deputyship order from the Court of Protection").check()
    page.get_by_label("Day").fill("1")
    page.get_by_label("Month").fill("6")
    page.get_by_label("Year").fill("2000")  # in the past: refused beside the field
    page.get_by_role("button", name="Record authorised person").click()
    summary = page.locator(".govuk-error-summary")
    assert "The review date must be in the future" in summary.inner_text()
    assert_accessible(page)
    page.get_by_label("Year").fill(str(__import__("datetime").date.today().year + 1))
    page.get_by_role("button", name="Record authorised person").click()
    assert_page_contains(page, "Pat Patel is now the authorised person for Sam Patel")
    assert_page_contains(page, "Deputyship order from the Court of Protection, review by 1 June")
    assert_accessible(page)
    assert "/reset-password/" in live_server.link_in_latest_email_to(person, "/reset-password/")


def test_admin_filters_the_audit_log(page, live_server):
    sign_in(page, "admin@carefair.example")
    page.get_by_role("link", name="Audit log").first.click()
    assert_accessible(page)
    page.get_by_label("Action starts with").fill("delegation.authorised")
    page.get_by_role("button", name="Filter").click()
    assert "action=delegation.authorised" in page.url
    rows = page.locator("tbody tr")
    assert rows.count() >= 1
    for text in rows.all_inner_texts():
        assert "delegation.authorised_recorded" in text
    assert "joan.holder@carefair.example" in page.locator("tbody").inner_text()
    assert_accessible(page)
    page.get_by_label("Action starts with").fill("")
    page.get_by_label("Done by (email)").fill("broker@carefair.example")
    page.get_by_role("button", name="Filter").click()
    assert all("broker@carefair.example" in t for t in page.locator("tbody tr").all_inner_texts())
    assert_accessible(page)


def test_sign_in_with_bad_input_shows_an_error_summary_linked_to_the_field(page, live_server):
    page.goto("/sign-in")
    page.get_by_role("button", name="Sign in").click()
    summary = page.locator(".govuk-error-summary")
    assert "There is a problem" in summary.inner_text()
    assert page.title().startswith("Error: ")
    assert_accessible(page)
    link = summary.get_by_role("link", name="Enter your email address")
    assert link.get_attribute("href") == "#email"
    link.click()
    assert page.evaluate("document.activeElement.id") == "email"
    page.get_by_label("Email address").fill("holder@carefair.example")
    page.get_by_label("Password", exact=True).fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert "Enter a correct email address and password" in summary.inner_text()
    assert page.get_by_label("Email address").input_value() == "holder@carefair.example"
    assert_accessible(page)


def test_sign_in_works_without_javascript(no_js_context, live_server):
    page = no_js_context.new_page()
    sign_in(page, "nominated@carefair.example", DEMO_PASSWORD)
    assert page.url == live_server.url + "/my/"
    assert "You are acting for Alex Morgan" in page.locator("#acting-for").inner_text()
    assert_accessible(page)
    page.get_by_role("button", name="Sign out").click()
    assert_page_contains(page, "You have signed out")
    assert_accessible(page)


def test_error_pages_are_plain_and_accessible(page, live_server):
    response = page.goto("/no-such-page")
    assert response.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "Page not found"
    assert_accessible(page)
    sign_in(page, "provider@carefair.example")
    response = page.goto("/admin/")
    assert response.status == 403
    heading = page.get_by_role("heading", level=1).inner_text()
    assert heading == "You do not have access to this page"
    assert_accessible(page)



def test_switching_person_and_account_pages_are_accessible(page, live_server):
    sign_in(page, "authorised@carefair.example")
    page.get_by_role("link", name="Switch person").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Choose whose account to use"
    assert_accessible(page)
    page.get_by_label("Joan Okafor – you are their authorised person").check()
    page.get_by_role("button", name="Continue").click()
    assert_page_contains(page, "You are now acting for Joan Okafor")
    page.get_by_role("link", name="Your account").click()
    assert "You are acting for Joan Okafor" in page.locator("#acting-for").inner_text()
    assert_accessible(page)


def test_forms_with_errors_are_accessible(page, live_server):
    sign_in(page, "holder@carefair.example")
    page.goto("/my/people/invite")
    page.get_by_label("Their email address").fill("someone@example.org")
    page.get_by_label("Circle of support", exact=False).check()
    page.get_by_role("button", name="Send invitation").click()
    assert "Choose at least one thing to share" in page.locator(".govuk-error-summary").inner_text()
    assert_accessible(page)
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "admin@carefair.example")
    page.get_by_role("link", name="Staff").first.click()
    page.get_by_role("button", name="Create account").click()
    assert "Enter their name" in page.locator(".govuk-error-summary").inner_text()
    assert_accessible(page)
