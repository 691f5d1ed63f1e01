"""Search benchmark: index build time and query latency (Whoosh, PostgreSQL, SQLite FTS5), and
how fairly exposure is spread across providers with fair ranking on and off.

    .venv/bin/python bench/search.py            # 100,000 listings, 20,000 providers, 500 queries
    .venv/bin/python bench/search.py --quick    # a small version, under a minute

PostgreSQL: BENCH_DATABASE_URL, by default the carefair_bench database on 127.0.0.1 (created if
missing); the benchmark works in its own schema `bench_search`, dropped at the end.
Latency is per search as the page runs it: filters, facet counts (a query per ticked facet
group), candidate retrieval and fair re-ranking. Prints `name: value unit` lines.
"""

from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

# Run as `python bench/<name>.py`, bench/ comes first on the path, where bench/http.py would hide
# the standard library's `http` (which the Stripe SDK imports): take the folder off the path.
_sys.path[:] = [p for p in _sys.path if _Path(p or ".").resolve() != _Path(__file__).resolve().parent]
_sys.path.insert(0, str(_Path(__file__).resolve().parent.parent))


import argparse
import gc
import math
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.domain.search import (  # noqa: E402
    CATEGORIES,
    COUNTED_FACETS,
    PAGE_SIZE,
    ListingDocument,
    SearchQuery,
    parse_query,
    words_of,
)
from app.domain.search_ranking import WINDOW, Candidate, RankingContext, gini, rank  # noqa: E402

TODAY = date(2026, 5, 1)
VOCAB = {
    "personal_care": "washing dressing bathing medication continence personal care carer",
    "help_at_home": "cleaning laundry shopping cooking meals housework gardening",
    "getting_out": "trips cinema football gym swimming social outings community",
    "employment_support": "job coaching work volunteering interview skills employer",
    "learning": "course college reading cooking budgeting computer learning",
    "transport": "minibus taxi wheelchair appointments hospital driver journeys",
    "short_breaks": "respite short breaks overnight sitting carers holiday",
    "peer_support": "peer group befriending chat anxiety loneliness support",
    "wellbeing": "yoga counselling art therapy massage relaxation walks",
    "advocacy": "advocate reviews meetings rights independent advocacy",
    "money_management": "payroll pensions tax managed account budget records",
}
_GENERIC_TEXT = ("friendly experienced trained reliable local flexible patient kind calm "
                 "qualified caring weekly daily evenings weekends mornings")
GENERIC = _GENERIC_TEXT.split()
SPECIALISMS = ["dementia", "autism", "learning_disability", "mental_health", "faith",
               "physical_disability", "sensory_impairment", "end_of_life", "cultural"]
LANGUAGES = ["welsh", "polish", "urdu", "punjabi", "gujarati", "bengali", "bsl", "romanian"]
FUNDING = ["direct_payment", "council_managed", "individual_service_fund", "third_party_managed"]
AREAS = ["SY", "TF", "WV", "LD", "CH", "WR", "HR", "ST", "DY", "B"]


def districts(n: int) -> list[str]:
    return [f"{AREAS[i % len(AREAS)]}{i // len(AREAS) + 1}" for i in range(n)]


