"""Exploitation rules about delivery: over-billing, impossible visits, fees and spending spikes."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from app.domain.booking_categories import plan_category_for
from app.domain.booking_price import cancellation_charge
from app.domain.money_format import format_pence
from app.domain.rules.model import (
    LIVE_STATES,
    BookedSession,
    Finding,
    MarketSnapshot,
    Severity,
    Subject,
)
from app.domain.settings import CouncilSettings


def _hours(minutes: int) -> str:
    hours, mins = divmod(minutes, 60)
    return f"{hours}h {mins:02d}m"


def hours_beyond_booking(snapshot: MarketSnapshot, settings: CouncilSettings) -> list[Finding]:
    """Delivered time recorded beyond the booked time plus a small tolerance."""
    findings = []
    for s in snapshot.sessions_between(*snapshot.window(settings.rule_window_days)):
        if s.billed_minutes is None:
            continue
        extra = s.billed_minutes - s.booked_minutes
        if extra > settings.billing_tolerance_minutes:
            findings.append(Finding(
                "hours_beyond_booking", Severity.HIGH, Subject("session", s.id),
                f"{snapshot.provider_name(s.provider_id)} recorded {_hours(s.billed_minutes)} for "
                f"a session booked for {_hours(s.booked_minutes)}. The extra time needs checking "
                "before it is paid.",
                {"booked_minutes": s.booked_minutes, "billed_minutes": s.billed_minutes,
                 "extra_minutes": extra, "provider_id": s.provider_id}))
    return findings


def two_places_at_once(snapshot: MarketSnapshot, settings: CouncilSettings) -> list[Finding]:
    """One person recorded as supporting two different holders at the same time.

    One finding per provider, counting the clashes and naming the first few, so a provider
    with many clashes does not bury the broker console.
    """
    start, end = snapshot.window(settings.rule_window_days)
    findings = []
    for provider_id, sessions in sorted(snapshot.sessions_by_provider.items()):
        provider = snapshot.provider_by_id.get(provider_id)
        if provider is None or not provider.kind.is_one_person:
            continue  # an agency sends different staff to different people
        live = sorted((s for s in sessions if s.status in LIVE_STATES and start <= s.start < end),
                      key=lambda s: s.delivered_times)
        active: list[BookedSession] = []
        clashes: list[tuple[BookedSession, BookedSession]] = []
        for s in live:
            active = [a for a in active if a.delivered_times[1] > s.delivered_times[0]]
            other = next((a for a in active if a.holder_id != s.holder_id), None)
            if other is not None:
                clashes.append((other, s) if other.id < s.id else (s, other))
            active.append(s)
        if clashes:
            first = min(clashes[0][0].delivered_times[0], clashes[0][1].delivered_times[0])
            findings.append(Finding(
                "two_places_at_once", Severity.HIGH, Subject("provider", provider_id),
                f"{provider.name} is recorded as supporting two people at the same time "
                f"{len(clashes)} time(s), first on {first:%d %B %Y}. At most one session of "
                "each pair can have happened as recorded.",
                {"clashes": len(clashes),
                 "session_ids": " ".join(f"{a.id},{b.id}" for a, b in clashes[:5]),
                 "holder_ids": " ".join(f"{a.holder_id},{b.holder_id}"
                                        for a, b in clashes[:5])}))
    return findings


def cancellation_beyond_policy(snapshot: MarketSnapshot,
                               settings: CouncilSettings) -> list[Finding]:
    """A cancelled session charged more than the listing's policy allows."""
    findings = []
    for s in snapshot.sessions_between(*snapshot.window(settings.rule_window_days)):
        if s.status != "cancelled" or s.policy is None or s.cancelled_at is None:
            continue
        allowed = cancellation_charge(s.policy, s.amount_pence, s.start, s.cancelled_at,
                                      s.cancelled_by or "holder",
                                      holder_paused=s.cancelled_while_paused).charge_pence
        if s.charged_pence > allowed:
            findings.append(Finding(
                "cancellation_beyond_policy", Severity.HIGH, Subject("session", s.id),
                f"{snapshot.provider_name(s.provider_id)} charged "
                f"{format_pence(s.charged_pence)} for a cancelled session; the cancellation "
                f"policy allows {format_pence(allowed)}.",
                {"charged_pence": s.charged_pence, "allowed_pence": allowed,
                 "provider_id": s.provider_id}))
    return findings


