"""WTForms for messages and for reviewing and answering flags."""

from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput, GovTextArea
from wtforms import RadioField, SubmitField, TextAreaField
from wtforms.validators import DataRequired

from app.domain.flags import Outcome
from app.web.form_base import PlainForm
from app.web.widgets import GovRadioInput


class MessageForm(PlainForm):
    # Length is checked by the service (with the count), so the error can say how long it is.
    body = TextAreaField("Your message", widget=GovTextArea(),
                         validators=[DataRequired(message="Enter a message")])
    submit = SubmitField("Send message", widget=GovSubmitInput())


class DismissForm(PlainForm):
    reason = TextAreaField("Why is this not a concern?", widget=GovTextArea(), id="dismiss-reason",
                           validators=[DataRequired(message="Enter why this is not a concern")])
    submit = SubmitField("Dismiss the flag", widget=GovSubmitInput(), id="dismiss")


class UpholdForm(PlainForm):
    outcome = RadioField("What should happen?", widget=GovRadioInput(),
                         choices=[(o.value, o.label) for o in Outcome],
                         validators=[DataRequired(message="Select what should happen")])
    reason = TextAreaField("What did you find? The provider will see this",
                           widget=GovTextArea(), id="uphold-reason",
                           validators=[DataRequired(message="Enter what you found")])
    submit = SubmitField("Uphold the flag", widget=GovSubmitInput(), id="uphold")


class LiftForm(PlainForm):
    lift_reason = TextAreaField("Why can the restriction be lifted?", widget=GovTextArea(),
                                validators=[DataRequired(message="Enter why the restriction "
                                                                 "can be lifted")])
    submit = SubmitField("Lift the restriction", widget=GovSubmitInput(), id="lift")


class ResponseForm(PlainForm):
    response = TextAreaField("Your response", widget=GovTextArea(),
                             description="You can respond once. A broker will read it.",
                             validators=[DataRequired(message="Enter your response")])
    submit = SubmitField("Send response", widget=GovSubmitInput())
