"""The provider's week set on a grid of hour checkboxes (works without JavaScript)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import current_user

from app.domain.access import Permission
from app.domain.availability_grid import HOURS, cells_from_slots, slots_from_cells
from app.domain.listings import WEEKDAYS, Slot
from app.errors import DomainError
from app.services import providers
from app.web.context import requires
from app.web.provider import bp


@bp.app_template_global()
def availability_cells(profile) -> dict:
    """What the grid needs: days, hours and which (day, hour) cells are ticked now."""
    slots = [Slot(s.weekday, s.start_time, s.end_time) for s in profile.slots]
    return {"days": list(enumerate(WEEKDAYS)), "hours": HOURS,
            "ticked": cells_from_slots(slots)}


@bp.post("/availability/grid")
@requires(Permission.PROVIDER_AREA)
def availability_grid():
    profile = providers.profile_of(current_user)
    if profile is None:
        return redirect(url_for("provider.profile"))
    cells = set()
    for raw in request.form.getlist("cell"):
        day, _, hour = raw.partition("-")
        if day.isdigit() and hour.isdigit():
            cells.add((int(day), int(hour)))
    before = [Slot(s.weekday, s.start_time, s.end_time) for s in profile.slots]
    try:
        providers.set_availability(current_user, slots_from_cells(cells, keep=before))
    except DomainError as err:
        flash(err.message, "error")
    else:
        flash("Your weekly times are saved.", "success")
    return redirect(url_for("provider.availability"))