def _plan_category(snapshot: MarketSnapshot, s: BookedSession) -> str:
    provider = snapshot.provider_by_id.get(s.provider_id)
    ptype = "self_employed_pa" if provider is not None and provider.kind.is_one_person \
        else "agency"
    return plan_category_for(s.category, ptype)


def spending_spike(snapshot: MarketSnapshot, settings: CouncilSettings) -> list[Finding]:
    """A holder's spending with one provider suddenly far above their own trailing average.

    Quieter where it should be: the average is over the periods since the holder began with the
    provider (their first agreed booking), not over months before they met, which would count
    as zero; and a rise that an agreed support-plan increase covers (pro rata for the period,
    plus a margin) is what the council agreed, not a spike.
    """
    days, periods = settings.spend_spike_period_days, settings.spend_spike_history_periods
    recent_start, _ = snapshot.window(days)
    history_start, _ = snapshot.window(days * (periods + 1))
    began = {(r.holder_id, r.provider_id): r.began_at for r in snapshot.relationships}
    recent: dict[tuple[int, int], int] = defaultdict(int)
    history: dict[tuple[int, int], int] = defaultdict(int)
    first_seen: dict[tuple[int, int], datetime] = {}
    categories: dict[tuple[int, int], set[str]] = defaultdict(set)
    # One pass in any order (no sort of a million sessions): the sums do not depend on order,
    # and first_seen keeps the earliest start with spending.
    for s in snapshot.sessions:
        key = (s.holder_id, s.provider_id)
        if s.spend_pence > 0:
            seen = first_seen.get(key)
            if seen is None or s.start < seen:
                first_seen[key] = s.start
        if not history_start <= s.start < snapshot.as_of:
            continue
        bucket = recent if s.start >= recent_start else history
        bucket[key] += s.spend_pence
        if bucket is recent:
            categories[key].add(_plan_category(snapshot, s))
    findings = []
    for (holder_id, provider_id), now in sorted(recent.items()):
        key = (holder_id, provider_id)
        before = history.get(key, 0)
        since = began.get(key, first_seen.get(key))
        if before <= 0 or since is None:
            continue  # a new relationship has no average to compare with
        # The history since they began, in periods (at most `periods`); at least one whole
        # period, or there is no average yet.
        known_days = (recent_start - since).total_seconds() / 86400
        counted = min(float(periods), known_days / days)
        if counted < 1:
            continue
        average = round(before / counted)
        if not (now > settings.spend_spike_multiple * average and
                now - average >= settings.spend_spike_min_increase_pence):
            continue
        agreed = sum(
            max(0, c.new_amount_pence - c.old_amount_pence) for c in snapshot.plan_changes
            if c.holder_id == holder_id and history_start <= c.agreed_at <= snapshot.as_of
            and c.category in categories[key])
        allowance = agreed * days // 365 * (100 + settings.plan_increase_margin_percent) // 100
        if agreed and now - average <= allowance:
            continue  # the rise is what an agreed plan increase pays for
        findings.append(Finding(
            "spending_spike", Severity.MEDIUM, Subject("holder", holder_id),
            f"In the last {days} days this person spent {format_pence(now)} with "
            f"{snapshot.provider_name(provider_id)}, against an average of "
            f"{format_pence(average)} over the {counted} period(s) before"
            + (f"; an agreed plan increase covers {format_pence(allowance)} of the rise."
               if agreed else "."),
            {"recent_pence": now, "average_pence": average, "provider_id": provider_id,
             "periods_counted": round(counted, 2), "plan_increase_allowance_pence": allowance}))
    return findings


RULES = [hours_beyond_booking, two_places_at_once, cancellation_beyond_policy, spending_spike]
