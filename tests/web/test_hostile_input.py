"""Every form Carefair shows, found from the app itself, refuses hostile input plainly.

The demo data is loaded; then, as each demo role, every page the URL map has is visited (pages
with ids in their address are reached through the links on other pages), every form on those
pages is read, and each is sent hostile values (NUL, control characters, bidi overrides, a
10,000-character string, huge and malformed numbers, odd dates, other scripts' digits) in all
of its text fields at once. Never a 500; never a row written when the answer is a refusal; and
for characters no field may hold, an error beside each field that held one.
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text

from app.extensions import db, limiter
from app.models import Base, User
from tests.conftest import rolled_back_session, session_on

pytestmark = pytest.mark.database

# Refused in every one-line field; the second list also in multi-line boxes.
ALWAYS_REFUSED = ["nul\x00byte", "esc\x1b[2Jape", "over\u202eride", "iso\u2066late\u2069",
                  "line\r\nBcc: everyone@example.org"]
MULTI_LINE_OK = {"line\r\nBcc: everyone@example.org"}
# Anything may happen to these except a 500 or a half-written refusal.
ODD = ["x" * 10_000, "9" * 40, "-1", "1e309", "NaN", "\u0661\u0662", "\uff11\uff12", "12,50",
       "0x1F", "31", "2147483648", " "]
TEXT_TYPES = {"text", "email", "password", "search", "number", "tel", "url", "date", None}
# Pages left alone: signing out would end the crawl's own session; assets are not pages.
SKIP_ENDPOINTS = {"auth.sign_out", "public.assets", "static"}
MAX_PAGES_PER_ROLE = 120


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, list[str]] = field(default_factory=dict)  # name -> baseline values
    text_fields: set[str] = field(default_factory=set)
    multi_line: set[str] = field(default_factory=set)
    choices: dict[str, str] = field(default_factory=dict)


class _Page(HTMLParser):
    def __init__(self, url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.url = url
        self.links: list[str] = []
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form":
            self._form = Form(action=a.get("action") or self.url,
                              method=(a.get("method") or "get").lower())
            self.forms.append(self._form)
        elif self._form is None or not a.get("name"):
            return
        elif tag == "input":
            kind = (a.get("type") or "text").lower()
            name = a["name"]
            if kind in ("radio", "checkbox"):
                self._form.choices.setdefault(name, a.get("value") or "y")
                if "checked" in a:
                    self._form.choices[name] = a.get("value") or "y"
            elif kind in ("submit", "button", "file", "image"):
                if kind == "submit":
                    self._form.fields.setdefault(name, [a.get("value") or ""])
            else:
                self._form.fields.setdefault(name, []).append(a.get("value") or "")
                if kind in TEXT_TYPES:
                    self._form.text_fields.add(name)
        elif tag == "textarea":
            self._form.fields.setdefault(a["name"], [""])
            self._form.text_fields.add(a["name"])
            self._form.multi_line.add(a["name"])
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select is not None and a.get("value"):
            self._form.choices.setdefault(self._select, a["value"])
            if "selected" in a:
                self._form.choices[self._select] = a["value"]

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def _same_site_path(href: str) -> str | None:
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or not href.startswith("/"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _row_counts() -> dict[str, int]:
    tables = [t.name for t in Base.metadata.sorted_tables]
    sql = " UNION ALL ".join(f"SELECT '{t}', COUNT(*) FROM {t}" for t in tables)
    return {name: count for name, count in db.session.execute(text(sql))}


def _crawl(app, client) -> dict[tuple[str, str], Form]:
    """Every form reachable as the signed-in role, keyed by (endpoint, field names)."""
    adapter = app.url_map.bind("carefair.localhost")
    queue: deque[str] = deque()
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.arguments and rule.endpoint not in SKIP_ENDPOINTS:
            queue.append(rule.rule)
    seen_endpoints: set[str] = set()
    forms: dict[tuple[str, str], Form] = {}
    visited = 0
    while queue and visited < MAX_PAGES_PER_ROLE:
        path = queue.popleft()
        try:
            endpoint, _ = adapter.match(urlsplit(path).path, method="GET")
        except Exception:  # noqa: BLE001 - not a page of ours (or not a GET)
            continue
        # One address per page kind is enough: /my/bookings/3 and /my/bookings/4 share a form.
        if endpoint in seen_endpoints or endpoint in SKIP_ENDPOINTS:
            continue
        seen_endpoints.add(endpoint)
        response = client.get(path)
        visited += 1
        assert response.status_code < 500, f"GET {path} gave {response.status_code}"
        if response.status_code != 200 or "html" not in (response.content_type or ""):
            response.close()  # a file (the favicon, a photo) is streamed: close it
            continue
        page = _Page(path)
        page.feed(response.get_data(as_text=True))
        for href in page.links:
            local = _same_site_path(href)
            if local:
                queue.append(local)
        for form in page.forms:
            if not form.text_fields:
                continue  # buttons only: nothing to type into
            try:
                form_endpoint, _ = adapter.match(urlsplit(form.action).path, method=form.method.upper())
            except Exception:  # noqa: BLE001
                continue
            if form_endpoint in SKIP_ENDPOINTS:
                continue
            forms.setdefault((form_endpoint, ",".join(sorted(form.text_fields))), form)
    return forms


def _payload(form: Form, value: str) -> dict[str, list[str] | str]:
    data: dict[str, list[str] | str] = {k: list(v) for k, v in form.fields.items()}
    data.update(form.choices)
    for name in form.text_fields:
        data[name] = [value] * max(1, len(form.fields.get(name, [""])))
    return data


def _send(client, form: Form, value: str):
    data = _payload(form, value)
    if form.method == "get":
        return client.get(urlsplit(form.action).path, query_string=data)
    return client.post(form.action, data=data)


def _attempt(client, form: Form, value: str, where: str) -> list[str]:
    before = _row_counts()
    response = _send(client, form, value)
    if response.status_code >= 500:
        return [f"{where}: {response.status_code}"]
    if form.method == "get":
        return []
    page = response.get_data(as_text=True)
    if response.status_code in (301, 302, 303):
        # An action button's form answers with a redirect: a refusal shows on the next page.
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        if "govuk-error-summary" not in page:
            if value in ALWAYS_REFUSED and any(
                    not (value in MULTI_LINE_OK and n in form.multi_line) for n in form.text_fields):
                return [f"{where}: accepted (redirected to {response.headers['Location']})"]
            return []  # accepted: an odd but harmless value
    elif value in ALWAYS_REFUSED:
        must = [n for n in form.text_fields if not (value in MULTI_LINE_OK and n in form.multi_line)]
        missing = [n for n in must if not re.search(rf'id="{re.escape(n)}(-day)?-error"', page)]
        if must and missing and "govuk-error-message" not in page:
            return [f"{where}: no error beside {missing}"]
    # Refused: nothing may have been written (bar the sign-in count and the audit of reads).
    after = _row_counts()
    changed = {t: (before[t], after[t]) for t in before
               if before[t] != after[t] and t not in ("sign_in_throttles", "audit_events")}
    return [f"{where}: refused but wrote {changed}"] if changed else []


# The demo's people: a holder, someone acting for a holder, a circle member, a provider, a
# broker and a council admin (README: every demo sign-in).
DEMO_PEOPLE = ["holder@carefair.example", "authorised@carefair.example",
               "circle@carefair.example", "provider@carefair.example",
               "broker@carefair.example", "admin@carefair.example"]
# Distinct forms each role's crawl found when the test was split by role (Dec 2026: 5, 20, 19,
# 7, 17, 18, 16), less a margin for forms merged or retired; fewer means the crawl is broken.
MIN_FORMS = {None: 4, "holder@carefair.example": 16, "authorised@carefair.example": 15,
             "circle@carefair.example": 5, "provider@carefair.example": 13,
             "broker@carefair.example": 14, "admin@carefair.example": 12}


@pytest.fixture(scope="module")
def shared_connection(app) -> Iterator:
    """One connection holding the demo data, seeded once for the module (the seed takes half a
    minute) in a transaction that is rolled back when the module is done."""
    from app.services import demo_seed

    with app.app_context():
        connection = db.engine.connect()
    outer = connection.begin()
    try:
        with session_on(connection), app.test_request_context():
            demo_seed.seed_all()
        yield connection
    finally:
        outer.rollback()
        connection.close()


@pytest.fixture
def db_session(app, shared_connection) -> Iterator:
    """Each role's test starts from the freshly seeded demo and is rolled back to it."""
    with rolled_back_session(app, shared_connection) as session:
        yield session


