"""Reviews on the database: settled support only, once per booking or month, append-only."""

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from app.domain.access import DelegateKind, Role
from app.errors import Conflict, InvalidInput, NotFound, NotPermitted
from app.models import AuditEvent, Flag, Review, ReviewReport
from app.models.audit import AppendOnlyError
from app.services import bookings, ratings
from app.signals import listing_changed
from tests.booking_helpers import holder_with_budget, live_listing, one_off
from tests.review_helpers import (
    delegate_of,
    month_crossing_tuesday,
    scores,
    settled_one_off,
    settled_recurring,
)

pytestmark = pytest.mark.database


@pytest.fixture
def market(app_ctx, make_user):
    provider, listing = live_listing(make_user)
    holder, _ = holder_with_budget(make_user)
    return provider, listing, holder


@pytest.fixture
def council(app, monkeypatch):
    """Change council settings for one test."""

    def change(**values):
        monkeypatch.setitem(app.config, "COUNCIL", replace(app.config["COUNCIL"], **values))

    return change


def _actions(db_session) -> list[str]:
    return list(db_session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_review_of_settled_booking_is_recorded_audited_and_counted(market, db_session):
    provider, listing, holder = market
    booking = settled_one_off(provider, listing, holder)
    assert [c.booking.id for c in ratings.reviewable(holder)] == [booking.id]
    review = ratings.submit_review(holder, holder, booking.id, scores(5), "  Kind and on time. ")
    assert (review.overall, review.comment, review.by_delegate) == (5, "Kind and on time.", False)
    assert ratings.reviewable(holder) == []
    assert "review.written" in _actions(db_session)
    summary = ratings.rating_for_listing(listing.id)
    assert (summary.count, summary.mean, summary.distribution[5]) == (1, 5.0, 1)
    # Prior: the category mean (only this review, 5.0) weighted 5, so the average stays 5.0.
    assert summary.bayesian == pytest.approx(5.0)
    assert ratings.provider_summary(listing.profile_id).count == 1
    assert ratings.search_rating_fields(listing.id) == {"rating_mean": 5.0, "rating_count": 1}


def test_second_review_of_the_same_booking_is_refused_plainly(market):
    provider, listing, holder = market
    booking = settled_one_off(provider, listing, holder)
    ratings.submit_review(holder, holder, booking.id, scores())
    with pytest.raises(Conflict, match="already been reviewed"):
        ratings.submit_review(holder, holder, booking.id, scores(1))


def test_someone_elses_booking_is_not_found(market, make_user):
    provider, listing, holder = market
    booking = settled_one_off(provider, listing, holder)
    stranger, _ = holder_with_budget(make_user)
    with pytest.raises(NotFound):
        ratings.submit_review(stranger, stranger, booking.id, scores())


def test_support_not_yet_settled_cannot_be_reviewed(market):
    provider, listing, holder = market
    booking = bookings.request_booking(holder, holder, one_off(listing))
    bookings.accept(provider, booking.id)
    with pytest.raises(Conflict, match="delivered, confirmed and paid"):
        ratings.submit_review(holder, holder, booking.id, scores())
    assert ratings.reviewable(holder) == []


@pytest.mark.parametrize(
    "sheet, field",
    [
        (scores(overall=6), "overall"),
        (scores(reliable=0), "reliable"),
        ({**scores(), "listened": None}, "listened"),
        ({k: v for k, v in scores().items() if k != "value"}, "value"),
    ],
)
def test_bad_scores_name_the_field_and_nothing_is_saved(market, db_session, sheet, field):
    provider, listing, holder = market
    booking = settled_one_off(provider, listing, holder)
    with pytest.raises(InvalidInput) as err:
        ratings.submit_review(holder, holder, booking.id, sheet)
    assert err.value.field == field
    assert db_session.scalar(select(Review.id)) is None


def test_over_long_comment_is_refused(market):
    provider, listing, holder = market
    booking = settled_one_off(provider, listing, holder)
    with pytest.raises(InvalidInput) as err:
        ratings.submit_review(holder, holder, booking.id, scores(), "x" * 2001)
    assert err.value.field == "comment"
    ratings.submit_review(holder, holder, booking.id, scores(), "x" * 2000)


def test_nominated_person_writes_on_behalf_but_a_circle_member_cannot(market, make_user):
    provider, listing, holder = market
    booking = settled_one_off(provider, listing, holder)
    circle = delegate_of(make_user, holder, DelegateKind.CIRCLE)
    with pytest.raises(NotPermitted):
        ratings.submit_review(circle, holder, booking.id, scores())
    nominated = delegate_of(make_user, holder, DelegateKind.NOMINATED, shares=())
    review = ratings.submit_review(nominated, holder, booking.id, scores())
    assert review.by_delegate and review.author_id == nominated.id and review.holder_id == holder.id
    first = lambda name: name.split()[0]  # noqa: E731
    assert ratings.byline(review).startswith(f"Written by {first(nominated.name)} ")
    assert f"on behalf of {first(holder.name)} " in ratings.byline(review)


def test_recurring_support_is_reviewed_once_per_calendar_month(market):
    provider, listing, holder = market
    first = month_crossing_tuesday()
    booking = settled_recurring(provider, listing, holder, first, count=2)
    months = sorted(c.month for c in ratings.reviewable(holder))
    assert len(months) == 2 and months[0] != months[1]
    ratings.submit_review(holder, holder, booking.id, scores(), month=months[0])
    with pytest.raises(Conflict):
        ratings.submit_review(holder, holder, booking.id, scores(), month=months[0])
    with pytest.raises(InvalidInput) as err:
        ratings.submit_review(holder, holder, booking.id, scores())
    assert err.value.field == "month"
    with pytest.raises(Conflict):  # a month with no settled support
        ratings.submit_review(holder, holder, booking.id, scores(), month="2001-01")
    ratings.submit_review(holder, holder, booking.id, scores(), month=months[1])
    assert ratings.reviewable(holder) == []


def test_reviews_cannot_be_edited_or_deleted(market, db_session):
    provider, listing, holder = market
    booking = settled_one_off(provider, listing, holder)
    review = ratings.submit_review(holder, holder, booking.id, scores(1))
    review.overall = 5
    with pytest.raises(AppendOnlyError):
        db_session.flush()
    db_session.rollback()
    with pytest.raises(DBAPIError), db_session.begin_nested():
        db_session.execute(text("UPDATE reviews SET overall = 5"))
    with pytest.raises(DBAPIError), db_session.begin_nested():
        db_session.execute(text("DELETE FROM reviews"))
    assert db_session.scalar(select(Review.overall)) == 1


def test_provider_replies_once_and_only_to_their_own_reviews(market, make_user):
    provider, listing, holder = market
    booking = settled_one_off(provider, listing, holder)
    review = ratings.submit_review(holder, holder, booking.id, scores(2))
    other, _ = live_listing(make_user)
    with pytest.raises(NotFound):
        ratings.reply(other, review.id, "Not mine")
    with pytest.raises(InvalidInput):
        ratings.reply(provider, review.id, "   ")
    ratings.reply(provider, review.id, "Sorry, the bus was late. We have changed the rota.")
    with pytest.raises(Conflict, match="already replied"):
        ratings.reply(provider, review.id, "Another go")


def test_broker_hides_with_reason_reports_close_and_it_stops_counting(
    market, make_user, db_session
):
    provider, listing, holder = market
    booking = settled_one_off(provider, listing, holder)
    review = ratings.submit_review(holder, holder, booking.id, scores(1), "Her phone is 0700...")
    reader = make_user(Role.HOLDER)
    ratings.report(reader, review.id, "It has a phone number in it")
    with pytest.raises(Conflict):
        ratings.report(reader, review.id, "Again")
    assert [r.review.id for r in ratings.open_reports()] == [review.id]
    broker = make_user(Role.BROKER)
    with pytest.raises(NotPermitted):
        ratings.hide(reader, review.id, "personal_data", "Phone number")
    with pytest.raises(InvalidInput) as err:
        ratings.hide(broker, review.id, "boring", "Phone number")
    assert err.value.field == "reason"
    with pytest.raises(InvalidInput) as err:
        ratings.hide(broker, review.id, "personal_data", "  ")
    assert err.value.field == "note"
    ratings.hide(broker, review.id, "personal_data", "Gives a phone number")
    assert ratings.open_reports() == []
    report = db_session.scalar(select(ReviewReport))
    assert (report.outcome, report.closed_by_id) == ("hidden", broker.id)
    assert ratings.rating_for_listing(listing.id).count == 0
    assert ratings.reviews_for_listing(listing.id)[0].hidden.reason == "personal_data"
    with pytest.raises(Conflict):
        ratings.hide(broker, review.id, "abusive", "Again")
    assert {"review.reported", "review.hidden"} <= set(_actions(db_session))


def test_broker_keeps_a_reported_review(market, make_user):
    provider, listing, holder = market
    booking = settled_one_off(provider, listing, holder)
    review = ratings.submit_review(holder, holder, booking.id, scores(2), "Late twice.")
    ratings.report(provider, review.id, "This is unfair")
    broker = make_user(Role.BROKER)
    assert ratings.keep(broker, review.id, "An honest opinion") == 1
    assert ratings.open_reports() == []
    with pytest.raises(Conflict):
        ratings.keep(broker, review.id, "Nothing open")
    assert ratings.rating_for_listing(listing.id).count == 1


def test_search_is_told_after_a_review_is_added_or_hidden(market, make_user):
    provider, listing, holder = market
    booking = settled_one_off(provider, listing, holder)
    seen: list[int] = []

    def receiver(sender, listing_id):
        seen.append(listing_id)

    listing_changed.connect(receiver)
    try:
        review = ratings.submit_review(holder, holder, booking.id, scores())
        ratings.hide(make_user(Role.BROKER), review.id, "abusive", "Abusive words")
    finally:
        listing_changed.disconnect(receiver)
    assert seen == [listing.id, listing.id]


def test_bayesian_average_is_pulled_towards_the_category_mean(market, make_user):
    provider, listing, holder = market
    other_provider, other_listing = live_listing(make_user)
    ratings.submit_review(holder, holder, settled_one_off(provider, listing, holder).id, scores(5))
    for weeks, score in ((3, 1), (4, 2)):
        b = settled_one_off(other_provider, other_listing, holder, weeks_ago=weeks)
        ratings.submit_review(holder, holder, b.id, scores(score))
    prior = (5 + 1 + 2) / 3  # same category: every visible review's overall score
    summary = ratings.rating_for_listing(listing.id)
    assert summary.bayesian == pytest.approx((5 * prior + 5) / 6)
    assert summary.mean == 5.0 and summary.bayesian < 5.0
    # Search ranks by this very figure (same category prior and council weight).
    from app.services.search_listings import live_documents
    ranked_by = {d.listing_id: d.bayesian_rating for d in live_documents()}
    assert ranked_by[listing.id] == pytest.approx(summary.bayesian)
    both = ratings.ratings_for_listings([listing.id, other_listing.id])
    assert both == {
        listing.id: summary,
        other_listing.id: ratings.rating_for_listing(other_listing.id),
    }


def _findings(db_session, rule: str) -> list[AuditEvent]:
    return [
        e
        for e in db_session.scalars(select(AuditEvent).where(AuditEvent.action == "review.finding"))
        if e.details["rule"] == rule
    ]


def test_burst_of_five_star_reviews_is_found_once(market, make_user, db_session, council):
    council(review_burst_count=3)
    provider, listing, holder = market
    for weeks in (2, 3, 4, 5):
        b = settled_one_off(provider, listing, holder, weeks_ago=weeks)
        ratings.submit_review(holder, holder, b.id, scores(5))
    found = _findings(db_session, "five_star_burst")
    assert len(found) == 1  # found at the third, not recorded again at the fourth
    flagged = db_session.scalars(select(Flag).where(Flag.rule == "five_star_burst")).all()
    assert [(f.subject_kind, f.subject_id) for f in flagged] == [("provider", str(listing.profile_id))]
    assert found[0].subject_type == "provider" and found[0].subject_id == str(listing.profile_id)
    assert "five-star reviews" in found[0].details["explanation"]


def test_repeated_low_respect_scores_from_different_people_are_found(
    market, make_user, db_session, council
):
    council(low_dignity_count=2)
    provider, listing, holder = market
    other, _ = holder_with_budget(make_user)
    b1 = settled_one_off(provider, listing, holder)
    ratings.submit_review(holder, holder, b1.id, scores(3, respect_dignity=1))
    assert _findings(db_session, "low_respect_and_dignity") == []
    b2 = settled_one_off(provider, listing, other, weeks_ago=3)
    ratings.submit_review(other, other, b2.id, scores(3, respect_dignity=2))
    assert len(_findings(db_session, "low_respect_and_dignity")) == 1


def test_review_written_by_someone_linked_to_the_provider_is_found(market, make_user, db_session):
    provider, listing, holder = market
    # Settled before the provider acts for the holder: after, their bookings wait for a broker.
    booking = settled_one_off(provider, listing, holder)
    delegate_of(make_user, holder, DelegateKind.NOMINATED, shares=(), user=provider)
    review = ratings.submit_review(provider, holder, booking.id, scores(5))
    found = _findings(db_session, "review_by_linked_person")
    assert [(f.subject_type, f.subject_id) for f in found] == [("review", str(review.id))]
    assert found[0].details["severity"] == "high"
    assert ratings.recent_findings()[0].id == found[0].id
    # The broker's flag console has it at once, about this provider, with the explanation.
    (flag,) = db_session.scalars(select(Flag).where(Flag.rule == "review_by_linked_person"))
    assert (flag.subject_kind, flag.subject_id, flag.status) == ("review", str(review.id), "open")
    assert flag.provider_profile_id == listing.profile_id
    assert "should not count towards their rating" in flag.explanation


def test_review_snapshot_holds_the_review_facts_the_rules_need(market):
    provider, listing, holder = market
    booking = settled_one_off(provider, listing, holder)
    review = ratings.submit_review(holder, holder, booking.id, scores(4, respect_dignity=2))
    snap = ratings.review_snapshot(review.created_at + timedelta(seconds=1))
    (fact,) = snap.reviews
    assert (
        fact.id,
        fact.provider_id,
        fact.holder_id,
        fact.author_user_id,
        fact.overall,
        fact.respect_dignity,
        fact.by_delegate,
    ) == (review.id, listing.profile_id, holder.id, holder.id, 4, 2, False)
    assert snap.provider_by_id[listing.profile_id].user_ids == frozenset({provider.id})
    assert ratings.review_snapshot(review.created_at + timedelta(days=400)).reviews == ()


def _replied_and_reported(market, make_user):
    """A poor review whose public reply gives a phone number, and a report about the reply."""
    provider, listing, holder = market
    booking = settled_one_off(provider, listing, holder)
    review = ratings.submit_review(holder, holder, booking.id, scores(2), "Late twice.")
    ratings.reply(provider, review.id, "Ring me on 07700 900123 to talk about it.")
    ratings.report(make_user(Role.HOLDER), review.id, "The reply has a phone number in it")
    return review


def test_broker_hides_only_the_reply_and_the_review_keeps_counting(
    market, make_user, db_session
):
    provider, listing, holder = market
    review = _replied_and_reported(market, make_user)
    broker = make_user(Role.BROKER)
    ratings.hide_reply(broker, review.id, "personal_data", "Gives a phone number")
    assert ratings.open_reports() == []
    report = db_session.scalar(select(ReviewReport))
    assert (report.outcome, report.closed_by_id) == ("reply_hidden", broker.id)
    shown = ratings.reviews_for_listing(listing.id)[0]
    assert shown.hidden is None
    assert shown.reply.hidden.reason == "personal_data"
    summary = ratings.rating_for_listing(listing.id)
    assert (summary.count, summary.mean) == (1, 2)
    event = db_session.scalar(
        select(AuditEvent).where(AuditEvent.action == "review.reply_hidden")
    )
    assert (event.actor_id, event.on_behalf_of_id, event.subject_id) == (
        broker.id,
        None,
        str(review.id),
    )
    assert event.details["note"] == "Gives a phone number"


def test_a_hidden_reply_cannot_be_hidden_again_or_replaced(market, make_user):
    provider, _, _ = market
    review = _replied_and_reported(market, make_user)
    broker = make_user(Role.BROKER)
    ratings.hide_reply(broker, review.id, "personal_data", "Gives a phone number")
    with pytest.raises(Conflict, match="reply to this review is already hidden"):
        ratings.hide_reply(broker, review.id, "abusive", "Again")
    with pytest.raises(Conflict, match="hid your reply.*cannot write a new one"):
        ratings.reply(provider, review.id, "Sorry, here is a better reply.")


def test_only_a_broker_hides_a_reply_and_only_one_that_exists(market, make_user):
    provider, listing, holder = market
    review = _replied_and_reported(market, make_user)
    for someone in (provider, holder, make_user(Role.COUNCIL_ADMIN)):
        with pytest.raises(NotPermitted):
            ratings.hide_reply(someone, review.id, "personal_data", "Phone number")
    broker = make_user(Role.BROKER)
    with pytest.raises(InvalidInput) as err:
        ratings.hide_reply(broker, review.id, "boring", "Phone number")
    assert err.value.field == "reason"
    with pytest.raises(InvalidInput) as err:
        ratings.hide_reply(broker, review.id, "personal_data", " ")
    assert err.value.field == "note"
    quiet = ratings.submit_review(
        holder, holder, settled_one_off(provider, listing, holder, weeks_ago=3).id, scores(3)
    )
    with pytest.raises(Conflict, match="has not replied"):
        ratings.hide_reply(broker, quiet.id, "abusive", "Nothing to hide")
    with pytest.raises(NotFound):
        ratings.hide_reply(broker, 999_999, "abusive", "No such review")


def test_reply_hidings_cannot_be_edited_or_deleted(market, make_user, db_session):
    review = _replied_and_reported(market, make_user)
    hiding = ratings.hide_reply(make_user(Role.BROKER), review.id, "abusive", "Rude words")
    hiding.note = "Changed my mind"
    with pytest.raises(AppendOnlyError):
        db_session.flush()
    db_session.rollback()
    with pytest.raises(DBAPIError), db_session.begin_nested():
        db_session.execute(text("UPDATE reply_hidings SET reason = 'personal_data'"))
    with pytest.raises(DBAPIError), db_session.begin_nested():
        db_session.execute(text("DELETE FROM reply_hidings"))
    assert db_session.scalar(text("SELECT note FROM reply_hidings")) == "Rude words"
