"""The council API's plumbing: the smorest Api (our error shape), token scopes, rate limits, cursors."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import Flask, current_app, g, request
from flask_smorest import Api, Blueprint

from app.domain.access import Permission
from app.domain.errors import NotAuthenticated
from app.extensions import csrf, limiter
from app.services import api_tokens
from app.web.api_v1.schemas import ErrorSchema

PREFIX = "/api/v1"


class CouncilApi(Api):
    """flask-smorest, with refusals in Carefair's one error shape (app/errors.py handles them
    app-wide, so smorest's own handler is not registered) and the spec served by our own view."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        pass


def _token_key() -> str:
    # Per token: the hash names it without keeping the secret in the limiter's storage. The
    # secret as bearer() reads it, so writing the header another way ("bearer", spaces) is
    # still the same token and the same limit.
    secret = bearer()
    return "api-token:" + (api_tokens._hash(secret) if secret else (request.remote_addr or "?"))


def _rate_limit() -> str:
    return current_app.config.get("API_RATE_LIMIT", "600 per minute")


def new_blueprint(name: str, description: str) -> Blueprint:
    # Named api_v1_<name>: the web pages have blueprints of their own (such as "markets"), and
    # the limiter keys its blueprint limits by this name, so it is final here.
    blp = Blueprint(f"api_v1_{name}", __name__, description=description)
    csrf.exempt(blp)  # no cookies: a bearer token authenticates every call
    limiter.limit(_rate_limit, key_func=_token_key)(blp)
    return blp


def bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    return secret.strip() if scheme.lower() == "bearer" and secret.strip() else None


def scoped(scope: str | Callable[[dict], str]):
    """Authenticate the bearer token and require `scope` (or the scope that a function of the
    route's arguments names); the use is audited after the response."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            try:
                token = api_tokens.authenticate(bearer())
            except NotAuthenticated:
                # A revoked or expired token that is still being tried is audited under its
                # name like any use (the admin sees which system still holds it).
                g.api_token_id = api_tokens.id_of(bearer())
                raise
            g.api_token_id = token.id
            g.api_actor = token.created_by
            api_tokens.require_scope(token, scope(kwargs) if callable(scope) else scope)
            return view(*args, **kwargs)

        wrapper.access_rule = Permission.COUNCIL_API
        wrapper.api_scope = scope
        return wrapper

    return decorate


def actor():
    return g.api_actor


def encode_cursor(last_id: int | None) -> str | None:
    """The keyset cursor: the last id of this page (the schema's pattern admits exactly these)."""
    return None if last_id is None else str(last_id)


def decode_cursor(cursor: str | None) -> int | None:
    return int(cursor) if cursor else None


def register_audit(app: Flask) -> None:
    @app.after_request
    def audit_token_use(response):
        token_id = g.pop("api_token_id", None)
        if token_id is not None:
            api_tokens.record_use(token_id, request.method, request.path, response.status_code)
        return response
