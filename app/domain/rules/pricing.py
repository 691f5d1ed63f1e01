"""Exploitation rules about price: outliers against like-for-like peers, caps and rate rises."""

from __future__ import annotations

from collections import defaultdict

from app.domain.money_format import format_pence
from app.domain.rules.model import (
    Finding,
    Listing,
    MarketSnapshot,
    ProviderKind,
    Severity,
    Subject,
)
from app.domain.rules.stats import modified_z
from app.domain.settings import CouncilSettings


def peer_groups(snapshot: MarketSnapshot) -> dict[tuple[str, str, str, str], list[Listing]]:
    """Like-for-like: same provider type, category, unit and area."""
    groups: dict[tuple[str, str, str, str], list[Listing]] = defaultdict(list)
    for listing in snapshot.listings:
        provider = snapshot.provider_by_id.get(listing.provider_id)
        if provider is not None:
            groups[(provider.kind, listing.category, listing.unit, listing.area)].append(listing)
    return groups


def price_outlier(snapshot: MarketSnapshot, settings: CouncilSettings) -> list[Finding]:
    """Modified z-score above the threshold (3.5) against like-for-like peers; high side only."""
    findings = []
    for (kind, category, unit, area), peers in sorted(peer_groups(snapshot).items()):
        if len(peers) < settings.price_outlier_min_peers:
            continue  # too few peers to know what an ordinary price is
        rates = [float(p.rate_pence) for p in peers]
        for listing in sorted(peers, key=lambda p: p.id):
            # The floor is at least 1p so the score is always defined.
            floor = max(settings.price_mad_floor_pence, 1,
                        sorted(rates)[len(rates) // 2] * settings.price_mad_floor_percent / 100)
            z, mid, mad = modified_z(listing.rate_pence, rates, floor)
            if z > settings.price_outlier_modified_z:
                findings.append(Finding(
                    "price_outlier", Severity.MEDIUM, Subject("listing", listing.id),
                    f"{snapshot.provider_name(listing.provider_id)} charges "
                    f"{format_pence(listing.rate_pence)} per {unit} for {category} in {area}. "
                    f"Similar listings charge around {format_pence(round(mid))}, so this is far "
                    "above the usual price.",
                    {"rate_pence": listing.rate_pence, "peer_median_pence": mid,
                     "mad_pence": round(mad, 2), "modified_z": round(z, 2), "peers": len(peers),
                     "provider_kind": kind}))
    return findings


def _council_rate(kind: ProviderKind, settings: CouncilSettings) -> int | None:
    return {
        ProviderKind.AGENCY: settings.agency_cap_pence_per_hour,
        ProviderKind.PA_SELF_EMPLOYED: settings.self_employed_pa_rate_pence_per_hour,
        ProviderKind.PA_EMPLOYED: settings.employed_pa_rate_pence_per_hour,
    }.get(kind)


def above_council_rate(snapshot: MarketSnapshot, settings: CouncilSettings) -> list[Finding]:
    """An hourly price above the council's rate: advice to the holder, not exploitation alone."""
    findings = []
    for listing in sorted(snapshot.listings, key=lambda x: x.id):
        provider = snapshot.provider_by_id.get(listing.provider_id)
        cap = _council_rate(provider.kind, settings) if provider else None
        if cap is not None and listing.unit == "hour" and listing.rate_pence > cap:
            findings.append(Finding(
                "above_council_rate", Severity.LOW, Subject("listing", listing.id),
                f"This costs {format_pence(listing.rate_pence)} an hour. Your council's rate for "
                f"this kind of support is {format_pence(cap)} an hour, so your budget will "
                "buy fewer hours. You can still choose it.",
                {"rate_pence": listing.rate_pence, "council_rate_pence": cap}))
    return findings


def _rises_from_history(snapshot: MarketSnapshot,
                        settings: CouncilSettings) -> dict[int, dict[str, int | float | str]]:
    """Rises recorded in the listings' price history that apply to existing clients and that
    they are paying now (or start paying inside the window). Look-back: the announcement may
    be long before the window; what matters is that the rise is charged inside it."""
    start, _ = snapshot.window(settings.rule_window_days)
    found: dict[int, dict[str, int | float | str]] = {}
    for change in sorted(snapshot.price_changes, key=lambda c: (c.listing_id, c.effective_at)):
        if not change.applies_to_existing or change.old_rate_pence <= 0:
            continue
        if (change.new_rate_pence - change.old_rate_pence) * 100 <= \
                settings.rate_rise_flag_percent * change.old_rate_pence:
            continue
        if not start <= change.effective_at <= snapshot.as_of:
            # Announced but not yet charged, or charged long ago: a later scan sees it.
            continue
        sessions = [s for s in snapshot.sessions if s.listing_id == change.listing_id]
        # Existing clients: people with support from the listing before the new price took
        # effect, who then have sessions at or after it.
        before = {s.holder_id for s in sessions if s.start < change.effective_at}
        after = {s.holder_id for s in sessions if s.start >= change.effective_at}
        existing = before & after
        if not existing:
            continue  # nobody carried on across the change: a price for new clients
        notice = (change.effective_at.date() - change.announced_at.date()).days
        found[change.listing_id] = {
            "clients": len(existing), "old_rate_pence": change.old_rate_pence,
            "new_rate_pence": change.new_rate_pence,
            "rise_percent": round(100 * (change.new_rate_pence - change.old_rate_pence)
                                  / change.old_rate_pence, 1),
            "notice_days": notice, "provider_id": change.provider_id,
            "announced": f"{change.announced_at:%Y-%m-%d}",
            "effective": f"{change.effective_at:%Y-%m-%d}"}
    return found


def rate_rise_for_existing_clients(snapshot: MarketSnapshot,
                                   settings: CouncilSettings) -> list[Finding]:
    """A rise of more than the threshold for people already using a listing: from the price
    history (with the notice given), else from what the same holder was charged per unit."""
    start, _ = snapshot.window(settings.rule_window_days)
    history = _rises_from_history(snapshot, settings)
    by_pair = defaultdict(list)
    provider_of: dict[int, int] = {}
    for s in snapshot.sessions:
        by_pair[(s.listing_id, s.holder_id)].append(s)
        provider_of[s.listing_id] = s.provider_id
    rises: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for (listing_id, holder_id), sessions in by_pair.items():
        if listing_id in history:
            continue
        sessions.sort(key=lambda s: s.start)
        for before, after in zip(sessions, sessions[1:], strict=False):
            if after.start >= start and before.rate_pence > 0 and \
                    (after.rate_pence - before.rate_pence) * 100 > \
                    settings.rate_rise_flag_percent * before.rate_pence:
                rises[listing_id].append((holder_id, before.rate_pence, after.rate_pence))
                break
    findings = []
    for listing_id, numbers in sorted(history.items()):
        notice = int(numbers["notice_days"])
        short = notice < settings.price_rise_notice_days
        findings.append(Finding(
            "rate_rise_for_existing_clients", Severity.MEDIUM, Subject("listing", listing_id),
            f"{snapshot.provider_name(int(numbers['provider_id']))} raised the price for "
            f"{numbers['clients']} existing client(s) from "
            f"{format_pence(int(numbers['old_rate_pence']))} to "
            f"{format_pence(int(numbers['new_rate_pence']))} (more than "
            f"{settings.rate_rise_flag_percent}%), from {numbers['effective']}, with {notice} "
            f"days' notice" + (f" (less than the {settings.price_rise_notice_days} days "
                               "expected)." if short else "."),
            numbers))
    for listing_id, changes in sorted(rises.items()):
        old = min(c[1] for c in changes)
        new = max(c[2] for c in changes)
        provider_id = provider_of[listing_id]
        findings.append(Finding(
            "rate_rise_for_existing_clients", Severity.MEDIUM, Subject("listing", listing_id),
            f"{snapshot.provider_name(provider_id)} raised the price for {len(changes)} existing "
            f"client(s) from {format_pence(old)} to {format_pence(new)} "
            f"(more than {settings.rate_rise_flag_percent}%).",
            {"clients": len(changes), "old_rate_pence": old, "new_rate_pence": new,
             "rise_percent": round(100 * (new - old) / old, 1)}))
    return findings


RULES = [price_outlier, above_council_rate, rate_rise_for_existing_clients]
