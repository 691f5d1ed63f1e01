"""Job posts and shortlists on the database: who is told and when, replies, closing, privacy,
the shortlist's rules and comparison, and brokers told of plan proposals."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import clock
from app.domain.access import DelegateKind, Role
from app.errors import Conflict, InvalidInput, NotFound
from app.models import AuditEvent, Notification
from app.models.jobs import JobNotice, JobPost, JobReply, ShortlistEntry
from app.services import budgets, jobs, shortlists
from tests.jobs_helpers import job_input, provider_in
from tests.messaging_helpers import delegate

pytestmark = pytest.mark.database


@pytest.fixture
def broker(app_ctx, make_user):
    return make_user(Role.BROKER)


@pytest.fixture
def holder(app_ctx, make_user):
    return make_user(Role.HOLDER, name="Ann Holder", home_district="LS6")


def _told(job_id):
    from app.extensions import db

    return set(db.session.scalars(select(JobNotice.profile_id).where(JobNotice.job_id == job_id)))


def _inbox(user, event):
    from app.extensions import db

    return db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.event == event.value)) or 0


def test_posting_tells_matching_providers_only(holder, broker, make_user):
    near, _ = provider_in(make_user, broker, name="Near")
    far, _ = provider_in(make_user, broker, name="Far", districts="SY1")
    dear, _ = provider_in(make_user, broker, name="Dear", price="25.00")
    urdu, _ = provider_in(make_user, broker, name="Urdu speaker", languages=("English", "Urdu"))
    man, _ = provider_in(make_user, broker, name="Man", gender="Man", languages=("Urdu",))
    job = jobs.post(holder, holder, job_input(languages=("Urdu",), preferred_gender="woman"))
    assert _told(job.id) == {_profile(urdu)}
    assert _inbox(urdu, jobs.Event.JOB_MATCHED) == 1
    assert _inbox(near, jobs.Event.JOB_MATCHED) == 0
    assert job.status == "open"
    del far, dear, man


def _profile(user):
    from app.services.providers import profile_of

    return profile_of(user).id


def test_notices_go_out_in_turns_and_the_next_turn_waits_for_its_time(holder, broker, make_user, app):
    app.config["COUNCIL"] = app.config["COUNCIL"].__class__(job_notice_batch=2, job_notice_turn_hours=24,
                                                            job_enough_replies=5)
    try:
        for n in range(5):
            provider_in(make_user, broker, name=f"PA {n}")
        start = clock.now()
        with clock.frozen(start):
            job = jobs.post(holder, holder, job_input())
        assert len(_told(job.id)) == 2
        with clock.frozen(start + timedelta(hours=23)):
            assert jobs.run_due() == 0
        with clock.frozen(start + timedelta(hours=25)):
            assert jobs.run_due() == 2
            assert jobs.run_due() == 0  # a second run at once changes nothing
        assert len(_told(job.id)) == 4
        with clock.frozen(start + timedelta(hours=50)):
            assert jobs.run_due() == 1
        with clock.frozen(start + timedelta(hours=80)):
            assert jobs.run_due() == 0
        assert len(_told(job.id)) == 5
    finally:
        app.config["COUNCIL"] = app.config["COUNCIL"].__class__()


def test_the_next_job_goes_first_to_providers_not_told_recently(holder, broker, make_user, app):
    app.config["COUNCIL"] = app.config["COUNCIL"].__class__(job_notice_batch=2)
    try:
        for n in range(4):
            provider_in(make_user, broker, name=f"PA {n}")
        first = jobs.post(holder, holder, job_input())
        second = jobs.post(holder, holder, job_input(title="Help with shopping"))
        assert _told(first.id).isdisjoint(_told(second.id))
    finally:
        app.config["COUNCIL"] = app.config["COUNCIL"].__class__()


def test_a_provider_sees_a_job_only_once_told(holder, broker, make_user):
    told, _ = provider_in(make_user, broker, name="Told")
    untold, _ = provider_in(make_user, broker, name="Untold", districts="SY1")
    job = jobs.post(holder, holder, job_input())
    with pytest.raises(NotFound):
        jobs.job_for_provider(untold, job.id)
    assert jobs.job_for_provider(told, job.id) == (job, None)
    assert [j.id for j, _ in jobs.jobs_for_provider(told)] == [job.id]
    assert jobs.jobs_for_provider(untold) == []


def test_replies_reach_the_holder_and_closing_tells_every_provider_who_replied(holder, broker, make_user):
    a, listing_a = provider_in(make_user, broker, name="Alice PA")
    b, _ = provider_in(make_user, broker, name="Bea PA")
    job = jobs.post(holder, holder, job_input())
    reply_a = jobs.reply(a, job.id, "I live nearby and am free on weekday mornings.", listing_a.id)
    jobs.reply(b, job.id, "I have five years' experience of personal care.")
    with pytest.raises(Conflict):
        jobs.reply(b, job.id, "Again")
    assert _inbox(holder, jobs.Event.JOB_REPLY) == 2
    closed = jobs.close(holder, holder, job.id, filled_by_reply_id=reply_a.id)
    assert closed.status == "filled" and closed.filled_by_profile_id == _profile(a)
    assert _inbox(a, jobs.Event.JOB_CLOSED) == 1 and _inbox(b, jobs.Event.JOB_CLOSED) == 1
    with pytest.raises(Conflict):
        jobs.reply(a, job.id, "Late")
    with pytest.raises(Conflict):
        jobs.close(holder, holder, job.id)


def test_a_reply_must_offer_one_of_the_providers_own_services(holder, broker, make_user):
    a, _ = provider_in(make_user, broker, name="Alice PA")
    _, other_listing = provider_in(make_user, broker, name="Bea PA")
    job = jobs.post(holder, holder, job_input())
    with pytest.raises(InvalidInput) as refused:
        jobs.reply(a, job.id, "Hello", other_listing.id)
    assert refused.value.field == "listing_id"
    from app.extensions import db
    assert db.session.scalar(select(func.count(JobReply.id))) == 0


def test_bad_job_input_is_refused_with_the_field_and_nothing_written(holder):
    from app.extensions import db

    for bad, field in [(job_input(district="LS6 1AB"), "district"), (job_input(title=" "), "title"),
                       (job_input(max_rate_pence=0), "max_rate"), (job_input(hours_per_week=0), "hours_per_week"),
                       (job_input(category="gardening"), "category"),
                       (job_input(category="getting_out", preferred_gender="man"), "preferred_gender")]:
        with pytest.raises(InvalidInput) as refused:
            jobs.post(holder, holder, bad)
        assert refused.value.field == field
    assert db.session.scalar(select(func.count(JobPost.id))) == 0


def test_a_job_post_naming_a_district_not_in_use_is_refused_by_name(holder, broker, make_user):
    from app.extensions import db

    provider_in(make_user, broker, name="Near", districts="LS6")
    for typed, message in [("ls30", "LS30 is not a postcode district in use"),
                           ("QQ1", "QQ1 is not a postcode district in the UK")]:
        with pytest.raises(InvalidInput) as refused:
            jobs.post(holder, holder, job_input(district=typed))
        assert refused.value.field == "district" and refused.value.message.startswith(message)
    assert db.session.scalar(select(func.count(JobPost.id))) == 0
    assert db.session.scalar(select(func.count(JobNotice.id))) == 0
    assert jobs.post(holder, holder, job_input(district=" ls6 ")).district == "LS6"


def test_people_who_act_for_the_holder_may_post_but_a_circle_member_may_not(holder, make_user):
    nominated = delegate(make_user, holder, DelegateKind.NOMINATED)
    circle = delegate(make_user, holder, DelegateKind.CIRCLE, shares="bookings")
    stranger = make_user(Role.HOLDER)
    job = jobs.post(nominated, holder, job_input())
    audit = db_audit("job.posted")
    assert audit.actor_id == nominated.id and audit.on_behalf_of_id == holder.id
    for outsider in (circle, stranger):
        with pytest.raises(NotFound):
            jobs.post(outsider, holder, job_input())
        with pytest.raises(NotFound):
            jobs.job_for_holder(outsider, holder, job.id)


def db_audit(action):
    from app.extensions import db

    return db.session.scalar(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id.desc()))


def test_shortlist_saves_notes_compares_and_removes(holder, broker, make_user):
    a, listing_a = provider_in(make_user, broker, name="Alice PA")
    b, _ = provider_in(make_user, broker, name="Bea PA", districts="LS12")
    entry = shortlists.add(holder, holder, profile_id=_profile(a), listing_id=listing_a.id, note="Kind on the phone")
    shortlists.add(holder, holder, profile_id=_profile(b))
    with pytest.raises(Conflict):
        shortlists.add(holder, holder, profile_id=_profile(a), listing_id=listing_a.id)
    rows = shortlists.compare(holder, holder)
    assert [r.name for r in rows] == ["Alice PA", "Bea PA"]
    assert rows[0].price == "£16.50 per hour" and rows[0].distance == "Works in LS6"
    assert rows[1].distance == "Works nearby in the LS area"
    assert rows[0].entry.note == "Kind on the phone"
    shortlists.update_note(holder, holder, entry.id, "Call back Tuesday")
    assert shortlists.remove(holder, holder, entry.id) == "Alice PA"
    assert [r.name for r in shortlists.compare(holder, holder)] == ["Bea PA"]
    assert db_audit("shortlist.removed").actor_id == holder.id
    # Providers are never told they were shortlisted.
    assert _inbox(a, jobs.Event.JOB_MATCHED) == 0
    from app.extensions import db
    assert db.session.scalar(select(func.count(Notification.id)).where(Notification.user_id == a.id)) == 0


def test_shortlist_refuses_others_hidden_listings_and_long_notes(holder, broker, make_user):
    a, listing_a = provider_in(make_user, broker, name="Alice PA")
    _, listing_b = provider_in(make_user, broker, name="Bea PA")
    stranger = make_user(Role.HOLDER)
    circle = delegate(make_user, holder, DelegateKind.CIRCLE, shares="bookings")
    with pytest.raises(NotFound):
        shortlists.add(holder, holder, profile_id=_profile(a), listing_id=listing_b.id)
    with pytest.raises(InvalidInput):
        shortlists.add(holder, holder, profile_id=_profile(a), note="x" * 501)
    for outsider in (stranger, circle):
        with pytest.raises(NotFound):
            shortlists.add(outsider, holder, profile_id=_profile(a))
    entry = shortlists.add(holder, holder, profile_id=_profile(a))
    with pytest.raises(NotFound):
        shortlists.remove(stranger, stranger, entry.id)
    from app.extensions import db
    assert db.session.scalar(select(func.count(ShortlistEntry.id))) == 1


def test_a_plan_proposal_tells_every_active_broker(holder, make_user):
    first, second = make_user(Role.BROKER), make_user(Role.BROKER)
    make_user(Role.BROKER, active=False)
    budgets.save_plan(holder.id, "Seeing friends", "Get out twice a week", {"personal_assistant": 500_000},
                      actor=make_user(Role.COUNCIL_ADMIN))
    budgets.save_plan(holder.id, "Seeing friends", "Get out twice a week", {"personal_assistant": 600_000},
                      actor=holder)
    assert _inbox(first, jobs.Event.PLAN_CHANGES_WAITING) == 1
    assert _inbox(second, jobs.Event.PLAN_CHANGES_WAITING) == 1


def test_a_provider_whose_checks_ran_out_no_longer_sees_or_answers_the_job(holder, broker, make_user):
    """A job post says where the person lives and what personal care they need: it stays with
    vetted providers who offer that help, not with everyone ever told about it."""
    from datetime import date

    from app.services import vetting

    lapsed, _ = provider_in(make_user, broker, name="Lapsed PA")
    answered = jobs.post(holder, holder, job_input())
    waiting = jobs.post(holder, holder, job_input(title="Help with shopping"))
    jobs.reply(lapsed, answered.id, "I can help on weekday mornings.")
    assert {j.id for j, _ in jobs.jobs_for_provider(lapsed)} == {answered.id, waiting.id}

    vetting.expire(on=date.today().replace(year=date.today().year + 30))  # every check has run out

    assert jobs.jobs_for_provider(lapsed) == []
    with pytest.raises(NotFound):
        jobs.job_for_provider(lapsed, waiting.id)
    with pytest.raises(NotFound):
        jobs.reply(lapsed, waiting.id, "Me too")
    # Taking back a reply needs no vetting.
    assert jobs.withdraw(lapsed, answered.id).status == "withdrawn"


def test_a_broker_may_post_a_job_for_the_holder_but_not_read_or_change_their_shortlist(
        holder, broker, make_user):
    a, _ = provider_in(make_user, broker, name="Alice PA")
    entry = shortlists.add(holder, holder, profile_id=_profile(a), note="Not sure about weekends")
    assert jobs.post(broker, holder, job_input()).holder_id == holder.id
    with pytest.raises(NotFound):
        shortlists.entries(broker, holder)
    with pytest.raises(NotFound):
        shortlists.compare(broker, holder)
    with pytest.raises(NotFound):
        shortlists.update_note(broker, holder, entry.id, "Seen by the broker")
    with pytest.raises(NotFound):
        shortlists.remove(broker, holder, entry.id)
    assert [e.note for e in shortlists.entries(holder, holder)] == ["Not sure about weekends"]


def test_a_provider_whose_payouts_a_broker_holds_is_not_told_and_takes_no_place_in_the_turn(
        holder, broker, make_user, app):
    from app.domain.flags import Effects
    from app.extensions import db
    from app.services import restrictions
    from app.services.providers import profile_of

    held, _ = provider_in(make_user, broker, name="Held PA")
    free, _ = provider_in(make_user, broker, name="Free PA")
    restrictions.apply(profile_of(held), Effects(hold_payouts=True), actor=broker, flag=None)
    db.session.commit()
    job = jobs.post(holder, holder, job_input())
    assert _told(job.id) == {_profile(free)}
    assert _inbox(held, jobs.Event.JOB_MATCHED) == 0


def test_a_job_cannot_be_filled_by_a_reply_its_provider_took_back(holder, broker, make_user):
    a, _ = provider_in(make_user, broker, name="Alice PA")
    b, _ = provider_in(make_user, broker, name="Bea PA")
    job = jobs.post(holder, holder, job_input())
    taken_back = jobs.reply(a, job.id, "I could do mornings.")
    standing = jobs.reply(b, job.id, "I can do mornings.")
    jobs.withdraw(a, job.id)
    with pytest.raises(InvalidInput) as refused:
        jobs.close(holder, holder, job.id, filled_by_reply_id=taken_back.id)
    assert refused.value.field == "filled_by" and job.status == "open"
    assert jobs.close(holder, holder, job.id, filled_by_reply_id=standing.id).filled_by_profile_id == _profile(b)
