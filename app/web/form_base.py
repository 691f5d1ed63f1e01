"""The base for every Carefair form: one input policy for every field, and WTForms' built-in
messages rewritten in plain English."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import ClassVar

from flask_wtf import FlaskForm
from wtforms import Field, PasswordField, TextAreaField
from wtforms.fields import DateField, DateTimeField, DecimalField, FloatField, IntegerField, TimeField

# ---- the input policy ------------------------------------------------------------------------
# Characters no field accepts: NUL and the other C0/C1 control characters (PostgreSQL refuses
# NUL outright; CR/LF in a name broke every email about that person), and the bidirectional
# overrides and isolates that make text display in a different order from how it is stored
# ("Trojan Source" spoofing of names and amounts). Multi-line boxes keep tab and newlines.
_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_CONTROL = "".join(chr(c) for c in [*range(0, 32), 127, *range(0x80, 0xA0)])
_REFUSED_ONE_LINE = re.compile(f"[{re.escape(_CONTROL + _BIDI)}]")
_REFUSED_MULTI_LINE = re.compile(
    f"[{re.escape(''.join(c for c in _CONTROL if c not in chr(9) + chr(10) + chr(13)) + _BIDI)}]"
)
# A form field is never longer than this, whatever its own Length says (a 10,000-character
# name must be refused beside the field, not by the database).
MAX_FIELD_CHARS = 20_000
# Whole numbers typed into a form: well inside a 32-bit column, far beyond anything real.
MAX_WHOLE_NUMBER = 2_000_000_000
_NUMBER_FIELDS = (IntegerField, DecimalField, FloatField)
_DATE_FIELDS = (DateField, DateTimeField, TimeField)


def input_problem(field: Field) -> str | None:
    """Why what was typed into `field` cannot be accepted at all, or None. Checked before any
    other validator, so nothing hostile reaches a service or the database."""
    raw_values = [v for v in (field.raw_data or []) if isinstance(v, str)]
    label = _label(field)
    refused = _REFUSED_MULTI_LINE if isinstance(field, TextAreaField) else _REFUSED_ONE_LINE
    for value in raw_values:
        if refused.search(value):
            if isinstance(field, PasswordField):
                return f"{label} must not contain control characters"
            return (f"{label} must not contain hidden or control characters. Type it again "
                    f"rather than pasting it")
        if len(value) > MAX_FIELD_CHARS:
            return f"{label} must be {MAX_FIELD_CHARS:,} characters or fewer"
        if isinstance(field, _NUMBER_FIELDS + _DATE_FIELDS) and not value.isascii():
            return f"{label} must be typed using the digits 0 to 9"
    if isinstance(field, _NUMBER_FIELDS) and raw_values and raw_values[0].strip():
        text = raw_values[0].strip()
        if len(text) > 15:
            return f"{label} is too large. Check for a typo"
    return None

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

    def input_refusal(self) -> str | None:
        """The first input-policy problem in this form, for action buttons that post a note and
        redirect (cancel, decline ...) without a full validate; None when the input is fine."""
        for field in self:
            problem = input_problem(field)
            if problem is not None:
                return problem
        return None

    def validate(self, extra_validators=None) -> bool:
        refused = {f.short_name: p for f in self if (p := input_problem(f)) is not None}
        if refused:
            # Nothing else runs (no validator, no service): a form with a hostile value is
            # answered beside that field alone, and can never reach the database.
            for field in self:
                field.errors = [refused[field.short_name]] if field.short_name in refused else []
            self._errors = None
            return False
        valid = super().validate(extra_validators)
        for field in self:
            if isinstance(field, IntegerField) and isinstance(field.data, int) \
                    and abs(field.data) > MAX_WHOLE_NUMBER and not field.errors:
                field.errors = [f"{_label(field)} is too large. Check for a typo"]
                valid = False
        for field in self:
            if isinstance(field.errors, list) and field.errors:
                override = self.plain_messages.get(field.short_name)
                field.errors = [plain_message(field, str(m), override) for m in field.errors]
        self._errors = None  # the cached summary must show the rewritten messages
        return valid
