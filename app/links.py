"""Every address Carefair hands to the outside world (emails, Stripe), built from PUBLIC_BASE_URL.

Never from the request: a request's Host header is whatever the sender typed, so a password
reset asked for with `Host: evil.example` must still email a link to Carefair's own address.
Inside Carefair (redirects, inbox items) paths are enough; `path_for` builds those, also
outside a request (scheduled jobs).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app
from werkzeug.routing import MapAdapter


def base_url() -> str:
    """Carefair's own address without a trailing slash, like https://carefair.example."""
    return str(current_app.config["PUBLIC_BASE_URL"]).rstrip("/")


def _adapter() -> MapAdapter:
    base = urlsplit(base_url())
    return current_app.url_map.bind(
        base.netloc, url_scheme=base.scheme or "https", script_name=base.path or "/"
    )


def external(endpoint: str, **values: object) -> str:
    """The full address of a Carefair page, for an email or an outside system."""
    return _adapter().build(endpoint, values, force_external=True)


def path_for(endpoint: str, **values: object) -> str:
    """The path of a Carefair page (no host), inside or outside a request."""
    return _adapter().build(endpoint, values, force_external=False)


def absolute(link: str) -> str:
    """A path inside Carefair made into a full address. A link that already names a host must
    name Carefair's own, so nothing built elsewhere can send an email reader off-site."""
    parts = urlsplit(link)
    if parts.scheme or parts.netloc:
        own = urlsplit(base_url())
        if (parts.scheme, parts.netloc) != (own.scheme, own.netloc):
            raise ValueError(f"Links in emails must point at Carefair ({base_url()}), not {link!r}")
        return link
    if not link.startswith("/") or link.startswith("//"):
        raise ValueError("Links must be paths inside Carefair, like /my/bookings/3")
    return base_url() + link
