"""Small helpers shared by the blueprints: putting a service's refusal beside the right field."""

from __future__ import annotations

from flask import flash
from flask_wtf import FlaskForm

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
