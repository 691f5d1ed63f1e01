"""The provider's area: their own profile, listings, vetting and bookings."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from app.domain.access import Permission
from app.services import whats_next
from app.web.context import requires

bp = Blueprint("provider", __name__, url_prefix="/provider")


@bp.get("/")
@requires(Permission.PROVIDER_AREA)
def dashboard():
    return render_template("provider/dashboard.html", title="Your provider home",
                           next=whats_next.for_provider(current_user))
