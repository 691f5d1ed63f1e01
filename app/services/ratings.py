"""Ratings use cases: write a review of settled support, reply, report, hide, and the aggregates.

Moderation: a broker settles reports by hiding the review (it stops counting), hiding only the
provider's reply (the review stays and keeps counting, so a bad reply never lifts a rating), or
keeping both.

Transactions: each public function that changes something commits once, with its audit events.
After a review is added or hidden the listing's rating has changed, so the search index must
be refreshed: `_listing_rating_changed` sends app.signals.listing_changed after the commit
(the search wiring re-indexes on that signal; search documents take their rating from
`rating_for_listing` / `search_rating_fields`).

Integrity: the three review rules (app/domain/rules/reviews.py) run over `review_snapshot` after
each new review, in the same transaction. Each new finding is recorded in the audit log as a
"review.finding" event (actor: Carefair itself) and filed at once as a flag for the broker
console (app.services.flags, which skips findings already on file), rather than waiting for
the next `carefair brokerage scan`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app import clock
from app.domain import ratings as domain
from app.domain.access import Decision, Permission, Principal, decide
from app.domain.ratings import Criterion, RatingSummary
from app.domain.rules import reviews as review_rules
from app.domain.rules.actions import decide_action
from app.domain.rules.model import Finding, MarketSnapshot, ProviderKind
from app.domain.rules.model import Provider as SnapshotProvider
from app.domain.rules.model import Review as SnapshotReview
from app.errors import Conflict, InvalidInput, NotFound, NotPermitted
from app.extensions import db
from app.models import (
    AuditEvent,
    Booking,
    BookingSession,
    Listing,
    ProviderProfile,
    ReplyHiding,
    Review,
    ReviewHiding,
    ReviewReply,
    ReviewReport,
    User,
)
from app.models.review import HIDE_REASONS, MAX_NOTE_CHARS, MAX_REPLY_CHARS
from app.services import audit, council_settings, flags
from app.services import delegation as delegation_service
from app.signals import send_listing_changed

UK = ZoneInfo("Europe/London")
MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
FINDING_ACTION = "review.finding"
# How the rules name provider types (app.domain.vetting.ProviderType values on the left).
_KIND = {
    "self_employed_pa": ProviderKind.PA_SELF_EMPLOYED,
    "employed_pa": ProviderKind.PA_EMPLOYED,
    "home_care_agency": ProviderKind.AGENCY,
    "community_organisation": ProviderKind.COMMUNITY,
    "group_activity": ProviderKind.GROUP,
}
HIDE_REASON_LABELS = {
    "abusive": "Abusive or offensive",
    "personal_data": "It contains personal information",
}
# Free meet-and-greets are not support that was paid for, so they are not rated.
UNRATED_KINDS = ("meet_and_greet",)


def _settings():
    return council_settings.current()


def _now() -> datetime:
    return clock.now()


# ---------------------------------------------------------------- what can be reviewed


@dataclass(frozen=True)
class ReviewChance:
    """Something the holder may review now: a settled booking, or a month of recurring support."""

    booking: Booking
    period: str
    month: str | None  # "2026-03" for recurring support

    @property
    def month_label(self) -> str | None:
        if self.month is None:
            return None
        return datetime.strptime(self.month, "%Y-%m").strftime("%B %Y")


def _settled_periods(booking: Booking) -> dict[str, str | None]:
    """Reviewable periods of a booking (period -> month), from its settled sessions."""
    if booking.kind in UNRATED_KINDS:
        return {}
    recurring = booking.kind == "recurring"
    out: dict[str, str | None] = {}
    for s in booking.sessions:
        if s.state != "settled":
            continue
        if not recurring and booking.state != "settled":
            continue
        period = domain.review_period(booking.id, recurring, s.start_at)
        out[period] = s.start_at.astimezone(UK).strftime("%Y-%m") if recurring else None
    return out


def _reviewed_periods(booking_ids: list[int]) -> set[str]:
    if not booking_ids:
        return set()
    return set(db.session.scalars(select(Review.period).where(Review.booking_id.in_(booking_ids))))


def reviewable(holder: User) -> list[ReviewChance]:
    """What this holder can review now, most recent first."""
    booking_ids = list(
        db.session.scalars(
            select(Booking.id)
            .join(BookingSession, BookingSession.booking_id == Booking.id)
            .where(
                Booking.holder_id == holder.id,
                BookingSession.state == "settled",
                Booking.kind.not_in(UNRATED_KINDS),
            )
            .distinct()
        )
    )
    if not booking_ids:
        return []
    found = db.session.scalars(
        select(Booking)
        .where(Booking.id.in_(booking_ids))
        .options(
            selectinload(Booking.sessions),
            selectinload(Booking.listing),
            selectinload(Booking.provider_profile),
        )
    ).all()
    done = _reviewed_periods(booking_ids)
    chances = [
        ReviewChance(b, period, month)
        for b in found
        for period, month in _settled_periods(b).items()
        if period not in done
    ]
    return sorted(chances, key=lambda c: (c.month or "", c.booking.id), reverse=True)


def review_chance(holder: User, booking_id: int, month: str | None = None) -> ReviewChance:
    """The booking (and month) the holder wants to review, checked.

    Raises NotFound (not their booking), InvalidInput (month), Conflict (not settled yet,
    already reviewed, or never rated).
    """
    booking = db.session.get(Booking, booking_id)
    if booking is None or booking.holder_id != holder.id:
        raise NotFound("We could not find that booking.")
    if booking.kind in UNRATED_KINDS:
        raise Conflict(
            "A free meet-and-greet is not rated. You can rate the support itself "
            "once it has been delivered and paid for."
        )
    recurring = booking.kind == "recurring"
    if recurring:
        if not month or not MONTH_RE.match(month):
            raise InvalidInput("Choose which month of support you are reviewing.", field="month")
        period = f"booking:{booking.id}:{month}"
    else:
        month = None
        period = domain.review_period(
            booking.id, False, booking.sessions[0].start_at if booking.sessions else _now()
        )
    # The period (the booking, or that month) counts as settled only if it has settled support.
    state = "settled" if period in _settled_periods(booking) else "not_settled"
    domain.check_may_review(state, period, _reviewed_periods([booking.id]))
    return ReviewChance(booking, period, month)


# ---------------------------------------------------------------- writing a review


def _require_may_write(actor: User, holder: User) -> bool:
    """The holder, or someone who may spend for them (HOLDER_SPEND). Returns by_delegate."""
    grant = delegation_service.grant_for(actor, holder.id)
    principal = Principal(user_id=actor.id, role=actor.role_enum)
    if grant is None or decide(principal, Permission.HOLDER_SPEND, grant) is not Decision.ALLOW:
        raise NotPermitted(
            "Only the person supported, or someone who manages their support "
            "for them, can write a review."
        )
    return not grant.is_self


def submit_review(
    actor: User,
    holder: User,
    booking_id: int,
    scores: Mapping[str, object],
    comment: str | None = None,
    *,
    month: str | None = None,
    easy_read: bool = False,
    now: datetime | None = None,
) -> Review:
    """Record a review of settled support, run the review rules, and commit.

    Raises NotPermitted (a circle member, a stranger), NotFound (someone else's booking),
    InvalidInput (field: a criterion, comment or month), Conflict (not settled yet, or that
    booking or month already reviewed).
    """
    by_delegate = _require_may_write(actor, holder)
    chance = review_chance(holder, booking_id, month)
    comment = (comment or "").replace("\r\n", "\n").strip() or None
    clean = domain.validate_review(scores, comment)  # type: ignore[arg-type]
    booking = chance.booking
    review = Review(
        booking_id=booking.id,
        period=chance.period,
        month=chance.month,
        provider_profile_id=booking.provider_profile_id,
        listing_id=booking.listing_id,
        holder_id=holder.id,
        author_id=actor.id,
        by_delegate=by_delegate,
        easy_read=easy_read,
        comment=comment,
        created_at=now or _now(),
        **{c.value: clean[c] for c in Criterion},
    )
    db.session.add(review)
    try:
        db.session.flush()
    except IntegrityError:
        # Someone else (another tab, a delegate) got there first.
        db.session.rollback()
        raise Conflict(
            "This support has already been reviewed for that period. Reviews cannot "
            "be changed, but you can report a problem to your broker."
        ) from None
    audit.record(
        actor,
        "review.written",
        "review",
        review.id,
        on_behalf_of=holder,
        details={
            "booking_id": booking.id,
            "period": chance.period,
            "provider_profile_id": booking.provider_profile_id,
            **{c.value: clean[c] for c in Criterion},
            "has_comment": comment is not None,
            "easy_read": easy_read,
        },
        at=now,
    )
    filed = flags.file_findings(_run_review_rules(review, now or _now()))
    db.session.commit()
    flags.after_filing(filed)
    _listing_rating_changed(review.listing_id)
    return review


def review_for_holder(holder: User, review_id: int) -> Review:
    review = db.session.get(Review, review_id)
    if review is None or review.holder_id != holder.id:
        raise NotFound("We could not find that review.")
    return review


def reviews_by_holder(holder: User) -> list[Review]:
    return list(
        db.session.scalars(
            select(Review)
            .where(Review.holder_id == holder.id)
            .order_by(Review.created_at.desc(), Review.id.desc())
        )
    )


# ---------------------------------------------------------------- replies, reports, hiding


def _review(review_id: int, *, lock: bool = False) -> Review:
    query = select(Review).where(Review.id == review_id)
    if lock:
        query = query.with_for_update()
    review = db.session.scalar(query)
    if review is None:
        raise NotFound("We could not find that review.")
    return review


def review_for_provider(provider: User, review_id: int) -> Review:
    review = db.session.get(Review, review_id)
    if review is None or review.provider_profile.user_id != provider.id:
        raise NotFound("We could not find that review.")
    return review


def reviews_of_provider(provider: User) -> list[Review]:
    profile = db.session.scalar(
        select(ProviderProfile).where(ProviderProfile.user_id == provider.id)
    )
    if profile is None:
        return []
    return _reviews_where(Review.provider_profile_id == profile.id)


def reply(provider: User, review_id: int, text: str) -> ReviewReply:
    """The provider's one public reply. Raises NotFound, InvalidInput (text), Conflict."""
    review = review_for_provider(provider, review_id)
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        raise InvalidInput("Enter your reply.", field="text")
    if len(text) > MAX_REPLY_CHARS:
        raise InvalidInput(
            f"Your reply must be {MAX_REPLY_CHARS:,} characters or fewer.", field="text"
        )
    if review.hidden is not None:
        raise Conflict("A moderator has hidden this review, so it cannot be replied to.")
    if review.reply is not None and review.reply.hidden is not None:
        raise Conflict(
            "A moderator hid your reply to this review. Each review has one reply, "
            "so you cannot write a new one."
        )
    if review.reply is not None:
        raise Conflict("You have already replied to this review. Replies cannot be changed.")
    row = ReviewReply(review_id=review.id, author_id=provider.id, text=text)
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(
            "You have already replied to this review. Replies cannot be changed."
        ) from None
    audit.record(
        provider,
        "review.replied",
        "review",
        review.id,
        details={"reply_id": row.id, "length": len(text)},
    )
    db.session.commit()
    return row


def report(user: User, review_id: int, reason: str) -> ReviewReport:
    """Anyone signed in can report a review to brokers. Raises NotFound, InvalidInput, Conflict."""
    review = _review(review_id)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say what is wrong with this review.", field="reason")
    if len(reason) > MAX_NOTE_CHARS:
        raise InvalidInput(
            f"The reason must be {MAX_NOTE_CHARS:,} characters or fewer.", field="reason"
        )
    if review.hidden is not None:
        raise Conflict("A moderator has already hidden this review.")
    already = db.session.scalar(
        select(ReviewReport.id).where(
            ReviewReport.review_id == review.id,
            ReviewReport.reporter_id == user.id,
            ReviewReport.closed_at.is_(None),
        )
    )
    if already is not None:
        raise Conflict("You have already reported this review. A broker will look at it.")
    row = ReviewReport(review_id=review.id, reporter_id=user.id, reason=reason)
    db.session.add(row)
    try:
        # The unique open (review, reporter) index is the claim when the same report is sent
        # twice at once: the check above cannot see the other request's row yet.
        db.session.flush()
    except IntegrityError as err:
        db.session.rollback()
        raise Conflict("You have already reported this review. A broker will look at it.") from err
    audit.record(
        user,
        "review.reported",
        "review",
        review.id,
        details={"report_id": row.id, "reason": reason},
    )
    db.session.commit()
    return row


def _require_broker(actor: User) -> None:
    if actor.role != "broker":
        raise NotPermitted("Only a broker can moderate reviews.")


def _close_reports(broker: User, review: Review, outcome: str, note: str) -> int:
    open_reports = db.session.scalars(
        select(ReviewReport).where(
            ReviewReport.review_id == review.id, ReviewReport.closed_at.is_(None)
        )
    ).all()
    for r in open_reports:
        r.closed_at, r.closed_by_id, r.outcome, r.outcome_note = _now(), broker.id, outcome, note
    return len(open_reports)


def _clean_note(note: str | None) -> str:
    note = (note or "").strip()
    if not note:
        raise InvalidInput("Record the reason for your decision.", field="note")
    if len(note) > MAX_NOTE_CHARS:
        raise InvalidInput(
            f"The reason must be {MAX_NOTE_CHARS:,} characters or fewer.", field="note"
        )
    return note


def hide(broker: User, review_id: int, reason: str, note: str) -> ReviewHiding:
    """A broker hides a review (abusive, or carrying personal data) with a recorded reason.

    Raises NotPermitted, NotFound, InvalidInput (reason, note), Conflict (already hidden).
    """
    _require_broker(broker)
    review = _review(review_id, lock=True)
    if reason not in HIDE_REASONS:
        raise InvalidInput("Choose why the review is being hidden.", field="reason")
    note = _clean_note(note)
    if review.hidden is not None:
        raise Conflict("This review is already hidden.")
    row = ReviewHiding(review_id=review.id, broker_id=broker.id, reason=reason, note=note)
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("This review is already hidden.") from None
    closed = _close_reports(broker, review, "hidden", note)
    audit.record(
        broker,
        "review.hidden",
        "review",
        review.id,
        on_behalf_of=None,
        details={
            "reason": reason,
            "note": note,
            "reports_closed": closed,
            "provider_profile_id": review.provider_profile_id,
        },
    )
    listing_id = review.listing_id
    db.session.commit()
    _listing_rating_changed(listing_id)
    return row


def hide_reply(broker: User, review_id: int, reason: str, note: str) -> ReplyHiding:
    """A broker hides the provider's reply to a review (abusive, or carrying personal data).

    The review stays as it is and keeps counting towards the rating; open reports close with
    the outcome "reply_hidden". The provider sees the reason and may not reply again.
    Raises NotPermitted, NotFound, InvalidInput (reason, note), Conflict (no reply, or the
    reply is already hidden).
    """
    _require_broker(broker)
    review = _review(review_id, lock=True)
    reply_row = review.reply
    if reply_row is None:
        raise Conflict("The provider has not replied to this review, so there is no reply to hide.")
    if reason not in HIDE_REASONS:
        raise InvalidInput("Choose why the reply is being hidden.", field="reason")
    note = _clean_note(note)
    if reply_row.hidden is not None:
        raise Conflict("The provider's reply to this review is already hidden.")
    row = ReplyHiding(reply_id=reply_row.id, broker_id=broker.id, reason=reason, note=note)
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("The provider's reply to this review is already hidden.") from None
    closed = _close_reports(broker, review, "reply_hidden", note)
    audit.record(
        broker,
        "review.reply_hidden",
        "review",
        review.id,
        on_behalf_of=None,
        details={
            "reply_id": reply_row.id,
            "reason": reason,
            "note": note,
            "reports_closed": closed,
            "provider_profile_id": review.provider_profile_id,
        },
    )
    db.session.commit()
    # No search refresh: the review still counts, so the listing's rating has not changed.
    return row


def keep(broker: User, review_id: int, note: str) -> int:
    """A broker keeps a reported review and closes its reports. Returns how many were closed.

    Raises NotPermitted, NotFound, InvalidInput (note), Conflict (nothing open).
    """
    _require_broker(broker)
    review = _review(review_id, lock=True)
    note = _clean_note(note)
    closed = _close_reports(broker, review, "kept", note)
    if not closed:
        raise Conflict("There are no open reports about this review.")
    audit.record(
        broker, "review.kept", "review", review.id, details={"note": note, "reports_closed": closed}
    )
    db.session.commit()
    return closed


@dataclass(frozen=True)
class ReportedReview:
    review: Review
    reports: list[ReviewReport]


def open_reports() -> list[ReportedReview]:
    """The brokers' queue: reviews with open reports, the longest waiting first."""
    reports = db.session.scalars(
        select(ReviewReport)
        .where(ReviewReport.closed_at.is_(None))
        .order_by(ReviewReport.created_at, ReviewReport.id)
        .options(selectinload(ReviewReport.review))
    ).all()
    grouped: dict[int, ReportedReview] = {}
    for r in reports:
        grouped.setdefault(r.review_id, ReportedReview(r.review, [])).reports.append(r)
    return list(grouped.values())


def reports_about(review_id: int) -> list[ReviewReport]:
    return list(
        db.session.scalars(
            select(ReviewReport)
            .where(ReviewReport.review_id == review_id)
            .order_by(ReviewReport.created_at, ReviewReport.id)
        )
    )


def get_review(review_id: int) -> Review:
    return _review(review_id)


# ---------------------------------------------------------------- showing reviews and aggregates


def _reviews_where(*conditions) -> list[Review]:
    return list(
        db.session.scalars(
            select(Review)
            .where(*conditions)
            .options(
                selectinload(Review.reply).selectinload(ReviewReply.hidden),
                selectinload(Review.hidden),
                selectinload(Review.author),
                selectinload(Review.holder),
            )
            .order_by(Review.created_at.desc(), Review.id.desc())
        )
    )


def reviews_for_provider(profile_id: int) -> list[Review]:
    """Every review of a provider, hidden ones included (shown as hidden by a moderator)."""
    return _reviews_where(Review.provider_profile_id == profile_id)


def reviews_for_listing(listing_id: int) -> list[Review]:
    return _reviews_where(Review.listing_id == listing_id)


def _visible_overall(*conditions) -> list[int]:
    """Overall scores of the reviews that count (not hidden)."""
    return list(db.session.scalars(_visible(select(Review.overall)).where(*conditions)))


def _visible(query):
    """Only reviews that are not hidden: hidden reviews do not count towards any rating."""
    return (
        query.outerjoin(ReviewHiding, ReviewHiding.review_id == Review.id)
        .join(Listing, Listing.id == Review.listing_id)
        .where(ReviewHiding.id.is_(None))
    )


def category_prior(categories: list[str]) -> float:
    """The prior for the Bayesian average: the mean overall score across these categories.

    domain.category_mean's rule, summed in the database: a category holds every review in it.
    """
    if not categories:
        return _settings().rating_prior_mean_default
    count, total = db.session.execute(
        _visible(select(func.count(Review.id), func.coalesce(func.sum(Review.overall), 0))).where(
            Listing.category.in_(categories)
        )
    ).one()
    return total / count if count else _settings().rating_prior_mean_default


def provider_summary(profile_id: int) -> RatingSummary:
    """Count, mean, Bayesian average (prior: the provider's categories) and distribution."""
    categories = list(
        db.session.scalars(
            select(Listing.category).where(Listing.profile_id == profile_id).distinct()
        )
    )
    scores = _visible_overall(Review.provider_profile_id == profile_id)
    return domain.summarise(scores, category_prior(categories), _settings())


def rating_for_listing(listing_id: int) -> RatingSummary:
    """A listing's rating, for its public page and for building its search document."""
    listing = db.session.get(Listing, listing_id)
    if listing is None:
        raise NotFound("We could not find that listing.")
    scores = _visible_overall(Review.listing_id == listing_id)
    return domain.summarise(scores, category_prior([listing.category]), _settings())


def ratings_for_listings(listing_ids: list[int]) -> dict[int, RatingSummary]:
    """Many listings' ratings in two queries, for rebuilding the whole search index."""
    if not listing_ids:
        return {}
    rows = db.session.execute(
        _visible(select(Review.listing_id, Review.overall)).where(
            Review.listing_id.in_(listing_ids)
        )
    ).all()
    scores: dict[int, list[int]] = {i: [] for i in listing_ids}
    for listing_id, overall in rows:
        scores[listing_id].append(overall)
    categories = dict(
        db.session.execute(
            select(Listing.id, Listing.category).where(Listing.id.in_(listing_ids))
        ).all()
    )
    priors = {c: category_prior([c]) for c in set(categories.values())}
    settings = _settings()
    return {
        i: domain.summarise(scores[i], priors[categories[i]], settings)
        for i in listing_ids
        if i in categories
    }


def search_rating_fields(listing_id: int) -> dict[str, float | int | None]:
    """The ListingDocument fields: `ListingDocument(..., **search_rating_fields(listing.id))`."""
    summary = rating_for_listing(listing_id)
    return {"rating_mean": summary.mean, "rating_count": summary.count}


def _listing_rating_changed(listing_id: int) -> None:
    """Hook: the listing's rating changed (after commit), so its search document is stale.

    The listing_changed signal is what the search wiring re-indexes on (app/signals.py).
    """
    send_listing_changed([listing_id])


def short_name(user: User) -> str:
    """How a reviewer is named in public: first name and initial ("Joan H."), never in full."""
    parts = (user.name or "").split()
    if not parts:
        return "Someone"
    return parts[0] if len(parts) == 1 else f"{parts[0]} {parts[-1][0]}."


def byline(review: Review) -> str:
    if review.by_delegate:
        return f"Written by {short_name(review.author)} on behalf of {short_name(review.holder)}"
    return f"Written by {short_name(review.holder)}"


# ---------------------------------------------------------------- integrity rules


def review_snapshot(
    as_of: datetime, provider_profile_ids: list[int] | None = None, window_days: int | None = None
) -> MarketSnapshot:
    """The review part of a MarketSnapshot: providers (with linked accounts) and their reviews.

    Hidden reviews are included: manipulation matters whether or not a moderator hid it.
    """
    days = window_days if window_days is not None else _settings().review_window_days
    query = select(Review).where(
        Review.created_at >= as_of - timedelta(days=days), Review.created_at <= as_of
    )
    profiles_q = select(ProviderProfile)
    if provider_profile_ids is not None:
        query = query.where(Review.provider_profile_id.in_(provider_profile_ids))
        profiles_q = profiles_q.where(ProviderProfile.id.in_(provider_profile_ids))
    rows = db.session.scalars(query.order_by(Review.id)).all()
    wanted = {r.provider_profile_id for r in rows} | set(provider_profile_ids or ())
    profiles = db.session.scalars(profiles_q.where(ProviderProfile.id.in_(wanted))).all()
    return MarketSnapshot(
        as_of=as_of,
        # The provider's own account is the link we know of; staff and family links come later.
        providers=tuple(
            SnapshotProvider(
                p.id,
                _KIND.get(p.provider_type, ProviderKind.COMMUNITY),
                p.display_name,
                frozenset({p.user_id}),
            )
            for p in profiles
        ),
        reviews=tuple(
            SnapshotReview(
                r.id,
                r.provider_profile_id,
                r.holder_id,
                r.author_id,
                r.by_delegate,
                r.created_at,
                r.overall,
                r.respect_dignity,
            )
            for r in rows
        ),
    )


def _already_found(finding: Finding, since: datetime) -> bool:
    events = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == FINDING_ACTION,
            AuditEvent.subject_type == finding.subject.kind,
            AuditEvent.subject_id == str(finding.subject.id),
            AuditEvent.occurred_at >= since,
        )
    ).all()
    return any(e.details.get("rule") == finding.rule for e in events)


