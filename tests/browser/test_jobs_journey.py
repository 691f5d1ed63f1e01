"""Job posts, shortlists and agreements in Chromium, keyboard and mouse, axe on every page: a
holder posts a job, two providers reply, the holder compares, shortlists one, messages and books
them from their reply, and closes the job as filled;
the provider offers a written agreement and the holder accepts it."""

from __future__ import annotations

from tests.browser.conftest import assert_accessible, assert_page_contains, sign_in

MARIA = "provider@carefair.example"  # personal care in SY1 at £16.50 an hour
VICKY = "vicky.hughes@carefair.example"  # personal care in SY1 at £14.00 an hour


def _reply(page, email: str, message: str) -> None:
    sign_in(page, email)
    page.goto("/provider/jobs")
    assert_accessible(page)
    page.get_by_role("link", name="Help getting up in the morning").first.click()
    assert_accessible(page)
    page.get_by_label("Your message to the person").fill(message)
    page.get_by_role("button", name="Say I am interested").click()
    assert_page_contains(page, "Your reply has been sent")
    page.get_by_role("button", name="Sign out").click()


def test_holder_posts_a_job_compares_replies_shortlists_and_messages(page, live_server):
    sign_in(page, "holder@carefair.example")
    page.goto("/my/jobs")
    assert_accessible(page)
    page.get_by_role("link", name="Post a job").click()
    # Errors first: nothing typed in the rate, and a full postcode in the district.
    page.get_by_role("radio", name="Personal care").check()
    page.get_by_label("Describe the help in a few words").fill("Help getting up in the morning")
    page.get_by_label("When is the support needed?").fill("Weekday mornings from January")
    page.get_by_label("About how many hours a week?").fill("6")
    page.get_by_label("Postcode district where the support happens").fill("SY1 2AB")
    page.get_by_role("button", name="Post the job").click()
    assert_page_contains(page, "There is a problem")
    assert_accessible(page)
    assert page.get_by_label("Describe the help in a few words").input_value() == "Help getting up in the morning"
    page.get_by_label("Postcode district where the support happens").fill("SY1")
    page.get_by_label("The most the budget allows an hour").fill("17.00")
    page.get_by_role("button", name="Post the job").click()
    assert_page_contains(page, "is posted")
    assert_accessible(page)
    page.get_by_role("button", name="Sign out").click()

    _reply(page, MARIA, "I work in Shrewsbury and can do weekday mornings.")
    _reply(page, VICKY, "I have supported people to get up and dressed for six years.")

    sign_in(page, "holder@carefair.example")
    page.goto("/my/jobs")
    page.get_by_role("link", name="Help getting up in the morning").first.click()
    replies = page.locator("#replies")
    assert "Maria Santos" in replies.inner_text() and "six years" in replies.inner_text()
    assert_accessible(page)
    maria_card = page.locator("#replies .govuk-grid-column-one-third", has_text="Maria Santos")
    maria_card.get_by_role("button", name="Add to shortlist").click()
    assert_page_contains(page, "Maria Santos is on the shortlist")
    page.goto("/my/shortlist")
    comparison = page.locator("#comparison").inner_text()
    assert "£16.50 per hour" in comparison and "Replied to job" in comparison
    assert_accessible(page)
    page.goto("/my/jobs")
    page.get_by_role("link", name="Help getting up in the morning").first.click()
    page.locator("#replies .govuk-grid-column-one-third", has_text="Maria Santos") \
        .get_by_role("link", name="Message").click()
    page.get_by_label("Your message").fill("Could we meet next week?")
    page.get_by_role("button", name="Send message").click()
    assert_page_contains(page, "Message sent")
    assert_accessible(page)

    # Books Maria from her reply, through the usual three steps, then closes the job as filled.
    page.goto("/my/jobs")
    page.get_by_role("link", name="Help getting up in the morning").first.click()
    page.locator("#replies .govuk-grid-column-one-third", has_text="Maria Santos") \
        .get_by_role("link", name="Book").click()
    page.get_by_label("Once").check()
    assert_accessible(page)
    page.get_by_role("button", name="Continue").click()
    page.locator("#free-slots input").first.check()
    assert_accessible(page)
    page.get_by_role("button", name="Continue").click()
    assert_page_contains(page, "Personal care")
    assert_accessible(page)
    page.get_by_role("button", name="Send the request").click()
    assert_page_contains(page, "Your booking request has been sent.")
    page.goto("/my/jobs")
    page.get_by_role("link", name="Help getting up in the morning").first.click()
    page.locator("#close-job").click()
    page.get_by_label("Maria Santos").check()
    assert_accessible(page)
    page.get_by_role("button", name="Close the job").click()
    assert_page_contains(page, "is closed. Everyone who replied has been told.")
    page.get_by_role("link", name="Help getting up in the morning").first.click()
    assert page.locator("#job-status").inner_text() == "Filled"


def test_provider_offers_an_agreement_and_the_holder_accepts_it(page, live_server):
    sign_in(page, MARIA)
    page.goto("/provider/bookings")
    # Alex's request to Maria that she has not answered yet (the demo's), not his paid booking.
    page.locator("tr", has_text="Alex Morgan").filter(has_text="Requested").get_by_role("link").first.click()
    page.get_by_role("link", name="Offer a written agreement").click()
    assert_accessible(page)
    page.get_by_label("Days' notice to end the agreement").fill("90")
    page.get_by_role("button", name="Offer the agreement").click()
    assert_page_contains(page, "at most 28 days")
    assert_accessible(page)
    page.get_by_label("Days' notice to end the agreement").fill("14")
    page.get_by_role("button", name="Offer the agreement").click()
    assert_page_contains(page, "is offered")
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, "holder@carefair.example")
    page.goto("/my/agreements")
    assert_accessible(page)
    page.get_by_role("link", name="with Maria Santos").first.click()
    assert_accessible(page)
    page.get_by_role("button", name="Accept these terms").click()
    assert_page_contains(page, "Agreement accepted")
    assert page.locator("#agreement-status").inner_text() == "Accepted"
