"""Builders for hand-made market snapshots in the brokerage rule tests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from app.domain.rules.model import BookedSession, Listing, Provider, ProviderKind

AS_OF = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
_ids = itertools.count(1000)


def days_ago(days: float) -> datetime:
    return AS_OF - timedelta(days=days)


def provider(pid: int, kind: ProviderKind = ProviderKind.PA_SELF_EMPLOYED,
             users: frozenset[int] = frozenset()) -> Provider:
    return Provider(pid, kind, f"Provider {pid}", users)


def listing(lid: int, pid: int, rate: int, *, category: str = "personal_care",
            unit: str = "hour", area: str = "north") -> Listing:
    return Listing(lid, pid, category, unit, area, rate)


def session(provider_id: int, holder_id: int = 1, *, ago: float = 10, minutes: int = 120,
            amount: int = 3200, rate: int = 1600, status: str = "settled",
            category: str = "personal_care", area: str = "north", listing_id: int | None = None,
            **extra) -> BookedSession:
    start = days_ago(ago)
    return BookedSession(
        id=extra.pop("id", next(_ids)), holder_id=holder_id, provider_id=provider_id,
        listing_id=listing_id if listing_id is not None else provider_id * 10,
        category=category, area=area, unit="hour", rate_pence=rate, start=start,
        end=start + timedelta(minutes=minutes), status=status, amount_pence=amount, **extra)
