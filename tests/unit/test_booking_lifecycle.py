"""The booking state machine and the confirmation rules."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.bookings import (
    ActorKind,
    BookingState,
    Event,
    IllegalTransition,
    NotYourMove,
    allowed_events,
    confirmation_plan,
    may_auto_confirm,
    transition,
)
from app.domain.errors import Conflict, NotPermitted
from app.domain.settings import CouncilSettings

S, E, A = BookingState, Event, ActorKind


def run(*steps):
    state = S.ENQUIRY
    for event, actor in steps:
        state = transition(state, event, actor)
    return state


def test_happy_path_from_enquiry_to_settled():
    assert run(
        (E.REQUEST, A.HOLDER), (E.ACCEPT, A.PROVIDER), (E.HOLD_FUNDS, A.SYSTEM),
        (E.RECORD_DELIVERY, A.PROVIDER), (E.CONFIRM, A.HOLDER), (E.SETTLE, A.SYSTEM),
    ) is S.SETTLED


def test_booking_needing_approval_waits_for_a_broker_then_goes_to_the_provider():
    state = run((E.REQUEST, A.DELEGATE), (E.HOLD_FOR_APPROVAL, A.SYSTEM))
    assert state is S.AWAITING_APPROVAL
    with pytest.raises(IllegalTransition):
        transition(state, E.ACCEPT, A.PROVIDER)
    assert transition(state, E.APPROVE, A.BROKER) is S.REQUESTED
    assert transition(state, E.REFUSE_APPROVAL, A.BROKER) is S.NOT_APPROVED


def test_only_a_broker_approves():
    state = run((E.REQUEST, A.HOLDER), (E.HOLD_FOR_APPROVAL, A.SYSTEM))
    for actor in (A.HOLDER, A.DELEGATE, A.PROVIDER, A.SYSTEM):
        with pytest.raises(NotYourMove):
            transition(state, E.APPROVE, actor)


def test_provider_cannot_confirm_their_own_delivery():
    state = run((E.REQUEST, A.HOLDER), (E.ACCEPT, A.PROVIDER), (E.HOLD_FUNDS, A.SYSTEM),
                (E.RECORD_DELIVERY, A.PROVIDER))
    with pytest.raises(NotYourMove, match="The provider cannot confirm"):
        transition(state, E.CONFIRM, A.PROVIDER)


def test_holder_cannot_accept_their_own_request():
    with pytest.raises(NotYourMove):
        transition(S.REQUESTED, E.ACCEPT, A.HOLDER)


def test_delivered_booking_cannot_be_cancelled_only_disputed():
    with pytest.raises(IllegalTransition, match="You cannot cancel this booking now: its status "
                                                "is 'Delivered, waiting for confirmation'"):
        transition(S.DELIVERED, E.CANCEL, A.HOLDER)
    assert transition(S.DELIVERED, E.DISPUTE, A.HOLDER) is S.DISPUTED
    assert transition(S.DISPUTED, E.RESOLVE_DISPUTE, A.BROKER) is S.SETTLED


def test_failed_payment_is_a_clear_state_that_can_be_retried_or_cancelled():
    state = run((E.REQUEST, A.HOLDER), (E.ACCEPT, A.PROVIDER), (E.PAYMENT_FAILED, A.SYSTEM))
    assert state is S.PAYMENT_FAILED
    assert transition(state, E.HOLD_FUNDS, A.SYSTEM) is S.FUNDS_HELD
    assert transition(state, E.CANCEL, A.HOLDER) is S.CANCELLED


def test_pause_and_resume_returns_to_accepted_so_funds_are_held_again():
    state = transition(S.FUNDS_HELD, E.PAUSE, A.DELEGATE)
    assert state is S.PAUSED
    assert transition(state, E.RESUME, A.HOLDER) is S.ACCEPTED
    with pytest.raises(NotYourMove):
        transition(S.FUNDS_HELD, E.PAUSE, A.PROVIDER)


def test_a_pause_covers_unanswered_requests_and_resuming_sends_them_back_to_the_provider():
    # Otherwise a request still waiting would be funded on acceptance while the holder is away.
    assert transition(S.REQUESTED, E.PAUSE, A.HOLDER) is S.PAUSED
    assert transition(S.AWAITING_APPROVAL, E.PAUSE, A.BROKER) is S.PAUSED
    assert transition(S.PAUSED, E.RESUME_REQUEST, A.HOLDER) is S.REQUESTED
    with pytest.raises(NotYourMove):
        transition(S.PAUSED, E.RESUME_REQUEST, A.PROVIDER)
    with pytest.raises(IllegalTransition):
        transition(S.DELIVERED, E.PAUSE, A.HOLDER)


def test_either_side_can_report_a_no_show_but_only_once_funds_are_held():
    assert transition(S.FUNDS_HELD, E.REPORT_NO_SHOW, A.PROVIDER) is S.NO_SHOW
    assert transition(S.FUNDS_HELD, E.REPORT_NO_SHOW, A.HOLDER) is S.NO_SHOW
    with pytest.raises(IllegalTransition):
        transition(S.ACCEPTED, E.REPORT_NO_SHOW, A.HOLDER)


def test_errors_carry_their_http_meaning():
    assert issubclass(IllegalTransition, Conflict)
    assert issubclass(NotYourMove, NotPermitted)


def test_strings_are_accepted_as_well_as_enums():
    assert transition("requested", "accept", "provider") is S.ACCEPTED


@settings(deadline=None)
@given(st.sampled_from(list(S)), st.sampled_from(list(E)), st.sampled_from(list(A)))
def test_every_move_either_succeeds_or_raises_a_domain_error(state, event, actor):
    allowed = event in allowed_events(state, actor)
    try:
        new = transition(state, event, actor)
    except (IllegalTransition, NotYourMove):
        assert not allowed
    else:
        assert allowed and isinstance(new, BookingState)


@settings(deadline=None)
@given(st.sampled_from(sorted(s for s in S if s.is_final)), st.sampled_from(list(E)),
       st.sampled_from(list(A)))
def test_final_states_never_move(state, event, actor):
    with pytest.raises(IllegalTransition):
        transition(state, event, actor)


def test_allowed_events_lists_the_buttons_a_provider_sees():
    assert allowed_events(S.REQUESTED, A.PROVIDER) == [E.ACCEPT, E.DECLINE, E.CANCEL]


DELIVERED = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_holder_at_risk_never_auto_confirms_and_needs_a_broker():
    plan = confirmation_plan(DELIVERED, holder_at_risk=True, settings=CouncilSettings())
    assert plan.needs_broker_cosign and plan.auto_confirm_at is None
    assert not may_auto_confirm(DELIVERED + timedelta(days=365), DELIVERED, True, True,
                                CouncilSettings())


def test_others_auto_confirm_after_72_hours_with_notice_a_day_before():
    plan = confirmation_plan(DELIVERED, holder_at_risk=False, settings=CouncilSettings())
    assert not plan.needs_broker_cosign
    assert plan.auto_confirm_at == DELIVERED + timedelta(hours=72)
    assert plan.notice_at == DELIVERED + timedelta(hours=48)


def test_auto_confirm_waits_for_time_and_for_the_notice():
    settings = CouncilSettings()
    due = DELIVERED + timedelta(hours=72)
    assert not may_auto_confirm(due - timedelta(minutes=1), DELIVERED, False, True, settings)
    assert not may_auto_confirm(due, DELIVERED, False, False, settings)
    assert may_auto_confirm(due, DELIVERED, False, True, settings)


def test_notice_is_never_before_delivery_when_the_council_shortens_the_wait():
    settings = CouncilSettings(auto_confirm_hours=12, auto_confirm_notice_hours=24)
    assert confirmation_plan(DELIVERED, False, settings).notice_at == DELIVERED
