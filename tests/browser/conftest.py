"""Browser fixtures: one live Carefair per session (own SQLite, demo data), Debian's Chromium
through Playwright, `sign_in(page, email)` and `assert_accessible(page)` (axe, WCAG 2.x A/AA).

Other issues reuse these: ask for `live_server` (its `.url`, `.app`, `.outbox`) and `page`, then
`sign_in(page, "holder@carefair.example")`. Every test here is marked `browser` automatically.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
from flask import Flask

from app import create_app
from app.config import Config
from app.extensions import db
from app.services.sign_in_limits import Limits

DEMO_PASSWORD = "carefair-demo"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
# axe-core tags for WCAG 2.0, 2.1 and 2.2 at levels A and AA.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@dataclass
class LiveServer:
    url: str
    app: Flask
    outbox: Path

    def emails_to(self, address: str) -> list[str]:
        """Bodies of the emails written to the outbox for an address, oldest first."""
        bodies = []
        for path in sorted(self.outbox.glob("*.eml")):
            message = message_from_bytes(path.read_bytes(), policy=default_policy)
            if message["To"] == address:
                bodies.append(message.get_body(preferencelist=("plain",)).get_content())
        return bodies

    def link_in_latest_email_to(self, address: str, path_part: str) -> str:
        bodies = self.emails_to(address)
        assert bodies, f"no email was sent to {address}"
        return next(line.strip() for line in bodies[-1].splitlines() if path_part in line)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    """The real app in demo mode on 127.0.0.1 (a free port), migrated and seeded from seed/."""
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from app.services import demo_seed

    instance = tmp_path_factory.mktemp("live-instance")
    config = Config.from_env(
        "demo",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{instance / 'carefair.db'}",
        INSTANCE_DIR=str(instance),
        MAIL_OUTBOX_DIR=str(instance / "outbox"),
        # Journeys sign the same demo people in many times a minute; the limit itself is
        # tested in tests/web. (Per-app: the shared limiter reads this on each request.)
        SIGN_IN_LIMITS=Limits(free_failures=1000, spray_emails=1000),
        # The tests read the database beside the live server; transactions that take the write
        # lock first would make those reads wait (tests/integration/test_sqlite_concurrency.py
        # covers the demo's setting).
        SQLITE_BEGIN_IMMEDIATE=False,
    )
    application = create_app(config)
    with application.app_context():
        upgrade()
        demo_seed.seed_all()
    server = make_server("127.0.0.1", 0, application, threaded=True)
    # Emailed links are built from PUBLIC_BASE_URL (app/links.py), never the request: point it
    # at this server's port so the journeys can follow them.
    application.config["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=application,
                         outbox=Path(config.MAIL_OUTBOX_DIR))
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with application.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator:
    """Debian's Chromium, headless. Missing Chromium is a failure, never a skip."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Chromium is not installed (apt-get install -y --no-install-recommends "
                    "chromium); the browser tests cannot run.", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True,
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser, live_server) -> Iterator:
    """A fresh browser context (no cookies) per test, with the live server as base URL."""
    ctx = browser.new_context(base_url=live_server.url)
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context) -> Iterator:
    yield context.new_page()


# Contexts made by `no_js_context`: axe cannot run inside them (evaluate needs JavaScript).
_NO_JS_CONTEXTS: weakref.WeakSet = weakref.WeakSet()


@pytest.fixture
def no_js_context(browser, live_server) -> Iterator:
    """A browser context with JavaScript switched off, to prove pages work without it."""
    ctx = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    ctx.set_default_timeout(10_000)
    _NO_JS_CONTEXTS.add(ctx)
    yield ctx
    ctx.close()


ARTEFACTS = Path(__file__).parent / "artefacts"


@pytest.fixture
def shots(request):
    """`shots(page, name)`: axe on the page, no wider than its viewport, and a full-page
    screenshot kept under tests/browser/artefacts/<test>/ (git-ignored) as the step's record."""
    folder = ARTEFACTS / request.node.name.replace("[", "-").replace("]", "")
    folder.mkdir(parents=True, exist_ok=True)
    taken = []

    def shot(page, name: str) -> None:
        assert_accessible(page)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= page.viewport_size["width"], f"{name}: {width}px wide"
        path = folder / f"{len(taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        taken.append(path)

    return shot


def sign_in(page, email: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the real form and wait for the page it lands on."""
    page.goto("/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert "/sign-in" not in page.url, f"sign-in failed for {email}: {page.url}"


def assert_page_contains(page, text: str, timeout_s: float = 20.0) -> str:
    """Wait until the page's HTML contains `text` and return that HTML; fail with what the page
    shows if it never does.

    A click that submits a form or follows a link returns before the next page has loaded
    (Playwright no longer waits for the navigation it starts), so reading `page.content()`
    straight after one reads the old page, or an empty document halfway through loading.
    Polling until the text appears reads the page the person would be looking at."""
    from playwright.sync_api import Error as PlaywrightError

    deadline = time.monotonic() + timeout_s
    html = ""
    while True:
        try:
            page.wait_for_load_state()
            html = page.content()
        except PlaywrightError:  # the document changed under us: read the next one
            html = ""
        if text in html:
            return html
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} is not on {page.url}; the page shows:\n"
                                 f"{_visible_text(page)[:2000]}")
        page.wait_for_timeout(100)


def _visible_text(page) -> str:
    try:
        return page.locator("main").inner_text(timeout=2_000)
    except Exception:  # noqa: BLE001 - only for the failure message
        return "(the page could not be read)"


def assert_accessible(page) -> None:
    """Run axe-core on the current page and fail listing every WCAG 2.x A/AA violation."""
    from axe_playwright_python.sync_playwright import Axe

    page.wait_for_load_state()  # never judge a document that is still arriving
    if page.context in _NO_JS_CONTEXTS:
        _assert_accessible_as_rendered_without_js(page)
        return
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    violations = results.response["violations"]
    if violations:
        lines = [f"{len(violations)} accessibility violation(s) on {page.url}:"]
        for v in violations:
            lines.append(f"- {v['id']} ({v['impact']}): {v['help']}")
            lines.extend(f"    {node['target']}: {node['html'][:160]}" for node in v["nodes"][:5])
        pytest.fail("\n".join(lines), pytrace=False)


def _assert_accessible_as_rendered_without_js(page) -> None:
    """Check the HTML a no-JavaScript browser got, in a scratch JavaScript-enabled page on the
    same origin (so the stylesheets load) with the page's own scripts removed."""
    html = re.sub(r"<script\b.*?</script>", "", page.content(), flags=re.S | re.I)
    origin = page.url.split("/", 3)
    scratch_ctx = page.context.browser.new_context()
    try:
        scratch = scratch_ctx.new_page()
        # An origin page that exists and is public, then swap in the captured HTML.
        scratch.goto(f"{origin[0]}//{origin[2]}/accessibility")
        scratch.set_content(html)
        assert_accessible(scratch)
    finally:
        scratch_ctx.close()
