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

from app import clock
from app.domain.access import Permission
from app.domain.errors import InvariantBroken
from app.domain.ledger import Account
from app.domain.schedule import Session, WeeklyPattern
from app.domain.vetting import ProviderType
from app.errors import DomainError
from app.services import booking_checks, bookings, budgets, card_payments, free_time, ledger
from app.services import listings as listing_service
from app.web.context import acting, requires
from app.web.form_base import PlainForm
from app.web.holder import bp

UK = ZoneInfo("Europe/London")
WEEK_CHOICES = (2, 4, 8, 12)
SLOTS_A_PAGE = 24  # free starts offered at once at step 2
MAX_LATER_PAGES = 10


OFTEN = ("once", "weekly", "meet", "group")
# A group session runs if at least this many come (the fewest) and takes up to the most.
FEWEST_CHOICES = (2, 3, 4, 5, 6)
MOST_CHOICES = (2, 3, 4, 5, 6, 8, 10, 12)
# Joining a new group session closes this long before it starts (or an hour before, if sooner).
JOIN_CLOSES_BEFORE = timedelta(hours=48)


def is_group(listing) -> bool:
    return listing.profile.provider_type == ProviderType.GROUP_ACTIVITY.value


def _int(args, name: str) -> int:
    try:
        return int(args.get(name, ""))
    except ValueError:
        return 0


class Answers:
    """What the holder has said so far, read from the query string (anything odd is dropped)."""

    def __init__(self, args, listing) -> None:
        often = args.get("often")
        # A meet-and-greet is for getting to know one person; a shared session is for groups.
        allowed = ("once", "weekly", "group") if is_group(listing) else ("once", "weekly", "meet")
        self.often = often if often in allowed else None
        shortest = free_time.visit_minutes(listing)
        minutes = _int(args, "minutes")
        if self.often == "meet" and minutes > bookings.MEET_AND_GREET_MAX_MINUTES:
            minutes = bookings.MEET_AND_GREET_MAX_MINUTES  # "up to an hour", as step 1 says
        self.minutes = minutes if minutes in self.lengths(listing, self.often) else None
        # Step 1 offers the meet-and-greet's half hour and hour beside the visit lengths: a
        # shorter paid visit than the provider takes is named as that, not as "nothing chosen".
        self.too_short = 0 < minutes < shortest and self.minutes is None
        self.shortest = shortest
        weeks = _int(args, "weeks")
        self.weeks = weeks if weeks in WEEK_CHOICES else None
        fewest, most = _int(args, "fewest"), _int(args, "most")
        self.fewest = fewest if fewest in FEWEST_CHOICES else None
        self.most = most if most in MOST_CHOICES else None
        try:
            start = datetime.fromisoformat(args.get("start", ""))
            self.start: datetime | None = start if start.tzinfo is not None else None
        except ValueError:
            self.start = None
        self.easy = args.get("easy") == "1"

    @staticmethod
    def lengths(listing, often: str | None = None) -> list[int]:
        """Visit lengths to choose from: the listing's shortest, then longer in half hours; a
        free meet-and-greet lasts half an hour or an hour."""
        if often == "meet":
            return [m for m in (30, 60) if m <= bookings.MEET_AND_GREET_MAX_MINUTES]
        shortest = free_time.visit_minutes(listing)
        return [shortest + 30 * i for i in range(0, 13) if shortest + 30 * i <= 12 * 60]

    def incomplete(self) -> bool:
        """Step 1 is not answered in full (a hand-made or old link): go back to it."""
        return self.often is None or self.minutes is None or (
            self.often == "weekly" and self.weeks is None) or (
            self.often == "group" and (self.fewest is None or self.most is None))

    def args(self, **changes) -> dict[str, str]:
        values = {"often": self.often, "minutes": self.minutes, "weeks": self.weeks,
                  "fewest": self.fewest, "most": self.most,
                  "start": self.start.isoformat() if self.start else None,
                  "easy": "1" if self.easy else None}
        if self.often != "weekly":
            values["weeks"] = None
        if self.often != "group":
            values["fewest"] = values["most"] = None
        values.update(changes)
        return {k: str(v) for k, v in values.items() if v is not None}

    def url(self, endpoint: str, listing_id: int, **changes) -> str:
        return url_for(endpoint, listing_id=listing_id) + "?" + urlencode(self.args(**changes))

    def join_deadline(self) -> datetime | None:
        if self.start is None:
            return None
        closes = self.start - JOIN_CLOSES_BEFORE
        return closes if closes > clock.now() else self.start - timedelta(hours=1)

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
        if self.often == "group":
            return bookings.BookingInput(listing_id=listing_id, kind="pooled", start=start,
                                         end=end, notes=notes, min_participants=self.fewest,
                                         max_participants=self.most,
                                         join_deadline=self.join_deadline())
        kind = "meet_and_greet" if self.often == "meet" else "one_off"
        return bookings.BookingInput(listing_id=listing_id, kind=kind, start=start,
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
        elif answers.often == "group":
            if answers.fewest is None:
                errors["fewest"] = "Choose the fewest people the session needs"
            elif answers.most is None or answers.most < answers.fewest:
                errors["most"] = "Choose the most people, no fewer than the fewest"
        if answers.minutes is None and answers.too_short and answers.often is not None:
            errors["minutes"] = (f"Each visit is at least {length_label(answers.shortest)} "
                                 "with this provider" + ("" if is_group(listing) else
                                 ". Half an hour or an hour is only for a free meet-and-greet"))
        elif answers.minutes is None:
            errors["minutes"] = ("Choose how long the meet-and-greet lasts"
                                 if answers.often == "meet" else "Choose how long each visit lasts")
        if not errors:
            return redirect(answers.url("holder.step_when", listing_id, start=None))
    ctx = acting()
    return render_template("journeys/step_how_often.html", listing=listing, answers=answers,
                           errors=errors, lengths=Answers.lengths(listing),
                           meet_lengths=Answers.lengths(listing, "meet"),
                           group=is_group(listing),
                           groups=(bookings.open_group_sessions(listing.id, ctx.holder.id)
                                   if is_group(listing) else []),
                           fewest_choices=FEWEST_CHOICES, most_choices=MOST_CHOICES,
                           length_label=length_label, week_choices=WEEK_CHOICES,
                           title=("Error: " if errors else "") + (
                               f"How often does {ctx.holder.name} need support?"
                               if ctx.on_behalf else "How often do you need support?"))


@bp.get("/book/<int:listing_id>/when")
@requires(Permission.HOLDER_SPEND)
def step_when(listing_id: int):
    listing = listing_service.public_listing(listing_id)
    answers = Answers(request.args, listing)
    if answers.incomplete():
        return redirect(answers.url("holder.step_how_often", listing_id))
    # A page of free starts at a time, and "Later times" for the next page: half-hourly starts
    # fill a day or two, and the day that suits may be later in the week.
    later = min(max(_int(request.args, "later"), 0), MAX_LATER_PAGES)
    found = free_time.next_free(listing, minutes=answers.minutes,
                                limit=SLOTS_A_PAGE * (later + 1) + 1,
                                holder_id=acting().holder.id,
                                weeks=answers.weeks if answers.often == "weekly" and answers.weeks
                                else 1)
    slots = found[SLOTS_A_PAGE * later:SLOTS_A_PAGE * (later + 1)]
    if not slots and later:  # an old "later" link after the times were booked: start again
        return redirect(answers.url("holder.step_when", listing_id))
    has_later = len(found) > SLOTS_A_PAGE * (later + 1) and later < MAX_LATER_PAGES
    error = None
    if request.args.get("next"):
        if answers.start is None:
            error = "Choose a time"
        else:
            return redirect(answers.url("holder.step_check", listing_id))
    return render_template("journeys/step_when.html", listing=listing, answers=answers,
                           slots=slots, error=error, length_label=length_label, later=later,
                           has_later=has_later,
                           title=("Error: " if error else "") + "When should the visit start?")


@bp.route("/book/<int:listing_id>/check", methods=["GET", "POST"])
@requires(Permission.HOLDER_SPEND)
def step_check(listing_id: int):
    ctx = acting()
    listing = listing_service.public_listing(listing_id)
    answers = Answers(request.values, listing)
    if answers.incomplete():
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
        # The booking-time checks' advice (price, a dominant provider): read before sending.
        advice=booking_checks.advice_for(ctx.holder, listing),
        title=("Error: " if problem or notes_error else "") + "Check your booking before sending it")


