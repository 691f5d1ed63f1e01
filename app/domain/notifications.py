"""What Carefair tells people about: events, their wording, who receives them, the safe fields.

Design: an email may be read by anyone in a household, so the words of every notification
are fixed here and can only be filled with *safe fields*: a person (rendered as their name),
a date or time, a short reference, a vetting check from a fixed list, a delegate kind.
There is deliberately no field type for free text, numbers or money, so no caller can put a health
detail, a category of support, support-plan text, an amount or a balance into a message.
Adding an event means adding an `Event` member and one `EventSpec` in `EVENTS`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from app.domain.access import DelegateKind, Share
from app.domain.errors import InvariantBroken

UK = ZoneInfo("Europe/London")


class Category(StrEnum):
    """What people choose email delivery for."""

    BOOKINGS = "bookings"
    MONEY = "money"
    MESSAGES = "messages"
    PLAN = "plan"
    VETTING = "vetting"
    FLAGS = "flags"
    APPROVALS = "approvals"
    ACCOUNT = "account"
    SAFEGUARDING = "safeguarding"
    SECURITY = "security"

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self][0]

    @property
    def hint(self) -> str:
        return CATEGORY_LABELS[self][1]

    @property
    def can_switch_off(self) -> bool:
        return self not in ALWAYS_EMAILED


CATEGORY_LABELS = {
    Category.BOOKINGS: ("Bookings", "Requests, acceptances, cancellations and hours to confirm"),
    Category.MONEY: ("Money", "Money set aside for a booking, released or paid"),
    Category.MESSAGES: ("Messages", "A new message from a provider or a client"),
    Category.PLAN: ("Support plan", "Changes to a support plan"),
    Category.VETTING: ("Checks", "Checks about to run out, verified or refused"),
    Category.FLAGS: ("Concerns raised by Carefair", "Concerns that a broker has looked at"),
    Category.APPROVALS: ("Approvals", "Bookings waiting for a broker to approve them"),
    Category.ACCOUNT: ("People who help", "Invitations accepted and people added or removed"),
    Category.SAFEGUARDING: ("Safeguarding", "Concerns about someone's safety"),
    Category.SECURITY: ("Security", "Password changes and sign-in links"),
}

# People must always hear about these, so email cannot be switched off for them.
ALWAYS_EMAILED = frozenset({Category.SAFEGUARDING, Category.SECURITY})


class Delivery(StrEnum):
    IMMEDIATE = "immediate"
    DIGEST = "digest"
    OFF = "off"

    @property
    def label(self) -> str:
        return {
            Delivery.IMMEDIATE: "Email me straight away",
            Delivery.DIGEST: "One email a day with a summary",
            Delivery.OFF: "No email (I will check my inbox in Carefair)",
        }[self]


DEFAULT_DELIVERY = Delivery.IMMEDIATE


def allowed_deliveries(category: Category) -> list[Delivery]:
    return [d for d in Delivery if d is not Delivery.OFF or category.can_switch_off]


class FieldKind(StrEnum):
    """The only kinds of value a message can contain (see the module docstring)."""

    PERSON = "person"  # anything with a `.name` (a User): rendered as the name only
    DATE = "date"
    DATETIME = "datetime"
    REFERENCE = "reference"  # e.g. "B-1042" for booking 1042
    CHECK = "check"  # a vetting check, one of VETTING_CHECKS
    DELEGATE_KIND = "delegate_kind"
    COUNT = "count"  # a whole number of things, such as flags raised by one scan


# The words used for vetting checks in messages: none of them says anything about health.
VETTING_CHECKS = {
    "dbs": "enhanced DBS check",
    "dbs_update": "DBS Update Service subscription",
    "cqc": "CQC registration",
    "insurance": "public liability insurance",
    "references": "references",
    "right_to_work": "right to work check",
    "training": "training certificate",
}

# A letter prefix naming the kind of thing, a dash and its number: "B-1042", "SG-7".
_REFERENCE = re.compile(r"^[A-Z]{1,4}-[0-9]{1,10}$")
MAX_NAME_LENGTH = 120


class UnsafeContent(ValueError):
    """A caller tried to put something into a message that messages must not carry."""


@dataclass(frozen=True)
class EventSpec:
    category: Category
    subject: str  # str.format template over the fields
    body: tuple[str, ...]  # paragraphs, str.format templates over the fields
    action: str  # the words on the one button / link
    fields: dict[str, FieldKind] = field(default_factory=dict)
    # Shown in the in-app inbox. Messages carrying a secret link (password reset,
    # invitations) are email only, so the secret is never stored.
    inbox: bool = True
    # Sent at once whatever the person's preferences (they asked for it, e.g. a reset link),
    # and never copied to the people who act for a holder.
    transactional: bool = False


class Event(StrEnum):
    BOOKING_REQUESTED = "booking_requested"
    BOOKING_ACCEPTED = "booking_accepted"
    BOOKING_DECLINED = "booking_declined"
    BOOKING_CANCELLED = "booking_cancelled"
    SESSION_CANCELLED = "session_cancelled"  # one visit of a series; the rest go ahead
    BOOKING_NEEDS_APPROVAL = "booking_needs_approval"
    MONEY_HELD = "money_held"
    BOOKING_PAUSED = "booking_paused"
    BOOKING_RESUMED = "booking_resumed"
    BOOKING_DISPUTED = "booking_disputed"
    MONEY_RELEASED = "money_released"
    PAYMENT_FAILED = "payment_failed"
    PAYMENT_SENT = "payment_sent"
    HOURS_TO_CONFIRM = "hours_to_confirm"
    HOURS_AUTO_CONFIRM_SOON = "hours_auto_confirm_soon"
    VETTING_EXPIRING = "vetting_expiring"
    VETTING_EXPIRED = "vetting_expired"
    FLAG_RAISED = "flag_raised"
    FLAGS_RAISED_BY_SCAN = "flags_raised_by_scan"  # one digest per broker per scan
    FLAG_UPHELD = "flag_upheld"
    MESSAGE_RECEIVED = "message_received"
    MESSAGE_NOT_DELIVERED = "message_not_delivered"  # the sender: a broker kept it back
    PLAN_CHANGED = "plan_changed"
    PLAN_CHANGES_AGREED = "plan_changes_agreed"
    PLAN_CHANGES_DECLINED = "plan_changes_declined"
    DELEGATION_INVITED = "delegation_invited"
    DELEGATION_ACCEPTED = "delegation_accepted"
    AUTHORISED_PERSON_RECORDED = "authorised_person_recorded"
    PASSWORD_RESET = "password_reset"  # nosec B105
    SIGN_UP_FINISH = "sign_up_finish"
    SIGN_UP_EXISTING = "sign_up_existing"
    STAFF_WELCOME = "staff_welcome"
    PASSWORD_CHANGED = "password_changed"  # nosec B105
    SECURITY = "security"
    SAFEGUARDING = "safeguarding"
    # Job posts and plan changes (issue 18).
    JOB_MATCHED = "job_matched"
    JOB_REPLY = "job_reply"
    JOB_CLOSED = "job_closed"
    PLAN_CHANGES_WAITING = "plan_changes_waiting"
    AGREEMENT_OFFERED = "agreement_offered"
    AGREEMENT_ANSWERED = "agreement_answered"
    # Concerns (issue 16): the reporter is acknowledged and told the outcome they may know;
    # brokers hear of each concern; existing clients hear of a price rise before it applies.
    CONCERN_RECEIVED = "concern_received"
    CONCERN_REFERRED = "concern_referred"
    CONCERN_CLOSED = "concern_closed"
    CONCERN_RAISED = "concern_raised"
    PRICE_RISE_NOTICE = "price_rise_notice"
    # Time (issue 20): timed exits and reminders before visits.
    REQUEST_EXPIRES_SOON = "request_expires_soon"
    BOOKING_EXPIRED = "booking_expired"
    REQUEST_EXPIRED_PROVIDER = "request_expired_provider"
    APPROVAL_WAITING = "approval_waiting"
    APPROVAL_ESCALATED = "approval_escalated"
    VISIT_REMINDER = "visit_reminder"
    VISIT_REMINDER_PROVIDER = "visit_reminder_provider"
    HOURS_TO_RECORD = "hours_to_record"
    # Last-minute cover and the funding horizon (issue 18).
    COVER_NEEDED = "cover_needed"  # the holder's side: the provider cancelled, cover is sought
    COVER_ASKED = "cover_asked"  # a provider: could you cover this session?
    COVER_OFFERED = "cover_offered"  # the holder's side: a provider can cover
    COVER_TAKEN = "cover_taken"  # the provider accepted as cover
    COVER_NOT_NEEDED = "cover_not_needed"  # other providers who offered
    COVER_LAPSED = "cover_lapsed"  # the holder's side: nobody covered in time
    COVER_WAITING_BROKER = "cover_waiting_broker"  # brokers: back-ups did not cover
    FUNDING_SHORT = "funding_short"  # the holder's side: a coming session cannot be funded yet
    FUNDING_SHORT_BROKER = "funding_short_broker"
    SESSION_CALLED_OFF = "session_called_off"  # unfunded a day before: it does not go ahead
    SESSION_CALLED_OFF_PROVIDER = "session_called_off_provider"

    @property
    def spec(self) -> EventSpec:
        return EVENTS[self]


P, D, DT, REF = FieldKind.PERSON, FieldKind.DATE, FieldKind.DATETIME, FieldKind.REFERENCE

EVENTS: dict[Event, EventSpec] = {
    Event.BOOKING_REQUESTED: EventSpec(
        Category.BOOKINGS,
        "New booking request from {client}",
        ("{client} has asked to book you for {starts}.", "Please accept or decline the request."),
        "See the request",
        {"client": P, "starts": DT},
    ),
    Event.BOOKING_ACCEPTED: EventSpec(
        Category.BOOKINGS,
        "{provider} has accepted your booking",
        ("{provider} has accepted the booking for {starts}.",),
        "See the booking",
        {"provider": P, "starts": DT},
    ),
    Event.BOOKING_DECLINED: EventSpec(
        Category.BOOKINGS,
        "{provider} cannot take your booking",
        (
            "{provider} has declined the booking for {starts}. Any money set aside for it has "
            "been released.",
            "You can look for someone else on Carefair.",
        ),
        "See the booking",
        {"provider": P, "starts": DT},
    ),
    Event.BOOKING_CANCELLED: EventSpec(
        Category.BOOKINGS,
        "A booking for {starts} has been cancelled",
        ("{by} has cancelled the booking for {starts}.",),
        "See the booking",
        {"by": P, "starts": DT},
    ),
    Event.SESSION_CANCELLED: EventSpec(
        Category.BOOKINGS,
        "The visit on {starts} has been cancelled",
        ("{by} has cancelled the visit on {starts}. The other visits in the booking go ahead.",),
        "See the booking",
        {"by": P, "starts": DT},
    ),
    Event.BOOKING_NEEDS_APPROVAL: EventSpec(
        Category.APPROVALS,
        "A booking for {client} needs your approval",
        ("A booking for {client} needs a broker to approve it before it can go ahead.",),
        "Review the booking",
        {"client": P},
    ),
    Event.BOOKING_PAUSED: EventSpec(
        Category.BOOKINGS,
        "Booking {reference} is paused",
        ("{by} has paused booking {reference} for now. Sessions will not go ahead until it "
         "is resumed.", "The booking is kept: nothing else needs doing now."),
        "See the booking",
        {"by": P, "reference": REF},
    ),
    Event.BOOKING_RESUMED: EventSpec(
        Category.BOOKINGS,
        "Booking {reference} has restarted",
        ("{by} has restarted booking {reference}. The remaining sessions go ahead as agreed.",),
        "See the booking",
        {"by": P, "reference": REF},
    ),
    Event.BOOKING_DISPUTED: EventSpec(
        Category.APPROVALS,
        "Hours on booking {reference} are disputed",
        ("{client} has said the hours recorded on booking {reference} are not right.",
         "A broker needs to look at it and decide what is paid."),
        "Review the dispute",
        {"client": P, "reference": REF},
    ),
    Event.MONEY_HELD: EventSpec(
        Category.MONEY,
        "Money set aside for your booking with {provider}",
        (
            "Money has been set aside from the budget for the booking with {provider} on {starts}.",
            "Sign in to see the amount and what is left.",
        ),
        "See the booking",
        {"provider": P, "starts": DT},
    ),
    Event.MONEY_RELEASED: EventSpec(
        Category.MONEY,
        "Money released from a cancelled booking",
        (
            "Money set aside for the booking with {provider} on {starts} has been released back "
            "to the budget.",
        ),
        "See the budget",
        {"provider": P, "starts": DT},
    ),
    # Deliberately no reason in the message (a declined card or a short budget is nobody else's
    # business in the household): the booking page says why and what to do.
    Event.PAYMENT_FAILED: EventSpec(
        Category.BOOKINGS,
        "The payment for your booking with {provider} did not go through",
        (
            "The payment for the booking with {provider} on {starts} did not go through, so the "
            "booking is not confirmed yet. Nothing has been taken.",
            "Sign in to see why and what to do. Once it is sorted out, choose \"Try setting the "
            "money aside again\" on the booking.",
        ),
        "See what to do",
        {"provider": P, "starts": DT},
    ),
    Event.PAYMENT_SENT: EventSpec(
        Category.MONEY,
        "Payment sent for booking {reference}",
        ("We have sent the payment for booking {reference}. Sign in to see the details.",),
        "See the payment",
        {"reference": REF},
    ),
    Event.HOURS_TO_CONFIRM: EventSpec(
        Category.BOOKINGS,
        "Please confirm the hours {provider} recorded",
        (
            "{provider} has recorded the support given on {starts}.",
            "Please check the times and confirm them, or tell us if something is not right.",
        ),
        "Check the hours",
        {"provider": P, "starts": DT},
    ),
    Event.HOURS_AUTO_CONFIRM_SOON: EventSpec(
        Category.BOOKINGS,
        "Hours from {provider} will be confirmed on {deadline}",
        (
            "The hours {provider} recorded will be confirmed automatically on {deadline} unless "
            "you tell us something is not right.",
        ),
        "Check the hours",
        {"provider": P, "deadline": DT},
    ),
    Event.VETTING_EXPIRING: EventSpec(
        Category.VETTING,
        "Your {check} runs out on {expires}",
        (
            "Your {check} runs out on {expires}. After that your listings will be hidden until "
            "you upload a new one and a broker checks it.",
        ),
        "Upload a new one",
        {"check": FieldKind.CHECK, "expires": D},
    ),
    Event.VETTING_EXPIRED: EventSpec(
        Category.VETTING,
        "Your {check} has run out: your listings are hidden",
        (
            "Your {check} ran out on {expires}, so your listings are hidden for now.",
            "Upload a new one and a broker will check it.",
        ),
        "Upload a new one",
        {"check": FieldKind.CHECK, "expires": D},
    ),
    Event.FLAG_RAISED: EventSpec(
        Category.FLAGS,
        "A concern needs reviewing ({reference})",
        ("Carefair has raised a concern, {reference}, for a broker to review.",),
        "Review the concern",
        {"reference": REF},
    ),
    Event.FLAGS_RAISED_BY_SCAN: EventSpec(
        Category.FLAGS,
        "New concerns need reviewing ({count})",
        ("Carefair's brokerage scan raised {count} new concerns for a broker to review, the "
         "most serious first in the broker console. The newest is {reference}.",),
        "Review the concerns",
        {"count": FieldKind.COUNT, "reference": REF},
    ),
    Event.FLAG_UPHELD: EventSpec(
        Category.FLAGS,
        "A broker has upheld a concern about your account",
        (
            "A broker has looked at concern {reference} and upheld it.",
            "Sign in to see what it is about and to respond.",
        ),
        "See the concern",
        {"reference": REF},
    ),
    Event.MESSAGE_RECEIVED: EventSpec(
        Category.MESSAGES,
        "New message from {sender}",
        ("{sender} has sent a message on Carefair.",),
        "Read the message",
        {"sender": P},
    ),
    # Never says why: a broker kept it back after reading it, and the sender learns only that.
    Event.MESSAGE_NOT_DELIVERED: EventSpec(
        Category.MESSAGES,
        "Your message to {recipient} was not delivered",
        ("A message you sent to {recipient} on Carefair was not delivered. They will not see "
         "it.",),
        "See the conversation",
        {"recipient": P},
    ),
    Event.PLAN_CHANGED: EventSpec(
        Category.PLAN,
        "The support plan has been updated",
        ("{by} has updated the support plan.",),
        "See the plan",
        {"by": P},
    ),
    Event.PLAN_CHANGES_AGREED: EventSpec(
        Category.PLAN,
        "A broker has agreed the changes to the support plan",
        ("{by} has agreed the changes to the spending in the support plan. They apply from now.",),
        "See the plan",
        {"by": P},
    ),
    # The broker's reason is free text, so it stays on the plan page, never in a message.
    Event.PLAN_CHANGES_DECLINED: EventSpec(
        Category.PLAN,
        "A broker has not agreed the changes to the support plan",
        (
            "{by} has not agreed the changes to the spending in the support plan. "
            "The plan stays as it was.",
            "Sign in to see the reason on the plan page.",
        ),
        "See the plan",
        {"by": P},
    ),
    Event.DELEGATION_INVITED: EventSpec(
        Category.ACCOUNT,
        "{holder} has invited you to help on Carefair",
        (
            "{holder} has invited you to be their {kind} on Carefair.",
            "To accept, sign in or create an account with this email address, then open the link.",
        ),
        "Accept the invitation",
        {"holder": P, "kind": FieldKind.DELEGATE_KIND},
        inbox=False,
        transactional=True,
    ),
    Event.DELEGATION_ACCEPTED: EventSpec(
        Category.ACCOUNT,
        "{person} can now help on Carefair",
        ("{person} has accepted the invitation to be {kind}.",),
        "See who helps",
        {"person": P, "kind": FieldKind.DELEGATE_KIND},
    ),
    Event.AUTHORISED_PERSON_RECORDED: EventSpec(
        Category.ACCOUNT,
        "You can now act for {holder} on Carefair",
        (
            "A broker has recorded you as the authorised person for {holder} on Carefair.",
            "Use the link to sign in. If you are new to Carefair it lets you set a password first.",
        ),
        "Sign in to Carefair",
        {"holder": P},
        inbox=False,
        transactional=True,
    ),
    Event.PASSWORD_RESET: EventSpec(
        Category.SECURITY,
        "Reset your Carefair password",
        (
            "Someone asked to reset the password for your Carefair account. If it was you, use "
            "the link within one hour.",
            "If it was not you, you can ignore this email: your password has not changed.",
        ),
        "Reset your password",
        {},
        inbox=False,
        transactional=True,
    ),
    Event.SIGN_UP_FINISH: EventSpec(
        Category.SECURITY,
        "Finish creating your Carefair account",
        (
            "Someone asked to create a Carefair account with this email address. If it was you, "
            "use the link within 24 hours to choose your password.",
            "If it was not you, you can ignore this email: no account has been made.",
        ),
        "Choose your password",
        {},
        inbox=False,
        transactional=True,
    ),
    Event.SIGN_UP_EXISTING: EventSpec(
        Category.SECURITY,
        "You already have a Carefair account",
        (
            "Someone asked to create a Carefair account with this email address, but you already "
            "have one. Nothing has changed.",
            "If it was you, sign in. If you have forgotten your password, you can reset it from "
            "the sign-in page. If it was not you, you can ignore this email.",
        ),
        "Sign in to Carefair",
        {},
        inbox=False,
        transactional=True,
    ),
    Event.STAFF_WELCOME: EventSpec(
        Category.SECURITY,
        "You have a Carefair staff account: set your password",
        (
            "Your council has made you a Carefair staff account. Use the link within 72 hours "
            "to set your password, then sign in with this email address.",
            "If the link has run out, use \"I have forgotten my password\" on the sign-in page, or "
            "ask your council admin.",
        ),
        "Set your password",
        {},
        inbox=False,
        transactional=True,
    ),
    Event.PASSWORD_CHANGED: EventSpec(
        Category.SECURITY,
        "Your Carefair password was changed",
        (
            "The password for your Carefair account was changed on {when}.",
            "If this was not you, reset your password now and tell your council.",
        ),
        "Check your account",
        {"when": DT},
    ),
    Event.SECURITY: EventSpec(
        Category.SECURITY,
        "Security notice about your Carefair account",
        ("Something happened on your Carefair account on {when} that you should know about.",),
        "Check your account",
        {"when": DT},
    ),
    Event.SAFEGUARDING: EventSpec(
        Category.SAFEGUARDING,
        "A safeguarding concern needs attention ({reference})",
        ("A safeguarding concern, {reference}, has been raised and needs attention.",),
        "See the concern",
        {"reference": REF},
    ),
    # A job post's details (the kind of help, times) stay on the page: they can say something
    # about a person's needs, so the message names only its reference.
    Event.JOB_MATCHED: EventSpec(
        Category.BOOKINGS,
        "A job you could do ({reference})",
        ("Someone in an area you cover is looking for support you offer: job {reference}.",
         "Sign in to read it and, if you can help, say you are interested."),
        "See the job",
        {"reference": REF},
    ),
    Event.JOB_REPLY: EventSpec(
        Category.BOOKINGS,
        "{provider} is interested in your job post",
        ("{provider} has replied to job {reference}.",
         "You can compare replies, add people to your shortlist, send a message or book."),
        "See the replies",
        {"provider": P, "reference": REF},
    ),
    Event.JOB_CLOSED: EventSpec(
        Category.BOOKINGS,
        "Job {reference} has closed",
        ("Job {reference}, which you replied to, has closed. Thank you for replying.",),
        "See your jobs",
        {"reference": REF},
    ),
    Event.PLAN_CHANGES_WAITING: EventSpec(
        Category.APPROVALS,
        "Support plan changes for {client} are waiting for a broker",
        ("{by} has proposed changes to the spending in {client}'s support plan.",
         "Please agree or decline them."),
        "See the proposal",
        {"client": P, "by": P},
    ),
    Event.AGREEMENT_OFFERED: EventSpec(
        Category.BOOKINGS,
        "{provider} has offered a written agreement",
        ("{provider} has offered agreement {reference} for regular support.",
         "Read the terms, then accept them or ask for changes."),
        "Read the agreement",
        {"provider": P, "reference": REF},
    ),
    Event.AGREEMENT_ANSWERED: EventSpec(
        Category.BOOKINGS,
        "{client} has answered agreement {reference}",
        ("{client} has accepted agreement {reference} or asked for changes.",),
        "See the agreement",
        {"client": P, "reference": REF},
    ),
    Event.CONCERN_RECEIVED: EventSpec(
        Category.SAFEGUARDING,
        "We have received your concern ({reference})",
        ("Thank you for telling us. Your concern has the reference {reference}.",
         "A broker will look at it. The provider is not told who raised it.",
         "If someone is in immediate danger, call 999."),
        "See your concern",
        {"reference": REF},
    ),
    Event.CONCERN_REFERRED: EventSpec(
        Category.SAFEGUARDING,
        "Your concern {reference} has been passed to the council",
        ("A broker has looked at your concern {reference} and passed it to the council's "
         "safeguarding team, who will decide what happens next.",),
        "See your concern",
        {"reference": REF},
    ),
    Event.CONCERN_CLOSED: EventSpec(
        Category.SAFEGUARDING,
        "A broker has looked at your concern {reference}",
        ("A broker has looked at your concern {reference} and closed it.",
         "If you are still worried, you can raise a new concern at any time."),
        "See your concern",
        {"reference": REF},
    ),
    Event.CONCERN_RAISED: EventSpec(
        Category.SAFEGUARDING,
        "A concern about a provider needs triage ({reference})",
        ("Concern {reference} has been raised about a provider and is waiting for a broker.",),
        "See the concern",
        {"reference": REF},
    ),
    Event.PRICE_RISE_NOTICE: EventSpec(
        Category.BOOKINGS,
        "A provider you use is changing their price",
        ("{provider} has told Carefair that their price for a service you use will change "
         "from {effective}.",
         "Your bookings made before then keep the price you agreed. You can talk to them, or "
         "to your broker, about what this means for you."),
        "See the listing",
        {"provider": P, "effective": D},
    ),
}

# Time (issue 20): the wording says when and who, never what the support is for.
EVENTS.update({
    Event.REQUEST_EXPIRES_SOON: EventSpec(
        Category.BOOKINGS,
        "Please answer {client}'s booking request by {deadline}",
        ("{client} has asked to book you for {starts}.",
         "If you do not accept or decline it by {deadline}, the request will expire and "
         "{client} will be offered other providers."),
        "Answer the request",
        {"client": P, "starts": DT, "deadline": DT},
    ),
    Event.BOOKING_EXPIRED: EventSpec(
        Category.BOOKINGS,
        "Your booking request with {provider} has expired",
        ("The request for {starts} was not answered in time, so it has expired. Nothing is "
         "booked and no money has been taken.",
         "Other providers offer similar support: see the booking to look at them."),
        "See other providers",
        {"provider": P, "starts": DT},
    ),
    Event.REQUEST_EXPIRED_PROVIDER: EventSpec(
        Category.BOOKINGS,
        "The booking request from {client} has expired",
        ("The request from {client} for {starts} was not answered in time, so it has expired "
         "and that time is free again.",),
        "See the request",
        {"client": P, "starts": DT},
    ),
    Event.APPROVAL_WAITING: EventSpec(
        Category.APPROVALS,
        "A booking for {client} is still waiting for approval",
        ("A booking for {client} has been waiting since {since} for a broker to approve it.",
         "If nobody decides, it expires on {deadline}."),
        "Review the booking",
        {"client": P, "since": DT, "deadline": DT},
    ),
    Event.APPROVAL_ESCALATED: EventSpec(
        Category.APPROVALS,
        "A booking for {client} has waited too long for a broker",
        ("A booking for {client} has been waiting since {since} for a broker to approve it, "
         "and the brokers have been reminded.",
         "Please make sure someone decides before it expires on {deadline}."),
        "See the booking",
        {"client": P, "since": DT, "deadline": DT},
    ),
    Event.COVER_NEEDED: EventSpec(
        Category.BOOKINGS,
        "{provider} cancelled {starts}: we are looking for cover",
        ("{provider} has cancelled the session on {starts}.",
         "We have asked other providers if they can cover it. When one says they can, you can "
         "accept them in one step."),
        "See the cover request",
        {"provider": P, "starts": DT},
    ),
    Event.COVER_ASKED: EventSpec(
        Category.BOOKINGS,
        "Could you cover a session on {starts}?",
        ("A provider has cancelled a session on {starts} at short notice ({reference}).",
         "If you can cover it, sign in and say so. The person's side chooses who covers it."),
        "See the session",
        {"starts": DT, "reference": REF},
    ),
    Event.COVER_OFFERED: EventSpec(
        Category.BOOKINGS,
        "{provider} can cover the session on {starts}",
        ("{provider} has said they can cover the session on {starts}.",
         "Accept them to book it, or wait for others."),
        "See who can cover",
        {"provider": P, "starts": DT},
    ),
    Event.COVER_TAKEN: EventSpec(
        Category.BOOKINGS,
        "You are covering the session on {starts} for {client}",
        ("{client} has accepted your offer to cover the session on {starts}.",
         "It is now one of your bookings."),
        "See the booking",
        {"client": P, "starts": DT},
    ),
    Event.COVER_NOT_NEEDED: EventSpec(
        Category.BOOKINGS,
        "Cover for {starts} is no longer needed ({reference})",
        ("Thank you for offering. The session on {starts} ({reference}) no longer needs cover.",),
        "See your cover requests",
        {"starts": DT, "reference": REF},
    ),
    Event.COVER_LAPSED: EventSpec(
        Category.BOOKINGS,
        "Nobody could cover the session on {starts}",
        ("We could not find anyone to cover the session on {starts} in time.",
         "No money was taken for it. Your broker can help you arrange support."),
        "See your bookings",
        {"starts": DT},
    ),
    Event.COVER_WAITING_BROKER: EventSpec(
        Category.APPROVALS,
        "{client} needs cover for {starts}",
        ("A provider cancelled {client}'s session on {starts} and none of their back-ups has "
         "covered it yet.",
         "Other matching providers have been asked. You may be able to help find someone."),
        "See the cover request",
        {"client": P, "starts": DT},
    ),
    Event.FUNDING_SHORT: EventSpec(
        Category.MONEY,
        "The session with {provider} on {starts} is not funded yet",
        ("There is not yet enough money in the budget to set aside for the session with "
         "{provider} on {starts}.",
         "Money is set aside for regular support as each payment into the budget arrives. If "
         "none is set aside by {deadline}, the session will be called off. Your broker has been "
         "told."),
        "See the booking",
        {"provider": P, "starts": DT, "deadline": DT},
    ),
    Event.FUNDING_SHORT_BROKER: EventSpec(
        Category.MONEY,
        "A session for {client} on {starts} cannot be funded yet",
        ("There is not enough money in {client}'s budget to set aside for the session on {starts}.",
         "Unless money is set aside by {deadline}, the session will be called off."),
        "See the booking",
        {"client": P, "starts": DT, "deadline": DT},
    ),
    Event.SESSION_CALLED_OFF: EventSpec(
        Category.BOOKINGS,
        "The session on {starts} is called off: it could not be funded",
        ("The session on {starts} could not be funded in time, so it will not go ahead.",
         "Nothing is charged for it. The rest of the regular support goes ahead as money arrives."),
        "See the booking",
        {"starts": DT},
    ),
    Event.SESSION_CALLED_OFF_PROVIDER: EventSpec(
        Category.BOOKINGS,
        "The visit with {client} on {starts} is called off",
        ("The visit with {client} on {starts} could not be funded in time, so it will not go ahead.",
         "Please do not go. The other visits in the booking go ahead as money arrives."),
        "See the booking",
        {"client": P, "starts": DT},
    ),
    Event.VISIT_REMINDER: EventSpec(
        Category.BOOKINGS,
        "Reminder: {provider} is booked for {starts}",
        ("This is a reminder that {provider} is booked for {starts}.",
         "If you need to change or cancel it, sign in to Carefair."),
        "See the booking",
        {"provider": P, "starts": DT},
    ),
    Event.VISIT_REMINDER_PROVIDER: EventSpec(
        Category.BOOKINGS,
        "Reminder: your session with {client} on {starts}",
        ("This is a reminder that you are booked with {client} for {starts}.",),
        "See the booking",
        {"client": P, "starts": DT},
    ),
    Event.HOURS_TO_RECORD: EventSpec(
        Category.BOOKINGS,
        "Please record the session with {client} on {starts}",
        ("The session with {client} on {starts} has ended, but its times have not been "
         "recorded yet.",
         "Record them so that {client} can confirm them and you can be paid."),
        "Record the session",
        {"client": P, "starts": DT},
    ),
})

if not (set(EVENTS) == set(Event)):
    raise InvariantBroken("every Event needs an EventSpec")

# Which circle-of-support share lets a circle member hear about a category.
CATEGORY_SHARE: dict[Category, Share] = {
    Category.BOOKINGS: Share.BOOKINGS,
    Category.MONEY: Share.BUDGET,
    Category.MESSAGES: Share.MESSAGES,
    Category.PLAN: Share.PLAN,
}


def delegate_receives(kind: DelegateKind, shares: frozenset[Share], spec: EventSpec) -> bool:
    """Whether someone acting for a holder gets a copy of a notification about that holder.

    An authorised person stands in for the holder, so gets everything the holder would; a
    nominated person manages the money, so gets everything except the holder's own security
    notices; a circle member only what the holder chose to share with them.
    """
    if spec.transactional:
        return False
    if kind is DelegateKind.AUTHORISED:
        return True
    if kind is DelegateKind.NOMINATED:
        return spec.category is not Category.SECURITY
    share = CATEGORY_SHARE.get(spec.category)
    return share is not None and share in shares


def _format_datetime(value: datetime) -> str:
    local = value.astimezone(UK) if value.tzinfo else value
    hour = local.strftime("%I").lstrip("0")
    minute = "" if local.minute == 0 else f":{local.minute:02d}"
    clock = f"{hour}{minute}{local.strftime('%p').lower()}"  # GOV.UK style: 2:30pm, 10am
    return f"{_format_date(local.date())} at {clock}"


def _format_date(value: date) -> str:
    return f"{value.strftime('%A')} {value.day} {value.strftime('%B %Y')}"


def safe_value(name: str, kind: FieldKind, value: object) -> str:
    """The display text for one field, or UnsafeContent if the value is not of the safe kind."""
    if kind is FieldKind.PERSON:
        person_name = getattr(value, "name", None)
        if isinstance(value, str) or not isinstance(person_name, str):
            raise UnsafeContent(f"{name} must be a person (a User), not {type(value).__name__}")
        return person_name.strip()[:MAX_NAME_LENGTH]
    if kind is FieldKind.DATETIME:
        if not isinstance(value, datetime):
            raise UnsafeContent(f"{name} must be a datetime")
        return _format_datetime(value)
    if kind is FieldKind.DATE:
        if isinstance(value, datetime) or not isinstance(value, date):
            raise UnsafeContent(f"{name} must be a date")
        return _format_date(value)
    if kind is FieldKind.REFERENCE:
        if not isinstance(value, str) or not _REFERENCE.match(value):
            raise UnsafeContent(f"{name} must be a short reference like B-1042")
        return value
    if kind is FieldKind.CHECK:
        if value not in VETTING_CHECKS:
            raise UnsafeContent(f"{name} must be one of {', '.join(VETTING_CHECKS)}")
        return VETTING_CHECKS[value]
    if kind is FieldKind.COUNT:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise UnsafeContent(f"{name} must be a whole number")
        return f"{value:,}"
    if kind is FieldKind.DELEGATE_KIND:
        if not isinstance(value, DelegateKind):
            raise UnsafeContent(f"{name} must be a DelegateKind")
        return {
            DelegateKind.AUTHORISED: "authorised person",
            DelegateKind.NOMINATED: "nominated person",
            DelegateKind.CIRCLE: "circle of support",
        }[value]
    raise UnsafeContent(f"{name}: unknown field kind")  # pragma: no cover


def safe_fields(event: Event, context: dict) -> dict[str, str]:
    """Check a caller's context against the event's fields and turn it into display text."""
    spec = event.spec
    unknown = set(context) - set(spec.fields)
    if unknown:
        raise UnsafeContent(f"{event.value} does not take {', '.join(sorted(unknown))}")
    missing = set(spec.fields) - set(context)
    if missing:
        raise UnsafeContent(f"{event.value} needs {', '.join(sorted(missing))}")
    return {name: safe_value(name, kind, context[name]) for name, kind in spec.fields.items()}


@dataclass(frozen=True)
class Message:
    """A rendered notification: only text produced from the fixed wording and safe fields."""

    subject: str
    paragraphs: tuple[str, ...]
    action: str


def render(event: Event, context: dict) -> Message:
    values = safe_fields(event, context)
    spec = event.spec
    return Message(
        subject=spec.subject.format_map(values),
        paragraphs=tuple(p.format_map(values) for p in spec.body),
        action=spec.action,
    )


# Delivery retries: 1, 2, 4 ... minutes, at most 6 hours apart; after this many tries an email
# is given up on and left for a council admin to look at.
MAX_ATTEMPTS = 10
_MAX_BACKOFF = timedelta(hours=6)


def retry_delay(attempts: int) -> timedelta:
    """How long to wait before the next try, after `attempts` failed tries (>= 1)."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), _MAX_BACKOFF)
