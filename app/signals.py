"""Blinker signals other parts of Carefair subscribe to (for example search, to re-index)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from blinker import Namespace
from flask import current_app

_signals = Namespace()

# Sent after a commit that changed a listing's content or whether it is live.
# Receivers get `listing_id=<int>`; the sender is the Flask app.
listing_changed = _signals.signal("listing-changed")


# Listing changes held back by `listing_changes_held()` (None: send them at once).
_held: ContextVar[set[int] | None] = ContextVar("carefair_held_listing_changes", default=None)


def send_listing_changed(listing_ids: Iterable[int]) -> None:
    held = _held.get()
    if held is not None:
        held.update(listing_ids)
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    for listing_id in sorted(set(listing_ids)):
        listing_changed.send(app, listing_id=listing_id)


@contextmanager
def listing_changes_held() -> Iterator[None]:
    """For bulk loads (the demo seed), which change each listing many times, one commit at a
    time: send each changed listing once, when the block ends, instead of after every commit
    (a search index write each). If the block fails, nothing is sent: `carefair search reindex`
    (which the demo runs as it starts) brings search up to date."""
    if _held.get() is not None:  # already held further out: that block sends them
        yield
        return
    held: set[int] = set()
    token = _held.set(held)
    try:
        yield
    finally:
        _held.reset(token)
    send_listing_changed(held)
