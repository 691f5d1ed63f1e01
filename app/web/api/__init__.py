"""JSON API. Errors share one stable shape: {"error": {"status", "code", "message", "field"}}."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.domain.access import Permission
from app.extensions import csrf, db
from app.web.context import acting, public, requires

bp = Blueprint("api", __name__, url_prefix="/api")
csrf.exempt(bp)  # API calls are JSON read-only for now; session cookies are SameSite=Lax


@bp.get("/health")
@public
def health():
    """For load balancers and monitoring: 200 when the database answers, with the migration
    it is on and whether that is the code's head (a deploy that forgot `carefair db upgrade`
    shows up_to_date false); 503 when the database does not answer."""
    head = _migration_head()
    try:
        current = db.session.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify({"status": "unavailable", "database": "unreachable",
                        "migration": None, "head": head, "up_to_date": False}), 503
    finally:
        db.session.rollback()  # read only: never hold a transaction open
    on = current[0] if len(current) == 1 else (",".join(sorted(current)) or None)
    return jsonify({"status": "ok", "database": "ok", "migration": on, "head": head,
                    "up_to_date": on == head})


def _migration_head() -> str | None:
    app = current_app._get_current_object()
    if "carefair_migration_head" not in app.extensions:
        from alembic.config import Config as AlembicConfig
        from alembic.script import ScriptDirectory

        from app.config import PROJECT_ROOT

        config = AlembicConfig()
        config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
        heads = ScriptDirectory.from_config(config).get_heads()
        app.extensions["carefair_migration_head"] = ",".join(sorted(heads)) or None
    return app.extensions["carefair_migration_head"]


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
