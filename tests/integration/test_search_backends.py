"""Both search backends, on the shared corpus: the same listings for the same searches, and the
behaviour people notice (counts, "did you mean", advice when nothing matches, page clamping)."""

import pytest

from app.adapters.search.postgres import PostgresSearchBackend
from app.adapters.search.whoosh import WhooshSearchBackend
from app.domain.search import parse_query
from app.domain.search_ranking import RankingContext
from tests.search.corpus import BY_ID, CORPUS, TODAY

# (request arguments, the listing ids a person would expect)
EXPECTED = [
    ({"q": "personal care"}, {1, 2, 5, 6, 17, 18, 28, 31, 36, 40}),
    ({"q": "dementia", "district": "sy1"}, {1, 2, 3, 17, 33}),
    ({"q": "DÉMENTIA", "district": "sy1"}, {1, 2, 3, 17, 33}),  # accents and case folded
    ({"q": "walking"}, {9, 16}),  # stemming: "walks" and "walking"
    ({"q": "swim"}, {29}),
    ({"category": ["transport", "advocacy"]}, {10, 11, 22, 25, 37}),
    ({"language": "welsh", "time": "evening"}, {7}),
    ({"day": "sat", "time": "morning"}, {6, 7, 9, 15, 16, 17, 28, 29, 31, 40}),
    ({"max_price": "20", "min_rating": "4"}, {6, 7, 9, 10, 12, 14, 16, 19, 20, 23, 26, 29, 31,
                                               32, 36}),
    ({"gender": "male", "district": "SY1"}, {7, 22}),
    ({"funding": "third_party_managed", "category": "money_management"}, {12, 27}),
    ({"specialism": ["autism"], "q": "support"}, {14, 23, 39}),  # 14: "Employment support"
    ({"q": "swimming", "district": "TF9"}, set()),
    ({"q": '"AND OR (* --'}, set(BY_ID)),
]
MORE = [
    {"q": "carers", "day": "sat"}, {"q": "mental health"}, {"q": "taxi wheelchair"},
    {"district": "TF1", "sort": "price"}, {"min_rating": "3", "sort": "rating"},
    {"q": "help", "funding": ["council_managed", "individual_service_fund"]},
    {"language": ["urdu", "polish"]}, {"q": "personal assistant", "gender": "female"},
    {"q": "the of and"}, {"specialism": "dementia", "day": ["mon", "sun"], "time": "evening"},
]


@pytest.fixture(params=["whoosh", pytest.param("postgres", marks=pytest.mark.postgres_only),
                        pytest.param("postgres-stored-words", marks=pytest.mark.postgres_only)])
def backend(request, tmp_path, db_session):
    if request.param == "whoosh":
        chosen = WhooshSearchBackend(str(tmp_path / "index"))
    elif request.param == "postgres":
        chosen = PostgresSearchBackend(lambda: db_session)  # 40 listings: every word is rare
    else:
        # Every word gets a stored set, and matches are found by walking the sort order's index,
        # as in a large index.
        chosen = PostgresSearchBackend(lambda: db_session, common_word_share=10_000,
                                       by_id_up_to=0)
    chosen.rebuild(CORPUS)
    return chosen


@pytest.mark.parametrize("args,expected", EXPECTED)
def test_searches_find_the_listings_a_person_would_expect(backend, args, expected):
    assert backend.matching_ids(parse_query(args)) == expected


@pytest.mark.postgres_only
def test_both_backends_return_the_same_listings_for_the_same_search(tmp_path, db_session):
    whoosh = WhooshSearchBackend(str(tmp_path / "index"))
    whoosh.rebuild(CORPUS)
    postgres = PostgresSearchBackend(lambda: db_session)
    postgres.rebuild(CORPUS)
    for args in [a for a, _ in EXPECTED] + MORE:
        query = parse_query(args)
        assert whoosh.matching_ids(query) == postgres.matching_ids(query), args
        w, p = whoosh.search(query), postgres.search(query)
        assert w.total == p.total, args
        assert w.facets == p.facets, args


def test_counts_beside_a_ticked_filter_show_what_ticking_others_would_add(backend):
    result = backend.search(parse_query({"category": "transport", "district": "SY1"}))
    category = next(f for f in result.facets if f.name == "category")
    counts = {o.value: o.count for o in category.options}
    assert result.total == 1  # only the taxi covers SY1
    assert counts["transport"] == 1
    assert counts["personal_care"] == 5  # 1, 2, 5, 6 and 17 cover SY1
    language = next(f for f in result.facets if f.name == "language")
    assert {o.value: o.count for o in language.options} == {"english": 1}


