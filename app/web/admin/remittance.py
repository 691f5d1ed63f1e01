"""Council finance: monthly remittance CSVs per provider for council_managed budgets."""

from __future__ import annotations

from datetime import date

from flask import Response, abort, render_template, request

from app.domain.access import Permission
from app.errors import Conflict
from app.services import bookings
from app.web.admin import bp
from app.web.context import requires
from app.web.helpers import parse_int


def _month() -> tuple[int, int]:
    today = date.today()
    return (
        parse_int(request.args.get("year"), today.year, minimum=2000, maximum=2100),
        parse_int(request.args.get("month"), today.month, minimum=1, maximum=12),
    )


@bp.get("/remittance")
@requires(Permission.ADMIN_AREA)
def remittance():
    year, month = _month()
    return render_template(
        "bookings/remittance.html",
        files=bookings.remittance_files(year, month),
        year=year,
        month=month,
        title="Remittance files",
    )


@bp.get("/remittance/<int:provider_id>.csv")
@requires(Permission.ADMIN_AREA)
def remittance_csv(provider_id: int):
    year, month = _month()
    match = next(
        (f for f in bookings.remittance_files(year, month) if f.provider_id == provider_id), None
    )
    if match is None:
        abort(404)
    if match.payouts_held:
        # Council finance pays from this file: while a broker holds the provider's payouts
        # (a safeguarding concern), it is not handed out to be paid.
        raise Conflict(f"A broker is holding payouts to {match.provider_name} while they look "
                       "into a concern. Do not pay them until the hold is lifted; the file can "
                       "be downloaded then.")
    return Response(
        match.content,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{match.filename}"'},
    )