def generate(n_listings: int, n_providers: int, seed: int = 7):
    rng = random.Random(seed)
    all_districts = districts(max(30, n_listings // 300))
    cats = list(CATEGORIES)
    # A few big agencies own a fifth of listings (the thin-market problem); most providers 1-7.
    n_big = max(5, n_providers // 200)
    big_listings = n_listings // 5
    counts = [big_listings // n_big] * n_big
    rest = n_listings - sum(counts)
    small = n_providers - n_big
    counts += [1] * small
    for _ in range(rest - small):
        counts[n_big + rng.randrange(small)] += 1
    docs: list[ListingDocument] = []
    shares: dict[tuple[int, str, str], float] = {}
    lid = 0
    for pid, how_many in enumerate(counts, start=1):
        big = pid <= n_big
        home = rng.randrange(len(all_districts))
        cat_pool = rng.sample(cats, 3)
        vetted = TODAY - timedelta(days=rng.randrange(20, 1500))
        if rng.random() < 0.05:
            vetted = TODAY - timedelta(days=rng.randrange(0, 90))
        for _ in range(how_many):
            lid += 1
            cat = rng.choice(cat_pool)
            vocab = VOCAB[cat].split()
            span = rng.randint(1, 6) if not big else rng.randint(3, 8)
            covered = tuple(sorted({all_districts[(home + rng.randrange(-3, 4)) % len(
                all_districts)] for _ in range(span)}))
            title = " ".join(rng.sample(vocab, 2)).capitalize()
            desc = " ".join(rng.sample(vocab, 3) + rng.sample(GENERIC, 4))
            slots = tuple((d, rng.choice([420, 540, 720, 1020]), 0) for d in
                          rng.sample(range(7), rng.randint(1, 6)))
            slots = tuple((d, s, min(1440, s + rng.choice([120, 240, 480]))) for d, s, _ in slots)
            rated = rng.random() < (0.9 if big else 0.5)
            docs.append(ListingDocument(
                listing_id=lid, provider_id=pid, provider_name=f"Provider {pid}",
                provider_type="home_care_agency" if big else rng.choice(
                    ["self_employed_pa", "community_organisation", "group_activity",
                     "employed_pa"]),
                title=title, description=desc, category=cat,
                price_pence=rng.randrange(300, 4500, 25), price_unit=rng.choice(
                    ["hour", "hour", "hour", "session", "day"]),
                districts=covered, availability=slots,
                specialisms=tuple(rng.sample(SPECIALISMS, rng.randint(0, 2))),
                languages=("english",) + tuple(rng.sample(LANGUAGES, 1 if rng.random() < 0.15
                                                           else 0)),
                worker_gender=rng.choice([None, None, "female", "male"]),
                funding_modes=tuple(rng.sample(FUNDING, rng.randint(1, 4))),
                rating_mean=round(rng.uniform(4.0 if big else 3.0, 5.0), 1) if rated else None,
                rating_count=(rng.randint(20, 200) if big else rng.randint(1, 15)) if rated else 0,
                provider_vetted_at=vetted,
            ))
            if big:
                for d in covered:  # markets are holder district x category (rules.markets)
                    shares[(pid, cat, d)] = rng.uniform(35, 70)
    return docs, shares, all_districts


def make_queries(n: int, all_districts: list[str], seed: int = 11) -> list[SearchQuery]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        args: dict[str, list[str] | str] = {}
        cat = rng.choice(list(CATEGORIES))
        if rng.random() < 0.6:
            words = rng.sample(VOCAB[cat].split(), rng.choice([1, 1, 2]))
            if rng.random() < 0.05:
                w = words[0]
                words[0] = w[:2] + w[3:] if len(w) > 4 else w
            args["q"] = " ".join(words)
        if rng.random() < 0.7:
            args["district"] = rng.choice(all_districts)
        if rng.random() < 0.3:
            args["category"] = [cat]
        if rng.random() < 0.15:
            args["day"] = [rng.choice(["mon", "tue", "wed", "thu", "fri", "sat", "sun"])]
            if rng.random() < 0.5:
                args["time"] = [rng.choice(["morning", "afternoon", "evening"])]
        if rng.random() < 0.1:
            args["language"] = [rng.choice(LANGUAGES)]
        if rng.random() < 0.1:
            args["specialism"] = [rng.choice(SPECIALISMS)]
        if rng.random() < 0.1:
            args["max_price"] = rng.choice(["15", "20", "25", "30"])
        if rng.random() < 0.05:
            args["min_rating"] = "4"
        if rng.random() < 0.05:
            args["funding"] = [rng.choice(FUNDING)]
        if rng.random() < 0.05:
            args["gender"] = rng.choice(["female", "male"])
        r = rng.random()
        args["sort"] = "price" if r < 0.1 else "rating" if r < 0.2 else "best"
        if rng.random() < 0.1:
            args["page"] = str(rng.randint(2, 3))
        out.append(parse_query(args))
    return out


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)]


def emit(name: str, value, unit: str = "") -> None:
    text = f"{value:.2f}" if isinstance(value, float) else str(value)
    print(f"{name}: {text} {unit}".rstrip(), flush=True)


def time_queries(run, queries) -> list[float]:
    for q in queries[:5]:  # warm caches once, like a running server
        run(q)
    times = []
    for q in queries:
        start = time.perf_counter()
        run(q)
        times.append((time.perf_counter() - start) * 1000)
    return times


# --- SQLite FTS5 reference: the same searches done the obvious way in SQLite -------------------

class Fts5Reference:
    def __init__(self, path: str):
        self.db = sqlite3.connect(path)
        self.db.executescript("""
            PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;
            CREATE TABLE docs (id INTEGER PRIMARY KEY, price INTEGER, rating REAL,
                               quality REAL, doc TEXT);
            CREATE VIRTUAL TABLE docs_fts USING fts5(body, tokenize='porter');
            CREATE TABLE tokens (token TEXT, id INTEGER);
        """)

    def build(self, docs):
        self.db.executemany("INSERT INTO docs VALUES (?,?,?,?,?)", [
            (d.listing_id, d.price_pence, d.sort_rating, d.bayesian_rating, d.to_json())
            for d in docs])
        self.db.executemany("INSERT INTO docs_fts(rowid, body) VALUES (?,?)", [
            (d.listing_id, " ".join(words_of(d.text))) for d in docs])
        self.db.executemany("INSERT INTO tokens VALUES (?,?)", [
            (t, d.listing_id) for d in docs for t in d.facet_tokens()
            + [f"district:{x}" for x in d.districts]])
        self.db.executescript("CREATE INDEX ix_tok ON tokens(token, id); "
                              "CREATE INDEX ix_tok_id ON tokens(id, token); ANALYZE;")
        self.db.commit()

    def _where(self, query: SearchQuery, constraints):
        clauses, params = [], []
        if query.words:
            clauses.append("d.id IN (SELECT rowid FROM docs_fts WHERE docs_fts MATCH ?)")
            params.append(" AND ".join(f'"{w}"' for w in query.words))
        for c in constraints:
            if c.tokens:
                tokens = [f"district:{t}" for t in c.tokens] if c.field == "districts" \
                    else list(c.tokens)
                clauses.append(f"d.id IN (SELECT id FROM tokens WHERE token IN "
                               f"({','.join('?' * len(tokens))}))")
                params += tokens
            elif c.max_price_pence is not None:
                clauses.append("d.price <= ?")
                params.append(c.max_price_pence)
            elif c.min_rating is not None:
                clauses.append("d.rating >= ?")
                params.append(c.min_rating)
        return " AND ".join(clauses) or "1", params

    def counts(self, query, constraints) -> Counter:
        where, params = self._where(query, constraints)
        rows = self.db.execute(
            f"SELECT t.token, count(*) FROM docs d JOIN tokens t ON t.id = d.id "
            f"WHERE {where} AND t.token NOT LIKE 'district:%' GROUP BY t.token", params)
        return Counter(dict(rows))

    def search(self, query: SearchQuery, ctx: RankingContext):
        constraints = query.constraints()
        base = self.counts(query, constraints)
        for facet in COUNTED_FACETS:
            if facet in query.active_facets:
                self.counts(query, query.constraints(exclude=facet))
        if not base.get("all"):
            return []
        where, params = self._where(query, constraints)
        order = {"price": "d.price", "rating": "d.rating DESC"}.get(query.sort, "d.quality DESC")
        if query.words and query.sort == "best":
            sql = (f"SELECT d.doc, -f.rank FROM docs_fts f JOIN docs d ON d.id = f.rowid "
                   f"WHERE docs_fts MATCH ? AND {where} ORDER BY f.rank LIMIT {WINDOW}")
            params = [params[0]] + params
        else:
            sql = f"SELECT d.doc, 0 FROM docs d WHERE {where} ORDER BY {order} LIMIT {WINDOW}"
        rows = self.db.execute(sql, params).fetchall()
        cands = [Candidate(ListingDocument.from_json(doc), float(rel)) for doc, rel in rows]
        return rank(cands, query, ctx)[:PAGE_SIZE]


def edit_figures(name: str, backend, docs, queries, shares, commit=lambda: None) -> None:
    """What an edit costs: indexing one changed listing, and the next search, which has to
    notice the change (Whoosh opens the new index version; PostgreSQL drops and re-reads the
    sets the edit changed)."""
    rng = random.Random(5)
    index_times, search_times = [], []
    for i in range(30):
        doc = rng.choice(docs)
        edited = replace(doc, title=f"{doc.title} edited {i}")
        start = time.perf_counter()
        backend.index([edited])
        commit()
        index_times.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        backend.search(queries[i], RankingContext(user_key="user:1", today=TODAY,
                                                  market_share=shares))
        commit()
        search_times.append((time.perf_counter() - start) * 1000)
    emit(f"{name}_index_one_edited_listing_p50", statistics.median(index_times), "ms")
    emit(f"{name}_first_search_after_an_edit_p50", statistics.median(search_times), "ms")


def exposure_figures(backend, queries, shares) -> None:
    """Exposure on the first page (position-weighted) with fair ranking on and off."""
    on: dict[int, float] = defaultdict(float)
    off: dict[int, float] = defaultdict(float)
    overlaps = []
    ndcgs = []
    for i, q in enumerate(queries):
        q1 = q.with_page(1)
        fair = backend.search(q1, RankingContext(user_key=f"user:{i}", today=TODAY,
                                                 market_share=shares)).hits
        plain = backend.search(q1, RankingContext(user_key=f"user:{i}", today=TODAY,
                                                  fair=False)).hits
        # Plain relevance of every candidate fair ranking chose from (its whole window).
        window = backend.search(q1, RankingContext(user_key=f"user:{i}", today=TODAY,
                                                   fair=False, page_size=WINDOW)).hits
        ndcg = ndcg_at_10([h.document.listing_id for h in fair],
                          {h.document.listing_id: h.score for h in window})
        if ndcg is not None:
            ndcgs.append(ndcg)
        for pos, h in enumerate(fair):
            on[h.document.provider_id] += 1 / math.log2(pos + 2)
        for pos, h in enumerate(plain):
            off[h.document.provider_id] += 1 / math.log2(pos + 2)
        if plain:
            a = {h.document.listing_id for h in fair}
            b = {h.document.listing_id for h in plain}
            overlaps.append(len(a & b) / len(b))
    providers = set(on) | set(off)
    emit("exposure_providers_seen_fair_on", len(on), "providers")
    emit("exposure_providers_seen_fair_off", len(off), "providers")
    emit("exposure_gini_fair_on", gini([on.get(p, 0.0) for p in providers]))
    emit("exposure_gini_fair_off", gini([off.get(p, 0.0) for p in providers]))
    emit("top10_overlap_with_plain_relevance", 100 * statistics.mean(overlaps), "%")
    # How much relevance fair ranking keeps on the first page (1 = the plain order's relevance):
    # overlap says how much changed, NDCG how much it cost the person searching.
    emit("fair_ndcg10", statistics.mean(ndcgs) if ndcgs else 1.0)
    emit("fair_ndcg10_queries", len(ndcgs), "queries with words (relevance differs)")


def ndcg_at_10(ranked: list[int], relevance: dict[int, float]) -> float | None:
    """NDCG@10 of a ranking with graded relevance (gain = plain text relevance); None when
    every candidate is equally relevant (any order is ideal: nothing to lose)."""
    gains = sorted(relevance.values(), reverse=True)
    if not gains or gains[0] == gains[-1]:
        return None
    ideal = sum(g / math.log2(pos + 2) for pos, g in enumerate(gains[:10]))
    actual = sum(relevance.get(lid, 0.0) / math.log2(pos + 2)
                 for pos, lid in enumerate(ranked[:10]))
    return actual / ideal if ideal > 0 else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 listings, 60 queries")
    parser.add_argument("--skip", default="", help="comma list of backends to skip")
    args = parser.parse_args()
    n_listings, n_providers, n_queries = (1_000, 200, 60) if args.quick else \
        (100_000, 20_000, 500)
    skip = set(filter(None, args.skip.split(",")))
    docs, shares, all_districts = generate(n_listings, n_providers)
    queries = make_queries(n_queries, all_districts)
    emit("listings", len(docs), "documents")
    emit("providers", len({d.provider_id for d in docs}), "providers")
    emit("queries", len(queries), "queries")

    def runner(backend):
        def run(q):
            return backend.search(q, RankingContext(user_key="user:1", today=TODAY,
                                                    market_share=shares))
        return run

    workdir = tempfile.mkdtemp(prefix="carefair-bench-")
    exposure_done = False
    if "whoosh" not in skip:
        from app.adapters.search.whoosh import WhooshSearchBackend

        whoosh = WhooshSearchBackend(os.path.join(workdir, "whoosh"))
        start = time.perf_counter()
        whoosh.rebuild(docs)
        emit("whoosh_index_build", time.perf_counter() - start, "s")
        times = time_queries(runner(whoosh), queries)
        emit("whoosh_query_p50", statistics.median(times), "ms")
        emit("whoosh_query_p95", pct(times, 95), "ms")
        # Exposure is a property of the shared ranking, so it is measured once, on the faster
        # backend.
        exposure_figures(whoosh, queries, shares)
        edit_figures("whoosh", whoosh, docs, queries, shares)
        exposure_done = True
        # A PostgreSQL server process holds no Whoosh index: free it (and its caches) so the
        # PostgreSQL figures are not measured beside another backend's heap.
        del whoosh
        gc.collect()

    if "postgres" not in skip:
        from sqlalchemy import create_engine, text
        from sqlalchemy.orm import Session

        from app.adapters.search.postgres import PostgresSearchBackend
        from app.models.search_document import (
            SearchDocument,
            SearchIndexChange,
            SearchIndexState,
            SearchPosting,
            SearchWord,
        )
        from bench._db import DEFAULT_URL, ensure_database

        url = ensure_database(os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL)
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS bench_search CASCADE"))
            conn.execute(text("CREATE SCHEMA bench_search"))
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA bench_search"))
        engine = create_engine(url, connect_args={"options": "-csearch_path=bench_search,public"})
        SearchDocument.metadata.create_all(engine, tables=[
            SearchDocument.__table__, SearchWord.__table__, SearchPosting.__table__,
            SearchIndexState.__table__, SearchIndexChange.__table__], checkfirst=False)
        session = Session(engine)
        postgres = PostgresSearchBackend(lambda: session)
        try:
            start = time.perf_counter()
            postgres.rebuild(docs)
            session.commit()
            with admin.connect() as conn:
                conn.execute(text("VACUUM ANALYZE bench_search.search_documents"))
                conn.execute(text("VACUUM ANALYZE bench_search.search_words"))
            emit("postgres_index_build", time.perf_counter() - start, "s")
            times = time_queries(runner(postgres), queries)
            emit("postgres_query_p50", statistics.median(times), "ms")
            emit("postgres_query_p95", pct(times, 95), "ms")
            if not exposure_done:
                exposure_figures(postgres, queries, shares)
            edit_figures("postgres", postgres, docs, queries, shares, session.commit)
        finally:
            session.close()
            engine.dispose()
            with admin.connect() as conn:
                conn.execute(text("DROP SCHEMA IF EXISTS bench_search CASCADE"))
            admin.dispose()

    if "fts5" not in skip:
        fts = Fts5Reference(os.path.join(workdir, "fts5.db"))
        start = time.perf_counter()
        fts.build(docs)
        emit("sqlite_fts5_index_build", time.perf_counter() - start, "s")
        times = time_queries(lambda q: fts.search(q, RankingContext(
            user_key="user:1", today=TODAY, market_share=shares)), queries)
        emit("sqlite_fts5_query_p50", statistics.median(times), "ms")
        emit("sqlite_fts5_query_p95", pct(times, 95), "ms")


if __name__ == "__main__":
    main()
