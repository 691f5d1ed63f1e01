"""The provider's area: their own profile, listings, vetting and bookings."""

from __future__ import annotations

from flask import Blueprint, render_template

from app.domain.access import Permission
from app.web.context import requires

bp = Blueprint("provider", __name__, url_prefix="/provider")


@bp.get("/")
@requires(Permission.PROVIDER_AREA)
def dashboard():
    return render_template("provider/dashboard.html", title="Your provider home")