@bp.route("/book/<int:listing_id>/join/<int:booking_id>", methods=["GET", "POST"])
@requires(Permission.HOLDER_SPEND)
def step_join(listing_id: int, booking_id: int):
    """Join a group session someone has already asked for: what it is, the most the holder
    pays and what is left after, then one button."""
    ctx = acting()
    listing = listing_service.public_listing(listing_id)
    easy = request.values.get("easy") == "1"
    if request.method == "POST":
        try:
            bookings.join_pool(ctx.user, ctx.holder, booking_id)
        except DomainError as err:
            flash(err.message, "error")
            return redirect(url_for("holder.step_join", listing_id=listing_id,
                                    booking_id=booking_id))
        flash("You have joined the group session. Your share is set aside.", "success")
        return redirect(url_for("holder.booking_detail", booking_id=booking_id))
    try:
        booking = bookings.group_session_for_joining(listing.id, ctx.holder.id, booking_id)
    except DomainError as err:
        flash(err.message, "error")
        return redirect(url_for("holder.step_how_often", listing_id=listing.id))
    share = -(-booking.total_pence // (booking.min_participants or 1))  # the most they pay
    budget = budgets.current_budget(ctx.holder.id)
    # The budget page's "available to spend" (the contingency left out), as the check step.
    spendable = ledger.balances(budget.id)[Account.AVAILABLE] if budget is not None else 0
    return render_template("journeys/step_join.html", listing=listing, booking=booking,
                           share=share, left_after=max(spendable - share, 0), easy=easy,
                           card_problem=card_payments.holder_card_problem(ctx.holder.id),
                           title="Join this group session?")


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
