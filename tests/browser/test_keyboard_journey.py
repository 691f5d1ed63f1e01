"""Keyboard only, at 375 px and on a laptop: the skip link is the first thing Tab reaches and
moves focus to the page's content; a holder books weekly support from free slots through the
steps, and the provider accepts it, pressing only Tab, Space, arrow keys and Enter; whatever
has focus can be seen; axe on every page, a screenshot of each step kept."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import sign_in

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
        assert "Accepted" in provider.content()
        shots(provider, "provider-accepted")
    finally:
        holder_ctx.close()
        provider_ctx.close()
