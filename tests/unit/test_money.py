"""Money: formatting pence for people and parsing what they type, refusing the dubious."""

import pytest

from app.domain.money import Money, parse_pounds
from app.errors import InvalidInput


@pytest.mark.parametrize("pence,text", [(0, "£0.00"), (5, "£0.05"), (123456, "£1,234.56"),
                                        (-320, "-£3.20"), (-5, "-£0.05"), (-123456, "-£1,234.56")])
def test_money_formats_negative_amounts_with_the_sign_first(pence, text):
    assert str(Money(pence)) == text


def test_money_adds_and_refuses_floats():
    assert Money(150) + Money(-50) == Money(100)
    with pytest.raises(TypeError):
        Money(1.5)


@pytest.mark.parametrize("text,pence", [("12.50", 1250), ("12.5", 1250), ("£1,234", 123400),
                                        (" 0.01 ", 1), ("7.", 700), ("1000000", 100_000_000)])
def test_parse_pounds_gives_exact_pence(text, pence):
    assert parse_pounds(text) == pence


@pytest.mark.parametrize("text,words", [
    ("12.345", "2 numbers after the decimal point"), ("-5", "without a minus sign"),
    ("0", "more than £0"), ("0.00", "more than £0"), ("1000000.01", "no more than £1,000,000.00"),
    ("twelve", "numbers only"), ("", "Enter"), ("1e5", "numbers only"), ("12.5.1", "numbers only"),
])
def test_parse_pounds_refuses_bad_amounts_in_plain_english(text, words):
    with pytest.raises(InvalidInput) as err:
        parse_pounds(text, field="amount")
    assert words in err.value.message
    assert err.value.field == "amount"


def test_parse_pounds_allows_zero_only_when_asked():
    assert parse_pounds("0", allow_zero=True) == 0
