"""The search service keeps the configured backend in step with listings; the CLI rebuilds it."""

from dataclasses import replace

import pytest

from app.adapters.search import backend_name_for, get_backend
from app.config import ConfigurationError
from app.domain.search import parse_query
from app.services import search as search_service
from tests.search.corpus import BY_ID, CORPUS


def test_the_backend_follows_the_database_unless_configured():
    assert backend_name_for({"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://x/y"}) == "postgres"
    assert backend_name_for({"SQLALCHEMY_DATABASE_URI": "sqlite:///x.db"}) == "whoosh"
    assert backend_name_for({"SQLALCHEMY_DATABASE_URI": "postgresql://x/y",
                             "SEARCH_BACKEND": "whoosh"}) == "whoosh"
    with pytest.raises(ConfigurationError):
        backend_name_for({"SEARCH_BACKEND": "elastic"})


def test_listing_changes_reach_search(app_ctx):
    search_service.reindex(CORPUS)
    search_service.listing_updated(replace(BY_ID[13], title="Cooking on a budget for beginners"))
    assert search_service.search(parse_query({"q": "beginners"}), user_id=None).total == 1
    search_service.listing_removed(13)
    assert search_service.search(parse_query({"q": "beginners"}), user_id=None).total == 0
    assert search_service.search(parse_query({}), user_id=None).total == 39


def test_reindex_without_documents_needs_a_registered_source(app_ctx, monkeypatch):
    monkeypatch.setattr(search_service, "DOCUMENT_SOURCE", None)
    with pytest.raises(search_service.NoDocumentSource):
        search_service.reindex()
    monkeypatch.setattr(search_service, "DOCUMENT_SOURCE", lambda: CORPUS[:5])
    assert search_service.reindex() == 5
    assert get_backend().matching_ids(parse_query({})) == {1, 2, 3, 4, 5}


def test_the_reindex_command_rebuilds_from_the_listings(app, db_session, monkeypatch):
    monkeypatch.setattr(search_service, "DOCUMENT_SOURCE", lambda: iter(CORPUS))
    result = app.test_cli_runner().invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "Indexed 40 listings" in result.output
    monkeypatch.setattr(search_service, "DOCUMENT_SOURCE", None)
    result = app.test_cli_runner().invoke(args=["search", "reindex"])
    assert result.exit_code != 0
    assert "No listings are registered" in result.output


def test_market_share_from_brokerage_dampens_a_dominant_provider(app_ctx, monkeypatch):
    search_service.reindex(CORPUS)
    query = parse_query({"q": "dementia", "district": "SY1"})
    before = search_service.search(query, user_id=1).hits
    assert before[0].document.provider_id == 1
    monkeypatch.setattr(search_service, "MARKET_SHARE_SOURCE",
                        lambda: {(1, "wellbeing", "SY1"): 80.0,
                                 (1, "personal_care", "SY1"): 80.0})
    after = search_service.search(query, user_id=1).hits
    top = before[0].document.listing_id
    position = [h.document.listing_id for h in after].index(top)
    assert position > 0
    assert "80% of the spending" in " ".join(after[position].explanation)
