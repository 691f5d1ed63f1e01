"""Review rules: repeated low respect-and-dignity scores and signs of review manipulation."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from app.domain.rules.model import Finding, MarketSnapshot, Review, Severity, Subject
from app.domain.settings import CouncilSettings


def _recent_by_provider(snapshot: MarketSnapshot,
                        settings: CouncilSettings) -> dict[int, list[Review]]:
    start, end = snapshot.window(settings.review_window_days)
    grouped: dict[int, list[Review]] = defaultdict(list)
    for r in snapshot.reviews:
        if start <= r.submitted_at < end:
            grouped[r.provider_id].append(r)
    for reviews in grouped.values():
        reviews.sort(key=lambda r: (r.submitted_at, r.id))
    return grouped


def low_respect_and_dignity(snapshot: MarketSnapshot, settings: CouncilSettings) -> list[Finding]:
    """Several people scoring a provider low for treating them with respect and dignity."""
    findings = []
    for provider_id, reviews in sorted(_recent_by_provider(snapshot, settings).items()):
        low = [r for r in reviews if r.respect_dignity <= settings.low_dignity_score]
        # Distinct people: one unhappy person reviewing monthly is one voice, not several.
        people = {r.holder_id for r in low}
        if len(people) >= settings.low_dignity_count:
            findings.append(Finding(
                "low_respect_and_dignity", Severity.MEDIUM, Subject("provider", provider_id),
                f"{len(people)} people rated {snapshot.provider_name(provider_id)} "
                f"{settings.low_dignity_score} or less out of 5 for treating them with respect "
                f"and dignity in the last {settings.review_window_days} days.",
                {"low_reviews": len(low), "people": len(people), "reviews": len(reviews)}))
    return findings


def five_star_burst(snapshot: MarketSnapshot, settings: CouncilSettings) -> list[Finding]:
    """Many five-star reviews in a few days, far above the provider's usual rate of reviews."""
    burst_span = timedelta(days=settings.review_burst_days)
    findings = []
    for provider_id, reviews in sorted(_recent_by_provider(snapshot, settings).items()):
        fives = [r for r in reviews if r.overall == 5]
        best, best_start = 0, None
        lo = 0
        for hi, r in enumerate(fives):  # sliding window over time
            while r.submitted_at - fives[lo].submitted_at >= burst_span:
                lo += 1
            if hi - lo + 1 > best:
                best, best_start = hi - lo + 1, fives[lo].submitted_at
        if best < settings.review_burst_count or best_start is None:
            continue
        # The usual number of reviews in a burst-length period, from the reviews outside it.
        usual = (len(reviews) - best) * settings.review_burst_days / settings.review_window_days
        if best >= settings.review_burst_multiple * usual:
            findings.append(Finding(
                "five_star_burst", Severity.MEDIUM, Subject("provider", provider_id),
                f"{snapshot.provider_name(provider_id)} received {best} five-star reviews within "
                f"{settings.review_burst_days} days from {best_start:%d %B %Y}, against about "
                f"{usual:.1f} reviews in a usual period that long.",
                {"burst": best, "usual": round(usual, 2), "reviews": len(reviews)}))
    return findings


def review_by_linked_person(snapshot: MarketSnapshot, settings: CouncilSettings) -> list[Finding]:
    """A review written (usually as a delegate) by someone linked to the provider reviewed."""
    findings = []
    for r in sorted(snapshot.reviews, key=lambda r: r.id):
        provider = snapshot.provider_by_id.get(r.provider_id)
        if provider is not None and r.author_user_id in provider.user_ids:
            how = "on behalf of the person supported" if r.by_delegate else "directly"
            findings.append(Finding(
                "review_by_linked_person", Severity.HIGH, Subject("review", r.id),
                f"A review of {provider.name} was written {how} by someone linked to "
                f"{provider.name}. It should not count towards their rating.",
                {"author_user_id": r.author_user_id, "provider_id": r.provider_id,
                 "by_delegate": str(r.by_delegate).lower()}))
    return findings


RULES = [low_respect_and_dignity, five_star_burst, review_by_linked_person]
