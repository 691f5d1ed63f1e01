"""Public pages: home, accessibility statement, and the GOV.UK Frontend and Carefair assets."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, render_template, send_from_directory
from werkzeug.exceptions import NotFound as WerkzeugNotFound

from app.config import PROJECT_ROOT
from app.web.context import public

bp = Blueprint("public", __name__)

# Only these top-level files of govuk-frontend's dist/govuk are served.
_FRONTEND_FILES = {"govuk-frontend.min.css", "govuk-frontend.min.js", "govuk-frontend.min.js.map"}


@bp.get("/")
@public
def home():
    return render_template("public/home.html", title="Find care and support")


@bp.get("/accessibility")
@public
def accessibility():
    return render_template("public/accessibility.html", title="Accessibility statement")


@bp.get("/assets/<path:filename>")
@public
def assets(filename: str):
    """GOV.UK Frontend's compiled CSS, JS and images. Its fonts are deliberately not served."""
    root = Path(current_app.config["ASSETS_DIR"])
    if filename.startswith("fonts/"):
        abort(404)
    if filename in _FRONTEND_FILES:
        return send_from_directory(root, filename, max_age=3600)
    try:
        return send_from_directory(root / "assets", filename, max_age=3600)
    except WerkzeugNotFound:
        abort(404)


@bp.get("/static/<path:filename>")
@public
def static(filename: str):
    return send_from_directory(PROJECT_ROOT / "static", filename, max_age=3600)


@bp.get("/favicon.ico")
@public
def favicon():
    """Browsers ask for this whatever the page says; a 404 here fills logs with noise."""
    return send_from_directory(PROJECT_ROOT / "static", "favicon.ico", max_age=86400,
                               mimetype="image/vnd.microsoft.icon")