def _run_review_rules(review: Review, now: datetime) -> list[Finding]:
    """Run the review rules for this review's provider and record new findings (audit log).

    A provider-level finding already recorded in the last burst period is not recorded again,
    so a run of low scores makes one finding a week, not one per review.
    """
    settings = _settings()
    # A second past `now` so the review just written falls inside the window [start, as_of).
    snapshot = review_snapshot(now + timedelta(seconds=1), [review.provider_profile_id])
    recorded = []
    for rule in review_rules.RULES:
        for finding in rule(snapshot, settings):
            if finding.subject.kind == "review" and finding.subject.id != review.id:
                continue  # about an older review: found when that one was written
            if finding.subject.kind != "review" and _already_found(
                finding, now - timedelta(days=settings.review_burst_days)
            ):
                continue
            audit.record(
                None,
                FINDING_ACTION,
                finding.subject.kind,
                finding.subject.id,
                details={
                    "rule": finding.rule,
                    "severity": finding.severity.value,
                    "action": decide_action(finding, settings).value,
                    "explanation": finding.explanation,
                    "numbers": dict(finding.numbers),
                    "review_id": review.id,
                },
                at=now,
            )
            recorded.append(finding)
    return recorded


def recent_findings(limit: int = 20) -> list[AuditEvent]:
    """The latest review findings, for the broker console."""
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == FINDING_ACTION)
            .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
            .limit(limit)
        )
    )


def count_reviews() -> int:
    return db.session.scalar(select(func.count()).select_from(Review)) or 0
