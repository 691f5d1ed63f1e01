"""Small helpers shared by the blueprints: a refusal beside the right field, safe local redirects."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import flash, redirect, request
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from app.errors import DomainError


def attach_error(form: FlaskForm, err: DomainError, default_field: str | None = None) -> None:
    """Show a DomainError beside the field it names, or at the top of the page."""
    name = err.field or default_field
    field = getattr(form, name, None) if name else None
    if field is not None:
        field.errors = [*field.errors, err.message] if isinstance(field.errors, list) else [err.message]
        # wtforms' form.errors is cached; reset it so the summary shows the new error.
        form._errors = None
    else:
        flash(err.message, "error")


def parse_int(raw: str | None, default: int = 1, *, minimum: int = 1, maximum: int = 10_000) -> int:
    """A page number or id from a query string; nonsense becomes the default, never an error."""
    try:
        value = int(raw) if raw is not None else default
    except (TypeError, ValueError):
        return default
    return min(max(value, minimum), maximum)


# Events that only make sense once a session has begun; the services refuse them earlier.
_AFTER_START = {"record_delivery", "report_no_show"}


def session_actions(events: list, start_at: datetime, now: datetime | None = None) -> list:
    """The session events worth offering as buttons now: none that the service would refuse
    because the session has not started yet."""
    if start_at <= (now or datetime.now(UTC)):
        return events
    return [e for e in events if getattr(e, "value", e) not in _AFTER_START]


def booking_id_of_session(session_id: int) -> int | None:
    """The booking a session belongs to, so a refused action can return to that booking."""
    from app.extensions import db
    from app.models import BookingSession

    s = db.session.get(BookingSession, session_id)
    return s.booking_id if s is not None else None



def local_path(target: str | None) -> str | None:
    """`target` if it is a path inside Carefair, else None (never another site).

    A full address counts only when it is this request's own scheme and host (a Referer).
    Browsers read "/\\evil.example" as "//evil.example" and drop tabs and newlines, so any
    backslash or control character makes the target unsafe, not just a leading "//".
    """
    if not target:
        return None
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        own = urlsplit(request.host_url)
        if (parts.scheme, parts.netloc) != (own.scheme, own.netloc):
            return None
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        parts = urlsplit(target)
    if not target.startswith("/") or target.startswith("//"):
        return None
    return target


def back_or(fallback: str) -> Response:
    """Redirect to the page the request came from when that page is Carefair's, else `fallback`."""
    return redirect(local_path(request.referrer) or fallback)


def without_hidden_characters(text: str) -> str:
    """A search box's text with control characters and bidi overrides dropped: a search is
    lenient (no error for a stray character), but NUL must never reach PostgreSQL."""
    from app.web.form_base import _REFUSED_ONE_LINE

    return _REFUSED_ONE_LINE.sub("", text)
