"""Search follows the real listings: what providers create, edit, withdraw or let expire is what
people find, on both backends."""

from datetime import date, timedelta

import pytest

from app.adapters.search.postgres import PostgresSearchBackend
from app.adapters.search.whoosh import WhooshSearchBackend
from app.domain.access import Role
from app.domain.listings import Category, parse_slots
from app.domain.search import parse_query
from app.services import listings, providers, vetting
from app.services import search as search_service
from app.services.search_listings import live_documents
from tests.provider_helpers import listing_input, profile_input, verified_provider


@pytest.fixture
def broker(make_user):
    return make_user(Role.BROKER)


@pytest.fixture(params=["whoosh", pytest.param("postgres", marks=pytest.mark.postgres_only)])
def backend(request, app, app_ctx, db_session, tmp_path):
    """Make the app use one backend for this test, starting from an index of the live listings."""
    if request.param == "whoosh":
        chosen = WhooshSearchBackend(str(tmp_path / "index"))
    else:
        chosen = PostgresSearchBackend(lambda: db_session)
    saved = app.extensions.get("carefair_search")
    app.extensions["carefair_search"] = chosen
    search_service.reindex()
    try:
        yield chosen
    finally:
        if saved is None:
            app.extensions.pop("carefair_search", None)
        else:
            app.extensions["carefair_search"] = saved


def found(**args) -> set[int]:
    result = search_service.search(parse_query(args), user_id=None)
    return {hit.document.listing_id for hit in result.hits}


def test_a_listing_shows_in_search_once_its_checks_are_verified(backend, make_user, broker):
    user = make_user(Role.PROVIDER)
    providers.save_profile(user, profile_input())
    listing = listings.create_listing(user, listing_input(title="Gardening and odd jobs"))
    assert found(q="gardening") == set()  # not vetted yet, so not live
    _, other = verified_provider(make_user, broker, title="Gardening for wellbeing")
    assert found(q="gardening") == {other.id}
    assert listing.id not in found()


def test_editing_a_listing_changes_what_finds_it(backend, make_user, broker):
    user, listing = verified_provider(make_user, broker, title="Personal care at home")
    assert found(q="personal care") == {listing.id}
    listings.update_listing(user, listing.id, listing_input(
        Category.TRANSPORT, title="Lifts to hospital appointments", price="9.00"))
    assert found(q="personal care") == set()
    assert found(q="hospital", category="transport", max_price="10") == {listing.id}


def test_withdrawing_a_listing_takes_it_out_of_search(backend, make_user, broker):
    user, listing = verified_provider(make_user, broker)
    assert listing.id in found()
    listings.update_listing(user, listing.id, listing_input(published=False))
    assert listing.id not in found()
    listings.update_listing(user, listing.id, listing_input(published=True))
    assert listing.id in found()


def test_expired_vetting_hides_the_listing_from_search(backend, make_user, broker):
    _, listing = verified_provider(make_user, broker)
    assert listing.id in found()
    vetting.expire(on=date.today() + timedelta(days=201))  # the insurance has run out
    assert listing.id not in found()
    assert search_service.search(parse_query({}), user_id=None).total == 0


def test_a_hidden_listing_the_index_missed_is_never_shown(backend, make_user, broker,
                                                          db_session, caplog):
    """If an index update failed after a listing was hidden (a suspension, say), search still
    does not show it, and takes it out of the index so counts and filters agree again."""
    from sqlalchemy import update

    from app.models import Listing

    _, listing = verified_provider(make_user, broker, title="Garden help")
    _, other = verified_provider(make_user, broker, title="Garden club")
    assert found(q="garden") == {listing.id, other.id}
    # Hidden in the database only: the signal that would update the index never ran.
    db_session.execute(update(Listing).where(Listing.id == listing.id).values(is_live=False))
    db_session.commit()
    assert listing.id in backend.matching_ids(parse_query({"q": "garden"}))

    result = search_service.search(parse_query({"q": "garden"}), user_id=None)
    assert [hit.document.listing_id for hit in result.hits] == [other.id]
    assert result.total == 1
    assert backend.matching_ids(parse_query({"q": "garden"})) == {other.id}
    assert f"hidden listings [{listing.id}]" in caplog.text


def test_filters_use_the_providers_details(backend, make_user, broker):
    user, listing = verified_provider(make_user, broker, funding_modes=["council_managed"])
    wanted = dict(district="SY2", specialism="dementia", language="english", gender="female",
                  funding="council_managed", category="personal_care", max_price="16.50")
    assert found(**wanted) == {listing.id}
    assert found(district="TF1") == set()
    assert found(gender="male") == set()
    assert found(specialism="autism") == set()
    # Changing the profile re-indexes every listing of the provider.
    providers.save_profile(user, profile_input(districts="TF1", gender="Man",
                                               languages=["English", "Polish"]))
    assert found(district="TF1", gender="male", language="polish") == {listing.id}
    assert found(district="SY2") == set()


def test_changing_availability_changes_the_day_and_time_filters(backend, make_user, broker):
    user, listing = verified_provider(make_user, broker)
    assert found(day="sat") == set()
    providers.set_availability(user, parse_slots("Monday 09:00 to 12:30\nSaturday 18:00 to 21:00"))
    assert found(day="sat", time="evening") == {listing.id}
    assert found(day="mon", time="afternoon") == set()


def test_documents_carry_availability_and_vetting_date(app_ctx, make_user, broker):
    user, listing = verified_provider(make_user, broker)
    providers.set_availability(user, parse_slots("Monday 09:00 to 12:30\nSaturday 18:00 to 21:00"))
    (doc,) = [d for d in live_documents() if d.listing_id == listing.id]
    assert doc.availability == ((0, 540, 750), (5, 1080, 1260))
    assert {"when:mon_morning", "when:sat_evening"} <= set(doc.facet_tokens())
    assert doc.provider_vetted_at == date.today()
    assert doc.worker_gender == "female" and doc.languages == ("english",)
    assert doc.rating_count == 0 and doc.rating_mean is None



def test_a_listings_reviews_reach_its_search_document(app_ctx, db_session, make_user, broker,
                                                        monkeypatch):
    """The minimum-rating filter and ranking read the rating from the document."""
    from app.domain.ratings import RatingSummary
    from app.services import ratings
    from app.services.search_listings import document_for

    _, listing = verified_provider(make_user, broker, title="Rated support")
    assert document_for(listing, listing.profile).rating_count == 0
    monkeypatch.setattr(ratings, "rating_for_listing",
                        lambda _id: RatingSummary(count=3, mean=4.5, bayesian=4.1,
                                                  distribution={5: 2, 4: 1}))
    document = document_for(listing, listing.profile)
    assert (document.rating_mean, document.rating_count) == (4.5, 3)
    # Ranking uses the ratings service's Bayesian average, not a prior of search's own.
    assert document.bayesian_rating == 4.1
