"""WTForms for provider profiles, availability, listings and vetting, and the broker's decision."""

from __future__ import annotations

from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxInput,
    GovFileInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import (
    BooleanField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.domain.listings import Category, FundingMode, PriceUnit, Specialism
from app.domain.vetting import CheckKind, ProviderType
from app.web.form_base import PlainForm
from app.web.forms import GovDateField
from app.web.widgets import GovCheckboxesInput, GovRadioInput


class ProfileForm(PlainForm):
    provider_type = RadioField(
        "What kind of provider are you?", widget=GovRadioInput(),
        choices=[(t.value, t.label) for t in ProviderType],
        validators=[DataRequired(message="Select what kind of provider you are")])
    display_name = StringField(
        "Name people will see", widget=GovTextInput(),
        description="Your own name, or your organisation's name",
        validators=[DataRequired(message="Enter the name people will see"), Length(max=120)])
    about = TextAreaField("About you or your service", widget=GovTextArea(),
                          validators=[Optional(), Length(max=5000)])
    districts = StringField(
        "Postcode districts you cover", widget=GovTextInput(),
        description="The first part of the postcode, separated by commas, like SY1, SY2, TF1",
        validators=[DataRequired(message="Enter at least one postcode district you cover, like SY1"),
                    Length(max=500)])
    specialisms = SelectMultipleField(
        "What do you specialise in?", widget=GovCheckboxesInput(),
        choices=[(s.value, s.label) for s in Specialism], validators=[Optional()])
    languages = StringField("Languages you speak", widget=GovTextInput(),
                            description="Separate them with commas, like English, Polish, BSL",
                            validators=[Optional(), Length(max=300)])
    gender = StringField("Gender (optional)", widget=GovTextInput(),
                         description="Some people want a personal assistant of the same gender "
                                     "for personal care. Leave this blank if you prefer.",
                         validators=[Optional(), Length(max=40)])
    venue_accessibility = TextAreaField(
        "Venue accessibility (if people come to you)", widget=GovTextArea(),
        description="For example step-free access, accessible toilet, hearing loop, parking",
        validators=[Optional(), Length(max=2000)])
    submit = SubmitField("Save profile", widget=GovSubmitInput())


class PhotoForm(PlainForm):
    photo = FileField("Upload a photo", widget=GovFileInput(),
                      description="A JPG, PNG or WEBP image under 2 MB")
    submit = SubmitField("Upload photo", widget=GovSubmitInput(), id="upload-photo")


class AvailabilityForm(PlainForm):
    slots = TextAreaField(
        "When you are usually available each week", widget=GovTextArea(),
        description="One time on each line, like ‘Monday 09:00 to 12:30’. Times must not overlap.",
        validators=[Optional(), Length(max=3000)])
    submit = SubmitField("Save availability", widget=GovSubmitInput())


class AwayForm(PlainForm):
    starts_on = GovDateField("First day away", description="For example, 1 8 2026",
                             validators=[DataRequired(message="Enter the first day away as a real date")])
    ends_on = GovDateField("Last day away", validators=[DataRequired(message="Enter the last day away as a real date")])
    reason = StringField("Note (optional)", widget=GovTextInput(),
                         description="For example, holiday. People booking will not see this.",
                         validators=[Optional(), Length(max=200)])
    submit = SubmitField("Add dates away", widget=GovSubmitInput(), id="add-dates-away")


class ListingForm(PlainForm):
    category = SelectField(
        "Category", widget=GovSelect(),
        choices=[("", "Choose a category")] + [(c.value, c.label) for c in Category],
        validators=[DataRequired(message="Select a category")])
    title = StringField("Title", widget=GovTextInput(),
                        validators=[DataRequired(message="Enter a title"), Length(max=120)])
    description = TextAreaField("Description", widget=GovTextArea(),
                                validators=[Optional(), Length(max=5000)])
    price = StringField("Price in pounds", widget=GovTextInput(),
                        description="For example, 16.50",
                        validators=[DataRequired(message="Enter a price in pounds, like 16.50"),
                                    Length(max=20)])
    price_unit = RadioField("The price is", widget=GovRadioInput(),
                            choices=[(u.value, u.label.capitalize()) for u in PriceUnit],
                            default=PriceUnit.HOUR.value,
                            validators=[DataRequired(message="Select whether the price is per hour, session or day")])
    minimum_units = IntegerField("Minimum booking (hours, sessions or days)", widget=GovTextInput(),
                                 default=1,
                                 validators=[InputRequired(message="Enter a whole number, like 2"),
                                             NumberRange(min=1, max=100, message="Enter a number from 1 to 100")])
    travel_charge = StringField("Travel charge per visit, in pounds (optional)", widget=GovTextInput(),
                                validators=[Optional(), Length(max=20)])
    cancellation_notice_hours = IntegerField(
        "Notice needed to cancel without charge, in hours", widget=GovTextInput(), default=24,
        validators=[InputRequired(message="Enter a whole number of hours, like 24"),
                    NumberRange(min=0, max=336, message="Enter a number of hours from 0 to 336")])
    cancellation_charge = StringField("Charge for cancelling with less notice, in pounds",
                                      widget=GovTextInput(),
                                      validators=[Optional(), Length(max=20)])
    bank_holiday_price = StringField(
        "Price on bank holidays, in pounds (optional)", widget=GovTextInput(),
        description="Per hour, session or day, as above. Leave empty to charge the usual price.",
        validators=[Optional(), Length(max=20)])
    meets_on_bank_holidays = BooleanField(
        "Group sessions go ahead on bank holidays", widget=GovCheckboxInput(), default=False,
        description="If not ticked, a weekly group does not meet on bank holidays.")
    funding_modes = SelectMultipleField(
        "Ways people can pay you", widget=GovCheckboxesInput(),
        choices=[(m.value, m.label) for m in FundingMode],
        validators=[DataRequired(message="Select at least one way people can pay")])
    published = BooleanField("Offer this listing (untick to withdraw it)", widget=GovCheckboxInput(),
                             default=True)
    # Only when changing a listing's price: when it starts and whether it applies to people
    # who already use the service (a rise for them needs the council's notice period).
    price_effective = GovDateField("If you change the price, when does the new price start?",
                                   description="Leave blank for today. For example, 27 3 2027",
                                   validators=[Optional()])
    price_applies_to_existing = RadioField(
        "Does the new price apply to people who already use this service?",
        widget=GovRadioInput(), default="yes",
        choices=[("yes", "Yes, after they have been told (a rise needs at least 28 days' notice)"),
                 ("no", "No, only to new clients")],
        validators=[Optional()])
    submit = SubmitField("Save listing", widget=GovSubmitInput())


class EvidenceForm(PlainForm):
    kind = SelectField("Kind of evidence", widget=GovSelect(),
                       choices=[(k.value, k.label) for k in CheckKind])
    reference = StringField(
        "Certificate, registration or policy number, or the referee's name", widget=GovTextInput(),
        description="DBS: the 12-digit certificate number. CQC: like 1-123456789. Reference: the "
                    "referee's full name. Training: the course name.",
        validators=[DataRequired(message="Enter the number or name"), Length(max=120)])
    details = TextAreaField("Details", widget=GovTextArea(),
                            description="Referee: phone or email, and how they know you. Insurance: "
                                        "the insurer and the cover. Training: who awarded it.",
                            validators=[Optional(), Length(max=2000)])
    issued_on = GovDateField("Date issued (if it has one)", validators=[Optional()])
    expires_on = GovDateField("Expiry date (if it has one)", validators=[Optional()])
    update_service = BooleanField("I subscribe to the DBS Update Service for this certificate",
                                  widget=GovCheckboxInput())
    submit = SubmitField("Send for checking", widget=GovSubmitInput())


class DecisionForm(PlainForm):
    decision = RadioField("Is the evidence good?", widget=GovRadioInput(),
                          choices=[("verify", "Verified: I have checked the evidence"),
                                   ("reject", "Not accepted")],
                          validators=[DataRequired(message="Select a decision")])
    reason = TextAreaField("Reason (needed if not accepted; the provider sees it)",
                           widget=GovTextArea(), validators=[Optional(), Length(max=500)])
    submit = SubmitField("Record decision", widget=GovSubmitInput())
