"""Rendered pages have the markup screen readers rely on: filled legends and unique ids."""

from collections import Counter
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from app.domain.access import Role
from app.domain.rules import Finding, Severity, Subject
from app.extensions import db
from app.models import Flag
from app.services import flags, providers
from tests.booking_helpers import holder_with_budget, live_listing
from tests.ledger_helpers import funded_budget
from tests.provider_helpers import profile_input

pytestmark = pytest.mark.database


_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
         "track", "wbr"}


class _Markup(HTMLParser):
    """Collects every id, fieldset and legend text, and what each label points at."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: Counter[str] = Counter()
        self.tags_by_id: dict[str, str] = {}
        self.legends: list[str] = []
        self.label_targets: list[str] = []
        self.described_by: list[str] = []
        self.text_by_id: dict[str, str] = {}
        self.fieldsets = 0
        self._in_legend = False
        self._open_ids: list[str | None] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        # Hidden inputs (CSRF token, idempotency key) are never announced or labelled.
        if attributes.get("id") and attributes.get("type") != "hidden":
            self.ids[attributes["id"]] += 1
            self.tags_by_id[attributes["id"]] = tag
        if tag == "fieldset":
            self.fieldsets += 1
        if tag == "legend":
            self._in_legend = True
            self.legends.append("")
        if tag == "label" and attributes.get("for"):
            self.label_targets.append(attributes["for"])
        self.described_by += (attributes.get("aria-describedby") or "").split()
        if tag not in _VOID:  # hints, error messages, captions: their text is read out
            self._open_ids.append(attributes.get("id"))
            if attributes.get("id"):
                self.text_by_id.setdefault(attributes["id"], "")

    def handle_endtag(self, tag):
        if tag == "legend":
            self._in_legend = False
        if tag not in _VOID and self._open_ids:
            self._open_ids.pop()

    def handle_data(self, data):
        if self._in_legend:
            self.legends[-1] += data
        for open_id in self._open_ids:
            if open_id:
                self.text_by_id[open_id] += data


def assert_screen_reader_markup(page: str) -> None:
    markup = _Markup()
    markup.feed(page)
    assert [i for i, n in markup.ids.items() if n > 1] == []
    # Every group of radios or checkboxes needs its question read out first.
    assert len(markup.legends) == markup.fieldsets
    assert all(text.strip() for text in markup.legends), markup.legends
    for target in markup.label_targets:
        assert markup.tags_by_id.get(target) in {"input", "select", "textarea"}, target
    # What a field is described by exists and says something (no empty hints read out).
    for described in markup.described_by:
        assert markup.text_by_id.get(described, "").strip(), described


def test_booking_form_asks_how_often_in_its_legend(app, client, login, make_user):
    with app.app_context():
        _, listing = live_listing(make_user)
        holder, _ = holder_with_budget(make_user)
    login(holder)
    page = client.get(f"/my/book/{listing.id}").get_data(as_text=True)
    assert_screen_reader_markup(page)
    assert "How often?" in page


def test_photo_upload_label_points_at_the_file_input(app, client, login_as):
    user = login_as(Role.PROVIDER)
    with app.app_context():
        providers.save_profile(user, profile_input())
    page = client.get("/provider/profile").get_data(as_text=True)
    assert_screen_reader_markup(page)


@pytest.mark.parametrize("role, path", [
    (None, "/sign-up"),
    (Role.COUNCIL_ADMIN, "/admin/budgets/new"),
    (Role.HOLDER, "/my/people/invite"),
])
def test_forms_with_radios_have_a_question_as_legend(client, login_as, role, path):
    if role is not None:
        login_as(role)
    response = client.get(path)
    assert response.status_code == 200
    assert_screen_reader_markup(response.get_data(as_text=True))


def test_pages_with_several_forms_keep_their_field_ids_apart(app, client, login, login_as,
                                                            make_user):
    with app.app_context():
        provider, listing = live_listing(make_user)
        _, _, budget = funded_budget(make_user, funded=0)
        flags.file_findings([Finding("price_outlier", Severity.MEDIUM, Subject("listing", listing.id),
                                     "Charges far above similar listings.", {"peers": 6})])
        db.session.commit()
        flag_id = db.session.scalar(select(Flag.id))
    login_as(Role.COUNCIL_ADMIN)
    assert_screen_reader_markup(client.get(f"/admin/budgets/{budget.id}").get_data(as_text=True))
    login_as(Role.BROKER)
    assert_screen_reader_markup(client.get(f"/broker/flags/{flag_id}").get_data(as_text=True))
    login(provider)
    assert_screen_reader_markup(client.get("/provider/availability").get_data(as_text=True))


def test_sign_up_radios_point_screen_readers_at_no_empty_hint(client):
    page = client.get("/sign-up").get_data(as_text=True)
    assert_screen_reader_markup(page)
    assert 'id="role-hint"' not in page
