"""Delivery rules: over-billing, two places at once, cancellation fees and spending spikes."""

from dataclasses import replace
from datetime import timedelta

from app.domain.booking_price import CancellationPolicy
from app.domain.rules.delivery import (
    cancellation_beyond_policy,
    hours_beyond_booking,
    spending_spike,
    two_places_at_once,
)
from app.domain.rules.model import MarketSnapshot, PlanChange, ProviderKind, Relationship
from app.domain.settings import CouncilSettings
from tests.unit.market import AS_OF, days_ago, provider, session

SETTINGS = CouncilSettings()


def snap(*sessions, kind=ProviderKind.PA_SELF_EMPLOYED):
    ids = sorted({s.provider_id for s in sessions})
    return MarketSnapshot(as_of=AS_OF, providers=tuple(provider(p, kind) for p in ids),
                          sessions=sessions)


def test_hours_billed_beyond_booking_are_flagged():
    found = hours_beyond_booking(snap(session(1, minutes=120, billed_minutes=180, id=5)), SETTINGS)
    assert [str(f.subject) for f in found] == ["session:5"]
    assert found[0].numbers["extra_minutes"] == 60
    assert "recorded 3h 00m for a session booked for 2h 00m" in found[0].explanation


def test_a_few_minutes_over_is_within_tolerance():
    assert hours_beyond_booking(snap(session(1, minutes=120, billed_minutes=135)), SETTINGS) == []
    assert hours_beyond_booking(snap(session(1, minutes=120)), SETTINGS) == []


def test_one_person_supporting_two_people_at_once_is_flagged():
    a = session(1, holder_id=5, ago=3, minutes=120, id=1)
    b = session(1, holder_id=6, ago=3, minutes=60, id=2)
    found = two_places_at_once(snap(a, b), SETTINGS)
    assert len(found) == 1 and found[0].numbers["session_ids"] == "1,2"
    assert found[0].numbers["clashes"] == 1


def test_many_clashes_make_one_finding_per_provider():
    sessions = [session(1, holder_id=h, ago=3 + d, id=10 * d + h) for d in range(4) for h in (5, 6)]
    found = two_places_at_once(snap(*sessions), SETTINGS)
    assert len(found) == 1 and found[0].numbers["clashes"] == 4


def test_recorded_times_count_over_booked_times():
    start = days_ago(3)
    a = session(1, holder_id=5, ago=3, minutes=60, actual_end=start + timedelta(minutes=90))
    b = session(1, holder_id=6, ago=3 - 1 / 24, minutes=60)  # booked right after a
    assert len(two_places_at_once(snap(a, b), SETTINGS)) == 1
    a_on_time = session(1, holder_id=5, ago=3, minutes=60)
    assert two_places_at_once(snap(a_on_time, b), SETTINGS) == []


def test_agencies_send_different_staff_so_are_not_flagged():
    a = session(1, holder_id=5, ago=3)
    b = session(1, holder_id=6, ago=3)
    assert two_places_at_once(snap(a, b, kind=ProviderKind.AGENCY), SETTINGS) == []


def test_cancelled_sessions_do_not_count_as_being_there():
    a = session(1, holder_id=5, ago=3)
    b = session(1, holder_id=6, ago=3, status="cancelled")
    assert two_places_at_once(snap(a, b), SETTINGS) == []


POLICY = CancellationPolicy(notice_hours=24, charge_percent=50)


def cancelled(charged, hours_notice, **extra):
    s = session(1, ago=5, amount=4000, status="cancelled", policy=POLICY, charged_pence=charged,
                cancelled_by=extra.pop("by", "holder"), **extra)
    return replace(s, cancelled_at=s.start - timedelta(hours=hours_notice))


def test_charging_more_than_the_policy_allows_is_flagged():
    found = cancellation_beyond_policy(snap(cancelled(4000, 2)), SETTINGS)
    assert len(found) == 1 and found[0].numbers["allowed_pence"] == 2000
    assert "charged £40.00 for a cancelled session; the cancellation policy allows £20.00" \
        in found[0].explanation


