"""The cheap rules run when a person asks for a booking: price against like-for-like peers, the
provider's share of the person's own market, and a person at risk paying a high price.

Each is `check(facts, settings) -> list[Finding]` over one request's facts, so it runs in the
request without a whole-market snapshot. The service registers them in create_app
(app.services.booking_checks); what each finding leads to is decide_action's, as for the scan.
Their advice is shown to the holder before they send: Carefair informs, the choice stays theirs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from statistics import median

from app.domain.money_format import format_pence
from app.domain.rules.model import Finding, Severity, Subject
from app.domain.rules.stats import modified_z
from app.domain.settings import CouncilSettings


@dataclass(frozen=True, slots=True)
class Alternative:
    """Another provider of the same kind of support for people in the holder's district."""

    listing_id: int
    title: str
    provider_name: str
    price_pence: int
    unit: str


@dataclass(frozen=True)
class BookingRequestFacts:
    holder_id: int
    holder_district: str  # "" when the holder has none recorded
    holder_at_risk: bool
    listing_id: int
    provider_id: int
    provider_name: str
    category: str
    category_label: str
    unit: str
    price_pence: int
    peer_prices: tuple[int, ...] = ()  # like-for-like listings' prices, this one excluded
    peers_where: str = ""  # where the peers are: "LS6" or "the LS postcode area"
    provider_share_percent: float | None = None  # in the holder's market, when it is a market
    used_provider_before: bool = False
    alternatives: tuple[Alternative, ...] = ()


Check = Callable[[BookingRequestFacts, CouncilSettings], list[Finding]]


def _per(unit: str) -> str:
    return {"hour": "an hour", "session": "a session", "day": "a day"}.get(unit, f"per {unit}")


def price_against_peers(facts: BookingRequestFacts, settings: CouncilSettings) -> list[Finding]:
    """The price far above like-for-like peers (the modified z-score of the scan's rule)."""
    peers = [float(p) for p in facts.peer_prices]
    if len(peers) + 1 < settings.price_outlier_min_peers:
        return []
    rates = sorted([*peers, float(facts.price_pence)])
    floor = max(settings.price_mad_floor_pence, 1,
                rates[len(rates) // 2] * settings.price_mad_floor_percent / 100)
    z, mid, _ = modified_z(facts.price_pence, rates, floor)
    if z <= settings.price_outlier_modified_z:
        return []
    return [Finding(
        "booking_price_outlier", Severity.LOW, Subject("listing", facts.listing_id),
        f"This costs {format_pence(facts.price_pence)} {_per(facts.unit)}. Similar "
        f"{facts.category_label.lower()} {facts.peers_where} costs around "
        f"{format_pence(round(mid))} {_per(facts.unit)}, so this is far above the usual price. "
        "You can still choose it; you may want to ask why, or compare others first.",
        {"rate_pence": facts.price_pence, "peer_median_pence": round(mid),
         "modified_z": round(z, 2), "peers": len(peers), "holder_id": facts.holder_id})]


def provider_share_in_market(facts: BookingRequestFacts,
                             settings: CouncilSettings) -> list[Finding]:
    """A new client of a provider that already has more than the share cap of this person's
    market: plain advice with the alternatives (a person staying with their provider is not
    told again)."""
    share = facts.provider_share_percent
    if share is None or share <= settings.provider_share_cap_percent or \
            facts.used_provider_before:
        return []
    count = len(facts.alternatives)
    others = (f" Here {'is' if count == 1 else 'are'} {count} other provider"
              f"{'' if count == 1 else 's'} of this support for people in "
              f"{facts.holder_district}: "
              + "; ".join(f"{a.provider_name} ({format_pence(a.price_pence)} {_per(a.unit)})"
                          for a in facts.alternatives) + "."
              if facts.alternatives else "")
    return [Finding(
        "provider_share_cap", Severity.LOW, Subject("provider", facts.provider_id),
        f"{facts.provider_name} already provides {share:.0f}% of the "
        f"{facts.category_label.lower()} that people living in {facts.holder_district} "
        f"pay for. When one provider has most of an area's support, people have less choice "
        f"if anything goes wrong.{others} The choice is yours.",
        {"share_percent": round(share, 1), "district": facts.holder_district,
         "category": facts.category, "holder_id": facts.holder_id,
         "alternatives": len(facts.alternatives)})]


def at_risk_high_price(facts: BookingRequestFacts, settings: CouncilSettings) -> list[Finding]:
    """A person marked at risk asking for support priced well above like-for-like peers."""
    if not facts.holder_at_risk or len(facts.peer_prices) < settings.price_outlier_min_peers - 1:
        return []
    typical = median(facts.peer_prices)
    if facts.price_pence * 100 <= typical * (100 + settings.at_risk_price_premium_percent):
        return []
    return [Finding(
        "booking_at_risk_high_price", Severity.LOW, Subject("listing", facts.listing_id),
        f"This costs {format_pence(facts.price_pence)} {_per(facts.unit)}, more than "
        f"{settings.at_risk_price_premium_percent}% above the usual "
        f"{format_pence(round(typical))} for similar support {facts.peers_where}. A broker can "
        "help you check it is fair before you book.",
        {"rate_pence": facts.price_pence, "peer_median_pence": round(typical),
         "holder_id": facts.holder_id, "peers": len(facts.peer_prices)})]


CHECKS: tuple[Check, ...] = (price_against_peers, provider_share_in_market, at_risk_high_price)