def _demo_user(db_session, email: str) -> User:
    from sqlalchemy import select

    user = db_session.scalar(select(User).where(User.email == email))
    assert user is not None, f"the demo has no {email}"
    return user


# One test per role, so xdist can spread them over its workers.
@pytest.mark.parametrize(("role", "at_least"), [
    pytest.param(None, MIN_FORMS[None], id="signed-out"),
    *(pytest.param(email, MIN_FORMS[email], id=email.split("@")[0]) for email in DEMO_PEOPLE),
])
def test_every_form_refuses_hostile_input_plainly_as_every_role(app, client, db_session, login,
                                                               role, at_least):
    problems: list[str] = []
    connection = db_session.registry().bind
    if role is not None:
        login(_demo_user(db_session, role))
    started = time.monotonic()
    forms = _crawl(app, client)
    print(f"{role}: {len(forms)} forms found in {time.monotonic() - started:.1f}s", flush=True)
    for (endpoint, names), form in sorted(forms.items()):
        started = time.monotonic()
        for value in ALWAYS_REFUSED + ODD:
            limiter.reset()  # sign-up and reset have hourly limits: a 429 is not the point
            # Each attempt is undone afterwards, so one that succeeds (a note with a newline
            # hides a review) cannot take the next attempt's form off the page.
            db_session.rollback()  # the session's own savepoint ends before ours begins
            attempt = connection.begin_nested()
            try:
                where = f"{role} {form.method.upper()} {form.action} [{names}] {value[:20]!r}"
                problems.extend(_attempt(client, form, value, where))
            finally:
                db_session.rollback()
                if attempt.is_active:
                    attempt.rollback()
                db_session.expire_all()
        print(f"  {endpoint} [{names}] {time.monotonic() - started:.1f}s", flush=True)
    assert len(forms) >= at_least, f"only {len(forms)} forms found as {role}: the crawl is broken"
    assert problems == [], "\n".join(problems[:60])
