"""Review pages through the test client: rate your support, easy read, reply, report, moderation."""

import re

import pytest
from sqlalchemy import select

from app.domain.access import DelegateKind, Role
from app.models import Review
from app.services import ratings
from tests.booking_helpers import holder_with_budget, live_listing
from tests.review_helpers import delegate_of, scores, settled_one_off

pytestmark = pytest.mark.database


@pytest.fixture
def settled(app, db_session, make_user):
    with app.app_context():
        provider, listing = live_listing(make_user)
        holder, _ = holder_with_budget(make_user)
        booking = settled_one_off(provider, listing, holder)
    return provider, listing, holder, booking


def _form(**overrides):
    data = {k: str(v) for k, v in scores(4).items()}
    data["comment"] = ""
    data.update(overrides)
    return data


def _review_with(app, holder, booking, comment, overall=4):
    with app.test_request_context():
        return ratings.submit_review(holder, holder, booking.id, scores(overall), comment).id


def test_holder_rates_settled_support_and_sees_thanks(client, login, settled, db_session):
    provider, listing, holder, booking = settled
    login(holder)
    page = client.get("/my/reviews").get_data(as_text=True)
    assert f"/my/reviews/{booking.id}/new" in page and "one review for each calendar month" in page
    form = client.get(f"/my/reviews/{booking.id}/new").get_data(as_text=True)
    assert form.count('type="radio"') == 25 and "Treated me with respect and dignity" in form
    response = client.post(f"/my/reviews/{booking.id}/new", data=_form(comment="Lovely."))
    assert response.status_code == 302 and "/my/reviews/thanks/" in response.headers["Location"]
    thanks = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Thank you for your review" in thanks
    public = client.get(f"/providers/{listing.profile_id}").get_data(as_text=True)
    assert "Lovely." in public and "4.0 out of 5" in public and "from 1 review" in public
    listing_page = client.get(f"/listings/{listing.id}").get_data(as_text=True)
    assert "Lovely." in listing_page
    # Nothing left to review: the page says so instead of offering the same booking again.
    assert f"/my/reviews/{booking.id}/new" not in client.get("/my/reviews").get_data(as_text=True)


def test_missing_scores_and_long_comment_show_beside_fields_and_keep_what_was_typed(
    client, login, settled, db_session
):
    _, _, holder, booking = settled
    login(holder)
    data = _form(reliable="", value="9", comment="Kept words " + "x" * 2000)
    page = client.post(f"/my/reviews/{booking.id}/new", data=data).get_data(as_text=True)
    assert "There is a problem" in page
    assert "Choose a score for &#39;Reliable and on time&#39;" in page
    assert "Choose a score from 1 to 5 for &#39;Value for money&#39;" in page
    assert "Your comment must be 2,000 characters or fewer" in page
    assert "Kept words xxxx" in page
    assert re.search(r'value="4"\s+checked|checked[^>]*value="4"', page)
    assert db_session.scalar(select(Review.id)) is None


def test_second_review_for_the_same_booking_says_why(client, login, settled):
    _, _, holder, booking = settled
    login(holder)
    client.post(f"/my/reviews/{booking.id}/new", data=_form())
    response = client.get(f"/my/reviews/{booking.id}/new", follow_redirects=True)
    assert "already been reviewed" in response.get_data(as_text=True)
    again = client.post(f"/my/reviews/{booking.id}/new", data=_form(), follow_redirects=True)
    assert "already been reviewed" in again.get_data(as_text=True)


def test_someone_elses_booking_is_404_and_a_circle_member_is_refused(
    app, client, login, make_user, settled
):
    _, _, holder, booking = settled
    with app.app_context():
        stranger, _ = holder_with_budget(make_user)
        circle = delegate_of(make_user, holder, DelegateKind.CIRCLE)
    login(stranger)
    assert client.get(f"/my/reviews/{booking.id}/new").status_code == 404
    assert client.post(f"/my/reviews/{booking.id}/new", data=_form()).status_code == 404
    login(circle)
    assert client.get("/my/reviews").status_code == 403
    assert client.post(f"/my/reviews/{booking.id}/new", data=_form()).status_code == 403


def test_delegate_review_shows_as_written_on_behalf(app, client, login, make_user, settled):
    _, listing, holder, booking = settled
    with app.app_context():
        nominated = delegate_of(make_user, holder, DelegateKind.NOMINATED, shares=())
    login(nominated)
    for path in ("/my/", "/my/reviews"):  # their reviews, not the nominated person's own
        html = client.get(path).get_data(as_text=True).replace("&#39;", "'")
        assert f"Rate {holder.name}'s support" in html and "Rate your support" not in html, path
    form = client.get(f"/my/reviews/{booking.id}/new").get_data(as_text=True)
    assert "on behalf of" in form
    client.post(f"/my/reviews/{booking.id}/new", data=_form())
    page = client.get(f"/providers/{listing.profile_id}").get_data(as_text=True)
    public = page[page.index('id="reviews"') :]
    assert f"Written by {nominated.name.split()[0]} " in public
    assert f"on behalf of {holder.name.split()[0]} " in public
    assert holder.name not in public  # never a full name in public


