"""Keyboard only, at 375 px and on a laptop: the skip link is the first thing Tab reaches and
moves focus to the page's content; a holder books weekly support from free slots through the
steps, the provider accepts it and opens the address, the first visit is delivered (the clock
moved by the test), the holder confirms the hours, writes an easy-read review and cancels the
second visit, pressing only Tab, Space, arrow keys and Enter; whatever has focus can be seen;
axe on every page, a screenshot of each step kept."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_page_contains, sign_in

# GOV.UK Frontend's focus state: a yellow (#ffdd00) outline, background or ring.
FOCUS_SEEN = """() => {
  let el = document.activeElement;
  if (!el || el === document.body) return 'nothing has focus';
  const styles = [getComputedStyle(el)];
  // A radio or checkbox is drawn by its label: GOV.UK puts the focus ring on label::before.
  if (el.matches('.govuk-radios__input, .govuk-checkboxes__input')) {
    const label = el.parentElement.querySelector('label');
    styles.push(getComputedStyle(label, '::before'), getComputedStyle(label, '::after'));
  }
  const yellow = s => [s.outlineColor, s.backgroundColor, s.boxShadow, s.borderColor]
      .some(v => v && v.includes('255, 221, 0'));
  const outlined = s => s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
  const ringed = s => s.boxShadow && s.boxShadow !== 'none';
  return styles.some(s => yellow(s) || outlined(s) || ringed(s)) ? ''
      : 'no visible focus on ' + el.outerHTML.slice(0, 120);
}"""


def _focused(page, selector: str) -> bool:
    return page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)",
                         selector)


def tab_to(page, selector: str, *, limit: int = 120) -> None:
    """Press Tab until the element matching `selector` has focus, checking each stop shows it."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        problem = page.evaluate(FOCUS_SEEN)
        assert not problem, f"{page.url}: {problem}"
        if _focused(page, selector):
            return
    pytest.fail(f"{page.url}: Tab never reached {selector}", pytrace=False)


def skip_link_works(page) -> None:
    """The first Tab lands on the skip link; Enter moves focus to the main content."""
    if "#" in page.url:
        # A redirect keeps the last page's #main-content, and the browser then starts Tab from
        # there, as it should: load the page afresh to start from its top, as a person arriving.
        page.goto(page.url.split("#", 1)[0])
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press("Tab")
    assert _focused(page, "a.govuk-skip-link"), (
        "the first Tab stop is not the skip link: " + page.locator("main").inner_text()[:600])
    assert not page.evaluate(FOCUS_SEEN)
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main-content"


def press_and_wait(page, key: str = "Enter") -> None:
    with page.expect_navigation():
        page.keyboard.press(key)


