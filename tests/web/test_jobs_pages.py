"""Job post and shortlist pages through the test client, without JavaScript: posting with plain
errors, providers replying, the holder comparing, shortlisting and closing, confirmation first."""

import re

import pytest
from sqlalchemy import func, select

from app.domain.access import DelegateKind, Role
from app.models.jobs import JobPost, JobReply, ShortlistEntry
from tests.jobs_helpers import provider_in
from tests.messaging_helpers import delegate

pytestmark = pytest.mark.database

JOB = {"category": "personal_care", "title": "Help getting up", "when": "Weekday mornings",
       "hours_per_week": "6", "district": "ls6", "max_rate": "18.00"}


@pytest.fixture
def market(app, make_user):
    with app.app_context():
        broker = make_user(Role.BROKER)
        alice, listing = provider_in(make_user, broker, name="Alice PA")
        bea, _ = provider_in(make_user, broker, name="Bea PA")
        return alice, listing.id, bea


def test_holder_posts_a_job_and_providers_reply_without_seeing_the_name(client, login, make_user, market,
                                                                        db_session):
    alice, listing_id, bea = market
    holder = login(make_user(Role.HOLDER, name="Ann Holder", home_district="LS6"))
    form = client.get("/my/jobs/new").get_data(as_text=True)
    assert 'value="LS6"' in form  # starts from the holder's district
    response = client.post("/my/jobs/new", data=JOB)
    job = db_session.scalar(select(JobPost))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/my/jobs/{job.id}")
    assert job.district == "LS6" and job.max_rate_pence == 1800
    login(alice)
    listing_page = client.get("/provider/jobs").get_data(as_text=True)
    assert f"J-{job.id}" in listing_page and "Ann Holder" not in listing_page
    client.post(f"/provider/jobs/{job.id}", data={"listing_id": str(listing_id),
                                                  "message": "I am free on weekday mornings."})
    login(bea)
    client.post(f"/provider/jobs/{job.id}", data={"listing_id": "", "message": "Experienced carer."})
    assert db_session.scalar(select(func.count(JobReply.id))) == 2
    login(holder)
    page = client.get(f"/my/jobs/{job.id}").get_data(as_text=True)
    assert "Alice PA" in page and "Bea PA" in page and "I am free on weekday mornings." in page
    assert f'href="/my/book/{listing_id}/how-often"' in page and f'href="/my/messages/new/{listing_id}"' in page
    first = db_session.scalar(select(JobReply).order_by(JobReply.id))
    client.post(f"/my/jobs/{job.id}/replies/{first.id}/shortlist")
    assert "Alice PA" in client.get("/my/shortlist").get_data(as_text=True)
    confirm = client.get(f"/my/jobs/{job.id}/close").get_data(as_text=True)
    assert "Has someone been found?" in confirm
    response = client.post(f"/my/jobs/{job.id}/close", data={"filled_by": str(first.id)})
    assert response.status_code == 302
    db_session.refresh(job)
    assert job.status == "filled"


def test_bad_job_post_keeps_what_was_typed_and_says_what_is_wrong(client, login_as, db_session):
    login_as(Role.HOLDER)
    page = client.post("/my/jobs/new", data={**JOB, "district": "LS6 1AB", "max_rate": "lots"}) \
        .get_data(as_text=True)
    assert "There is a problem" in page
    assert "Enter only the first part of the postcode, like LS6" in page or "Enter an amount" in page
    assert 'value="Help getting up"' in page
    assert db_session.scalar(select(func.count(JobPost.id))) == 0


def test_a_job_post_naming_a_district_not_in_use_says_so_beside_the_field(client, login_as, db_session):
    login_as(Role.HOLDER)
    page = client.post("/my/jobs/new", data={**JOB, "district": "ls30"}).get_data(as_text=True)
    beside = re.search(r'<p[^>]*id="district-error"[^>]*>(.*?)</p>', page, re.S)
    assert beside and "LS30 is not a postcode district in use" in beside.group(1)
    assert 'value="ls30"' in page and 'value="Help getting up"' in page
    assert db_session.scalar(select(func.count(JobPost.id))) == 0


def test_circle_member_cannot_post_jobs_or_keep_a_shortlist(client, login, make_user, app):
    with app.app_context():
        holder = make_user(Role.HOLDER)
        circle = delegate(make_user, holder, DelegateKind.CIRCLE, shares="bookings")
    login(circle)
    with client.session_transaction() as session:
        session["acting_for_holder_id"] = holder.id
    assert client.get("/my/jobs/new").status_code in (403, 404)
    assert client.get("/my/shortlist").status_code in (403, 404)


def test_saving_from_a_listing_and_removing_after_confirming(client, login, make_user, market, db_session):
    alice, listing_id, _ = market
    login(make_user(Role.HOLDER))
    page = client.get(f"/listings/{listing_id}").get_data(as_text=True)
    assert 'id="save-to-shortlist"' in page
    from app.services.providers import profile_of

    profile_id = profile_of(alice).id
    client.post("/my/shortlist/add", data={"profile_id": profile_id, "listing_id": listing_id})
    entry = db_session.scalar(select(ShortlistEntry))
    assert entry is not None and entry.listing_id == listing_id
    confirm = client.get(f"/my/shortlist/{entry.id}/remove").get_data(as_text=True)
    assert "Take Alice PA off the shortlist?" in confirm
    assert db_session.scalar(select(func.count(ShortlistEntry.id))) == 1  # nothing removed by looking
    client.post(f"/my/shortlist/{entry.id}/remove")
    assert db_session.scalar(select(func.count(ShortlistEntry.id))) == 0


def test_signed_out_visitors_see_no_save_button(client, market):
    _, listing_id, _ = market
    assert 'id="save-to-shortlist"' not in client.get(f"/listings/{listing_id}").get_data(as_text=True)


def test_a_broker_posts_a_job_for_a_holder_who_then_sees_it(client, login, make_user, market, db_session):
    holder = make_user(Role.HOLDER, name="Ann Holder", home_district="LS6")
    broker = login(make_user(Role.BROKER))
    assert 'id="post-job-for-holder"' in client.get(f"/broker/holders/{holder.id}").get_data(as_text=True)
    response = client.post(f"/broker/holders/{holder.id}/jobs/new", data=JOB)
    assert response.status_code == 302
    job = db_session.scalar(select(JobPost))
    assert job.holder_id == holder.id and job.posted_by_id == broker.id
    login(holder)
    assert "Help getting up" in client.get("/my/jobs").get_data(as_text=True)
