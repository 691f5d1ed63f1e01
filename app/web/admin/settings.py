"""Council admin: the council settings page (rule thresholds and what each finding leads to)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.domain import setting_fields
from app.domain.access import Permission
from app.services import council_settings as settings_service
from app.web.admin import bp
from app.web.context import requires


def _shown(settings) -> dict[str, str]:
    return {f.name: setting_fields.display(f, setting_fields.value_of(settings, f.name))
            for f in setting_fields.FIELDS}


def _render(values: dict[str, str], problems: dict[str, str], status: int = 200):
    groups: dict[str, list] = {}
    for field in setting_fields.FIELDS:
        groups.setdefault(field.group, []).append(field)
    return render_template(
        "admin/settings.html", groups=groups, values=values, problems=problems,
        defaults=_shown(settings_service.defaults()),
        action_choices=setting_fields.ACTION_CHOICES,
        rule_action_choices=setting_fields.RULE_ACTION_CHOICES,
        title="Council settings"), status


@bp.route("/settings", methods=["GET", "POST"])
@requires(Permission.ADMIN_AREA)
def council_settings():
    if request.method == "POST":
        raw = {f.name: request.form.get(f.name, "") for f in setting_fields.FIELDS}
        try:
            changes = settings_service.save(current_user, raw)
        except settings_service.SettingsRefused as err:
            return _render(raw, err.problems, 400)
        if changes:
            flash("Saved: " + "; ".join(f"{label} from {old} to {new}"
                                        for label, old, new in changes) + ".", "success")
        else:
            flash("Nothing changed.", "info")
        return redirect(url_for("admin.council_settings"))
    return _render(_shown(settings_service.current()), {})
