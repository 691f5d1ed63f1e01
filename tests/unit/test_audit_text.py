"""Audit details read as words, not as `capture_id: 291; how: confirm`."""

from app.domain.audit_text import action_label, readable_details


def test_a_settled_session_reads_in_words():
    assert action_label("booking.funds_held") == "Booking: funds held"
    assert readable_details({"capture_id": 291, "how": "confirm", "amount_pence": 3200}) == [
        ("Money taken (ledger transaction)", "291"),
        ("How", "confirmed by the holder's side"),
        ("Amount", "£32.00"),
    ]


def test_charges_per_visit_lists_and_empties():
    assert readable_details({"by": "holder", "charges": {"12": 0, "13": 1000}, "reason": None,
                             "shares": ["budget", "plan"], "at_risk": True}) == [
        ("Done by", "the budget holder"),
        ("Charges", "visit 12: £0.00; visit 13: £10.00"),
        ("Shares", "budget, plan"),
        ("At risk", "Yes"),
    ]
