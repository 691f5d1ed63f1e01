"""Whether a password is too easy to guess: length and a list of common ones, as NCSC advises."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200

_LIST = Path(__file__).with_name("common_passwords.txt")
# Digits and symbols people add to the end of a common word to get past rules.
_TRAILING = re.compile(r"[\W\d_]+$")


@cache
def common_passwords() -> frozenset[str]:
    lines = _LIST.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def _cores(text: str) -> set[str]:
    lowered = text.strip().lower()
    return {lowered, _TRAILING.sub("", lowered)} - {""}


def password_problem(password: str, email: str | None = None) -> str | None:
    """Plain-English reason to refuse `password`, or None. No rules about character kinds:
    NCSC found they make passwords harder to remember, not harder to guess."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Your password must be at least {MIN_PASSWORD_LENGTH} characters long"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Your password must be {MAX_PASSWORD_LENGTH} characters or fewer"
    cores = _cores(password)
    if cores & common_passwords():
        return ("This password is one of the most common, so it is easy to guess. "
                "Try three random words")
    if email:
        name = email.split("@", 1)[0].lower()
        letters = re.sub(r"[\W\d_]", "", name)
        # The name plus a number or symbol is the first thing someone who knows the email tries;
        # a longer phrase that happens to include a first name is not refused.
        if cores & _cores(name) or (len(letters) >= 3 and
                                    re.sub(r"[\W\d_]", "", password.lower()) == letters):
            return "Your password must not be your email address. Try three random words"
    return None
