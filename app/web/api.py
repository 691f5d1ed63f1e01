"""JSON API. Errors share one stable shape: {"error": {"status", "code", "message", "field"}}."""

from __future__ import annotations

from flask import Blueprint, jsonify

from app.domain.access import Permission
from app.extensions import csrf
from app.web.context import acting, public, requires

bp = Blueprint("api", __name__, url_prefix="/api")
csrf.exempt(bp)  # API calls are JSON read-only for now; session cookies are SameSite=Lax


@bp.get("/health")
@public
def health():
    return jsonify({"status": "ok"})


@bp.get("/me")
@requires(Permission.SIGNED_IN)
def me():
    ctx = acting()
    return jsonify({
        "id": ctx.user.id, "name": ctx.user.name, "role": ctx.user.role,
        "acting_for": ({"id": ctx.holder.id, "name": ctx.holder.name,
                        "as": ctx.grant.kind.value if ctx.grant.kind else "self"}
                       if ctx.holder is not None else None),
    })
