"""What search works on: the listing document, the leniently parsed query, and the result shape.

Search never reads the listing models directly: the listings code turns a listing into a
`ListingDocument` and hands it to app.services.search, so both backends index the same thing.
Filters become `Constraint`s over "facet tokens" (short strings such as ``cat:transport``) that
each document carries, so the Whoosh and PostgreSQL backends translate one representation and
return the same sets of listings.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date

from app.domain.districts import district_in_use
from app.domain.errors import InvariantBroken
from app.domain.listings import Category, DistrictError, FundingMode, PriceUnit, Specialism
from app.domain.vetting import ProviderType

# The taxonomy is the listings one (app.domain.listings): search must use the very slugs a
# listing is stored with, or a filter silently matches nothing.
CATEGORIES: dict[str, str] = {c.value: c.label for c in Category}
SPECIALISMS: dict[str, str] = {s.value: s.label for s in Specialism}
PRICE_UNITS = {"hour": "an hour", "session": "a session", "day": "a day"}
if not (set(PRICE_UNITS) == {u.value for u in PriceUnit}):
    raise InvariantBroken("expected: set(PRICE_UNITS) == {u.value for u in PriceUnit}")
PROVIDER_TYPES = {t.value: t.label for t in ProviderType}
WEEKDAYS = {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday",
            "fri": "Friday", "sat": "Saturday", "sun": "Sunday"}
_DAY_KEYS = list(WEEKDAYS)
# Parts of the day as (start minute, end minute); a slot counts when it covers an hour of it.
DAY_PARTS: dict[str, tuple[str, int, int]] = {
    "morning": ("Morning (6am to noon)", 6 * 60, 12 * 60),
    "afternoon": ("Afternoon (noon to 5pm)", 12 * 60, 17 * 60),
    "evening": ("Evening (5pm to 10pm)", 17 * 60, 22 * 60),
}
FUNDING_MODES = {m.value: m.label for m in FundingMode}
GENDERS = {"female": "Female", "male": "Male", "non_binary": "Non-binary"}
PRICE_OPTIONS = (1500, 2000, 2500, 3000, 4000)  # "up to £X" choices, in pence
RATING_OPTIONS = (3, 4)  # "3 stars or more", "4 stars or more" (the choices on the page)
# Every whole-star minimum a person can ask for (min_rating=1..5) has a facet token, so each one
# is a stored set of listings rather than a scan of every listing's rating.
RATING_TOKENS = (1, 2, 3, 4, 5)
SORTS = {"best": "Best match", "price": "Price (lowest first)", "rating": "Rating (highest first)"}

PAGE_SIZE = 10
MAX_QUERY_CHARS = 200
MAX_QUERY_WORDS = 12
MAX_PAGE = 10_000

# Bayesian average: C imaginary reviews at the prior mean, so one 5-star review is not "best".
# Only a fallback: documents built from the database carry the ratings service's own average
# (category prior, council weight: `rating_bayesian`), the one the listing page shows.
RATING_PRIOR_MEAN = 3.5
RATING_PRIOR_WEIGHT = 5

# PostgreSQL's 'english' stop words: both backends drop exactly these from documents and queries
# so that the same query means the same thing on either.
_STOP_TEXT = """
i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she
her hers herself it its itself they them their theirs themselves what which who whom this that
these those am is are was were be been being have has had having do does did doing a an the and
but if or because as until while of at by for with about against between into through during
before after above below to from up down in out on off over under again further then once here
there when where why how all any both each few more most other some such no nor not only own
same so than too very s t can will just don should now
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())

_WORD = re.compile(r"[a-z0-9]+")
_SLUG = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_DISTRICT = re.compile(r"^[A-Z]{1,2}[0-9][0-9A-Z]?$")


def text_relevance(words: int, in_title: int) -> float:
    """How well a listing matches the searched words, from 0.5 to 1.

    A listing only matches when it has every word, so what tells matches apart is where the
    words are: each one in the title counts double. Both backends use this one definition (it
    is a few set operations on stored postings, so they rank alike and stay fast), and the
    "Why am I seeing this?" text can say it in plain words.
    """
    return (words + in_title) / (2 * words) if words else 0.0


