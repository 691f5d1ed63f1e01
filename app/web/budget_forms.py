"""WTForms for budgets, instalments, adjustments, clawback, exports and support plans.

Amounts are text fields: `parse_pounds` turns them into pence in the view, so a refusal such as
"no more than 2 numbers after the decimal point" appears beside the field.
"""

from __future__ import annotations

from uuid import uuid4

from govuk_frontend_wtf.wtforms_widgets import GovSelect, GovSubmitInput, GovTextArea, GovTextInput
from wtforms import HiddenField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.domain.budget import CATEGORIES, Frequency, FundingMode
from app.web.form_base import PlainForm
from app.web.forms import GovDateField
from app.web.widgets import GovRadioInput


def new_key() -> str:
    return uuid4().hex


class IdempotentForm(PlainForm):
    # The same form submitted twice carries the same key, so the second posts nothing.
    idempotency_key = HiddenField(default=new_key)


class BudgetForm(PlainForm):
    holder = SelectField("Budget holder", widget=GovSelect(), coerce=str,
                         validators=[DataRequired(message="Choose the budget holder")])
    annual_amount = StringField("Annual amount, in pounds", widget=GovTextInput(),
                                description="For example, 18200.00")
    start_date = GovDateField("Start date", description="For example, 1 4 2026",
                              validators=[DataRequired(message="Enter a real start date")])
    frequency = RadioField("How often are instalments paid?", widget=GovRadioInput(),
                           choices=[(f.value, f.label) for f in Frequency],
                           validators=[DataRequired(message="Choose how often instalments are paid")])
    funding_mode = RadioField("How is the money managed?", widget=GovRadioInput(),
                              choices=[(m.value, m.label) for m in FundingMode],
                              validators=[DataRequired(message="Choose how the budget is managed")])
    contingency_kind = RadioField(
        "How is the contingency reserve set?", widget=GovRadioInput(),
        choices=[("weeks", "Weeks of planned spending"), ("amount", "A fixed amount")],
        default="weeks", validators=[DataRequired(message="Choose how the reserve is set")])
    contingency_weeks = StringField("Weeks of planned spending", widget=GovTextInput(),
                                    default="4", validators=[Optional(), Length(max=3)])
    contingency_amount = StringField("Or a fixed amount, in pounds", widget=GovTextInput(),
                                     validators=[Optional(), Length(max=20)])
    submit = SubmitField("Create budget", widget=GovSubmitInput())


class InstalmentForm(IdempotentForm):
    amount = StringField("Amount received, in pounds", widget=GovTextInput(), id="instalment-amount")
    received_on = GovDateField("Date received", description="For example, 1 4 2026",
                               validators=[DataRequired(message="Enter a real date")])
    reference = StringField("Reference (optional)", widget=GovTextInput(),
                            validators=[Optional(), Length(max=120)])
    submit = SubmitField("Record instalment", widget=GovSubmitInput(), id="record-instalment")


class AdjustForm(IdempotentForm):
    direction = RadioField("Add or take off money?", widget=GovRadioInput(),
                           choices=[("add", "Add money"), ("remove", "Take money off")],
                           validators=[DataRequired(message="Choose whether to add or take off money")])
    amount = StringField("Amount, in pounds", widget=GovTextInput(), id="adjust-amount")
    reason = TextAreaField("Reason", widget=GovTextArea(), id="adjust-reason",
                           validators=[DataRequired(message="Enter the reason for the adjustment"),
                                       Length(max=500, message="The reason must be 500 characters or fewer")])
    submit = SubmitField("Make adjustment", widget=GovSubmitInput(), id="make-adjustment")


class ClawbackForm(IdempotentForm):
    # Deliberately empty by default: the admin types the amount, then confirms it on a second page.
    amount = StringField("Amount to take back, in pounds", widget=GovTextInput(), id="clawback-amount")
    reason = TextAreaField("Reason", widget=GovTextArea(), id="clawback-reason",
                           description="For example, unspent at the end of the period",
                           validators=[DataRequired(message="Enter the reason for taking the money back"),
                                       Length(max=500, message="The reason must be 500 characters or fewer")])
    # "yes" only on the confirmation page, so money moves only after the admin has seen the sums.
    confirmed = HiddenField(id="clawback-confirmed")
    submit = SubmitField("Continue", widget=GovSubmitInput(), id="claw-back")


class ExportForm(PlainForm):
    class Meta:
        csrf = False  # a download changes nothing

    first = GovDateField("From", validators=[Optional()])
    last = GovDateField("To", validators=[Optional()])
    submit = SubmitField("Download CSV", widget=GovSubmitInput())


def plan_form_class():
    """The plan form, with one amount field per category (`amount_<code>`)."""

    class PlanForm(PlainForm):
        what_matters = TextAreaField("What matters to me", widget=GovTextArea(),
                                     description="In your own words",
                                     validators=[Length(max=5000)])
        outcomes = TextAreaField("What I want my support to help me do", widget=GovTextArea(),
                                 validators=[Length(max=5000)])
        change_note = StringField("What changed (optional)", widget=GovTextInput(),
                                  validators=[Optional(), Length(max=500)])
        submit = SubmitField("Save a new version of the plan", widget=GovSubmitInput())

    for code, label in CATEGORIES.items():
        setattr(PlanForm, f"amount_{code}",
                StringField(f"{label}: amount a year, in pounds", widget=GovTextInput(),
                            validators=[Optional(), Length(max=20)]))
        setattr(PlanForm, f"hours_{code}",
                StringField(f"{label}: most hours a week (optional)", widget=GovTextInput(),
                            description="Leave empty for no weekly limit",
                            validators=[Optional(), Length(max=10)]))
    return PlanForm


PlanForm = plan_form_class()


class AgreePlanForm(PlainForm):
    submit = SubmitField("Agree the changes", widget=GovSubmitInput())


class DeclinePlanForm(PlainForm):
    reason = TextAreaField("Why are the changes not agreed?", widget=GovTextArea(),
                           description="The person and the people who act for them will see this",
                           validators=[DataRequired(message="Say why the changes are not agreed"),
                                       Length(max=1000)])
    submit = SubmitField("Do not agree the changes", widget=GovSubmitInput())


class HourCapExceptionForm(PlainForm):
    """A broker agrees more hours than the plan's weekly cap, for one week."""

    category = SelectField("Spending category", widget=GovSelect(),
                           choices=[("", "Choose a category")] + list(CATEGORIES.items()),
                           validators=[DataRequired(message="Select a spending category")])
    week_of = GovDateField("A day in the week", description="For example, 14 6 2027. The week "
                           "runs from Monday to Sunday.",
                           validators=[DataRequired(message="Enter a date in the week")])
    extra_hours = StringField("Extra hours that week", widget=GovTextInput(),
                              description="On top of the plan's most hours a week, like 4 or 2.5",
                              validators=[DataRequired(message="Enter the extra hours"),
                                          Length(max=10)])
    reason = TextAreaField("Why more hours are needed", widget=GovTextArea(),
                           description="Kept in the audit log",
                           validators=[DataRequired(message="Say why more hours are needed"),
                                       Length(max=500)])
    submit = SubmitField("Agree the extra hours", widget=GovSubmitInput())
