"""WTForms for raising a concern about a provider and for a broker's triage of one."""

from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxInput,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import BooleanField, RadioField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from app.domain.concerns import ConcernKind, Harm
from app.web.form_base import PlainForm
from app.web.widgets import GovRadioInput


class ConcernForm(PlainForm):
    kind = RadioField("What are you worried about?", widget=GovRadioInput(),
                      choices=[(k.value, k.label) for k in ConcernKind],
                      validators=[DataRequired(message="Select what kind of concern it is")])
    # Checked by the service: only a safeguarding concern needs a kind of harm.
    harm = RadioField("If someone may be at risk of harm, what kind?", widget=GovRadioInput(),
                      choices=[(h.value, h.label) for h in Harm], validators=[],
                      validate_choice=False)
    details = TextAreaField("What happened, or what worries you?", widget=GovTextArea(),
                            description="Say who, what and when if you can. Up to 5,000 "
                                        "characters.",
                            validators=[DataRequired(message="Tell us what happened or what "
                                                             "worries you")])
    reporter_name = StringField("Your name (optional)", widget=GovTextInput(),
                                validators=[Optional(), Length(max=120)])
    reporter_email = StringField("Your email address (optional)", widget=GovTextInput(),
                                 description="So we can tell you we have received it and what "
                                             "happens next.",
                                 validators=[Optional(), Length(max=254)])
    reporter_phone = StringField("Your telephone number (optional)", widget=GovTextInput(),
                                 validators=[Optional(), Length(max=30)])
    submit = SubmitField("Send the concern", widget=GovSubmitInput())

    def validate_harm(self, field) -> None:
        # Shown with the other errors at once (the service checks it again).
        if self.kind.data == "safeguarding" and field.data not in {h.value for h in Harm}:
            raise ValidationError("Select what kind of harm you are worried about")


class TriageForm(PlainForm):
    decision = RadioField(
        "What should happen?", widget=GovRadioInput(),
        choices=[("refer", "Refer to the council's safeguarding team (Care Act section 42: the "
                           "council decides whether to make enquiries)"),
                 ("close", "Close the concern")],
        validators=[DataRequired(message="Select whether to refer the concern or close it")])
    reason = TextAreaField("What did you find, and why did you decide this?",
                           widget=GovTextArea(),
                           description="Brokers and the council see this. The reporter and the "
                                       "provider do not.",
                           validators=[DataRequired(message="Enter what you found and why you "
                                                            "decided this")])
    lift = BooleanField("Lift the provider's suspension and payout hold now",
                        widget=GovCheckboxInput())
    submit = SubmitField("Record the decision", widget=GovSubmitInput())
