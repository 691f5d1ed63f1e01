"""WTForms for reviews: the standard and easy-read review forms, replies, reports and moderation."""

from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput, GovTextArea
from wtforms import RadioField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, StopValidation

from app.domain.ratings import MAX_COMMENT_CHARS, Criterion
from app.models.review import MAX_NOTE_CHARS, MAX_REPLY_CHARS
from app.services.ratings import HIDE_REASON_LABELS
from app.web.form_base import PlainForm
from app.web.widgets import GovRadioInput

# The words beside each score, in the standard form and (shorter) in the easy-read form.
SCORE_WORDS = {1: "Very poor", 2: "Poor", 3: "OK", 4: "Good", 5: "Very good"}
EASY_WORDS = {1: "Very bad", 2: "Bad", 3: "OK", 4: "Good", 5: "Very good"}


def _text_or_none(value):
    # RadioField's default coerce turns a missing answer into the string "None".
    return None if value in (None, "", "None") else str(value)


class ScoreRequired:
    """A score from 1 to 5, with the criterion named in the message (shown in the summary)."""

    def __init__(self, criterion: Criterion):
        self.criterion = criterion

    def __call__(self, form, field):
        if field.data is None:
            raise StopValidation(f"Choose a score for '{self.criterion.label}'")
        if field.data not in {str(s) for s in SCORE_WORDS}:
            raise StopValidation(f"Choose a score from 1 to 5 for '{self.criterion.label}'")


def _score_field(criterion: Criterion) -> RadioField:
    return RadioField(
        criterion.label,
        widget=GovRadioInput(),
        choices=[(str(s), f"{s} – {w}") for s, w in SCORE_WORDS.items()],
        coerce=_text_or_none,
        validate_choice=False,  # ScoreRequired says what is wrong in plain words instead
        validators=[ScoreRequired(criterion)],
    )


class ReviewForm(PlainForm):
    reliable = _score_field(Criterion.RELIABLE)
    respect_dignity = _score_field(Criterion.RESPECT_DIGNITY)
    listened = _score_field(Criterion.LISTENED)
    value = _score_field(Criterion.VALUE)
    overall = _score_field(Criterion.OVERALL)
    comment = TextAreaField(
        "Anything else you want to say (optional)",
        widget=GovTextArea(),
        description="Other people choosing support will read this. Do not include anyone's "
        "address, phone number or health details.",
        validators=[
            Length(
                max=MAX_COMMENT_CHARS,
                message=f"Your comment must be {MAX_COMMENT_CHARS:,} characters or fewer",
            )
        ],
    )
    submit = SubmitField("Send review", widget=GovSubmitInput())

    def scores(self) -> dict[str, int | None]:
        out: dict[str, int | None] = {}
        for c in Criterion:
            raw = getattr(self, c.value).data
            out[c.value] = int(raw) if raw is not None and raw.isdigit() else None
        return out


class ReplyForm(PlainForm):
    text = TextAreaField(
        "Your public reply",
        widget=GovTextArea(),
        description="Everyone who can see the review will see your reply. You can reply once, "
        "and you cannot change it afterwards.",
        validators=[
            DataRequired(message="Enter your reply"),
            Length(
                max=MAX_REPLY_CHARS,
                message=f"Your reply must be {MAX_REPLY_CHARS:,} characters or fewer",
            ),
        ],
    )
    submit = SubmitField("Publish reply", widget=GovSubmitInput())


# Every moderation reason has the same limit and the same message (validators are stateless).
REASON_LENGTH = Length(max=MAX_NOTE_CHARS,
                       message=f"The reason must be {MAX_NOTE_CHARS:,} characters or fewer")


class ReportForm(PlainForm):
    reason = TextAreaField(
        "What is wrong with this review?",
        widget=GovTextArea(),
        description="For example, it or the provider's reply is abusive or gives someone's "
        "personal details.",
        validators=[
            DataRequired(message="Say what is wrong with this review"),
            REASON_LENGTH,
        ],
    )
    submit = SubmitField("Report to a broker", widget=GovSubmitInput())


class HideForm(PlainForm):
    reason = RadioField(
        "Why are you hiding this review?",
        widget=GovRadioInput(),
        choices=list(HIDE_REASON_LABELS.items()),
        validators=[DataRequired(message="Choose why the review is being hidden")],
    )
    note = TextAreaField(
        "Reason, for the record",
        widget=GovTextArea(),
        description="Kept in the audit log. The public sees only that a moderator hid it.",
        validators=[
            DataRequired(message="Record the reason for your decision"),
            REASON_LENGTH,
        ],
    )
    submit = SubmitField("Hide review", widget=GovSubmitInput())


class HideReplyForm(PlainForm):
    """Hide only the provider's reply: the review stays and keeps counting (prefix "reply")."""

    reason = RadioField(
        "Why are you hiding the provider's reply?",
        widget=GovRadioInput(),
        choices=list(HIDE_REASON_LABELS.items()),
        validators=[DataRequired(message="Choose why the reply is being hidden")],
    )
    note = TextAreaField(
        "Reason, for the record",
        widget=GovTextArea(),
        description="Kept in the audit log and shown to the provider beside their hidden reply. "
        "The public sees only that a moderator hid it.",
        validators=[
            DataRequired(message="Record the reason for your decision"),
            REASON_LENGTH,
        ],
    )
    submit = SubmitField("Hide the reply", widget=GovSubmitInput())


class KeepForm(PlainForm):
    note = TextAreaField(
        "Why the review can stay",
        widget=GovTextArea(),
        validators=[
            DataRequired(message="Record the reason for your decision"),
            REASON_LENGTH,
        ],
    )
    submit = SubmitField("Keep the review and close the reports", widget=GovSubmitInput())
