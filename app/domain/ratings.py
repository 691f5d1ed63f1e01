"""Ratings: review criteria and scores, the Bayesian average, and which period a review covers.

Bayesian average (what search ranks by; the minimum-rating filter uses the plain mean the page
shows, so "4 stars or more" keeps a listing shown as 4.5 out of 5):

    rating = (C * m + sum of scores) / (C + n)

where n is the number of reviews, m the mean overall score of every review in the same
category (the prior; the scale midpoint 3.0 while a category has none) and C the council's
`rating_prior_weight` (default 5). A provider with two five-star reviews does not outrank one
with two hundred reviews averaging 4.8: with few reviews the rating stays near the category mean
and moves towards the provider's own mean as reviews accumulate.

Review period: one review per one-off booking, and one per calendar month for recurring
support (chosen over one per session). Weekly support would otherwise ask for a review four or
more times a month, which tires people out and produces hurried copies; and a long-standing
client's hundreds of session reviews would swamp everyone else's voice in the average. A
month matches the budget statement people already think in, is short enough that a problem
shows quickly, and the month is taken from the session's date in England.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from app.domain.errors import Conflict, InvalidInput
from app.domain.settings import CouncilSettings

SCORES = range(1, 6)
MAX_COMMENT_CHARS = 2000


class Criterion(StrEnum):
    RELIABLE = "reliable"
    RESPECT_DIGNITY = "respect_dignity"
    LISTENED = "listened"
    VALUE = "value"
    OVERALL = "overall"

    @property
    def label(self) -> str:
        return {
            Criterion.RELIABLE: "Reliable and on time",
            Criterion.RESPECT_DIGNITY: "Treated me with respect and dignity",
            Criterion.LISTENED: "Listened to what matters to me",
            Criterion.VALUE: "Value for money",
            Criterion.OVERALL: "Overall",
        }[self]

    @property
    def easy_read(self) -> str:
        return {
            Criterion.RELIABLE: "Did they come on time?",
            Criterion.RESPECT_DIGNITY: "Were they kind to me?",
            Criterion.LISTENED: "Did they listen to me?",
            Criterion.VALUE: "Was it worth the money?",
            Criterion.OVERALL: "Was it good?",
        }[self]


def validate_review(scores: Mapping[str, int], comment: str | None) -> dict[Criterion, int]:
    """Every criterion scored 1 to 5 and a comment of sensible length, or InvalidInput."""
    clean: dict[Criterion, int] = {}
    for criterion in Criterion:
        value = scores.get(criterion.value)
        if isinstance(value, bool) or not isinstance(value, int) or value not in SCORES:
            raise InvalidInput(f"Choose a score from 1 to 5 for '{criterion.label}'.",
                               field=criterion.value)
        clean[criterion] = value
    unknown = set(scores) - {c.value for c in Criterion}
    if unknown:
        raise InvalidInput("The review has a score we do not recognise.", field=sorted(unknown)[0])
    if comment is not None and len(comment) > MAX_COMMENT_CHARS:
        raise InvalidInput(f"The comment must be {MAX_COMMENT_CHARS:,} characters or fewer.",
                           field="comment")
    return clean


@dataclass(frozen=True, slots=True)
class RatingSummary:
    count: int
    mean: float | None  # the plain average, None with no reviews
    bayesian: float  # what search ranks by
    distribution: dict[int, int]  # how many reviews gave each score 1 to 5


def category_mean(scores: Iterable[int], settings: CouncilSettings) -> float:
    """The prior: the mean overall score in a category, or the scale's midpoint without any."""
    values = list(scores)
    return sum(values) / len(values) if values else settings.rating_prior_mean_default


def summarise(scores: Sequence[int], prior_mean: float, settings: CouncilSettings) -> RatingSummary:
    """Count, plain mean, Bayesian average and distribution of a provider's or listing's scores."""
    if any(isinstance(s, bool) or not isinstance(s, int) or s not in SCORES for s in scores):
        raise InvalidInput("Scores must be whole numbers from 1 to 5.")
    weight = settings.rating_prior_weight
    if weight < 0:
        raise ValueError("rating_prior_weight cannot be negative.")
    n = len(scores)
    total = sum(scores)
    bayesian = (weight * prior_mean + total) / (weight + n) if weight + n else prior_mean
    counts = Counter(scores)
    return RatingSummary(count=n, mean=total / n if n else None, bayesian=bayesian,
                         distribution={s: counts.get(s, 0) for s in SCORES})


def review_period(booking_id: int, recurring: bool, session_start: datetime,
                  tz: str = "Europe/London") -> str:
    """What a review is unique on: the booking, or booking and month for recurring support."""
    if not recurring:
        return f"booking:{booking_id}"
    local = session_start.astimezone(ZoneInfo(tz)) if session_start.tzinfo else session_start
    return f"booking:{booking_id}:{local:%Y-%m}"


def check_may_review(booking_state: str, period: str, reviewed_periods: Iterable[str]) -> None:
    """Reviews come only from settled bookings, once per period; Conflict says why not."""
    if booking_state != "settled":
        raise Conflict("You can review support once it has been delivered, confirmed and paid.")
    if period in set(reviewed_periods):
        raise Conflict("This support has already been reviewed for that period. Reviews cannot "
                       "be changed, but you can report a problem to your broker.")