def fold(text: str) -> str:
    """Lower case without accents: 'Café' -> 'cafe', 'Straße' -> 'strasse'. People type names and
    words with or without accents, so both a document and a query are folded the same way."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def words_of(text: str) -> list[str]:
    """Folded words of a text, without stop words (the same split for documents and queries)."""
    return [w for w in _WORD.findall(fold(text)) if w not in STOP_WORDS]


def normalise_district(value: str) -> str | None:
    """'sy1' or 'SY1 2AB' -> 'SY1' (the outward code); None when it does not look like one."""
    cleaned = re.sub(r"\s+", " ", value.strip().upper())
    outward = cleaned.split(" ")[0] if cleaned else ""
    return outward if _DISTRICT.match(outward) else None


def language_slug(name: str) -> str:
    """'British Sign Language' -> 'british_sign_language': profiles store languages as typed."""
    return "_".join(_WORD.findall(name.lower()))[:40]


_GENDER_WORDS = {
    "female": {"female", "woman", "women", "f", "she", "lady"},
    "male": {"male", "man", "men", "m", "he"},
    "non_binary": {"non_binary", "non-binary", "nonbinary", "non binary", "enby", "nb"},
}


def gender_slug(typed: str | None) -> str | None:
    """A profile's free-text gender ('Woman', 'male') as a search filter value, or None when it
    is blank or not one we can map (then the listing shows for any gender filter left empty)."""
    text = " ".join((typed or "").strip().lower().split())
    for slug, words in _GENDER_WORDS.items():
        if text in words:
            return slug
    return None


@dataclass(frozen=True, slots=True)
class ListingDocument:
    """Everything search needs to know about one live listing (built by the listings code)."""

    listing_id: int
    provider_id: int
    provider_name: str
    provider_type: str
    title: str
    description: str
    category: str
    price_pence: int
    price_unit: str
    districts: tuple[str, ...]
    availability: tuple[tuple[int, int, int], ...] = ()  # (weekday 0=Monday, start min, end min)
    specialisms: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    worker_gender: str | None = None
    funding_modes: tuple[str, ...] = ()
    rating_mean: float | None = None
    rating_count: int = 0
    provider_vetted_at: date | None = None
    # The listing's Bayesian average from the ratings service (app.domain.ratings), so search
    # ranks by the same figure, prior and weight as the rest of Carefair; None: use the fallback.
    rating_bayesian: float | None = None

    @property
    def category_label(self) -> str:
        return CATEGORIES.get(self.category, self.category.replace("_", " ").capitalize())

    @property
    def text(self) -> str:
        """What free text is matched against."""
        return " ".join([
            self.title, self.description, self.provider_name, self.category_label,
            " ".join(s.replace("_", " ").replace("-", " ") for s in self.specialisms),
        ])

    @property
    def bayesian_rating(self) -> float:
        if self.rating_bayesian is not None:
            return self.rating_bayesian
        prior = RATING_PRIOR_MEAN * RATING_PRIOR_WEIGHT
        total = prior + (self.rating_mean or 0) * self.rating_count
        return total / (RATING_PRIOR_WEIGHT + self.rating_count)

    @property
    def sort_rating(self) -> float:
        """The rating filters and sorting use: -1 for listings nobody has rated yet."""
        return self.rating_mean if self.rating_count and self.rating_mean is not None else -1.0

    def availability_tokens(self) -> set[str]:
        tokens: set[str] = set()
        for weekday, start, end in self.availability:
            if not 0 <= weekday <= 6:
                continue
            day = _DAY_KEYS[weekday]
            tokens.add(f"day:{day}")
            for part, (_, p_start, p_end) in DAY_PARTS.items():
                overlap = min(end, p_end) - max(start, p_start)
                if overlap >= min(60, p_end - p_start):
                    tokens.add(f"time:{part}")
                    tokens.add(f"when:{day}_{part}")
        return tokens

    def facet_tokens(self) -> list[str]:
        """The tokens filters and facet counts work on ("all" counts the total)."""
        tokens = {"all", f"cat:{self.category}", f"gender:{self.worker_gender or 'any'}"}
        tokens |= {f"spec:{s}" for s in self.specialisms}
        tokens |= {f"lang:{lang}" for lang in self.languages}
        tokens |= {f"fund:{m}" for m in self.funding_modes}
        tokens |= {f"price:{p}" for p in PRICE_OPTIONS if self.price_pence <= p}
        tokens |= {f"rating:{r}" for r in RATING_TOKENS if self.sort_rating >= r}
        tokens |= self.availability_tokens()
        return sorted(tokens)

    def to_json(self) -> str:
        """The document as a JSON array in field order: a search parses a hundred of these per
        page, and an array (no keys, no dict copy) parses about twice as fast as an object."""
        values = [getattr(self, name) for name in _DOC_FIELDS]
        values[_VETTED_AT] = self.provider_vetted_at.isoformat() if self.provider_vetted_at \
            else None
        return json.dumps(values, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | Mapping | list) -> ListingDocument:
        data = json.loads(raw) if isinstance(raw, str) else raw
        if isinstance(data, Mapping):  # the older object form
            data = [data.get(name, _DEFAULTS.get(name)) for name in _DOC_FIELDS]
        # Arrays stored before a field was added at the end take that field's default.
        data = list(data) + [_DEFAULTS[name] for name in _DOC_FIELDS[len(data):]]
        (listing_id, provider_id, provider_name, provider_type, title, description, category,
         price_pence, price_unit, districts, availability, specialisms, languages, worker_gender,
         funding_modes, rating_mean, rating_count, vetted, rating_bayesian) = data
        return cls(listing_id, provider_id, provider_name, provider_type, title, description,
                   category, price_pence, price_unit, tuple(districts or ()),
                   tuple(tuple(slot) for slot in availability or ()), tuple(specialisms or ()),
                   tuple(languages or ()), worker_gender, tuple(funding_modes or ()), rating_mean,
                   rating_count, date.fromisoformat(vetted) if vetted else None, rating_bayesian)


_DOC_FIELDS = tuple(f.name for f in fields(ListingDocument))
_VETTED_AT = _DOC_FIELDS.index("provider_vetted_at")
_DEFAULTS = {f.name: f.default for f in fields(ListingDocument)}
if not (len(_DOC_FIELDS) == 19):
    raise InvariantBroken("from_json unpacks every field by position: update it too")


@dataclass(frozen=True, slots=True)
class Constraint:
    """One filter: a document matches when it has any of `tokens` in `field`, or (for price and
    rating) when its value is within the bound. `facet` names the filter for counts and advice."""

    facet: str
    field: str = "facets"  # "facets" or "districts"
    tokens: tuple[str, ...] = ()
    max_price_pence: int | None = None
    min_rating: float | None = None


@dataclass(frozen=True)
class SearchQuery:
    """A search as the user asked for it, already cleaned: never invalid."""

    text: str = ""
    words: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    district: str | None = None
    max_price_pence: int | None = None
    days: tuple[str, ...] = ()
    times: tuple[str, ...] = ()
    specialisms: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    gender: str | None = None
    min_rating: int | None = None
    funding_modes: tuple[str, ...] = ()
    sort: str = "best"
    page: int = 1
    notices: tuple[str, ...] = field(default=(), compare=False)
    # A district that is not one in use is not searched: what was typed goes back into the field
    # with the reason beside it (the search runs without it meanwhile).
    district_typed: str = field(default="", compare=False)
    district_error: str | None = field(default=None, compare=False)
    # Set when nothing matched what was typed and this is the "did you mean" search run instead:
    # the words that were typed (the page says so; a corrected search is not corrected again).
    corrected_from: str | None = None

    def constraints(self, exclude: str | None = None) -> list[Constraint]:
        out: list[Constraint] = []

        def add(facet: str, tokens, field_name: str = "facets") -> None:
            if tokens and facet != exclude:
                out.append(Constraint(facet, field_name, tuple(tokens)))

        add("category", [f"cat:{c}" for c in self.categories])
        add("district", [self.district] if self.district else [], "districts")
        if self.days and self.times:
            add("when", [f"when:{d}_{t}" for d in self.days for t in self.times])
        else:
            add("when", [f"day:{d}" for d in self.days] + [f"time:{t}" for t in self.times])
        add("specialism", [f"spec:{s}" for s in self.specialisms])
        add("language", [f"lang:{x}" for x in self.languages])
        add("gender", [f"gender:{self.gender}"] if self.gender else [])
        add("funding", [f"fund:{m}" for m in self.funding_modes])
        if self.max_price_pence is not None and exclude != "price":
            out.append(Constraint("price", max_price_pence=self.max_price_pence))
        if self.min_rating is not None and exclude != "rating":
            out.append(Constraint("rating", min_rating=float(self.min_rating)))
        return out

    @property
    def active_facets(self) -> list[str]:
        return [c.facet for c in self.constraints()]

    def without(self, facet: str) -> SearchQuery:
        """The same search with one filter (or the words, facet "text") taken off."""
        changes: dict[str, object] = {"page": 1}
        by_facet: dict[str, dict[str, object]] = {
            "text": {"text": "", "words": ()},
            "category": {"categories": ()},
            "district": {"district": None},
            "when": {"days": (), "times": ()},
            "specialism": {"specialisms": ()},
            "language": {"languages": ()},
            "gender": {"gender": None},
            "funding": {"funding_modes": ()},
            "price": {"max_price_pence": None},
            "rating": {"min_rating": None},
        }
        changes.update(by_facet[facet])
        return _replace(self, **changes)

    def with_page(self, page: int) -> SearchQuery:
        return _replace(self, page=page)

    def to_args(self, **overrides) -> list[tuple[str, str]]:
        """Query-string pairs that reproduce this search (for page, sort, "did you mean" links)."""
        q = _replace(self, **overrides) if overrides else self
        pairs: list[tuple[str, str]] = []
        if q.text:
            pairs.append(("q", q.text))
        pairs += [("category", c) for c in q.categories]
        if q.district:
            pairs.append(("district", q.district))
        if q.max_price_pence is not None:
            pairs.append(("max_price", format_price_arg(q.max_price_pence)))
        pairs += [("day", d) for d in q.days] + [("time", t) for t in q.times]
        pairs += [("specialism", s) for s in q.specialisms]
        pairs += [("language", x) for x in q.languages]
        if q.gender:
            pairs.append(("gender", q.gender))
        if q.min_rating is not None:
            pairs.append(("min_rating", str(q.min_rating)))
        pairs += [("funding", m) for m in q.funding_modes]
        if q.sort != "best":
            pairs.append(("sort", q.sort))
        if q.page != 1:
            pairs.append(("page", str(q.page)))
        return pairs


def _replace(query: SearchQuery, **changes) -> SearchQuery:
    from dataclasses import replace

    return replace(query, **changes)


def format_price_arg(pence: int) -> str:
    return f"{pence // 100}" if pence % 100 == 0 else f"{pence // 100}.{pence % 100:02d}"


def parse_price_to_pence(raw: str) -> int | None:
    """'20', '£20', '17.50' -> pence; None for anything else (never a float on the way)."""
    match = re.fullmatch(r"£?\s*(\d{1,6})(?:\.(\d{1,2}))?", raw.strip())
    if not match:
        return None
    pounds, fraction = match.group(1), (match.group(2) or "")
    return int(pounds) * 100 + int(fraction.ljust(2, "0") or 0)


def _getlist(args, key: str) -> list[str]:
    if hasattr(args, "getlist"):
        values = args.getlist(key)
    else:
        raw = args.get(key, [])
        values = [raw] if isinstance(raw, str) else list(raw)
    if key == "q":
        return [str(v) for v in values]
    # Comma-separated values are accepted too ("category=transport,advocacy").
    return [part for v in values for part in str(v).split(",") if part.strip()]


def parse_query(args: Mapping) -> SearchQuery:
    """Build a SearchQuery from request arguments, keeping what makes sense and saying what not.

    Syntax characters are just punctuation, a long query is cut short, unknown filter values are
    ignored (with a notice), and a nonsense page number becomes page 1.
    """
    notices: list[str] = []
    text = " ".join(" ".join(_getlist(args, "q")).split())
    if len(text) > MAX_QUERY_CHARS:
        text = text[:MAX_QUERY_CHARS].rsplit(" ", 1)[0] or text[:MAX_QUERY_CHARS]
        notices.append(f"Your search was long, so we used its first {MAX_QUERY_CHARS} characters.")
    words = words_of(text)
    if len(words) > MAX_QUERY_WORDS:
        words = words[:MAX_QUERY_WORDS]
        notices.append(f"We searched for the first {MAX_QUERY_WORDS} words only.")
    words = list(dict.fromkeys(words))

    def pick(key: str, known: Mapping[str, object] | None, label: str) -> tuple[str, ...]:
        chosen: list[str] = []
        for raw in _getlist(args, key):
            value = raw.strip().lower()
            ok = value in known if known is not None else bool(_SLUG.match(value))
            if ok and value not in chosen:
                chosen.append(value)
            elif not ok:
                notices.append(f"We ignored the {label} “{raw.strip()[:40]}” because we do not "
                               "recognise it.")
        return tuple(chosen)

    categories = pick("category", CATEGORIES, "service type")
    days = pick("day", WEEKDAYS, "day")
    times = pick("time", {k: v for k, v in DAY_PARTS.items()}, "time of day")
    specialisms = pick("specialism", SPECIALISMS, "specialism")
    languages = pick("language", None, "language")
    funding = pick("funding", FUNDING_MODES, "way of paying")
    genders = pick("gender", GENDERS, "worker gender")

    district, district_error = None, None
    raw_district = " ".join(_getlist(args, "district")).strip()[:40]
    if raw_district:
        district, district_error = _searched_district(raw_district)

    max_price = None
    raw_price = (_getlist(args, "max_price") or [""])[0].strip()
    if raw_price and raw_price != "any":
        max_price = parse_price_to_pence(raw_price)
        if max_price is None:
            notices.append(f"We ignored the maximum price “{raw_price[:20]}”: enter an amount "
                           "in pounds, like 20 or 17.50.")

    min_rating = None
    raw_rating = (_getlist(args, "min_rating") or [""])[0].strip()
    if raw_rating and raw_rating != "any":
        if raw_rating.isdigit() and 1 <= int(raw_rating) <= 5:
            min_rating = int(raw_rating)
        else:
            notices.append(f"We ignored the rating “{raw_rating[:10]}”.")

    sort = (_getlist(args, "sort") or ["best"])[0].strip().lower()
    if sort not in SORTS:
        notices.append("We sorted by best match because we did not recognise that order.")
        sort = "best"

    raw_page = (_getlist(args, "page") or ["1"])[0].strip()
    page = int(raw_page) if raw_page.isdigit() and len(raw_page) < 7 else 1
    page = min(max(page, 1), MAX_PAGE)

    return SearchQuery(
        text=text, words=tuple(words), categories=categories, district=district,
        max_price_pence=max_price, days=days, times=times, specialisms=specialisms,
        languages=languages, gender=genders[0] if genders else None, min_rating=min_rating,
        funding_modes=funding, sort=sort, page=page, notices=tuple(notices),
        district_typed=raw_district if district_error else "", district_error=district_error,
    )


def _searched_district(raw: str) -> tuple[str | None, str | None]:
    """The district to search ('sy1 2ab' -> 'SY1'), or None and why not: a district must be one
    in use, since a mistyped one ('LX6', 'SY99') would quietly show nobody."""
    shaped = normalise_district(raw)
    if shaped is None:
        return None, (f"“{raw[:20]}” is not a postcode district. Enter the first part of a "
                      "postcode, like SY1")
    try:
        return district_in_use(shaped, "Check the first part of the postcode, like SY1"), None
    except DistrictError as err:
        return None, str(err)


# --- Results -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class FacetOption:
    value: str
    label: str
    count: int
    selected: bool


@dataclass(frozen=True)
class Facet:
    name: str  # the request argument
    label: str
    options: tuple[FacetOption, ...]
    multiple: bool = True


@dataclass(frozen=True)
class Hit:
    document: ListingDocument
    explanation: tuple[str, ...]
    score: float = 0.0


@dataclass(frozen=True)
class Loosen:
    """Advice when nothing matches: removing this filter would give `count` results."""

    facet: str
    description: str
    count: int
    query: SearchQuery


@dataclass(frozen=True)
class SearchResult:
    query: SearchQuery
    hits: tuple[Hit, ...]
    total: int
    page: int
    pages: int
    facets: tuple[Facet, ...]
    suggestion: str | None = None  # "did you mean" text
    loosen: tuple[Loosen, ...] = ()
    notices: tuple[str, ...] = ()

    @property
    def suggestion_query(self) -> SearchQuery | None:
        if self.suggestion is None:
            return None
        return _replace(self.query, text=self.suggestion, words=tuple(words_of(self.suggestion)),
                        page=1)


FACET_LABELS = {
    "category": "Type of support", "district": "Area", "when": "Day and time",
    "specialism": "Specialisms", "language": "Languages", "gender": "Worker gender",
    "funding": "Ways to pay", "price": "Maximum price", "rating": "Rating", "text": "Your words",
}


def describe_filter(query: SearchQuery, facet: str) -> str:
    """Plain words for one active filter, for "remove the … filter" advice."""
    if facet == "text":
        return f"the words “{query.text}”"
    if facet == "category":
        return "the type of support (" + ", ".join(CATEGORIES[c] for c in query.categories) + ")"
    if facet == "district":
        return f"the area ({query.district})"
    if facet == "when":
        parts = [WEEKDAYS[d] for d in query.days] + [DAY_PARTS[t][0].split(" (")[0].lower()
                                                     for t in query.times]
        return "the day and time (" + ", ".join(parts) + ")"
    if facet == "specialism":
        return "the specialisms (" + ", ".join(SPECIALISMS.get(s, _nice(s)) for s in
                                               query.specialisms) + ")"
    if facet == "language":
        return "the languages (" + ", ".join(_nice(x) for x in query.languages) + ")"
    if facet == "gender":
        return f"the worker gender ({GENDERS[query.gender or 'female'].lower()})"
    if facet == "funding":
        return "the ways to pay (" + ", ".join(FUNDING_MODES[m] for m in query.funding_modes) + ")"
    if facet == "price":
        return f"the maximum price (£{format_price_arg(query.max_price_pence or 0)})"
    return f"the minimum rating ({query.min_rating} stars)"


def _nice(slug: str) -> str:
    return slug.replace("_", " ").replace("-", " ").capitalize()


def build_facets(query: SearchQuery,
                 counts: Mapping[str, Mapping[str, int]]) -> tuple[Facet, ...]:
    """Turn token counts into labelled filter options.

    `counts[facet]` holds token counts over the results with every filter applied except that
    facet's own, so the number beside an option says how many results ticking it would give.
    """

    def opts(facet: str, items: Sequence[tuple[str, str, str]], selected) -> tuple:
        c = counts.get(facet, {})
        return tuple(FacetOption(value, label, int(c.get(token, 0)), value in selected)
                     for value, label, token in items)

    def dynamic(facet: str, prefix: str, selected: Sequence[str],
                labels: Mapping[str, str] | None = None) -> tuple:
        c = counts.get(facet, {})
        values = {t[len(prefix):] for t in c if t.startswith(prefix)} | set(selected)
        ordered = sorted(values, key=lambda v: (-int(c.get(prefix + v, 0)), v))[:15]
        for value in selected:  # a ticked box never disappears
            if value not in ordered:
                ordered.append(value)
        return tuple(FacetOption(v, (labels or {}).get(v) or _nice(v), int(c.get(prefix + v, 0)),
                                 v in selected) for v in ordered)

    selected_price = () if query.max_price_pence is None else (str(query.max_price_pence),)
    selected_rating = () if query.min_rating is None else (str(query.min_rating),)
    return (
        Facet("category", FACET_LABELS["category"], opts(
            "category", [(k, v, f"cat:{k}") for k, v in CATEGORIES.items()], query.categories)),
        Facet("day", "Day", opts("when", [(k, v, f"day:{k}") for k, v in WEEKDAYS.items()],
                                 query.days)),
        Facet("time", "Time of day", opts(
            "when", [(k, v[0], f"time:{k}") for k, v in DAY_PARTS.items()], query.times)),
        Facet("max_price", FACET_LABELS["price"], opts(
            "price", [(str(p), f"Up to £{p // 100}", f"price:{p}") for p in PRICE_OPTIONS],
            selected_price), multiple=False),
        Facet("min_rating", FACET_LABELS["rating"], opts(
            "rating", [(str(r), f"{r} stars or more", f"rating:{r}") for r in RATING_OPTIONS],
            selected_rating), multiple=False),
        Facet("specialism", FACET_LABELS["specialism"],
              dynamic("specialism", "spec:", query.specialisms, SPECIALISMS)),
        Facet("language", FACET_LABELS["language"], dynamic("language", "lang:", query.languages)),
        Facet("gender", FACET_LABELS["gender"], opts(
            "gender", [(k, v, f"gender:{k}") for k, v in GENDERS.items()],
            (query.gender,) if query.gender else ()), multiple=False),
        Facet("funding", FACET_LABELS["funding"], opts(
            "funding", [(k, v, f"fund:{k}") for k, v in FUNDING_MODES.items()],
            query.funding_modes)),
    )


COUNTED_FACETS = ("category", "when", "price", "rating", "specialism", "language", "gender",
                  "funding")
# The facet tokens each filter group shows counts for (build_facets reads only these): the
# counts beside a ticked group are worked out with that group's own filter taken off, and only
# for these tokens.
FACET_PREFIXES: dict[str, tuple[str, ...]] = {
    "category": ("cat:",), "when": ("day:", "time:"), "price": ("price:",),
    "rating": ("rating:",), "specialism": ("spec:",), "language": ("lang:",),
    "gender": ("gender:",), "funding": ("fund:",),
}
if not (set(FACET_PREFIXES) == set(COUNTED_FACETS)):
    raise InvariantBroken("expected: set(FACET_PREFIXES) == set(COUNTED_FACETS)")
