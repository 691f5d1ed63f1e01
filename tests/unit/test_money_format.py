from app.domain.money_format import format_pence


def test_pounds_with_thousands_and_pence():
    assert format_pence(123450) == "£1,234.50"


def test_negative_amounts_keep_the_sign_in_front():
    assert format_pence(-320) == "-£3.20"
    assert format_pence(-5) == "-£0.05"


def test_zero():
    assert format_pence(0) == "£0.00"
