"""A crawl of the demo as every role sees it on a phone: every kind of page a role can reach by
links (each Flask endpoint, once with and once without a query string) answers without an
error, passes axe, has one h1 and a skip link, and is no wider than the screen at 375 px and at
320 px (nor a laptop's at 1024 px)."""

from __future__ import annotations

import re
from collections import deque
from urllib.parse import urldefrag, urlsplit

import pytest

from tests.browser.conftest import assert_accessible, sign_in
from tests.browser.test_foundation_journeys import DEMO_HOMES

# Pages per endpoint (/my/bookings/12 and /my/bookings/13 are one endpoint, one kind of page):
# every kind of page a role has is visited without visiting 300 booking details, which keeps
# the crawl to a few minutes. MAX_PAGES only guards against a runaway.
PER_ENDPOINT_WITH_ARGS = 1
MAX_PAGES = 150
# Links that are not pages: downloads, the photo, and (GET but) sign-out-like actions.
SKIP = re.compile(r"(\.csv$|/photo$|^/assets/|^/static/|^/api/|/inbox/\d+/open$)")

OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('body *')].filter(el => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.right > width + 1 && getComputedStyle(el).position !== 'fixed'
      && !el.closest('.govuk-visually-hidden, [hidden]');
  }).slice(0, 3).map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
      + (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ')[0] : ''));
  return {scroll: document.documentElement.scrollWidth, width, wide};
}"""


def _shape(path: str) -> str:
    return re.sub(r"\d+", "N", path)


def _kind(adapter, path: str) -> str:
    """The kind of page a path is: its endpoint (plus '?' when it has a query string), or its
    shape when the URL map does not know it (it is then visited and reported as an error)."""
    from werkzeug.exceptions import HTTPException
    from werkzeug.routing import RequestRedirect

    bare, _, query = path.partition("?")
    try:
        endpoint, _args = adapter.match(bare, method="GET")
    except (HTTPException, RequestRedirect):
        return _shape(bare) + ("?" if query else "")
    return endpoint + ("?" if query else "")


def _same_site_links(page, origin: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(a => a.href)")
    found = []
    for href in hrefs:
        href = urldefrag(href).url
        parts = urlsplit(href)
        if f"{parts.scheme}://{parts.netloc}" != origin:
            continue
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if not SKIP.search(parts.path):
            found.append(path)
    return found


def _check_width(page, url: str, width: int, problems: list[str]) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    measured = page.evaluate(OVERFLOW)
    if measured["scroll"] > measured["width"] + 1:
        problems.append(f"{url}: {measured['scroll']}px wide at {width}px ({measured['wide']})")


@pytest.mark.parametrize("email", [e for e, *_ in DEMO_HOMES], ids=[e.split("@")[0]
                                                                    for e, *_ in DEMO_HOMES])
def test_every_page_a_role_can_reach_works_on_a_phone(browser, live_server, email):
    context = browser.new_context(base_url=live_server.url,
                                  viewport={"width": 375, "height": 800})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        sign_in(page, email)
        origin = live_server.url
        start = urlsplit(page.url).path
        adapter = live_server.app.url_map.bind("127.0.0.1")
        queue: deque[str] = deque([start])
        seen: set[str] = {start}
        kinds: dict[str, int] = {}
        problems: list[str] = []
        visited = 0
        while queue and visited < MAX_PAGES:
            path = queue.popleft()
            kind = _kind(adapter, path)
            if kinds.get(kind, 0) >= PER_ENDPOINT_WITH_ARGS:
                continue
            kinds[kind] = kinds.get(kind, 0) + 1
            visited += 1
            response = page.goto(path)
            if response is None or response.status >= 400:
                problems.append(f"{path}: HTTP {response.status if response else 'none'}")
                continue
            if urlsplit(page.url).path == "/sign-in":
                problems.append(f"{path}: signed out")
                break
            if page.locator("h1").count() != 1:
                problems.append(f"{path}: {page.locator('h1').count()} h1 elements")
            if page.locator("a.govuk-skip-link[href='#main-content']").count() != 1:
                problems.append(f"{path}: no skip link")
            _check_width(page, path, 375, problems)
            _check_width(page, path, 320, problems)
            _check_width(page, path, 1024, problems)  # and no page too wide for a laptop
            page.set_viewport_size({"width": 375, "height": 800})
            try:
                assert_accessible(page)
            except pytest.fail.Exception as failure:
                problems.append(str(failure))
            for link in _same_site_links(page, origin):
                if link not in seen:
                    seen.add(link)
                    queue.append(link)
        assert visited >= 5, f"only {visited} pages reached from {start}"
        assert visited < MAX_PAGES, f"{visited} pages: is a link making endless new pages?"
        print(f"{email}: {visited} kinds of page")  # shown with -s: how much was covered
        assert not problems, "\n".join(problems)
    finally:
        context.close()