def test_a_misspelt_word_that_finds_nothing_shows_what_the_likely_word_finds(backend):
    result = backend.search(parse_query({"q": "demntia"}))
    assert result.query.corrected_from == "demntia"
    assert (result.query.text, result.query.words) == ("dementia", ("dementia",))
    assert result.total == len(backend.matching_ids(parse_query({"q": "dementia"}))) > 0
    assert result.suggestion is None


def test_a_misspelling_the_filters_leave_nothing_for_gets_a_did_you_mean(backend):
    result = backend.search(parse_query({"q": "swiming", "district": "TF9"}))
    assert result.total == 0 and result.query.corrected_from is None
    assert result.suggestion == "swimming"
    assert result.suggestion_query.words == ("swimming",)


def test_a_listing_written_with_accents_is_found_with_or_without_them(backend):
    from dataclasses import replace

    backend.index([replace(BY_ID[29], title="Swimming then the Café Crème club")])
    for typed in ("cafe creme", "Café", "CAFÉ crème"):
        assert backend.matching_ids(parse_query({"q": typed})) == {29}, typed


def test_a_word_that_matches_through_stemming_is_not_corrected(backend):
    assert backend.search(parse_query({"q": "walk"})).suggestion is None


def test_when_nothing_matches_it_says_which_filter_to_loosen(backend):
    result = backend.search(parse_query({"q": "swimming", "district": "SY1", "gender": "female"}))
    assert result.total == 0
    advice = {item.facet: item.count for item in result.loosen}
    assert advice["gender"] == 1  # the swimming lessons do not say who teaches
    assert advice["text"] == 4  # women workers covering SY1: 1, 6, 23 and 26
    assert "district" not in advice  # removing the area alone still finds nothing
    assert result.loosen[0].facet == "text"  # the biggest gain first


def test_a_page_past_the_end_shows_the_last_page(backend):
    result = backend.search(parse_query({"page": "99"}), RankingContext(today=TODAY))
    assert result.page == result.pages == 4
    assert len(result.hits) == 10
    first = backend.search(parse_query({}), RankingContext(today=TODAY))
    every = set()
    for page in range(1, 5):
        hits = backend.search(parse_query({"page": str(page)}), RankingContext(today=TODAY)).hits
        every |= {h.document.listing_id for h in hits}
    assert every == set(BY_ID)
    assert first.hits != result.hits


def test_first_page_shows_at_most_two_listings_from_one_provider(backend):
    result = backend.search(parse_query({"district": "SY1"}), RankingContext(today=TODAY))
    providers = [h.document.provider_id for h in result.hits]
    assert max(providers.count(p) for p in set(providers)) <= 2


def test_updating_and_removing_a_listing_changes_what_is_found(backend, db_session):
    from dataclasses import replace

    backend.index([replace(BY_ID[37], title="Market day minibus")])
    assert backend.matching_ids(parse_query({"q": "minibus"})) == {10, 37}
    backend.remove(37)
    assert backend.matching_ids(parse_query({"q": "minibus"})) == {10}
    assert 37 not in backend.matching_ids(parse_query({}))


@pytest.mark.postgres_only
def test_another_process_sees_an_edit_on_its_next_search(db_session):
    from dataclasses import replace

    reader = PostgresSearchBackend(lambda: db_session)  # e.g. another web worker
    writer = PostgresSearchBackend(lambda: db_session, common_word_share=10_000)
    writer.rebuild(CORPUS)
    assert reader.search(parse_query({"q": "minibus"})).total == 1  # its sets are now cached
    writer.index([replace(BY_ID[37], title="Market day minibus")])
    assert reader.matching_ids(parse_query({"q": "minibus"})) == {10, 37}
    writer.remove(37)
    assert reader.matching_ids(parse_query({"q": "minibus"})) == {10}  # outside a search too
    writer.index([replace(BY_ID[37], title="Market day minibus")])
    writer.remove(10)
    result = reader.search(parse_query({"q": "minibus"}))
    assert {h.document.listing_id for h in result.hits} == {37}


@pytest.mark.postgres_only
def test_listings_with_large_ids_are_found_and_counted(db_session):
    from dataclasses import replace

    backend = PostgresSearchBackend(lambda: db_session, common_word_share=10_000)
    backend.rebuild(CORPUS)
    big = replace(BY_ID[10], listing_id=20_000, title="Evening minibus")
    backend.index([big])
    result = backend.search(parse_query({"q": "minibus", "category": "transport"}))
    assert {h.document.listing_id for h in result.hits} == {10, 20_000}
    category = next(f for f in result.facets if f.name == "category")
    assert {o.value: o.count for o in category.options}["transport"] == 2
    backend.remove(20_000)
    assert backend.matching_ids(parse_query({"q": "minibus"})) == {10}