@pytest.mark.parametrize("width", [375, 1280], ids=["phone", "laptop"])
def test_a_holder_books_and_a_provider_accepts_with_the_keyboard_alone(
        browser, live_server, shots, width):
    viewport = {"width": width, "height": 900}
    holder_ctx = browser.new_context(base_url=live_server.url, viewport=viewport)
    provider_ctx = browser.new_context(base_url=live_server.url, viewport=viewport)
    try:
        page = holder_ctx.new_page()
        sign_in(page, "holder@carefair.example")
        page.goto("/listings/1")
        skip_link_works(page)
        shots(page, "listing")
        tab_to(page, "a#book")
        press_and_wait(page)
        assert "/how-often" in page.url

        # Step 1: every week (a radio: Space), for 2 weeks (a select: typed), then Continue.
        skip_link_works(page)
        tab_to(page, "input[name=often]")
        while not _focused(page, "input[value=weekly]"):
            page.keyboard.press("ArrowDown")  # arrow keys move through a radio group
        page.keyboard.press("Space")
        tab_to(page, "select#weeks")
        page.keyboard.type("2")
        assert page.locator("select#weeks").input_value() == "2"
        shots(page, "step-1-how-often")
        tab_to(page, "form button.govuk-button")
        press_and_wait(page)
        assert "/when" in page.url

        # Step 2: the first free time.
        skip_link_works(page)
        tab_to(page, "#free-slots input[name=start]")
        page.keyboard.press("Space")
        shots(page, "step-2-when")
        tab_to(page, "form button.govuk-button")
        press_and_wait(page)
        assert "/check" in page.url

        # Step 3: check, then send.
        skip_link_works(page)
        assert page.locator("#price").inner_text().startswith("£")
        shots(page, "step-3-check")
        tab_to(page, "button#send")
        press_and_wait(page)
        assert re.search(r"/my/bookings/\d+$", page.url)
        assert ("Your booking request has been sent." in page.content()
                or "needs a broker's approval" in page.content())
        booking_id = int(page.url.rsplit("/", 1)[1])
        shots(page, "booking-sent")

        from app.services import bookings

        with live_server.app.app_context():
            booking = bookings.get_booking(booking_id)
            assert booking.kind == "recurring" and len(booking.sessions) == 2
            state = booking.state
        if state != "requested":
            return  # a broker looks first; the provider's part is shown by other journeys

        # The provider finds the request from their home page and accepts it.
        provider = provider_ctx.new_page()
        sign_in(provider, "provider@carefair.example")
        skip_link_works(provider)
        link = f"a[href='/provider/bookings/{booking_id}']"
        if provider.locator(link).count():  # the home page lists the first few waiting
            tab_to(provider, link)
            press_and_wait(provider)
        else:
            provider.goto(f"/provider/bookings/{booking_id}")
        skip_link_works(provider)
        shots(provider, "provider-request")
        tab_to(provider, f"form[action='/provider/bookings/{booking_id}/accept'] button")
        press_and_wait(provider)
        assert_page_contains(provider, "Accepted")
        shots(provider, "provider-accepted")
        tab_to(provider, "#where-to-go a")
        press_and_wait(provider)
        expect(provider.locator("#holder-address")).to_have_count(1)
        shots(provider, "provider-address")

        from app import clock
        from app.services import accounts

        with live_server.app.app_context():
            booking = bookings.get_booking(booking_id)
            first, second = booking.sessions[0], booking.sessions[1]
            first_id, second_id, first_end = first.id, second.id, first.end_at
            maria = accounts.find_by_email("provider@carefair.example")
        clock.travel_to(first_end + timedelta(hours=2))  # the first visit has happened
        try:
            with live_server.app.app_context():
                s = bookings.get_booking(booking_id).sessions[0]
                bookings.record_delivery(maria, s.id, actual_start=s.start_at,
                                         actual_end=s.end_at, notes="Went well.",
                                         now=clock.now())
            # The holder confirms the hours from the booking page.
            page.goto(f"/my/bookings/{booking_id}")
            skip_link_works(page)
            tab_to(page, f"#session-{first_id} button")
            assert "Confirm these hours" in page.evaluate("document.activeElement.innerText")
            press_and_wait(page)
            shots(page, "hours-confirmed")

            # An easy-read review: each question's faces chosen with the arrow keys.
            page.goto("/my/reviews")
            skip_link_works(page)
            tab_to(page, f"a[href*='/my/reviews/{booking_id}/easy-read']")
            press_and_wait(page)
            for name in ("reliable", "respect_dignity", "listened", "value", "overall"):
                tab_to(page, f"input[name='{name}']")
                for _ in range(6):
                    if _focused(page, f"input[name='{name}'][value='5']"):
                        break
                    page.keyboard.press("ArrowRight")
                page.keyboard.press("Space")
                assert page.locator(f"input[name='{name}'][value='5']").is_checked()
            shots(page, "easy-read-review")
            tab_to(page, "form button[type=submit]")
            press_and_wait(page)
            shots(page, "review-sent")

            # The second visit is cancelled on its own, after a question.
            page.goto(f"/my/bookings/{booking_id}")
            skip_link_works(page)
            tab_to(page, f"a[href='/my/sessions/{second_id}/cancel']")
            press_and_wait(page)
            skip_link_works(page)
            shots(page, "cancel-one-visit-question")
            tab_to(page, "form button.govuk-button--warning")
            press_and_wait(page)
            assert "The other visits go ahead." in page.content() or \
                "is cancelled" in page.content()
            shots(page, "one-visit-cancelled")
        finally:
            clock.travel_to(None)
        with live_server.app.app_context():
            states = [x.state for x in bookings.get_booking(booking_id).sessions]
        assert states[1] == "cancelled" and states[0] != "funds_held"
    finally:
        holder_ctx.close()
        provider_ctx.close()