def test_charges_within_policy_are_fine():
    assert cancellation_beyond_policy(snap(cancelled(2000, 2)), SETTINGS) == []


def test_any_charge_after_enough_notice_or_a_provider_cancellation_is_flagged():
    assert len(cancellation_beyond_policy(snap(cancelled(500, 48)), SETTINGS)) == 1
    assert len(cancellation_beyond_policy(snap(cancelled(500, 2, by="provider")), SETTINGS)) == 1


def test_a_charge_while_paused_is_flagged_when_the_policy_waives():
    assert len(cancellation_beyond_policy(snap(cancelled(2000, 2, cancelled_while_paused=True)),
                                          SETTINGS)) == 1


def monthly(provider_id, holder_id, amounts_by_days_ago):
    return [session(provider_id, holder_id, ago=ago, amount=amount)
            for ago, amount in amounts_by_days_ago]


def test_spending_suddenly_far_above_the_persons_own_average_is_flagged():
    history = monthly(1, 5, [(40, 20_000), (70, 20_000), (100, 20_000)])
    recent = monthly(1, 5, [(5, 30_000), (12, 30_000)])
    began = Relationship(5, 1, days_ago(400))
    found = spending_spike(replace(snap(*history, *recent), relationships=(began,)), SETTINGS)
    assert len(found) == 1
    # Three whole periods of history since they began, long ago.
    assert found[0].numbers == {"recent_pence": 60_000, "average_pence": 20_000, "provider_id": 1,
                                "periods_counted": 3.0, "plan_increase_allowance_pence": 0}


def test_average_counts_only_the_time_since_the_holder_began_with_the_provider():
    """Began 60 days ago (32 days before the recent period): the average is over those 32 days,
    not over three periods of which two were before they met."""
    began = Relationship(5, 1, days_ago(60))
    history = monthly(1, 5, [(45, 20_000), (58, 20_000)])
    recent = monthly(1, 5, [(5, 25_000), (12, 25_000)])
    s = snap(*history, *recent)
    assert spending_spike(replace(s, relationships=(began,)), SETTINGS) == []
    # The nearest case that does fire: the same rise after three whole periods of lower spend.
    old = monthly(1, 5, [(35, 10_000), (63, 10_000), (91, 10_000)])
    assert len(spending_spike(snap(*old, *recent), SETTINGS)) == 1


def test_an_agreed_plan_increase_explains_the_rise():
    history = monthly(1, 5, [(40, 20_000), (70, 20_000), (110, 20_000)])
    recent = monthly(1, 5, [(5, 30_000), (12, 30_000)])
    s = snap(*history, *recent)
    # Personal assistant budget up by £6,000 a year: £460 per 28 days, +10% = £506.
    plan = PlanChange(5, "personal_assistant", 300_000, 900_000, days_ago(30))
    assert spending_spike(replace(s, plan_changes=(plan,)), SETTINGS) == []
    small = PlanChange(5, "personal_assistant", 300_000, 400_000, days_ago(30))
    found = spending_spike(replace(s, plan_changes=(small,)), SETTINGS)
    assert len(found) == 1 and found[0].numbers["plan_increase_allowance_pence"] == 8438
    other = PlanChange(5, "transport", 300_000, 900_000, days_ago(30))  # another category
    assert len(spending_spike(replace(s, plan_changes=(other,)), SETTINGS)) == 1


def test_steady_spending_and_small_rises_are_not_flagged():
    history = monthly(1, 5, [(40, 20_000), (70, 20_000), (110, 20_000)])
    assert spending_spike(snap(*history, *monthly(1, 5, [(5, 39_000)])), SETTINGS) == []
    small = monthly(1, 6, [(40, 1000), (70, 1000), (100, 1000), (5, 10_000)])
    assert spending_spike(snap(*small), SETTINGS) == []  # 10x, but under £200 more


def test_a_new_provider_has_no_average_to_compare():
    assert spending_spike(snap(*monthly(1, 5, [(5, 90_000)])), SETTINGS) == []
