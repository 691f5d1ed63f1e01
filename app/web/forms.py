"""WTForms for the foundation pages, rendered with GOV.UK Frontend widgets.

Forms check the shape of input; services check the business rules.
"""

from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import (
    GovDateInput,
    GovPasswordInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import (
    DateField,
    EmailField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, ValidationError

from app.domain.access import DelegateKind, LegalBasis, Role, Share
from app.domain.passwords import MIN_PASSWORD_LENGTH
from app.web.form_base import PlainForm
from app.web.widgets import GovCheckboxesInput, GovRadioInput


class GovDateField(DateField):
    """A day / month / year date for GOV.UK's date input; missing parts never crash the page."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("widget", GovDateInput())
        kwargs.setdefault("format", "%d %m %Y")
        super().__init__(label, validators, **kwargs)

    def process(self, formdata, data=None, extra_filters=None):
        super().process(formdata, data, extra_filters)
        if self.raw_data is not None and len(self.raw_data) != 3:
            # The widget needs exactly three parts to redisplay what was typed.
            self.raw_data = None if not self.raw_data else (list(self.raw_data) + ["", "", ""])[:3]


EMAIL_REQUIRED = DataRequired(message="Enter your email address")
EMAIL_FORMAT = Email(message="Enter an email address in the correct format, like name@example.com")


class SignInForm(PlainForm):
    email = EmailField("Email address", widget=GovTextInput(),
                       validators=[EMAIL_REQUIRED, Length(max=254)])
    password = PasswordField("Password", widget=GovPasswordInput(),
                             validators=[DataRequired(message="Enter your password"), Length(max=200)])
    submit = SubmitField("Sign in", widget=GovSubmitInput())


class SignUpForm(PlainForm):
    role = RadioField(
        "What do you want to do on Carefair?",
        widget=GovRadioInput(),
        choices=[
            (Role.HOLDER.value, "Find and pay for support with my personal budget"),
            (Role.SUPPORTER.value, "Help someone I know who has a personal budget"),
            (Role.PROVIDER.value, "Offer support as a personal assistant, agency or community service"),
        ],
        validators=[DataRequired(message="Select what you want to do on Carefair")],
    )
    name = StringField("Your full name", widget=GovTextInput(),
                       validators=[DataRequired(message="Enter your name"),
                                   Length(max=120, message="Name must be 120 characters or fewer")])
    email = EmailField("Email address", widget=GovTextInput(),
                       validators=[EMAIL_REQUIRED, EMAIL_FORMAT, Length(max=254)])
    # Where a holder lives decides their market and where search starts (design.md, Markets).
    home_district = StringField(
        "If you have a personal budget: the first part of your postcode (optional)",
        description="For example LS6 or SY1. Search starts from there. Your full address is "
                    "never shown here. You can add or change it later.",
        widget=GovTextInput(), validators=[Optional(), Length(max=10)])
    submit = SubmitField("Continue", widget=GovSubmitInput())


class ChangePasswordForm(PlainForm):
    current_password = PasswordField("Current password", widget=GovPasswordInput(),
                                     validators=[DataRequired(message="Enter your current password")])
    new_password = PasswordField(
        "New password", widget=GovPasswordInput(),
        validators=[DataRequired(message="Enter a new password"),
                    Length(min=MIN_PASSWORD_LENGTH, max=200,
                           message=f"Your password must be at least {MIN_PASSWORD_LENGTH} characters long")],
    )
    confirm_password = PasswordField(
        "Confirm new password", widget=GovPasswordInput(),
        validators=[DataRequired(message="Confirm your new password"),
                    EqualTo("new_password", message="The passwords do not match")],
    )
    submit = SubmitField("Change password", widget=GovSubmitInput())


class ResetRequestForm(PlainForm):
    email = EmailField("Email address", widget=GovTextInput(),
                       validators=[EMAIL_REQUIRED, EMAIL_FORMAT, Length(max=254)])
    submit = SubmitField("Send reset link", widget=GovSubmitInput())


class ResetPasswordForm(PlainForm):
    new_password = ChangePasswordForm.new_password
    confirm_password = ChangePasswordForm.confirm_password
    submit = SubmitField("Set password", widget=GovSubmitInput())


class FinishSignUpForm(PlainForm):
    new_password = PasswordField(
        "Create a password", widget=GovPasswordInput(),
        description=f"At least {MIN_PASSWORD_LENGTH} characters. A few unrelated words are easy to "
                    "remember and hard to guess.",
        validators=[DataRequired(message="Enter a password"),
                    Length(min=MIN_PASSWORD_LENGTH, max=200,
                           message=f"Your password must be at least {MIN_PASSWORD_LENGTH} characters long")],
    )
    confirm_password = PasswordField(
        "Type the password again", widget=GovPasswordInput(),
        validators=[DataRequired(message="Type the password again"),
                    EqualTo("new_password", message="The passwords do not match")],
    )
    submit = SubmitField("Create account", widget=GovSubmitInput())


class InviteDelegateForm(PlainForm):
    email = EmailField("Their email address", widget=GovTextInput(),
                       validators=[DataRequired(message="Enter their email address"), EMAIL_FORMAT,
                                   Length(max=254)])
    kind = RadioField(
        "What should they be able to do?",
        widget=GovRadioInput(),
        choices=[
            (DelegateKind.NOMINATED.value,
             "Nominated person: manage my money and bookings with my agreement"),
            (DelegateKind.CIRCLE.value,
             "Circle of support: see what I choose to share, but not book, pay or message providers"),
        ],
        validators=[DataRequired(message="Select what they should be able to do")],
    )
    shares = SelectMultipleField(
        "If they are in your circle of support, what can they see?",
        widget=GovCheckboxesInput(),
        choices=[(s.value, s.label) for s in Share],
        validators=[Optional()],
    )
    submit = SubmitField("Send invitation", widget=GovSubmitInput())


class RevokeForm(PlainForm):
    reason = TextAreaField("Reason (optional)", widget=GovTextArea(),
                           validators=[Optional(), Length(max=500)])
    submit = SubmitField("Remove", widget=GovSubmitInput())


class AuthorisedPersonForm(PlainForm):
    name = StringField("Authorised person's full name", widget=GovTextInput(),
                       validators=[DataRequired(message="Enter their name"), Length(max=120)])
    email = EmailField("Their email address", widget=GovTextInput(),
                       validators=[DataRequired(message="Enter their email address"), EMAIL_FORMAT,
                                   Length(max=254)])
    legal_basis = RadioField(
        "What gives them the right to act?", widget=GovRadioInput(),
        choices=[(b.value, b.label) for b in LegalBasis],
        validators=[DataRequired(message="Select the legal basis")],
    )
    review_date = GovDateField("Review date",
                            description="For example, 27 3 2027",
                            validators=[DataRequired(message="Enter a real review date")])
    notes = TextAreaField("Notes (optional)", widget=GovTextArea(),
                          validators=[Optional(), Length(max=2000)])
    submit = SubmitField("Record authorised person", widget=GovSubmitInput())


class StaffForm(PlainForm):
    role = SelectField("Role", widget=GovSelect(),
                       choices=[(Role.BROKER.value, "Broker"), (Role.COUNCIL_ADMIN.value, "Council admin")])
    name = StringField("Full name", widget=GovTextInput(),
                       validators=[DataRequired(message="Enter their name"), Length(max=120)])
    email = EmailField("Email address", widget=GovTextInput(),
                       validators=[DataRequired(message="Enter their email address"), EMAIL_FORMAT,
                                   Length(max=254)])
    submit = SubmitField("Create account", widget=GovSubmitInput())


class AuditFilterForm(PlainForm):
    class Meta:
        csrf = False  # a GET search form changes nothing

    action = StringField("Action starts with", widget=GovTextInput(), validators=[Optional(), Length(max=80)])
    actor_email = StringField("Done by (email)", widget=GovTextInput(), validators=[Optional(), Length(max=254)])
    subject_type = StringField("Subject type", widget=GovTextInput(), validators=[Optional(), Length(max=40)])
    subject_id = StringField("Subject id", widget=GovTextInput(), validators=[Optional(), Length(max=64)])
    on_or_after = GovDateField("From", validators=[Optional()])
    on_or_before = GovDateField("To", validators=[Optional()])
    submit = SubmitField("Filter", widget=GovSubmitInput())

    def validate_on_or_before(self, field):
        if field.data and self.on_or_after.data and field.data < self.on_or_after.data:
            raise ValidationError("The ‘To’ date must be the same as or after the ‘From’ date")
