"""Notification wording: every event renders plain English from safe fields only, and nothing
else (free text, amounts, health details) can get into a message."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from app.domain.access import DelegateKind, Share
from app.domain.notifications import (
    EVENTS,
    Category,
    Delivery,
    Event,
    FieldKind,
    UnsafeContent,
    allowed_deliveries,
    delegate_receives,
    render,
    retry_delay,
)


@dataclass
class Person:
    name: str


SAMPLES = {
    FieldKind.PERSON: Person("Sam Carter"),
    FieldKind.DATE: date(2026, 3, 3),
    FieldKind.DATETIME: datetime(2026, 7, 3, 13, 30, tzinfo=UTC),
    FieldKind.REFERENCE: "B-1042",
    FieldKind.CHECK: "dbs",
    FieldKind.DELEGATE_KIND: DelegateKind.CIRCLE,
    FieldKind.COUNT: 12,
}

# Words that would tell a reader about someone's health or support, or about money.
SENSITIVE = re.compile(
    r"£|\bpence\b|\bbalance\b|\bdiagnos|dementia|mental health|learning disabilit|autis|"
    r"personal care|medication|\bcondition\b|\bcapacity\b|\bcrisis\b|\bhospital\b",
    re.IGNORECASE,
)


def sample_context(event: Event) -> dict:
    return {name: SAMPLES[kind] for name, kind in event.spec.fields.items()}


@pytest.mark.parametrize("event", list(Event))
def test_every_event_renders_plain_english_with_one_action(event):
    message = render(event, sample_context(event))
    assert message.subject and "{" not in message.subject
    assert all("{" not in p for p in message.paragraphs)
    assert message.action and len(message.action.split()) <= 5


@pytest.mark.parametrize("event", list(Event))
def test_no_event_wording_mentions_health_support_or_money(event):
    message = render(event, sample_context(event))
    words = " ".join([message.subject, *message.paragraphs, message.action])
    assert not SENSITIVE.search(words), words


def test_dates_and_times_are_written_out_in_uk_time():
    message = render(
        Event.BOOKING_ACCEPTED,
        {"provider": Person("Sam Carter"), "starts": datetime(2026, 7, 3, 13, 30, tzinfo=UTC)},
    )
    # 13:30 UTC is 2:30pm in London in July (British Summer Time).
    assert message.paragraphs[0] == (
        "Sam Carter has accepted the booking for Friday 3 July 2026 at 2:30pm."
    )


def test_a_field_the_event_does_not_take_is_refused():
    with pytest.raises(UnsafeContent, match="does not take diagnosis"):
        render(Event.MESSAGE_RECEIVED, {"sender": Person("Sam"), "diagnosis": "dementia"})


@pytest.mark.parametrize(
    "value",
    [
        "Sam, about your mental health support",  # free text instead of a person
        1250,  # an amount
    ],
)
def test_a_person_field_only_takes_a_person(value):
    with pytest.raises(UnsafeContent):
        render(Event.MESSAGE_RECEIVED, {"sender": value})


@pytest.mark.parametrize("value", ["£125.00", "1250", "B-1042 dementia", "balance 300"])
def test_a_reference_only_takes_a_short_reference(value):
    with pytest.raises(UnsafeContent):
        render(Event.FLAG_UPHELD, {"reference": value})


@pytest.mark.parametrize("value", ["12", 12.5, -1, True, "£12"])
def test_a_count_only_takes_a_whole_number(value):
    with pytest.raises(UnsafeContent):
        render(Event.FLAGS_RAISED_BY_SCAN, {"count": value, "reference": "F-1"})


def test_a_vetting_check_comes_from_the_fixed_list():
    with pytest.raises(UnsafeContent):
        render(
            Event.VETTING_EXPIRING,
            {"check": "mental health first aid", "expires": date(2026, 1, 1)},
        )


def test_missing_fields_are_refused():
    with pytest.raises(UnsafeContent, match="needs starts"):
        render(Event.BOOKING_ACCEPTED, {"provider": Person("Sam")})


def test_safeguarding_and_security_email_cannot_be_switched_off():
    assert Delivery.OFF not in allowed_deliveries(Category.SAFEGUARDING)
    assert Delivery.OFF not in allowed_deliveries(Category.SECURITY)
    assert Delivery.OFF in allowed_deliveries(Category.BOOKINGS)


def test_delegates_receive_by_kind_and_by_what_is_shared():
    booking = EVENTS[Event.BOOKING_ACCEPTED]
    message = EVENTS[Event.MESSAGE_RECEIVED]
    security = EVENTS[Event.PASSWORD_CHANGED]
    reset = EVENTS[Event.PASSWORD_RESET]
    circle_bookings = frozenset({Share.BOOKINGS})
    assert delegate_receives(DelegateKind.CIRCLE, circle_bookings, booking)
    assert not delegate_receives(DelegateKind.CIRCLE, circle_bookings, message)
    assert not delegate_receives(DelegateKind.CIRCLE, frozenset(Share), security)
    assert delegate_receives(DelegateKind.NOMINATED, frozenset(), message)
    assert not delegate_receives(DelegateKind.NOMINATED, frozenset(), security)
    assert delegate_receives(DelegateKind.AUTHORISED, frozenset(), security)
    # A secret link (password reset) is never copied to anyone.
    assert not delegate_receives(DelegateKind.AUTHORISED, frozenset(), reset)


def test_retries_back_off_and_are_capped():
    assert [retry_delay(n) for n in (1, 2, 3)] == [
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=4),
    ]
    assert retry_delay(30) == timedelta(hours=6)


def test_plan_change_outcomes_name_the_broker_and_keep_the_reason_off_the_message():
    agreed = render(Event.PLAN_CHANGES_AGREED, {"by": Person("Bo Broker")})
    declined = render(Event.PLAN_CHANGES_DECLINED, {"by": Person("Bo Broker")})
    assert "Bo Broker has agreed the changes" in agreed.paragraphs[0]
    assert "Bo Broker has not agreed the changes" in declined.paragraphs[0]
    assert "stays as it was" in declined.paragraphs[0]
    assert Event.PLAN_CHANGES_DECLINED.spec.fields == {"by": FieldKind.PERSON}
    assert Event.PLAN_CHANGES_AGREED.spec.category is Category.PLAN
    with pytest.raises(UnsafeContent):
        render(Event.PLAN_CHANGES_DECLINED, {"by": Person("Bo Broker"), "reason": "Too much"})


def test_payment_failed_says_not_confirmed_and_what_to_do_without_the_reason():
    message = render(
        Event.PAYMENT_FAILED,
        {"provider": Person("Maria Santos"), "starts": datetime(2026, 7, 3, 9, 0, tzinfo=UTC)},
    )
    assert message.subject == "The payment for your booking with Maria Santos did not go through"
    assert "Friday 3 July 2026 at 10am" in message.paragraphs[0]
    assert "not confirmed yet. Nothing has been taken." in message.paragraphs[0]
    assert "Try setting the money aside again" in message.paragraphs[1]
    words = " ".join([message.subject, *message.paragraphs]).lower()
    assert "declined" not in words and "accepted" not in words
    assert EVENTS[Event.PAYMENT_FAILED].category is Category.BOOKINGS