@pytest.mark.postgres_only
def test_both_backends_put_the_same_listings_on_the_first_page_in_the_same_order(
        tmp_path, db_session):
    whoosh = WhooshSearchBackend(str(tmp_path / "index"))
    whoosh.rebuild(CORPUS)
    postgres = PostgresSearchBackend(lambda: db_session)
    postgres.rebuild(CORPUS)
    context = RankingContext(user_key="user:7", today=TODAY)
    for args in [{"q": "personal care"}, {"q": "support"}, {}, {"sort": "price"},
                 {"district": "SY1", "sort": "rating"}]:
        query = parse_query(args)
        assert [h.document.listing_id for h in whoosh.search(query, context).hits] == \
            [h.document.listing_id for h in postgres.search(query, context).hits], args


def test_a_whoosh_edit_waits_for_another_process_writing_the_index(tmp_path):
    """Two server processes share one Whoosh index: an edit made while the other process holds
    the writer waits for it, instead of failing and leaving the listing stale in search."""
    import threading
    from dataclasses import replace

    path = str(tmp_path / "index")
    this_process = WhooshSearchBackend(path)
    this_process.rebuild(CORPUS)
    other_process = WhooshSearchBackend(path)  # its own in-process lock, like another worker
    held = other_process._index().writer()
    errors: list[BaseException] = []

    def edit():
        try:
            this_process.index([replace(BY_ID[37], title="Market day minibus")])
        except BaseException as err:  # noqa: BLE001 - reported by the assertion below
            errors.append(err)

    editing = threading.Thread(target=edit)
    editing.start()
    editing.join(timeout=0.5)
    assert editing.is_alive(), "the edit should wait while the other writer holds the lock"
    held.cancel()
    editing.join(timeout=15)
    assert not editing.is_alive() and errors == []
    assert this_process.matching_ids(parse_query({"q": "minibus"})) == {10, 37}


def _seen_by(backend, args) -> tuple:
    """What a person sees for a search: the total, the results in order, every facet count."""
    result = backend.search(parse_query(args), RankingContext(user_key="user:3", today=TODAY))
    return (result.total, [h.document.listing_id for h in result.hits],
            [(f.name, [(o.value, o.count) for o in f.options]) for f in result.facets])


@pytest.mark.postgres_only
@pytest.mark.parametrize("changes_kept", [1000, 1])
def test_a_worker_that_keeps_its_sets_through_edits_sees_what_a_fresh_one_sees(
        db_session, monkeypatch, changes_kept):
    """Another worker's cache drops only the sets each edit changed (or everything, when it
    has missed more edits than are on record): either way it shows what a new worker shows."""
    from dataclasses import replace

    from app.adapters.search import postgres

    monkeypatch.setattr(postgres, "_CHANGES_KEPT", changes_kept)
    searches = [args for args, _ in EXPECTED] + MORE + [
        {"language": "cornish"}, {"q": "kayaking"}, {"district": "LD1"}]
    writer = PostgresSearchBackend(lambda: db_session, common_word_share=10)
    writer.rebuild(CORPUS)
    worker = PostgresSearchBackend(lambda: db_session, common_word_share=10)
    for args in searches:
        _seen_by(worker, args)  # the worker now has every set these searches need

    edits = [
        lambda: writer.index([replace(BY_ID[3], category="transport", title="Minibus to town")]),
        lambda: writer.index([replace(BY_ID[7], languages=("welsh", "cornish"))]),  # new value
        lambda: writer.index([replace(BY_ID[9], districts=("LD1",), title="Kayaking club")]),
        lambda: writer.remove(22),
        lambda: writer.index([replace(BY_ID[12], price_pence=999, rating_mean=4.9,
                                      rating_count=12)]),
        lambda: writer.index([replace(BY_ID[22], listing_id=9_000)]),  # the sets grow wider
    ]
    for number, edit in enumerate(edits):
        edit()
        if number == 2:
            edits[3]()  # two edits between searches
        fresh = PostgresSearchBackend(lambda: db_session, common_word_share=10)
        for args in searches:
            assert _seen_by(worker, args) == _seen_by(fresh, args), (number, args)


@pytest.mark.postgres_only
def test_edits_still_index_after_the_version_counter_starts_again(db_session):
    """If search_index_state is emptied (a clean-up script, a restore), the versions start again
    at 1 while older change records remain: edits must still index, and be found."""
    from dataclasses import replace

    from sqlalchemy import text

    writer = PostgresSearchBackend(lambda: db_session)
    writer.rebuild(CORPUS)
    writer.index([replace(BY_ID[37], title="Market day minibus")])  # recorded as version 2
    db_session.execute(text("DELETE FROM search_index_state"))
    writer.index([replace(BY_ID[37], title="Evening minibus")])  # version 1 again
    writer.index([replace(BY_ID[37], title="Evening minibus to town")])  # version 2 again
    fresh = PostgresSearchBackend(lambda: db_session)
    assert fresh.matching_ids(parse_query({"q": "town minibus"})) == {37}
