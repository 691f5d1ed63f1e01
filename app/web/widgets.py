"""GOV.UK radio and checkbox widgets that leave out an empty hint.

govuk-frontend-wtf always gives radio and checkbox groups a hint from the field's description,
so a field without one renders an empty hint that the fieldset's aria-describedby points screen
readers at. These drop the hint when there is nothing to say.
"""

from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovCheckboxesInput as _GovCheckboxesInput
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput as _GovRadioInput


def _without_empty_hint(params: dict) -> dict:
    hint = params.get("hint")
    if isinstance(hint, dict) and not (hint.get("text") or hint.get("html")):
        params.pop("hint")
    return params


class GovRadioInput(_GovRadioInput):
    def map_gov_params(self, field, **kwargs):
        return _without_empty_hint(super().map_gov_params(field, **kwargs))


class GovCheckboxesInput(_GovCheckboxesInput):
    def map_gov_params(self, field, **kwargs):
        return _without_empty_hint(super().map_gov_params(field, **kwargs))
