"""Pages for where holders live and what brokers declare: a holder's home district (by the holder,
someone acting for them or a broker) and a broker's conflicts of interest."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from app.domain.access import Permission, Role
from app.domain.errors import InvariantBroken
from app.errors import DomainError
from app.extensions import db
from app.models import User
from app.services import conflicts as conflict_service
from app.services.home_district import set_home_district
from app.web.broker import bp as broker_bp
from app.web.broker.market_forms import ConflictForm, EndConflictForm, HomeDistrictForm
from app.web.context import acting, requires
from app.web.helpers import attach_error
from app.web.holder import bp as holder_bp


def _district_page(holder: User, back: str):
    form = HomeDistrictForm(data={"district": holder.home_district or ""})
    if form.validate_on_submit():
        try:
            set_home_district(current_user, holder.id, form.district.data)
        except DomainError as err:
            attach_error(form, err, default_field="district")
        else:
            flash(f"Home district saved: {holder.home_district}.", "success")
            return redirect(back)
    return render_template("markets/home_district.html", form=form, holder=holder, back=back,
                           title="Where they live" if acting().on_behalf or
                           current_user.role_enum is Role.BROKER else "Where you live")


@holder_bp.route("/district", methods=["GET", "POST"])
@requires(Permission.HOLDER_SPEND)
def home_district():
    holder = acting().holder
    if not (holder is not None):
        raise InvariantBroken("expected: holder is not None")
    return _district_page(holder, url_for("holder.dashboard"))


@broker_bp.route("/holders/<int:holder_id>/district", methods=["GET", "POST"])
@requires(Permission.BROKER_AREA)
def holder_district(holder_id: int):
    holder = db.session.get(User, holder_id)
    if holder is None or holder.role_enum is not Role.HOLDER:
        abort(404)
    return _district_page(holder, url_for("broker.holder", holder_id=holder.id))


@broker_bp.route("/conflicts", methods=["GET", "POST"])
@requires(Permission.BROKER_AREA)
def conflicts():
    form = ConflictForm()
    if form.validate_on_submit():
        try:
            conflict = conflict_service.declare(current_user, form.provider.data,
                                                form.description.data)
        except DomainError as err:
            attach_error(form, err, default_field="provider")
        else:
            flash(f"Declared. You will not be able to approve or arrange bookings with "
                  f"{conflict.provider.display_name} while it stands.", "success")
            return redirect(url_for("broker.conflicts"))
    return render_template("broker/conflicts.html", form=form,
                           conflicts=conflict_service.of_broker(current_user.id),
                           end_form=EndConflictForm(), title="Your conflicts of interest")


@broker_bp.post("/conflicts/<int:conflict_id>/end")
@requires(Permission.BROKER_AREA)
def end_conflict(conflict_id: int):
    form = EndConflictForm()
    if form.validate_on_submit():
        try:
            conflict_service.end(current_user, conflict_id, form.reason.data)
        except DomainError as err:
            flash(err.message, "error")
        else:
            flash("The conflict has ended.", "success")
    else:
        flash(next(iter(form.errors.values()))[0], "error")
    return redirect(url_for("broker.conflicts"))