def test_easy_read_form_has_faces_words_and_labels_without_script(client, login, settled):
    _, _, holder, booking = settled
    login(holder)
    page = client.get(f"/my/reviews/{booking.id}/easy-read").get_data(as_text=True)
    form = page[page.index('<form method="post" novalidate>') :]
    form = form[: form.index("</form>")]
    assert "<script" not in form
    assert form.count("<svg") == 25 and form.count('aria-hidden="true"') >= 25
    assert "Were they kind to me?" in form and "Very good" in form and "Very bad" in form
    for c in ("reliable", "respect_dignity", "listened", "value", "overall"):
        assert (
            f'<label class="govuk-label govuk-radios__label carefair-faces__label" for="{c}">'
            in form
        )
    response = client.post(f"/my/reviews/{booking.id}/easy-read", data=_form(overall=""))
    page = response.get_data(as_text=True)
    assert "Pick a face for: Was it good?" in page and 'href="#overall"' in page
    response = client.post(f"/my/reviews/{booking.id}/easy-read", data=_form())
    assert response.status_code == 302


def test_script_in_a_comment_is_shown_as_text(app, client, login, settled):
    _, listing, holder, booking = settled
    _review_with(app, holder, booking, '<script>alert("x")</script> & more')
    page = client.get(f"/providers/{listing.profile_id}").get_data(as_text=True)
    assert '<script>alert("x")</script>' not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; more" in page


def test_provider_sees_reviews_and_replies_once_in_public(app, client, login, settled):
    provider, listing, holder, booking = settled
    review_id = _review_with(app, holder, booking, "Late once.", overall=3)
    login(provider)
    page = client.get("/provider/reviews").get_data(as_text=True)
    assert "Late once." in page and f"/provider/reviews/{review_id}/reply" in page
    empty = client.post(f"/provider/reviews/{review_id}/reply", data={"text": ""})
    assert "Enter your reply" in empty.get_data(as_text=True)
    client.post(f"/provider/reviews/{review_id}/reply", data={"text": "Sorry, fixed the rota."})
    assert f"/provider/reviews/{review_id}/reply" not in client.get("/provider/reviews").get_data(
        as_text=True
    )
    again = client.post(f"/provider/reviews/{review_id}/reply", data={"text": "More"})
    assert "already replied" in again.get_data(as_text=True)
    public = client.get(f"/providers/{listing.profile_id}").get_data(as_text=True)
    assert "Sorry, fixed the rota." in public and "More" not in public


def test_report_then_broker_hides_and_public_sees_hidden_by_a_moderator(
    app, client, login, make_user, settled
):
    _, listing, holder, booking = settled
    review_id = _review_with(app, holder, booking, "Her address is 1 High Street.", overall=1)
    anonymous = client.get(f"/reviews/{review_id}/report")
    assert anonymous.status_code == 302 and "/sign-in" in anonymous.headers["Location"]
    login(make_user(Role.HOLDER))
    assert "Report this review" in client.get(f"/providers/{listing.profile_id}").get_data(
        as_text=True
    )
    assert "Say what is wrong" in client.post(
        f"/reviews/{review_id}/report", data={"reason": ""}
    ).get_data(as_text=True)
    client.post(f"/reviews/{review_id}/report", data={"reason": "It gives an address"})
    login(make_user(Role.BROKER))
    queue = client.get("/broker/reviews").get_data(as_text=True)
    assert f"/broker/reviews/{review_id}" in queue and "It gives an address" in queue
    detail = client.get(f"/broker/reviews/{review_id}").get_data(as_text=True)
    assert "Her address is 1 High Street." in detail
    refused = client.post(f"/broker/reviews/{review_id}/hide", data={"reason": "personal_data"})
    assert "Record the reason for your decision" in refused.get_data(as_text=True)
    done = client.post(
        f"/broker/reviews/{review_id}/hide",
        data={"reason": "personal_data", "note": "Gives a home address"},
    )
    assert done.status_code == 302
    assert "No reviews are waiting" in client.get("/broker/reviews").get_data(as_text=True)
    public = client.get(f"/providers/{listing.profile_id}").get_data(as_text=True)
    assert "Hidden by a moderator" in public and "High Street" not in public
    assert "No reviews yet." in public  # a hidden review no longer counts


