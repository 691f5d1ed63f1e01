"""The ledger check's pure function: each kind of disagreement is found, a consistent set passes."""

from app.domain.ledger_check import (
    CaptureFact,
    CardFact,
    Facts,
    HoldFact,
    Problem,
    SessionFact,
    ShareFact,
    check,
)

PRICE = 3300


def hold(hold_id=1, *, still=PRICE, captured=0, refunded=0, amount=PRICE):
    return HoldFact(hold_id, budget_id=7, amount_pence=amount, still_held_pence=still,
                    captured_pence=captured, refunded_pence=refunded)


def session(state="funds_held", *, hold_id=1, charge=None, booking_state=None, session_id=10,
            pooled=False, price=PRICE):
    return SessionFact(session_id, booking_id=5, booking_state=booking_state or state,
                       state=state, price_pence=price, charge_pence=charge, hold_id=hold_id,
                       capture_id=None, pooled=pooled)


def consistent() -> Facts:
    """A funded session, a settled one with a partial refund, a cancelled one released, a card
    session authorised, and a pooled booking paid by two participants."""
    return Facts(
        holds=[hold(1), hold(2, still=0, captured=PRICE, refunded=1000), hold(3, still=0),
               hold(4), hold(5, still=0, captured=1500, amount=2000),
               hold(6, still=0, captured=1500, amount=2000)],
        captures=[CaptureFact(20, 2, PRICE, 1000), CaptureFact(21, 5, 1500, 0),
                  CaptureFact(22, 6, 1500, 0)],
        sessions=[
            session("funds_held", hold_id=1, session_id=10),
            session("settled", hold_id=2, charge=PRICE, session_id=11),
            session("cancelled", hold_id=3, charge=0, session_id=12),
            session("funds_held", hold_id=4, session_id=13),
            SessionFact(14, 6, "settled", "settled", 3000, 3000, None, None, pooled=True),
            session("requested", hold_id=None, session_id=15),
        ],
        shares=[ShareFact(1, 6, "settled", "paid", 5), ShareFact(2, 6, "settled", "paid", 6)],
        cards=[CardFact(13, 5, open_authorised_pence=PRICE, captured_pence=0, refunded_pence=0),
               CardFact(11, 5, open_authorised_pence=0, captured_pence=PRICE,
                        refunded_pence=1000)],
    )


def problems(facts: Facts) -> list[Problem]:
    return [d.problem for d in check(facts).disagreements]


def test_a_consistent_set_passes_with_a_one_line_ok():
    report = check(consistent())
    assert report.ok, [str(d) for d in report.disagreements]
    assert report.summary().startswith("Ledger check OK: 6 holds, 6 sessions and 2 card payments")


def test_an_open_hold_nobody_owns_is_found():
    facts = Facts(holds=[hold(1)], sessions=[session(hold_id=None, state="cancelled")])
    report = check(facts)
    assert [d.problem for d in report.disagreements] == [Problem.ORPHAN_HOLD]
    assert "hold 1 of £33.00 has £33.00 still held, but no session" in str(report.disagreements[0])


def test_a_released_hold_nobody_owns_is_fine():
    assert problems(Facts(holds=[hold(1, still=0)])) == []


def test_a_cancelled_session_whose_hold_is_still_open_is_found():
    report = check(Facts(holds=[hold(1)],
                         sessions=[session("cancelled", charge=0, booking_state="cancelled")]))
    assert [d.problem for d in report.disagreements] == [Problem.HELD_AFTER_END]
    d = report.disagreements[0]
    assert (d.booking_id, d.session_id) == (5, 10)
    assert str(d) == ("Booking B-5, session 10 is cancelled (booking cancelled), but £33.00 is "
                      "still held for it (hold 1).")


def test_paused_and_settled_sessions_with_money_still_held_are_found():
    for state in ("paused", "settled", "no_show", "requested", "payment_failed"):
        assert Problem.HELD_AFTER_END in problems(
            Facts(holds=[hold(1)], sessions=[session(state, charge=0)])), state


def test_a_funded_session_with_nothing_held_is_found():
    report = check(Facts(holds=[hold(1, still=0)], sessions=[session("delivered")]))
    assert [d.problem for d in report.disagreements] == [Problem.FUNDED_NOT_HELD]
    assert "is delivered for £33.00, but only £0.00 is held" in str(report.disagreements[0])


def test_a_free_funded_session_needs_no_hold():
    assert problems(Facts(sessions=[session("funds_held", hold_id=None, price=0)])) == []


def test_money_captured_for_a_disputed_session_is_found():
    # The confirm/dispute race: the session ended disputed but the money was already taken.
    report = check(Facts(holds=[hold(1, still=0, captured=PRICE)],
                         captures=[CaptureFact(2, 1, PRICE, 0)],
                         sessions=[session("disputed")]))
    assert Problem.CAPTURE_NOT_CHARGE in [d.problem for d in report.disagreements]
    assert any("is disputed and charged £0.00, but the ledger captured £33.00" in str(d)
               for d in report.disagreements)


