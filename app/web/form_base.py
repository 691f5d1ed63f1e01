"""The base for every Carefair form: WTForms' built-in messages rewritten in plain English."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import ClassVar

from flask_wtf import FlaskForm
from wtforms import Field

# WTForms' own messages ("Not a valid integer value.") are written for developers. Forms give
# their own messages where they can; these catch the rest, naming the field by its label.
_Rewrite = Callable[[str, re.Match[str]], str]
_REWRITES: list[tuple[re.Pattern[str], _Rewrite]] = [
    (re.compile(r"^Field cannot be longer than (\d+) characters?\.$"),
     lambda label, m: f"{label} must be {int(m[1]):,} characters or fewer"),
    (re.compile(r"^Field must be at least (\d+) characters? long\.$"),
     lambda label, m: f"{label} must be at least {int(m[1]):,} characters"),
    (re.compile(r"^Field must be between (\d+) and (\d+) characters long\.$"),
     lambda label, m: f"{label} must be between {int(m[1]):,} and {int(m[2]):,} characters"),
    (re.compile(r"^Not a valid integer value\.?$"),
     lambda label, m: f"{label} must be a whole number, like 3"),
    (re.compile(r"^Not a valid (decimal|float) value\.?$"),
     lambda label, m: f"{label} must be a number, like 12.50"),
    (re.compile(r"^Not a valid date(time)? value\.?$"),
     lambda label, m: f"{label} must be a real date, like 27 3 2027"),
    (re.compile(r"(^Not a valid choice\.?$)|(is not a valid choice)|(are not valid choices)"
                r"|(^Invalid value, must be one of)"),
     lambda label, m: "Choose one of the options shown"),
    (re.compile(r"^Number must be at least (.+)\.$"),
     lambda label, m: f"{label} must be {m[1]} or more"),
    (re.compile(r"^Number must be at most (.+)\.$"),
     lambda label, m: f"{label} must be {m[1]} or less"),
    (re.compile(r"^Number must be between (.+) and (.+)\.$"),
     lambda label, m: f"{label} must be between {m[1]} and {m[2]}"),
    (re.compile(r"^This field is required\.$"),
     lambda label, m: f"Enter {label.lower()}"),
    (re.compile(r"^Invalid email address\.$"),
     lambda label, m: "Enter an email address in the correct format, like name@example.com"),
    (re.compile(r"^Invalid input\.$"),
     lambda label, m: f"Check {label.lower()}"),
]


def _label(field: Field) -> str:
    text = re.sub(r"\s*\([^)]*\)", "", str(field.label.text)).strip().rstrip("?:").strip()
    return text or "This"


def _required_message(field: Field) -> str | None:
    for validator in field.validators:
        if type(validator).__name__ in {"DataRequired", "InputRequired"} and validator.message:
            return str(validator.message)
    return None


# Unreadable or unlisted values (a typo, a stale page): the field's own "Enter ..." or
# "Choose ..." message already says what to give, so it is used when there is one.
_NOT_UNDERSTOOD = [_REWRITES[i][0] for i in (3, 4, 5, 6)]


def plain_message(field: Field, message: str, override: str | None = None) -> str:
    """`message` in plain English; `override` (the form's own wording) replaces any built-in one."""
    builtin = any(p.search(message) for p, _ in _REWRITES)
    if override and builtin:
        return override
    required = _required_message(field)
    if required and any(p.search(message) for p in _NOT_UNDERSTOOD):
        return required
    for pattern, rewrite in _REWRITES:
        match = pattern.search(message)
        if match:
            return rewrite(_label(field), match)
    return message


class PlainForm(FlaskForm):
    """A FlaskForm whose leftover WTForms messages read as plain English beside the field.

    `plain_messages` maps a field name to the words to use instead of any built-in message
    (WTForms gives no way to word "Not a valid integer value." per field).
    """

    plain_messages: ClassVar[dict[str, str]] = {}

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            if isinstance(field.errors, list) and field.errors:
                override = self.plain_messages.get(field.short_name)
                field.errors = [plain_message(field, str(m), override) for m in field.errors]
        self._errors = None  # the cached summary must show the rewritten messages
        return valid
