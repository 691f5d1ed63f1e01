"""Time each brokerage rule over a synthetic one-council market: prints `name: value unit`."""

from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

# Run as `python bench/<name>.py`, bench/ comes first on the path, where bench/http.py would hide
# the standard library's `http` (which the Stripe SDK imports): take the folder off the path.
_sys.path[:] = [p for p in _sys.path if _Path(p or ".").resolve() != _Path(__file__).resolve().parent]
_sys.path.insert(0, str(_Path(__file__).resolve().parent.parent))


import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.domain.rules import RULES, evaluate  # noqa: E402
from app.domain.rules.model import (  # noqa: E402
    BookedSession,
    Delegation,
    Holder,
    Listing,
    MarketSnapshot,
    Message,
    Provider,
    ProviderKind,
    Review,
)
from app.domain.settings import CouncilSettings  # noqa: E402

PROVIDERS, HOLDERS = 3_000, 20_000
SESSIONS = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000  # 180 days of booked sessions
AREAS = ["north", "south", "east", "west", "centre"]
CATEGORIES = ["personal_care", "mental_health", "community", "respite", "domestic"]
TEXTS = ["See you Tuesday at 10.", "Running ten minutes late, sorry.", "Can you pay me in cash?",
         "Thanks, lovely to meet you."]


def build(rnd: random.Random) -> MarketSnapshot:
    as_of = datetime(2026, 6, 1, tzinfo=UTC)
    kinds = list(ProviderKind)
    # A few big agencies take much of the spend; one-person PAs have a handful of clients.
    providers = tuple(Provider(p, ProviderKind.AGENCY if p < 150 else rnd.choice(kinds), f"P{p}",
                               frozenset({100_000 + p})) for p in range(PROVIDERS))
    weights, running = [], 0.0
    for p in range(PROVIDERS):
        running += (150.0 if p < 150 else 3.0) / (p + 1) ** 0.3
        weights.append(running)
    listings = tuple(Listing(p, p, rnd.choice(CATEGORIES), "hour", rnd.choice(AREAS),
                             int(rnd.gauss(1800, 250))) for p in range(PROVIDERS))
    holders = tuple(Holder(h, rnd.choice(AREAS), rnd.random() < 0.1) for h in range(HOLDERS))
    sessions = []
    for i in range(SESSIONS):
        lst = listings[rnd.choices(range(PROVIDERS), cum_weights=weights)[0]]
        start = as_of - timedelta(minutes=rnd.randrange(180 * 24 * 60))
        sessions.append(BookedSession(
            i, rnd.randrange(HOLDERS), lst.provider_id, lst.id, lst.category, lst.area, "hour",
            lst.rate_pence, start, start + timedelta(minutes=120), "settled",
            lst.rate_pence * 2, lst.rate_pence * 2,
            billed_minutes=150 if rnd.random() < 0.01 else 120,
            brokered_by=rnd.randrange(40) if rnd.random() < 0.2 else None))
    delegations = tuple(Delegation(h, 200_000 + h, "nominated",
                                   as_of - timedelta(days=rnd.randrange(400)))
                        for h in range(0, HOLDERS, 10))
    messages = tuple(Message(i, rnd.randrange(HOLDERS), rnd.randrange(PROVIDERS), True,
                             as_of - timedelta(days=rnd.randrange(90)), rnd.choice(TEXTS))
                     for i in range(SESSIONS // 4))
    reviews = tuple(Review(i, rnd.randrange(PROVIDERS), rnd.randrange(HOLDERS), 1, False,
                           as_of - timedelta(days=rnd.randrange(180)), rnd.randint(1, 5),
                           rnd.randint(1, 5)) for i in range(SESSIONS // 10))
    return MarketSnapshot(as_of, providers, listings, holders, tuple(sessions), delegations,
                          messages=messages, reviews=reviews)


def main() -> None:
    settings = CouncilSettings()
    started = time.perf_counter()
    snapshot = build(random.Random(7))
    print(f"build_snapshot_{SESSIONS}_sessions: {time.perf_counter() - started:.2f} s")
    for rule in RULES:
        started = time.perf_counter()
        found = rule(snapshot, settings)
        print(f"rule_{rule.__name__}: {1000 * (time.perf_counter() - started):.0f} ms "
              f"({len(found)} findings)")
    started = time.perf_counter()
    total = len(evaluate(snapshot, settings))
    print(f"evaluate_all_rules: {time.perf_counter() - started:.2f} s ({total} findings)")


if __name__ == "__main__":
    main()
