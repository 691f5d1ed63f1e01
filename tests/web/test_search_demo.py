"""The demo's seeded listings can be found on /search, and each result opens its listing page."""

import re

import pytest

from app.cli import DEMO_START_HOOKS


@pytest.fixture
def demo(app, db_session, monkeypatch):
    """The demo as `carefair demo` starts it: seed, then the start hooks (expiry, reindex)."""
    from app.services import accounts, demo_seed
    from tests.factories import _TEST_PASSWORD_HASH

    # argon2 is deliberately slow; the seed's own speed is not what this test is about.
    monkeypatch.setattr(accounts, "hash_password", lambda password: _TEST_PASSWORD_HASH)
    # ...and a cache of its own, so the stand-in hash does not outlive this test (a later demo,
    # such as the browser tests' live server, would otherwise seed people who cannot sign in).
    monkeypatch.setattr(demo_seed, "_DEMO_HASHES", {})
    with app.app_context():
        demo_seed.seed_all()
        for hook in DEMO_START_HOOKS:
            hook()


def _listing_links(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'href="/listings/(\d+)"', html)]


def test_the_demo_start_expires_vetting_before_it_reindexes():
    names = [hook.__name__ for hook in DEMO_START_HOOKS]
    assert names.index("_expire_on_demo_start") < names.index("_reindex_on_demo_start")


def test_demo_listings_are_found_and_open_their_listing_page(client, demo):
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Listing

    html = client.get("/search").get_data(as_text=True)
    live = set(db.session.scalars(select(Listing.id).where(Listing.is_live.is_(True))))
    hidden = set(db.session.scalars(select(Listing.id).where(Listing.is_live.is_(False))))
    assert hidden, "the demo has providers whose checks expired or are pending"
    total = int(re.search(r'id="result-count">(\d+) listing', html).group(1))
    assert total == len(live)
    assert set(_listing_links(html)) <= live

    html = client.get("/search?q=dementia&district=SY1").get_data(as_text=True)
    links = _listing_links(html)
    assert links and set(links) <= live
    page = client.get(f"/listings/{links[0]}")
    assert page.status_code == 200

    html = client.get("/search?q=personal+care&district=SY3&specialism=dementia"
                      "&language=portuguese&gender=female").get_data(as_text=True)
    assert "Personal care and support at home" in html  # Maria Santos, the demo provider


def test_every_page_links_to_search(client):
    html = client.get("/").get_data(as_text=True)
    assert 'href="/search"' in html and "Search for support" in html