def test_broker_keeps_a_review_with_a_reason(app, client, login, make_user, settled):
    provider, _, holder, booking = settled
    review_id = _review_with(app, holder, booking, "Not great.", overall=2)
    with app.test_request_context():
        ratings.report(provider, review_id, "Unfair")
    login(make_user(Role.BROKER))
    missing = client.post(f"/broker/reviews/{review_id}/keep", data={"keep-note": ""})
    assert "Record the reason for your decision" in missing.get_data(as_text=True)
    done = client.post(f"/broker/reviews/{review_id}/keep", data={"keep-note": "Fair comment"})
    assert done.status_code == 302
    assert "Not great." in client.get(f"/broker/reviews/{review_id}").get_data(as_text=True)


def test_dashboards_link_to_reviews(client, login, make_user, settled):
    provider, _, holder, _ = settled
    login(holder)
    assert "/my/reviews" in client.get("/my/").get_data(as_text=True)
    login(provider)
    assert "/provider/reviews" in client.get("/provider/").get_data(as_text=True)
    login(make_user(Role.BROKER))
    assert "/broker/reviews" in client.get("/broker/").get_data(as_text=True)


def _review_with_reply(app, provider, holder, booking, reply="Ring me on 07700 900123."):
    review_id = _review_with(app, holder, booking, "Late twice.", overall=2)
    with app.test_request_context():
        ratings.reply(provider, review_id, reply)
        ratings.report(holder, review_id, "The reply gives a phone number")
    return review_id


def test_broker_hides_a_reply_the_public_no_longer_sees_it_and_the_rating_stays(
    app, client, login, make_user, settled
):
    provider, listing, holder, booking = settled
    review_id = _review_with_reply(app, provider, holder, booking)
    login(make_user(Role.BROKER))
    detail = client.get(f"/broker/reviews/{review_id}").get_data(as_text=True)
    assert "Hide the provider's reply" in detail and "Keep both the review and the reply" in detail
    missing = client.post(
        f"/broker/reviews/{review_id}/hide-reply",
        data={"reply-reason": "personal_data", "reply-note": ""},
    ).get_data(as_text=True)
    assert "Record the reason for your decision" in missing
    assert 'value="personal_data" checked' in missing  # what was chosen is kept
    done = client.post(
        f"/broker/reviews/{review_id}/hide-reply",
        data={"reply-reason": "personal_data", "reply-note": "Gives a phone number"},
    )
    assert done.status_code == 302
    assert "No reviews are waiting" in client.get("/broker/reviews").get_data(as_text=True)
    detail = client.get(f"/broker/reviews/{review_id}").get_data(as_text=True)
    assert "reply hidden (Gives a phone number)" in detail
    again = client.post(
        f"/broker/reviews/{review_id}/hide-reply",
        data={"reply-reason": "abusive", "reply-note": "Again"},
    ).get_data(as_text=True)
    assert "The provider&#39;s reply to this review is already hidden." in again
    public = client.get(f"/providers/{listing.profile_id}").get_data(as_text=True)
    assert "07700 900123" not in public
    assert "Late twice." in public and "was hidden by a moderator" in public
    assert "2.0 out of 5</strong> from 1 review" in public


def test_provider_sees_why_their_reply_was_hidden_and_cannot_reply_again(
    app, client, login, make_user, settled
):
    provider, _, holder, booking = settled
    review_id = _review_with_reply(app, provider, holder, booking)
    with app.test_request_context():
        ratings.hide_reply(make_user(Role.BROKER), review_id, "personal_data", "Phone number")
    login(provider)
    page = client.get("/provider/reviews").get_data(as_text=True)
    assert "A moderator hid your reply" in page and "Phone number" in page
    assert "You cannot write a new reply to this review" in page
    assert f"/provider/reviews/{review_id}/reply" not in page
    refused = client.post(f"/provider/reviews/{review_id}/reply", data={"text": "A new reply"})
    assert "so you cannot write a new one" in refused.get_data(as_text=True)


def test_only_brokers_can_hide_a_reply_and_only_when_there_is_one(
    app, client, login, make_user, settled
):
    provider, listing, holder, booking = settled
    review_id = _review_with_reply(app, provider, holder, booking)
    data = {"reply-reason": "abusive", "reply-note": "Rude"}
    for someone in (provider, holder):
        login(someone)
        assert client.post(f"/broker/reviews/{review_id}/hide-reply", data=data).status_code == 403
    assert "07700 900123" in client.get(f"/providers/{listing.profile_id}").get_data(as_text=True)
    login(make_user(Role.BROKER))
    assert "07700 900123" in client.get(f"/broker/reviews/{review_id}").get_data(as_text=True)
    with app.app_context():
        other_booking = settled_one_off(provider, listing, holder, weeks_ago=3)
    quiet = _review_with(app, holder, other_booking, "")
    detail = client.get(f"/broker/reviews/{quiet}").get_data(as_text=True)
    assert "Hide the provider's reply" not in detail
