"""Payment rules without a database: refund and transfer caps, fingerprints, plain messages."""

import pytest

from app.domain import payments as rules
from app.domain.payments import PaymentLimitExceeded


def test_refund_cap_is_captured_less_refunded_less_in_flight():
    rules.check_refund(1000, captured=4000, refunded=2000, reserved=1000)
    with pytest.raises(PaymentLimitExceeded, match="only £10.00 of the £40.00 taken"):
        rules.check_refund(1001, captured=4000, refunded=2000, reserved=1000)


@pytest.mark.parametrize("amount", [0, -100])
def test_refunds_of_nothing_or_less_are_refused(amount):
    with pytest.raises(PaymentLimitExceeded, match="more than £0.00"):
        rules.check_refund(amount, captured=4000, refunded=0)


def test_capture_is_between_a_penny_and_the_authorised_amount():
    rules.check_capture(5000, 5000)
    rules.check_capture(5000, 1)
    with pytest.raises(PaymentLimitExceeded, match="only £50.00 was authorised"):
        rules.check_capture(5000, 5001)
    with pytest.raises(PaymentLimitExceeded):
        rules.check_capture(5000, 0)


def test_transfer_cap_leaves_out_refunds_and_earlier_payouts():
    rules.check_transfer(1000, captured=5000, refunded=1000, transferred=3000)
    with pytest.raises(PaymentLimitExceeded, match="only £10.00 is available"):
        rules.check_transfer(1001, captured=5000, refunded=1000, transferred=3000)


def test_fingerprint_ignores_key_order_but_not_values():
    a = rules.request_fingerprint("payment.capture", {"payment_id": 1, "amount": 500})
    b = rules.request_fingerprint("payment.capture", {"amount": 500, "payment_id": 1})
    c = rules.request_fingerprint("payment.capture", {"amount": 501, "payment_id": 1})
    d = rules.request_fingerprint("payment.refund", {"amount": 500, "payment_id": 1})
    assert a == b and len({a, c, d}) == 3


def test_decline_messages_are_plain_and_say_nothing_was_taken():
    for code in (None, "card_declined", "insufficient_funds", "something_new"):
        assert "Nothing has been taken" in rules.decline_message(code)
    assert "not enough money" in rules.decline_message("insufficient_funds")


@pytest.mark.parametrize(
    "code,cause",
    [
        ("payment_declined", "the client's card was declined"),
        ("no_card", "the client has no card saved"),
        ("payments_not_set_up", "card payments are not set up on this Carefair"),
        ("payment_unavailable", "could not be reached"),
        ("insufficient_funds", "the client's budget could not cover it"),
        (None, "the payment did not go through"),
    ],
)
def test_provider_is_told_the_real_reason_an_accepted_booking_is_not_funded(code, cause):
    message = rules.provider_failure_message(code)
    assert message.startswith("Accepted, but ") and cause in message
    assert "The client has been told." in message
    if code != "insufficient_funds":
        assert "could not cover" not in message


def test_a_payment_status_changes_only_along_its_allowed_moves():
    from app.domain import payments as p

    assert p.move_payment(p.PENDING, p.AUTHORISED) == p.AUTHORISED
    assert p.move_payment(p.AUTHORISED, p.CAPTURED) == p.CAPTURED
    assert p.move_payment(p.CAPTURED, p.CAPTURED) == p.CAPTURED  # a replay or a late webhook
    for current, target in [(p.CANCELED, p.CAPTURED), (p.REFUNDED, p.AUTHORISED),
                            (p.DECLINED, p.CAPTURED), (p.CAPTURED, p.CANCELED)]:
        with pytest.raises(p.IllegalPaymentMove):
            p.move_payment(current, target)
