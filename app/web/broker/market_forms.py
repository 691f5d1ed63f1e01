"""Forms for the markets work: a holder's home district and a broker's conflicts of interest."""

from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput, GovTextArea, GovTextInput
from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.web.form_base import PlainForm


class HomeDistrictForm(PlainForm):
    district = StringField(
        "The first part of the postcode where they live", widget=GovTextInput(),
        description="For example LS6 or SY1. It decides which local market their choices count "
                    "in, and where search starts. The full address is kept separately.",
        validators=[DataRequired(message="Enter the first part of the postcode, like LS6"),
                    Length(max=10, message="Enter only the first part of the postcode, like LS6")])
    submit = SubmitField("Save", widget=GovSubmitInput())


class ConflictForm(PlainForm):
    provider = StringField("Provider's name or number", widget=GovTextInput(),
                           validators=[DataRequired(message="Enter the provider's name or number"),
                                       Length(max=120)])
    description = TextAreaField(
        "What is the conflict?", widget=GovTextArea(),
        description="For example: my brother owns it; I worked there until last year.",
        validators=[DataRequired(message="Say what the conflict is"),
                    Length(max=500, message="Describe it in 500 characters or fewer")])
    submit = SubmitField("Declare the conflict", widget=GovSubmitInput())


class EndConflictForm(PlainForm):
    reason = TextAreaField("Why has it ended?", widget=GovTextArea(),
                           validators=[DataRequired(message="Say why the conflict has ended"),
                                       Length(max=500)])
    submit = SubmitField("End this conflict", widget=GovSubmitInput())
