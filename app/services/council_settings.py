"""The council's settings in force: the defaults merged with a council admin's overrides, and
changing them (each change audited with its old and new value)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import select

from app.domain import setting_fields
from app.domain.settings import CouncilSettings
from app.errors import InvalidInput
from app.extensions import db
from app.models import CouncilSettingOverride, User
from app.services import audit


class SettingsRefused(InvalidInput):
    """Some values were refused; `problems` maps each field to its reason."""

    def __init__(self, problems: dict[str, str]):
        first = next(iter(problems))
        super().__init__(problems[first], field=first)
        self.problems = problems


def defaults() -> CouncilSettings:
    """The settings before any override: from the deployment's configuration."""
    return current_app.config["COUNCIL"]


def _overrides() -> dict[str, object]:
    return {name: value for name, value in db.session.execute(
        select(CouncilSettingOverride.name, CouncilSettingOverride.value))}


def current() -> CouncilSettings:
    """The settings in force: every rule, search and booking check reads them from here.

    One small query of the overrides table (a few rows) each time, so every worker process
    sees a change at once and nothing stale survives a rolled-back transaction. An override for
    a setting that no longer exists, or whose value no longer parses, is ignored rather than
    breaking the app.
    """
    values: dict[str, object] = {}
    for name, raw in _overrides().items():
        field = setting_fields.FIELD_BY_NAME.get(name)
        if field is None:
            continue
        try:
            values[name] = setting_fields.check_stored(field, raw)
        except (ValueError, TypeError):
            continue
    return setting_fields.apply(defaults(), values)


def parse_form(raw: dict[str, str]) -> tuple[dict[str, object], dict[str, str]]:
    """(typed values, problems by field) for every editable field in a submitted form."""
    values: dict[str, object] = {}
    problems: dict[str, str] = {}
    for field in setting_fields.FIELDS:
        try:
            values[field.name] = setting_fields.parse(field, raw.get(field.name))
        except ValueError as err:
            problems[field.name] = str(err)
    if not problems:
        problems.update(setting_fields.problems(setting_fields.apply(defaults(), values)))
    return values, problems


def save(admin: User, raw: dict[str, str]) -> list[tuple[str, str, str]]:
    """Store the changed settings; one transaction, one audit event per change with the old and
    new value. Returns (label, old, new) for each change. Raises SettingsRefused (nothing
    written) when any value is refused."""
    values, problems = parse_form(raw)
    if problems:
        raise SettingsRefused(problems)
    before = current()
    base = defaults()
    stored = {o.name: o for o in db.session.scalars(
        select(CouncilSettingOverride).with_for_update())}
    changes = []
    now = datetime.now(UTC)
    for field in setting_fields.FIELDS:
        new = values[field.name]
        old = setting_fields.value_of(before, field.name)
        if new == old:
            continue
        row = stored.get(field.name)
        if new == setting_fields.value_of(base, field.name):
            if row is not None:
                db.session.delete(row)  # back to the default: no override left behind
        elif row is None:
            db.session.add(CouncilSettingOverride(name=field.name, value=new, updated_at=now,
                                                  updated_by_id=admin.id))
        else:
            row.value, row.updated_at, row.updated_by_id = new, now, admin.id
        old_text = setting_fields.display(field, old)
        new_text = setting_fields.display(field, new)
        audit.record(admin, "council_setting.changed", "council_setting", field.name,
                     details={"label": field.label, "old": old_text, "new": new_text})
        changes.append((field.label, old_text, new_text))
    db.session.commit()
    if changes:
        from app.services.search_listings import forget_market_share

        forget_market_share(current_app._get_current_object())  # type: ignore[attr-defined]
    return changes
