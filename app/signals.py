"""Blinker signals other parts of Carefair subscribe to (for example search, to re-index)."""

from __future__ import annotations

from collections.abc import Iterable

from blinker import Namespace
from flask import current_app

_signals = Namespace()

# Sent after a commit that changed a listing's content or whether it is live.
# Receivers get `listing_id=<int>`; the sender is the Flask app.
listing_changed = _signals.signal("listing-changed")


def send_listing_changed(listing_ids: Iterable[int]) -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    for listing_id in sorted(set(listing_ids)):
        listing_changed.send(app, listing_id=listing_id)