def test_a_settled_session_whose_capture_differs_from_its_charge_is_found():
    facts = Facts(holds=[hold(1, still=0, captured=2000)], captures=[CaptureFact(2, 1, 2000, 0)],
                  sessions=[session("settled", charge=PRICE)])
    assert problems(facts) == [Problem.CAPTURE_NOT_CHARGE]


def test_a_pooled_booking_whose_shares_do_not_add_up_is_found():
    facts = Facts(holds=[hold(5, still=0, captured=1500, amount=2000)],
                  sessions=[SessionFact(14, 6, "settled", "settled", 3000, 3000, None, None,
                                        pooled=True)],
                  shares=[ShareFact(1, 6, "settled", "paid", 5)])
    report = check(facts)
    assert [d.problem for d in report.disagreements] == [Problem.CAPTURE_NOT_CHARGE]
    assert "charged £30.00, but the ledger captured £15.00" in str(report.disagreements[0])


def test_a_group_place_still_holding_after_the_booking_was_cancelled_is_found():
    facts = Facts(holds=[hold(5, amount=2000, still=2000)],
                  shares=[ShareFact(1, 6, "cancelled", "released", 5)])
    assert problems(facts) == [Problem.HELD_AFTER_END]
    joined = Facts(holds=[hold(5, amount=2000, still=2000)],
                   shares=[ShareFact(1, 6, "requested", "joined", 5)])
    assert problems(joined) == []


def test_refunds_beyond_the_capture_are_found():
    facts = Facts(holds=[hold(1, still=0, captured=PRICE, refunded=PRICE + 1)],
                  captures=[CaptureFact(2, 1, PRICE, PRICE + 1)],
                  sessions=[session("settled", charge=PRICE)])
    report = check(facts)
    assert [d.problem for d in report.disagreements] == [Problem.REFUND_OVER_CAPTURE]
    assert "capture 2 took £33.00 but £33.01 was refunded" in str(report.disagreements[0])


def test_a_card_left_authorised_after_the_hold_was_released_is_found():
    facts = Facts(holds=[hold(1, still=0)], sessions=[session("cancelled", charge=0)],
                  cards=[CardFact(10, 5, PRICE, 0, 0)])
    report = check(facts)
    assert [d.problem for d in report.disagreements] == [Problem.CARD_NOT_LEDGER]
    assert str(report.disagreements[0]) == (
        "Booking B-5, session 10: £33.00 authorised on the card and not yet taken, but £0.00 "
        "held in the ledger.")


def test_a_card_charged_differently_from_the_ledger_is_found():
    facts = Facts(holds=[hold(1, still=0, captured=PRICE)], captures=[CaptureFact(2, 1, PRICE, 0)],
                  sessions=[session("settled", charge=PRICE)],
                  cards=[CardFact(10, 5, 0, 2000, 0)])
    assert problems(facts) == [Problem.CARD_NOT_LEDGER]


def test_a_card_refund_the_ledger_never_recorded_is_found():
    facts = Facts(holds=[hold(1, still=0, captured=PRICE)], captures=[CaptureFact(2, 1, PRICE, 0)],
                  sessions=[session("settled", charge=PRICE)],
                  cards=[CardFact(10, 5, 0, PRICE, PRICE)])
    assert problems(facts) == [Problem.CARD_NOT_LEDGER]


def test_a_card_payment_waiting_for_stripe_is_counted_not_compared():
    facts = Facts(holds=[hold(1)], sessions=[session("funds_held")],
                  cards=[CardFact(10, 5, 0, 0, 0, in_flight=True)])
    report = check(facts)
    assert report.ok and report.in_flight == 1
    assert "1 sessions' card payments waiting for Stripe" in report.summary()


def test_a_card_booking_held_while_its_authorisation_waits_to_run_is_in_flight_not_wrong():
    # Accepted, money held, the card step recorded in the same commit and not yet run.
    facts = Facts(holds=[hold(1)], sessions=[session("accepted")], waiting=frozenset({10}))
    report = check(facts)
    assert report.ok and report.in_flight == 1
    # Once the step has run (or failed for good) the same facts are a disagreement.
    assert problems(Facts(holds=[hold(1)], sessions=[session("accepted")])) == [
        Problem.HELD_AFTER_END]


def test_every_disagreement_is_reported_not_just_the_first():
    facts = consistent()
    broken = Facts(
        holds=[*facts.holds, hold(99)],
        captures=facts.captures,
        sessions=[*facts.sessions, session("cancelled", hold_id=None, session_id=16, charge=0)],
        shares=facts.shares,
        cards=[*facts.cards, CardFact(12, 5, PRICE, 0, 0)],
    )
    report = check(broken)
    assert sorted(d.problem for d in report.disagreements) == sorted(
        [Problem.ORPHAN_HOLD, Problem.CARD_NOT_LEDGER])
    assert report.summary().startswith("Ledger check found 2 disagreements")
