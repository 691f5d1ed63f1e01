"""Passwords: long enough, not one of the most common, not the person's email name."""

import pytest

from app.domain.passwords import common_passwords, password_problem


@pytest.mark.parametrize("password", ["password1234", "Password1234!", "qwertyuiop", "iloveyou99",
                                      "1234567890", "LETMEIN2026"])
def test_common_passwords_are_refused_with_a_plain_reason(password):
    assert "most common" in password_problem(password)


@pytest.mark.parametrize("password", ["correct horse battery", "a long enough password",
                                      "priya's new password", "carefair-demo"])
def test_ordinary_passphrases_are_accepted(password):
    assert password_problem(password, "priya@example.org") is None


def test_the_email_name_with_a_number_is_refused():
    assert "email address" in password_problem("sam.jones1985", "Sam.Jones@example.org")
    assert "email address" in password_problem("samjones!!!!!", "sam.jones@example.org")


def test_the_list_is_lower_case_and_has_a_few_hundred_entries():
    words = common_passwords()
    assert 200 < len(words) < 2000
    assert all(w == w.lower() and len(w) >= 4 for w in words)
