"""Fair-exposure ranking: one pure function that orders what either search backend retrieved.

Why it looks like this (design.md, "Brokerage rules"): a few agencies capture most spending in
thin markets, and a search engine that ranks purely on text and popularity entrenches them. So:
- nobody can pay to rank higher (there is no input for it);
- relevance is combined with quality, using a Bayesian average so one five-star review is not
  worth more than forty four-and-a-half-star ones;
- a provider above the council's share-of-spend cap in that category and area is dampened;
- at most two listings per provider on the first page;
- a bounded number of places per page for providers vetted in the last 90 days;
- equal scores are ordered by a hash seeded with the user and the day, so the same person sees a
  stable order today and nobody is permanently first.
Every hit says why it is where it is. Re-ranking works on the first `WINDOW` candidates the
backend returned (10 pages); later pages keep the backend's order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from app.domain.search import (
    PAGE_SIZE,
    PRICE_UNITS,
    Hit,
    ListingDocument,
    SearchQuery,
)

WINDOW = 100
RELEVANCE_WEIGHT = 0.75
QUALITY_WEIGHT = 0.25
MIN_DAMPING = 0.25
_HASH_MULTIPLIER = 2654435761  # Knuth's multiplicative hash; the same formula runs in SQL
_MASK = 0xFFFFFFFF

# (provider_id, category, holder district) -> that provider's percentage share of spend there:
# the market of the brokerage rules' share cap (where holders live; see rules.markets).
MarketShare = Mapping[tuple[int, str, str], float]


@dataclass(frozen=True)
class Candidate:
    """A listing the backend found, with the backend's text relevance (0 without words)."""

    document: ListingDocument
    relevance: float = 0.0


@dataclass(frozen=True)
class RankingContext:
    user_key: str = "anonymous"
    today: date = field(default_factory=date.today)
    market_share: MarketShare = field(default_factory=dict)
    share_cap_percent: int = 30
    fair: bool = True
    page_size: int = PAGE_SIZE
    per_provider_first_page: int = 2
    new_provider_slots: int = 2
    new_provider_days: int = 90

    @property
    def seed(self) -> int:
        return rotation_seed(self.user_key, self.today)


