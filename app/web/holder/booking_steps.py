"""Booking in short steps, one question a page (GOV.UK pattern): how often and how long, when
(from the provider's free slots), check your answers with one price and what is left, send.

The answers travel in the query string from step to step (plain GET forms and links), so the
journey works without JavaScript and a "Change" link is just a link back with the answers.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request, url_for
from wtforms import TextAreaField

from app.domain.access import Permission
from app.domain.errors import InvariantBroken
from app.domain.schedule import Session, WeeklyPattern
from app.errors import DomainError
from app.services import bookings, card_payments, free_time
from app.services import listings as listing_service
from app.web.context import acting, requires
from app.web.form_base import PlainForm
from app.web.holder import bp

UK = ZoneInfo("Europe/London")
WEEK_CHOICES = (2, 4, 8, 12)


class Answers:
    """What the holder has said so far, read from the query string (anything odd is dropped)."""

    def __init__(self, args, listing) -> None:
        self.often = args.get("often") if args.get("often") in ("once", "weekly") else None
        shortest = free_time.visit_minutes(listing)
        try:
            minutes = int(args.get("minutes", ""))
        except ValueError:
            minutes = 0
        self.minutes = minutes if minutes in self.lengths(listing) else None
        self.shortest = shortest
        try:
            weeks = int(args.get("weeks", ""))
        except ValueError:
            weeks = 0
        self.weeks = weeks if weeks in WEEK_CHOICES else None
        try:
            start = datetime.fromisoformat(args.get("start", ""))
            self.start: datetime | None = start if start.tzinfo is not None else None
        except ValueError:
            self.start = None
        self.easy = args.get("easy") == "1"

    @staticmethod
    def lengths(listing) -> list[int]:
        """Visit lengths to choose from: the listing's shortest, then longer in half hours."""
        shortest = free_time.visit_minutes(listing)
        return [shortest + 30 * i for i in range(0, 13) if shortest + 30 * i <= 12 * 60]

    def args(self, **changes) -> dict[str, str]:
        values = {"often": self.often, "minutes": self.minutes, "weeks": self.weeks,
                  "start": self.start.isoformat() if self.start else None,
                  "easy": "1" if self.easy else None}
        values.update(changes)
        return {k: str(v) for k, v in values.items() if v is not None}

    def url(self, endpoint: str, listing_id: int, **changes) -> str:
        return url_for(endpoint, listing_id=listing_id) + "?" + urlencode(self.args(**changes))

    def booking_input(self, listing_id: int, notes: str = "") -> bookings.BookingInput:
        if not (self.start is not None and self.minutes is not None):
            raise InvariantBroken("expected: self.start is not None and self.minutes is not None")
        start = self.start.astimezone(UK)
        end = start + timedelta(minutes=self.minutes)
        if self.often == "weekly" and self.weeks:
            pattern = WeeklyPattern(weekdays=frozenset({start.weekday()}),
                                    start_time=time(start.hour, start.minute),
                                    duration_minutes=self.minutes, first_date=start.date(),
                                    count=self.weeks)
            return bookings.BookingInput(listing_id=listing_id, kind="recurring",
                                         pattern=pattern, notes=notes)
        return bookings.BookingInput(listing_id=listing_id, kind="one_off", start=start,
                                     end=end, notes=notes)


def length_label(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if rest:
        parts.append(f"{rest} minutes")
    return " ".join(parts)


@bp.get("/book/<int:listing_id>/how-often")
@requires(Permission.HOLDER_SPEND)
def step_how_often(listing_id: int):
    listing = listing_service.public_listing(listing_id)
    answers = Answers(request.args, listing)
    errors = {}
    if request.args.get("next"):
        if answers.often is None:
            errors["often"] = "Choose once or every week"
        elif answers.often == "weekly" and answers.weeks is None:
            errors["weeks"] = "Choose for how many weeks"
        if answers.minutes is None:
            errors["minutes"] = "Choose how long each visit lasts"
        if not errors:
            return redirect(answers.url("holder.step_when", listing_id, start=None))
    return render_template("journeys/step_how_often.html", listing=listing, answers=answers,
                           errors=errors, lengths=Answers.lengths(listing),
                           length_label=length_label, week_choices=WEEK_CHOICES,
                           title=("Error: " if errors else "") + "How often do you need support?")


@bp.get("/book/<int:listing_id>/when")
@requires(Permission.HOLDER_SPEND)
def step_when(listing_id: int):
    listing = listing_service.public_listing(listing_id)
    answers = Answers(request.args, listing)
    if answers.often is None or answers.minutes is None:
        return redirect(answers.url("holder.step_how_often", listing_id))
    slots = free_time.next_free(listing, minutes=answers.minutes, limit=24,
                                holder_id=acting().holder.id)
    error = None
    if request.args.get("next"):
        if answers.start is None:
            error = "Choose a time"
        else:
            return redirect(answers.url("holder.step_check", listing_id))
    return render_template("journeys/step_when.html", listing=listing, answers=answers,
                           slots=slots, error=error, length_label=length_label,
                           title=("Error: " if error else "") + "When should the visit start?")


@bp.route("/book/<int:listing_id>/check", methods=["GET", "POST"])
@requires(Permission.HOLDER_SPEND)
def step_check(listing_id: int):
    ctx = acting()
    listing = listing_service.public_listing(listing_id)
    answers = Answers(request.values, listing)
    if answers.often is None or answers.minutes is None:
        return redirect(answers.url("holder.step_how_often", listing_id))
    if answers.start is None:
        return redirect(answers.url("holder.step_when", listing_id))
    quote, problem, sessions = None, None, []
    notes = request.form.get("notes", "")
    notes_error = notes_problem(notes) if request.method == "POST" else None
    try:
        data = answers.booking_input(listing_id, notes=notes)
        if request.method == "POST" and notes_error is None:
            expected = request.form.get("expected_total", "")
            data = bookings.BookingInput(**{**data.__dict__, "expected_total_pence":
                                            int(expected) if expected.isdigit() else None})
            booking = bookings.request_booking(ctx.user, ctx.holder, data)
            flash("Your booking request has been sent." if booking.state == "requested" else
                  "Your booking needs a broker's approval first. We will tell you when they "
                  "decide.", "success")
            return redirect(url_for("holder.booking_detail", booking_id=booking.id))
        quote = bookings.quote_booking(ctx.holder, data)
        sessions = quote.sessions
    except DomainError as err:
        problem = err.message
    return render_template(
        "journeys/step_check.html", listing=listing, answers=answers, quote=quote,
        sessions=sessions, problem=problem, length_label=length_label,
        notes=notes, notes_error=notes_error,
        card_problem=card_payments.holder_card_problem(ctx.holder.id),
        title=("Error: " if problem or notes_error else "") + "Check your booking before sending it")


def slot_label(session: Session) -> str:
    local = session.start.astimezone(UK)
    end = session.end.astimezone(UK)
    return f"{local:%A} {local.day} {local:%B}, {local:%H:%M} to {end:%H:%M}"


@bp.app_template_filter("slot_label")
def _slot_label(session: Session) -> str:
    return slot_label(session)


class _NotesForm(PlainForm):
    notes = TextAreaField("Anything the provider should know")


def notes_problem(text: str) -> str | None:
    """The shared input policy (NUL, control characters, bidi overrides) on the free-text note."""
    form = _NotesForm(meta={"csrf": False})  # reads request.form, as every form does
    form.notes.raw_data = [text]
    return form.input_refusal()
