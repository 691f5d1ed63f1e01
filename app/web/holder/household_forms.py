"""WTForms for households (who lives with a holder), the council's agreement, and home addresses."""

from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import (
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.domain.households import Relationship
from app.web.form_base import PlainForm
from app.web.widgets import GovRadioInput


class HouseholdMemberForm(PlainForm):
    name = StringField("Their name", widget=GovTextInput(),
                       validators=[DataRequired(message="Enter their name"), Length(max=120)])
    relation = RadioField("How are they related to the person?", widget=GovRadioInput(),
                          choices=[(r.value, r.label) for r in Relationship],
                          validators=[DataRequired(message="Select how they are related")])
    lives_with_holder = RadioField("Do they live with the person?", widget=GovRadioInput(),
                                   choices=[("yes", "Yes"), ("no", "No")], default="yes",
                                   validators=[DataRequired(message="Select yes if they live "
                                                                    "with the person")])
    provider = SelectField("Are they one of the person's providers on Carefair?",
                           widget=GovSelect(), validators=[Optional()], validate_choice=False,
                           description="Paying a close relative who lives with the person needs "
                                       "the council's agreement first.")
    submit = SubmitField("Add to the household", widget=GovSubmitInput())


class AgreementForm(PlainForm):
    note = TextAreaField("The council's decision and its reference", widget=GovTextArea(),
                         validators=[DataRequired(message="Enter the council's decision and "
                                                          "its reference")])
    submit = SubmitField("Record the council's agreement", widget=GovSubmitInput())


class HomeAddressForm(PlainForm):
    line1 = StringField("Address line 1", widget=GovTextInput(),
                        validators=[DataRequired(message="Enter the first line of the address"),
                                    Length(max=120)])
    line2 = StringField("Address line 2 (optional)", widget=GovTextInput(),
                        validators=[Optional(), Length(max=120)])
    town = StringField("Town or city", widget=GovTextInput(),
                       validators=[DataRequired(message="Enter the town or city"),
                                   Length(max=80)])
    postcode = StringField("Postcode", widget=GovTextInput(),
                           validators=[DataRequired(message="Enter a full postcode, like SY1 1AA")])
    phone = StringField("Telephone (optional)", widget=GovTextInput(),
                        validators=[Optional(), Length(max=30)])
    submit = SubmitField("Save address", widget=GovSubmitInput())
