"""The DomainError hierarchy (each carrying its HTTP meaning) and the app-wide error handlers."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from flask.globals import request_ctx
from werkzeug.exceptions import HTTPException

# The hierarchy lives in the domain (plain Python, no Flask) so domain modules can raise it;
# it is re-exported here, so `from app.errors import InvalidInput` keeps working.
from app.domain.errors import (  # noqa: F401
    Conflict,
    DomainError,
    InsufficientFunds,
    InvalidInput,
    NeedsApproval,
    NotFound,
    NotPermitted,
)

log = logging.getLogger(__name__)


_PAGE_FOR_STATUS = {403: "errors/403.html", 404: "errors/404.html", 429: "errors/429.html"}

_PLAIN_TITLES = {
    400: "Something in the request was not right",
    403: "You do not have access to this page",
    404: "Page not found",
    405: "That action is not available here",
    413: "The file is too large",
    429: "Too many attempts",
    500: "Sorry, there is a problem with the service",
}


def wants_json() -> bool:
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json"
    )


def error_body(status: int, code: str, message: str, field: str | None = None) -> dict:
    """The stable JSON shape of every API error."""
    return {"error": {"status": status, "code": code, "message": message, "field": field}}


def _validation_problem(err: HTTPException) -> tuple[str, str | None] | None:
    """(message, field) for the first problem in a schema refusal, whose `data` holds webargs'
    messages like {"query": {"limit": ["Must be ..."]}}; None for any other HTTP error."""
    messages = (getattr(err, "data", None) or {}).get("messages")
    if not isinstance(messages, dict):
        return None
    path: list[str] = []
    node: object = messages
    while isinstance(node, dict) and node:
        key = next(iter(node))
        path.append(str(key))
        node = node[key]
    while isinstance(node, list) and node:
        node = node[0]
    fields = [p for p in path[1:] if not p.isdigit()] or path[:1]
    field = ".".join(fields) if fields else None
    text = str(node) if node else "This request is not valid."
    return (f"{field}: {text}" if field else text), field


def register_error_handlers(app: Flask) -> None:
    from app.extensions import db

    @app.errorhandler(DomainError)
    def handle_domain_error(err: DomainError):
        db.session.rollback()
        if wants_json():
            return jsonify(error_body(err.status_code, err.code, err.message, err.field)), err.status_code
        template = _PAGE_FOR_STATUS.get(err.status_code, "errors/generic.html")
        return (
            render_template(template, title=_PLAIN_TITLES.get(err.status_code, "There is a problem"),
                            message=err.message),
            err.status_code,
        )

    @app.errorhandler(HTTPException)
    def handle_http_error(err: HTTPException):
        status = err.code or 500
        title = _PLAIN_TITLES.get(status, err.name)
        if wants_json():
            problem = _validation_problem(err)
            if problem is not None:  # a request the API's schemas refused (webargs / flask-smorest)
                return jsonify(error_body(status, "invalid_input", *problem)), status
            return jsonify(error_body(status, err.name.lower().replace(" ", "_"), title)), status
        if request_ctx.url_adapter is None:
            # An untrusted Host header (TRUSTED_HOSTS): no page can be built for a host that is
            # not Carefair's, so the answer is plain text naming nothing.
            return Response(f"{status} {title}\n", status=status, mimetype="text/plain")
        template = _PAGE_FOR_STATUS.get(status, "errors/generic.html")
        message = None
        if status == 429:
            message = "You have tried too many times. Wait a minute, then try again."
        elif status == 413:
            message = ("The file you chose is too large. Choose a smaller file."
                       if getattr(err, "upload", False) else
                       "What you sent is too large. Shorten it, or send it in parts.")
        response = render_template(template, title=title, message=message)
        return response, status

    @app.errorhandler(Exception)
    def handle_unexpected(err: Exception):
        # Never show a stack trace: log it, roll back, and say something plain.
        log.exception("Unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        if wants_json():
            return jsonify(error_body(500, "server_error", _PLAIN_TITLES[500])), 500
        return render_template("errors/500.html", title=_PLAIN_TITLES[500]), 500
