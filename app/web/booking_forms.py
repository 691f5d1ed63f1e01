"""Forms for booking pages: shape only (the bookings service checks the business)."""

from __future__ import annotations

from datetime import time

from govuk_frontend_wtf.wtforms_widgets import GovSelect, GovSubmitInput, GovTextArea, GovTextInput
from wtforms import (
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.domain.schedule import WEEKDAY_NAMES
from app.errors import InvalidInput
from app.web.form_base import PlainForm
from app.web.forms import GovDateField
from app.web.widgets import GovCheckboxesInput, GovRadioInput

KIND_CHOICES = [
    ("one_off", "Once"),
    ("recurring", "Every week"),
    ("meet_and_greet", "A free meet-and-greet first (up to an hour)"),
]


def parse_clock(raw: str | None, field: str) -> time:
    """'9:30', '09:30' or '14:00' as a time; anything else is refused beside the field."""
    text = (raw or "").strip().replace(".", ":")
    try:
        hours, minutes = (int(p) for p in text.split(":"))
        return time(hours, minutes)
    except ValueError as err:
        raise InvalidInput("Enter a time like 09:30 or 14:00", field=field) from err


class BookForm(PlainForm):
    plain_messages = {
        "count": "Enter the number of sessions as a whole number, like 10",
        "notes": "What the provider should know must be 2,000 characters or fewer",
        "until": "Enter the last date as a real date, like 27 3 2027",
    }

    kind = RadioField(
        "How often?",
        widget=GovRadioInput(),
        choices=KIND_CHOICES,
        default="one_off",
        validators=[DataRequired(message="Choose how often")],
    )
    day = GovDateField(
        "Date (the first date, for a weekly booking)",
        description="For example, 27 3 2027",
        validators=[DataRequired(message="Enter a real date")],
    )
    start_time = StringField(
        "Start time",
        widget=GovTextInput(),
        description="For example, 09:30",
        validators=[DataRequired(message="Enter a start time"), Length(max=5)],
    )
    end_time = StringField(
        "End time",
        widget=GovTextInput(),
        description="For example, 12:00",
        validators=[DataRequired(message="Enter an end time"), Length(max=5)],
    )
    weekdays = SelectMultipleField(
        "Days of the week (weekly bookings)",
        widget=GovCheckboxesInput(),
        choices=[(str(i), n) for i, n in enumerate(WEEKDAY_NAMES)],
        validators=[Optional()],
    )
    until = GovDateField("Last date (weekly bookings)", validators=[Optional()])
    count = IntegerField(
        "Or a number of sessions (weekly bookings)",
        widget=GovTextInput(),
        validators=[
            Optional(),
            NumberRange(min=1, max=500, message="Enter a number from 1 to 500"),
        ],
    )
    notes = TextAreaField(
        "Anything the provider should know (optional)",
        widget=GovTextArea(),
        validators=[Optional(), Length(max=2000)],
    )
    expected_total = HiddenField()
    check = SubmitField("Check the price", widget=GovSubmitInput())
    confirm = SubmitField("Send the booking request", widget=GovSubmitInput())


class ArrangeForm(BookForm):
    holder_id = SelectField(
        "Budget holder",
        widget=GovSelect(),
        coerce=int,
        validators=[DataRequired(message="Choose the budget holder")],
    )
    options_note = TextAreaField(
        "Other options offered, and why this one was chosen",
        widget=GovTextArea(),
        validators=[DataRequired(message="Say what other options were offered"), Length(max=1000)],
    )
    options_offered = StringField(
        "Listing numbers of the other options (optional)",
        widget=GovTextInput(),
        validators=[Optional(), Length(max=200)],
    )


class ReasonForm(PlainForm):
    reason = TextAreaField(
        "Reason", widget=GovTextArea(), validators=[Optional(), Length(max=1000)]
    )
    submit = SubmitField("Continue", widget=GovSubmitInput())


class DisputeForm(PlainForm):
    reason = TextAreaField(
        "What is not right?",
        widget=GovTextArea(),
        validators=[DataRequired(message="Say what is not right"), Length(max=1000)],
    )
    submit = SubmitField("Dispute these hours", widget=GovSubmitInput())


class PauseForm(PlainForm):
    reason = TextAreaField(
        "Why is support paused?",
        widget=GovTextArea(),
        description="For example, a stay in hospital. Providers are told only "
        "that support is paused.",
        validators=[DataRequired(message="Say why support is paused"), Length(max=500)],
    )
    until = GovDateField("Expected to restart on (optional)", validators=[Optional()])
    submit = SubmitField("Pause all my bookings", widget=GovSubmitInput())


class DeliveryForm(PlainForm):
    actual_start = StringField(
        "Actual start time",
        widget=GovTextInput(),
        validators=[DataRequired(message="Enter the start time"), Length(max=5)],
    )
    actual_end = StringField(
        "Actual end time",
        widget=GovTextInput(),
        validators=[DataRequired(message="Enter the end time"), Length(max=5)],
    )
    notes = TextAreaField("Notes", widget=GovTextArea(), validators=[Optional(), Length(max=4000)])
    submit = SubmitField("Record delivery", widget=GovSubmitInput())


class ResolveForm(PlainForm):
    outcome = RadioField(
        "How is the dispute settled?",
        widget=GovRadioInput(),
        choices=[
            ("full_refund", "Full refund: nothing is paid"),
            ("partial_refund", "Partial refund"),
            ("no_refund", "No refund: the provider is paid in full"),
        ],
        validators=[DataRequired(message="Choose how the dispute is settled")],
    )
    refund = StringField(
        "Refund in pounds (partial refunds)",
        widget=GovTextInput(),
        validators=[Optional(), Length(max=12)],
    )
    note = TextAreaField("Note", widget=GovTextArea(), validators=[Optional(), Length(max=1000)])
    submit = SubmitField("Settle the dispute", widget=GovSubmitInput())
