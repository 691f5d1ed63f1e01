"""Limits every request meets before anything reads it: body size (413) and ids in URLs (404).

The size check runs before every other before-request hook (CSRF reads the form), so a 300 MB
photo or a 100 MB message is refused from its Content-Length alone, unread. Routes that take a
file say their own limit with `@upload_limit`; every other route gets MAX_FORM_LENGTH.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

F = TypeVar("F", bound=Callable[..., Any])

# The largest id a PostgreSQL `integer` column holds: a larger one names nothing (404), instead
# of reaching the database as an out-of-range number (a 500).
MAX_ID = 2**31 - 1


class UploadTooLarge(RequestEntityTooLarge):
    """413 for a file: the error page says to choose a smaller file."""

    upload = True


def upload_limit(limit: Callable[[], int], *, streamed: bool = False) -> Callable[[F], F]:
    """Mark a view as taking a file of at most `limit()` bytes (the whole request body).

    streamed: the view copies the file to disk in chunks and never holds it in memory (a bulk
    import), so its own limit holds even beyond MAX_CONTENT_LENGTH, the cap for bodies that
    are read whole."""

    def mark(view: F) -> F:
        view.upload_limit = limit  # type: ignore[attr-defined]
        view.upload_streamed = streamed  # type: ignore[attr-defined]
        return view

    return mark


def _limit_for_this_request(app: Flask) -> tuple[int, bool, bool]:
    """(the body limit, whether the route takes a file, whether it streams it to disk)."""
    view = app.view_functions.get(request.endpoint or "")
    limit = getattr(view, "upload_limit", None)
    if limit is not None:
        return int(limit()), True, bool(getattr(view, "upload_streamed", False))
    return int(app.config["MAX_FORM_LENGTH"]), False, False


def refuse_large_bodies() -> None:
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    limit, is_upload, streamed = _limit_for_this_request(
        current_app._get_current_object())  # type: ignore[attr-defined]
    # Also caps a body sent without Content-Length (chunked) while it is read.
    request.max_content_length = limit if streamed else min(limit, current_app.config["MAX_CONTENT_LENGTH"])
    length = request.content_length
    if length is not None and length > request.max_content_length:
        raise UploadTooLarge() if is_upload else RequestEntityTooLarge()


class BoundedIntegerConverter(IntegerConverter):
    """`<int:...>` with ASCII digits only (Python reads "١٢" as 12) and at most MAX_ID."""

    regex = r"[0-9]+"

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's name
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def install(app: Flask) -> None:
    """Call before any extension adds its own before-request hook (so this one runs first)."""
    app.url_map.converters["int"] = BoundedIntegerConverter
    app.before_request(refuse_large_bodies)