def rotation_seed(user_key: str, day: date) -> int:
    digest = hashlib.sha256(f"{user_key}|{day.isoformat()}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def listing_hash(listing_id: int) -> int:
    """A fixed scramble of listing ids, so neighbouring ids are not neighbours in a rotation."""
    return (listing_id * _HASH_MULTIPLIER) & _MASK


def rotation_key(listing_id: int, seed: int) -> int:
    """A per-user, per-day rotation of tied listings: the scrambled ids form a circle and each
    person starts at a different point of it each day. (A rotation rather than an XOR shuffle so
    a backend can walk a list pre-sorted by hash from the starting point instead of computing a
    key for every tied listing; the same formula runs in SQL.)"""
    return (listing_hash(listing_id) - seed) & _MASK


def provider_share(doc: ListingDocument, query: SearchQuery,
                   shares: MarketShare) -> tuple[float, str]:
    """The provider's share of spend for this category among holders living in the searched
    district (search starts from the holder's own district), or the highest share among the
    listing's districts when no district was given; and that district."""
    districts = [query.district] if query.district else list(doc.districts)
    best, where = 0.0, (districts[0] if districts else "")
    for district in districts:
        share = float(shares.get((doc.provider_id, doc.category, district), 0.0))
        if share > best:
            best, where = share, district
    return best, where


def is_new_provider(doc: ListingDocument, ctx: RankingContext) -> bool:
    return doc.provider_vetted_at is not None and \
        doc.provider_vetted_at >= ctx.today - timedelta(days=ctx.new_provider_days)


@dataclass
class _Scored:
    candidate: Candidate
    score: float
    key: tuple
    reasons: list[str]
    new: bool
    tied: bool = False


def rank(candidates: Sequence[Candidate], query: SearchQuery, ctx: RankingContext) -> list[Hit]:
    """Order the candidates (the backend's first WINDOW) into pages; the same on every backend."""
    if not candidates:
        return []
    match_reason = _match_reason(query)  # the same for every listing of this search
    if not ctx.fair:
        return [Hit(c.document, (match_reason, "Ranked by how well it matches your "
                                 "search only."), c.relevance) for c in candidates]
    seed = ctx.seed
    top_relevance = max((c.relevance for c in candidates), default=0.0) or 1.0
    scored: list[_Scored] = []
    for c in candidates:
        doc = c.document
        reasons = [match_reason]
        rot = rotation_key(doc.listing_id, seed)
        if query.sort == "price":
            score = -float(doc.price_pence)
            key: tuple = (doc.price_pence, rot)
            reasons.append(f"You chose to sort by price: it costs {_money(doc.price_pence)} "
                           f"{PRICE_UNITS.get(doc.price_unit, doc.price_unit)}.")
        elif query.sort == "rating":
            score = doc.sort_rating
            key = (-doc.sort_rating, -doc.rating_count, rot)
            reasons.append("You chose to sort by rating: " + (_rating_words(doc) if doc.rating_count
                           else "it has no ratings yet, so it comes after rated listings."))
        else:
            relevance = c.relevance / top_relevance if query.words else 1.0
            if query.words:
                reasons.append(_title_reason(c.relevance))
            quality = (doc.bayesian_rating - 1) / 4
            score = RELEVANCE_WEIGHT * relevance + QUALITY_WEIGHT * quality
            if doc.rating_count:
                reasons.append("It is placed by how well it matches and by its rating ("
                               + _rating_words(doc) + ", averaged with the typical rating for this "
                               "kind of support so a few reviews do not count for too much).")
            else:
                reasons.append("It has no ratings yet, so it is placed by how well it matches, "
                               "with the typical rating for this kind of support assumed.")
            share, where = provider_share(doc, query, ctx.market_share)
            if share > ctx.share_cap_percent:
                score *= max(MIN_DAMPING, ctx.share_cap_percent / share)
                reasons.append(
                    f"This provider already receives {share:.0f}% of the spending on "
                    f"{doc.category_label.lower()} by people living in {where}, more than the "
                    f"council's limit of {ctx.share_cap_percent}%, so it is shown lower to give "
                    "other providers a fair chance.")
            score = round(score, 4)
            key = (-score, rot)
        scored.append(_Scored(c, score, key, reasons, is_new_provider(doc, ctx)))
    scored.sort(key=lambda s: s.key)
    for before, after in zip(scored, scored[1:], strict=False):
        if before.key[:-1] == after.key[:-1]:
            before.tied = after.tied = True
    for s in scored:
        if s.tied:
            s.reasons.append("Listings that match equally well are shown in a different order "
                             "each day, so no one is always first.")
    ordered = _assemble_pages(scored, query, ctx)
    return [Hit(s.candidate.document, tuple(s.reasons) + (
        "No provider can pay to appear higher in Carefair's results.",), s.score) for s in ordered]


def _assemble_pages(scored: list[_Scored], query: SearchQuery,
                    ctx: RankingContext) -> list[_Scored]:
    """Fill pages in score order, applying the per-provider cap on page one and the new-provider
    places (only for best match: a sort the user chose is kept)."""
    remaining = list(scored)
    out: list[_Scored] = []
    page_number = 0
    while remaining:
        page_number += 1
        page: list[_Scored] = []
        deferred: list[_Scored] = []
        per_provider: dict[int, int] = {}
        while remaining and len(page) < ctx.page_size:
            item = remaining.pop(0)
            pid = item.candidate.document.provider_id
            if page_number == 1 and per_provider.get(pid, 0) >= ctx.per_provider_first_page:
                deferred.append(item)
                continue
            per_provider[pid] = per_provider.get(pid, 0) + 1
            page.append(item)
        for item in deferred:
            item.reasons.append(f"We show at most {ctx.per_provider_first_page} listings from each "
                                "provider on the first page, so this one comes later.")
        if query.sort == "best" and ctx.new_provider_slots:
            page, remaining = _promote_new(page, deferred + remaining, ctx, page_number)
        else:
            remaining = deferred + remaining
        out.extend(page)
    return out


def _promote_new(page: list[_Scored], remaining: list[_Scored], ctx: RankingContext,
                 page_number: int) -> tuple[list[_Scored], list[_Scored]]:
    wanted = ctx.new_provider_slots - sum(1 for s in page if s.new)
    pool = [s for s in remaining if s.new]
    per_provider: dict[int, int] = {}
    for s in page:
        pid = s.candidate.document.provider_id
        per_provider[pid] = per_provider.get(pid, 0) + 1
    promoted: list[_Scored] = []
    for s in pool:
        if wanted <= 0:
            break
        pid = s.candidate.document.provider_id
        if page_number == 1 and per_provider.get(pid, 0) >= ctx.per_provider_first_page:
            continue
        promoted.append(s)
        per_provider[pid] = per_provider.get(pid, 0) + 1
        wanted -= 1
    if not promoted:
        return page, remaining
    # Make room by moving the page's lowest non-new listings to the next page.
    displaced: list[_Scored] = []
    keep = list(page)
    while len(keep) + len(promoted) > ctx.page_size:
        for index in range(len(keep) - 1, -1, -1):
            if not keep[index].new:
                displaced.append(keep.pop(index))
                break
        else:
            break
    for s in promoted:
        vetted = s.candidate.document.provider_vetted_at
        when = f"{vetted.day} {vetted:%B %Y}" if vetted else "recently"
        s.reasons.append(
            f"This provider was vetted recently ({when}). We keep up to "
            f"{ctx.new_provider_slots} places on each page for providers vetted in the last "
            f"{ctx.new_provider_days} days, so new providers get a fair chance to be seen.")
    promoted_ids = {id(s) for s in promoted}
    rest = [s for s in remaining if id(s) not in promoted_ids]
    new_page = sorted(keep + promoted, key=lambda s: s.key)
    return new_page, list(reversed(displaced)) + rest


def _match_reason(query: SearchQuery) -> str:
    parts = []
    if query.words:
        parts.append("it contains the words you searched for ("
                     + ", ".join(f"“{w}”" for w in query.words) + ", or words like them)")
    if query.constraints():
        parts.append("it fits every filter you chose")
    if not parts:
        return "It is a listing open to new bookings (you have not searched or filtered yet)."
    return "It is shown because " + " and ".join(parts) + "."


def _title_reason(relevance: float) -> str:
    """Plain words for app.domain.search.text_relevance: each searched word in the title counts
    double, so 1 means every word is in the title and 0.5 none of them."""
    if relevance >= 1:
        return "Your words are in its title, which counts for more than its description."
    if relevance <= 0.5:
        return "Your words are in its description rather than its title."
    return "Some of your words are in its title, which counts for more than its description."


def _rating_words(doc: ListingDocument) -> str:
    reviews = "review" if doc.rating_count == 1 else "reviews"
    return f"{doc.rating_mean:.1f} out of 5 from {doc.rating_count} {reviews}"


def _money(pence: int) -> str:
    return f"£{pence // 100:,}.{pence % 100:02d}"


def gini(values: Sequence[float]) -> float:
    """Gini coefficient of a distribution (0 = everyone equal, near 1 = one takes everything)."""
    xs = sorted(v for v in values)
    n = len(xs)
    total = sum(xs)
    if n == 0 or total == 0:
        return 0.0
    weighted = sum((i + 1) * x for i, x in enumerate(xs))
    return (2 * weighted) / (n * total) - (n + 1) / n
