"""The versioned council API under /api/v1: flask-smorest blueprints whose schemas validate and document each route."""

from __future__ import annotations

from flask import Blueprint, Flask, jsonify, render_template

from app.web.api_v1.core import PREFIX, CouncilApi, register_audit
from app.web.context import public

docs = Blueprint("api_docs", __name__, url_prefix=PREFIX)


def _spec_dict(app: Flask) -> dict:
    return app.extensions["council_api"].spec.to_dict()


@docs.get("/openapi.json")
@public
def openapi_json():
    from flask import current_app

    return jsonify(_spec_dict(current_app))


@docs.get("/reference")
@public
def reference():
    """A readable reference page rendered on the server from the same spec (no outside scripts)."""
    from flask import current_app

    from app.services.api_tokens import SCOPES

    return render_template("api/reference.html", spec=_spec_dict(current_app), scopes=SCOPES,
                           title="Council API reference")


def register_council_api(app: Flask) -> None:
    from app.web.api_v1 import files, open_referral, resources

    app.config.setdefault("API_TITLE", "Carefair council API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": "For council systems. Send `Authorization: Bearer <token>`; a "
                                "council admin creates tokens under Admin > API tokens. Lists are "
                                "cursor-paged: pass next_cursor back as cursor. Every refusal has "
                                "the shape {\"error\": {status, code, message, field}}."},
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
    })
    api = CouncilApi(app)  # OPENAPI_URL_PREFIX unset: the spec is served by `docs` above
    app.extensions["council_api"] = api
    for blp in (*resources.BLUEPRINTS, *files.BLUEPRINTS, *open_referral.BLUEPRINTS):
        # Registered as api_v1_<name>: the screens have blueprints of the same names (markets).
        api.register_blueprint(blp, url_prefix=PREFIX, name=f"api_v1_{blp.name}")
    app.register_blueprint(docs)
    register_audit(app)
