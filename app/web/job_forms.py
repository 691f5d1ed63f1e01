"""WTForms for shortlists, job posts and replies to jobs (shape only; the services check sense)."""

from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovSelect, GovSubmitInput, GovTextArea, GovTextInput
from wtforms import IntegerField, RadioField, SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.domain.listings import Category, Specialism
from app.web.form_base import PlainForm
from app.web.widgets import GovCheckboxesInput, GovRadioInput

HOURS_MESSAGE = "Enter the hours a week as a whole number from 1 to 168"


class ShortlistNoteForm(PlainForm):
    note = TextAreaField("Your private note", widget=GovTextArea(),
                         description="Only you and the people who act for you see this. "
                                     "Up to 500 characters.",
                         validators=[Optional(), Length(max=500, message="Keep the note to 500 characters or fewer")])
    submit = SubmitField("Save the note", widget=GovSubmitInput())


class ConfirmForm(PlainForm):
    submit = SubmitField("Yes, remove", widget=GovSubmitInput())


class JobForm(PlainForm):
    category = RadioField("What kind of help is needed?", widget=GovRadioInput(),
                          choices=[(c.value, c.label) for c in Category],
                          validators=[DataRequired(message="Select the kind of help needed")])
    title = StringField("Describe the help in a few words", widget=GovTextInput(),
                        description="For example: Help getting up and dressed in the morning",
                        validators=[DataRequired(message="Describe the help in a few words"),
                                    Length(max=120, message="Keep this to 120 characters or fewer")])
    when = StringField("When is the support needed?", widget=GovTextInput(),
                       description="For example: Tuesday and Thursday mornings, from January",
                       validators=[DataRequired(message="Say when the support is needed"),
                                   Length(max=200, message="Keep this to 200 characters or fewer")])
    hours_per_week = IntegerField("About how many hours a week?", widget=GovTextInput(),
                                  validators=[InputRequired(message="Enter the hours a week, like 6"),
                                              NumberRange(min=1, max=168, message=HOURS_MESSAGE)])
    district = StringField("Postcode district where the support happens", widget=GovTextInput(),
                           description="The first part of the postcode, like LS6",
                           validators=[DataRequired(message="Enter the postcode district, like LS6"),
                                       Length(max=8, message="Enter only the first part of the postcode, like LS6")])
    max_rate = StringField("The most the budget allows an hour", widget=GovTextInput(),
                           description="In pounds, like 16.50. Providers who charge more are not "
                                       "told about the job.",
                           validators=[DataRequired(message="Enter the most the budget allows an hour, like 16.50")])
    skills = SelectMultipleField("Skills or knowledge that would help (optional)",
                                 widget=GovCheckboxesInput(),
                                 choices=[(s.value, s.label) for s in Specialism], validators=[Optional()])
    languages = StringField("Languages the worker should speak (optional)", widget=GovTextInput(),
                            description="Separate them with commas, like English, Urdu. Providers who "
                                        "speak at least one are told.",
                            validators=[Optional(), Length(max=200, message="Keep this to 200 characters or fewer")])
    preferred_gender = StringField("Preferred gender of the worker, for personal care only (optional)",
                                   widget=GovTextInput(),
                                   validators=[Optional(),
                                               Length(max=40, message="Keep this to 40 characters or fewer")])
    details = TextAreaField("Anything else providers should know (optional)", widget=GovTextArea(),
                            description="Do not include health details, names or addresses: providers "
                                        "you have not chosen will read this.",
                            validators=[Optional(), Length(max=2000, message="Keep this to 2,000 characters or fewer")])
    submit = SubmitField("Post the job", widget=GovSubmitInput())


class JobReplyForm(PlainForm):
    listing_id = SelectField("Which of your services is this?", widget=GovSelect(), coerce=str, validators=[Optional()])
    message = TextAreaField("Your message to the person", widget=GovTextArea(),
                            description="Say why you would be a good fit and when you are free. "
                                        "Up to 2,000 characters.",
                            validators=[DataRequired(message="Enter a message")])
    submit = SubmitField("Say I am interested", widget=GovSubmitInput())


class CloseJobForm(PlainForm):
    filled_by = RadioField("Has someone been found?", widget=GovRadioInput(), choices=[],
                           validators=[DataRequired(message="Select who is doing the job, or that nobody is")])
    submit = SubmitField("Close the job", widget=GovSubmitInput())


class AgreementForm(PlainForm):
    services = TextAreaField("What support the agreement covers", widget=GovTextArea(),
                             validators=[DataRequired(message="Say what support the agreement covers"),
                                         Length(max=2000, message="Keep this to 2,000 characters or fewer")])
    schedule = StringField("Days and times", widget=GovTextInput(),
                           validators=[DataRequired(message="Say the days and times of the support"),
                                       Length(max=2000, message="Keep this to 2,000 characters or fewer")])
    rate = StringField("Rate", widget=GovTextInput(), description="In pounds, like 16.50",
                       validators=[DataRequired(message="Enter the rate, like 16.50")])
    rate_unit = RadioField("What is the rate for?", widget=GovRadioInput(),
                           choices=[("hour", "An hour"), ("session", "A session"), ("day", "A day")],
                           validators=[DataRequired(message="Select what the rate is for")])
    bank_holiday_rate = StringField("Bank holiday rate (optional)", widget=GovTextInput(),
                                    description="Leave empty to charge the usual rate on bank holidays",
                                    validators=[Optional()])
    minimum_minutes = IntegerField("Shortest session, in minutes", widget=GovTextInput(),
                                   validators=[InputRequired(message="Enter the shortest session in minutes, "
                                                                     "like 60"),
                                               NumberRange(min=0, max=1440, message="Enter a number of minutes "
                                                                                    "from 0 to 1,440")])
    cancellation_notice_hours = IntegerField(
        "Free cancellation with this many hours' notice", widget=GovTextInput(),
        validators=[InputRequired(message="Enter the hours' notice for free cancellation, like 24"),
                    NumberRange(min=0, max=720, message="Enter a number of hours from 0 to 720")])
    cancellation_charge = StringField("Charge for a later cancellation", widget=GovTextInput(),
                                      description="In pounds; 0 for no charge",
                                      validators=[DataRequired(message="Enter the charge, or 0")])
    notice_days = IntegerField("Days' notice to end the agreement", widget=GovTextInput(),
                               validators=[InputRequired(message="Enter the days' notice to end it, like 14"),
                                           NumberRange(min=0, max=365, message="Enter a number of days from "
                                                                               "0 to 365")])
    complaints = TextAreaField("How the person can complain", widget=GovTextArea(),
                               validators=[DataRequired(message="Say how the person can complain"),
                                           Length(max=2000, message="Keep this to 2,000 characters or fewer")])
    submit = SubmitField("Offer the agreement", widget=GovSubmitInput())


class AgreementChangesForm(PlainForm):
    note = TextAreaField("What would you like changed?", widget=GovTextArea(),
                         validators=[DataRequired(message="Say what you would like changed"),
                                     Length(max=2000, message="Keep this to 2,000 characters or fewer")])
    submit = SubmitField("Ask for changes", widget=GovSubmitInput(), id="ask-changes")
