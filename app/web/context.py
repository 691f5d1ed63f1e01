"""The request's acting context (who is signed in, whom they act for) and the access decorators.

Every view is wrapped by `requires(permission)` or `public`; both record the rule on the view
so a test can check that no route is left without one.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from flask import Flask, abort, g, redirect, request, session, url_for
from flask_login import current_user

from app.domain.access import (
    ANONYMOUS,
    Decision,
    DelegateKind,
    Grant,
    Permission,
    Principal,
    Role,
    Share,
    decide,
)
from app.errors import NotPermitted
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
    if decision is Decision.FORBIDDEN and ctx.grant is not None and ctx.holder is not None \
            and ctx.grant.kind is DelegateKind.CIRCLE and not request.path.startswith("/api/"):
        # A plain page that says why, not a bare refusal: circle members see only what is shared.
        raise NotPermitted(circle_refusal(permission, ctx.holder.name))
    abort(404 if decision is Decision.NOT_FOUND else 403)


# What a holder shares with their circle, said about them (Share.label is in their own words).
_SHARED_THING = {
    Share.BUDGET: "their budget and spending",
    Share.PLAN: "their support plan",
    Share.BOOKINGS: "their bookings",
    Share.MESSAGES: "their messages with providers",
}


def circle_refusal(permission: Permission, holder_name: str) -> str:
    """Why a circle-of-support member cannot open a page of the holder's, in plain words."""
    share = permission.circle_share
    if share is not None:
        return (f"{holder_name} has not shared {_SHARED_THING[share]} with you. In "
                f"{holder_name}'s circle of support you see only what they choose to share: "
                f"ask {holder_name} if you would like to see it.")
    return (f"In {holder_name}'s circle of support you can see what they share with you, but "
            f"only {holder_name} or the people who manage their money can do this.")


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
