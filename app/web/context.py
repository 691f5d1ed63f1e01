"""The request's acting context (who is signed in, whom they act for) and the access decorators.

Every view is wrapped by `requires(permission)` or `public`; both record the rule on the view
so a test can check that no route is left without one.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from flask import Flask, abort, g, redirect, request, session, url_for
from flask_login import current_user

from app.domain.access import ANONYMOUS, Decision, Grant, Permission, Principal, Role, decide
from app.models import User
from app.services import delegation as delegation_service

ACTING_FOR_KEY = "acting_for_holder_id"


@dataclass(frozen=True)
class Acting:
    """The signed-in user and the holder whose account they are working on (if any)."""

    user: User | None
    holder: User | None
    grant: Grant | None

    @property
    def principal(self) -> Principal:
        if self.user is None:
            return ANONYMOUS
        return Principal(user_id=self.user.id, role=self.user.role_enum)

    @property
    def on_behalf(self) -> bool:
        """True when acting for someone else: pages then say so plainly."""
        return self.holder is not None and self.user is not None and self.holder.id != self.user.id


def _resolve_acting() -> Acting:
    if not current_user.is_authenticated:
        return Acting(None, None, None)
    user: User = current_user._get_current_object()
    wanted = session.get(ACTING_FOR_KEY)
    if wanted is not None:
        grant = delegation_service.grant_for(user, int(wanted))
        if grant is not None:
            from app.extensions import db

            return Acting(user, db.session.get(User, grant.holder_id), grant)
        session.pop(ACTING_FOR_KEY, None)  # revoked since it was chosen
    if user.role_enum is Role.HOLDER:
        return Acting(user, user, Grant(holder_id=user.id, kind=None))
    options = delegation_service.holders_for(user)
    if len(options) == 1:
        only = options[0]
        return Acting(user, only.holder, only.grant)
    return Acting(user, None, None)


def acting() -> Acting:
    if "acting" not in g:
        g.acting = _resolve_acting()
    return g.acting


def set_acting_for(holder_id: int | None) -> None:
    if holder_id is None:
        session.pop(ACTING_FOR_KEY, None)
    else:
        session[ACTING_FOR_KEY] = holder_id
    g.pop("acting", None)


def _enforce(permission: Permission) -> None:
    ctx = acting()
    decision = decide(ctx.principal, permission, ctx.grant)
    if decision is Decision.ALLOW:
        return
    if decision is Decision.SIGN_IN:
        if request.path.startswith("/api/"):
            abort(401)
        return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))
    if decision is Decision.FORBIDDEN and permission.area.value == "holder" and ctx.grant is None \
            and ctx.user is not None and ctx.user.role_enum is Role.SUPPORTER:
        # A supporter acting for several people has not chosen whom yet.
        return redirect(url_for("account.acting_for", next=request.path))
    abort(404 if decision is Decision.NOT_FOUND else 403)


def requires(permission: Permission):
    """Declare and enforce the access rule for a view."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            refusal = _enforce(permission)
            if refusal is not None:
                return refusal
            return view(*args, **kwargs)

        wrapper.access_rule = permission
        return wrapper

    return decorate


public = requires(Permission.PUBLIC)


def register_context(app: Flask) -> None:
    from app.domain.access import holder_powers

    @app.context_processor
    def inject_acting():
        ctx = acting()
        return {
            "acting": ctx,
            "Permission": Permission,
            "can": lambda p: decide(ctx.principal, p, ctx.grant) is Decision.ALLOW,
            "holder_powers": holder_powers,
        }
