"""Booking in short steps from the provider's free time: how often, when (free slots only),
check with one price and what is left (matching the budget page), send; easy read too."""

import re
from datetime import timedelta
from urllib.parse import quote

import pytest
from sqlalchemy import select

from app import clock
from app.models import Booking
from app.services import bookings, free_time
from tests.booking_helpers import at, holder_with_budget, live_listing, next_weekday, one_off

pytestmark = pytest.mark.database


@pytest.fixture
def market(app, db_session, make_user):
    with app.app_context():
        provider, listing = live_listing(make_user)  # weekdays 08:00-18:00, 2 hours minimum
        holder, _ = holder_with_budget(make_user)
    return provider, listing, holder


def _slots(html: str) -> list[str]:
    return re.findall(r'name="start" type="radio" value="([^"]+)"', html)


def test_a_holder_books_weekly_support_from_free_slots_in_three_steps(
        client, login, market, db_session):
    provider, listing, holder = market
    login(holder)
    listing_page = client.get(f"/listings/{listing.id}").get_data(as_text=True)
    assert 'id="free-slots"' in listing_page
    assert f'href="/my/book/{listing.id}/how-often"' in listing_page

    # Step 1: nothing chosen is an error beside the question, not a stack trace.
    page = client.get(f"/my/book/{listing.id}/how-often?next=1&minutes=120")
    assert "Choose once or every week" in page.get_data(as_text=True)
    response = client.get(f"/my/book/{listing.id}/how-often?next=1&often=weekly&weeks=4"
                          "&minutes=120")
    assert response.status_code == 302 and "/when?" in response.headers["Location"]

    # Step 2: only free times are offered; pick the first.
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    starts = _slots(page)
    assert len(starts) >= 10
    step3 = client.get(f"/my/book/{listing.id}/when?often=weekly&weeks=4&minutes=120&next=1"
                       f"&start={quote(starts[0])}")
    assert step3.status_code == 302 and "/check?" in step3.headers["Location"]

    # Step 3: one price and one "left after this" that matches the budget page's figure.
    check = client.get(step3.headers["Location"]).get_data(as_text=True)
    assert 'id="price"><strong>£132.00</strong>' in check  # 4 visits x 2 hours x £16.50
    left = re.search(r'id="left-after"><strong>(£[\d,.]+)</strong>', check).group(1)
    budget = client.get("/my/budget").get_data(as_text=True)
    available_now = re.search(r'id="available">(£[\d,.]+)<', budget).group(1)
    assert available_now == "£1,000.00" and left == "£868.00"
    assert 'href="/my/book/' in check and "Change" in check

    form = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">', check))
    form["notes"] = "Please ring the bell twice"
    sent = client.post(f"/my/book/{listing.id}/check", data=form)
    assert sent.status_code == 302
    booking = db_session.scalar(select(Booking))
    assert booking.kind == "recurring" and len(booking.sessions) == 4
    assert booking.sessions[0].start_at.isoformat() == starts[0].replace("+00:00", "+00:00")
    assert booking.notes == "Please ring the bell twice"
    # The slot just booked is no longer offered.
    again = client.get(f"/my/book/{listing.id}/when?often=once&minutes=120").get_data(as_text=True)
    assert starts[0] not in _slots(again)


def test_a_booked_visit_is_not_offered_as_free(app, market):
    provider, listing, holder = market
    with app.app_context():
        first = free_time.next_free(listing, limit=1)[0]
        day = first.start
        taken = bookings.request_booking(holder, holder, bookings.BookingInput(
            listing_id=listing.id, kind="one_off", start=first.start, end=first.end))
        assert taken.state == "requested"  # a request holds its slot until answered
        offered = [s.start for s in free_time.next_free(listing, limit=40)]
        assert day not in offered
        assert all(abs(s - day) >= timedelta(hours=2, minutes=30) for s in offered
                   if s.date() == day.date())


def test_the_easy_read_check_has_pictures_and_the_same_figures(client, login, market, app):
    _, listing, holder = market
    login(holder)
    with clock.frozen(clock.now()), app.app_context():
        start = free_time.next_free(listing, limit=1)[0].start
        url = (f"/my/book/{listing.id}/check?often=once&minutes=120&start={quote(start.isoformat())}")
        standard = client.get(url).get_data(as_text=True)
        easy = client.get(url + "&easy=1").get_data(as_text=True)
    assert "Is this right?" in easy and easy.count('class="carefair-picture"') == 4
    assert "It costs <strong>£33.00</strong>" in easy
    assert "you have <strong>£967.00</strong> left in your budget" in easy
    assert 'id="price"><strong>£33.00</strong>' in standard


def test_a_time_that_is_no_longer_free_is_said_plainly_on_the_check_page(
        client, login, market, app):
    provider, listing, holder = market
    with app.app_context():
        booking = bookings.request_booking(holder, holder, one_off(listing, day=next_weekday(2)))
        taken = booking.sessions[0].start_at
    login(holder)
    page = client.get(f"/my/book/{listing.id}/check?often=once&minutes=120"
                      f"&start={quote(taken.isoformat())}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "There is a problem" in html
    assert 'id="send"' not in html


def _hidden(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">', html))


def test_a_visit_shorter_than_the_provider_takes_is_named_as_that_at_step_one(
        client, login, market, db_session):
    _, listing, holder = market
    login(holder)
    page = client.get(f"/my/book/{listing.id}/how-often?next=1&often=once&minutes=30")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Choose how long each visit lasts" not in html
    assert ("Each visit is at least 2 hours with this provider. Half an hour or an hour is "
            "only for a free meet-and-greet") in html
    # The same half hour is right for a meet-and-greet.
    meet = client.get(f"/my/book/{listing.id}/how-often?next=1&often=meet&minutes=30")
    assert meet.status_code == 302 and "/when?" in meet.headers["Location"]


def test_a_weekly_link_without_the_number_of_weeks_goes_back_to_step_one(
        client, login, market, db_session):
    _, listing, holder = market
    login(holder)
    when = client.get(f"/my/book/{listing.id}/when?often=weekly&minutes=120")
    assert when.status_code == 302 and "/how-often?" in when.headers["Location"]
    start = quote(at(next_weekday(2), 10).isoformat())
    check = client.get(f"/my/book/{listing.id}/check?often=weekly&minutes=120&start={start}")
    assert check.status_code == 302 and "/how-often?" in check.headers["Location"]
    sent = client.post(f"/my/book/{listing.id}/check?often=weekly&minutes=120&start={start}")
    assert sent.status_code == 302 and "/how-often?" in sent.headers["Location"]
    assert db_session.scalar(select(Booking).where(Booking.listing_id == listing.id)) is None


def test_someone_acting_for_the_holder_is_told_whose_budget_it_is(
        client, login, market, make_user, db_session):
    from app.domain.access import DelegateKind
    from tests.messaging_helpers import delegate

    _, listing, holder = market
    login(delegate(make_user, holder, DelegateKind.AUTHORISED))
    step1 = client.get(f"/my/book/{listing.id}/how-often").get_data(as_text=True)
    assert f"How often does {holder.name} need support?" in step1
    slot = _slots(client.get(f"/my/book/{listing.id}/when?often=once&minutes=120")
                  .get_data(as_text=True))[0]
    base = f"/my/book/{listing.id}/check?often=once&minutes=120&start={quote(slot)}"
    check = client.get(base).get_data(as_text=True).replace("&#39;", "'")
    assert f"Left in {holder.name}'s budget after this" in check
    assert "Left in your budget" not in check
    easy = client.get(base + "&easy=1").get_data(as_text=True)
    assert f"After this, {holder.name} has" in easy and "left in their budget" in easy
    assert f"will help {holder.name} with" in easy and "will help you" not in easy


def test_later_free_times_are_a_link_away_at_step_two(client, login, market, db_session):
    _, listing, holder = market
    login(holder)
    base = f"/my/book/{listing.id}/when?often=weekly&weeks=4&minutes=120"
    first = client.get(base).get_data(as_text=True)
    shown = _slots(first)
    assert len(shown) == 24 and 'id="later-times"' in first and "Earlier times" not in first
    later_href = re.search(r'href="([^"]+)" id="later-times"', first).group(1).replace("&amp;", "&")
    second = client.get(later_href).get_data(as_text=True)
    more = _slots(second)
    assert more and min(more) > max(shown)  # the times after the first page, not the same ones
    assert "Earlier times" in second and 'name="later" value="1"' in second
    # A later time is chosen like any other.
    chosen = client.get(f"{later_href}&next=1&start={quote(more[-1])}")
    assert chosen.status_code == 302 and "/check?" in chosen.headers["Location"]


def test_steps_one_and_two_have_an_easy_read_version_with_pictures(client, login, market):
    _, listing, holder = market
    login(holder)
    standard = client.get(f"/my/book/{listing.id}/how-often").get_data(as_text=True)
    assert f'href="/my/book/{listing.id}/how-often?easy=1"' in standard
    assert 'class="carefair-picture"' not in standard
    easy = client.get(f"/my/book/{listing.id}/how-often?easy=1").get_data(as_text=True)
    assert "How often?" in easy and easy.count('class="carefair-picture"') == 3
    assert "Meet first. It is free." in easy and "See the standard version" in easy
    # The easy version is kept from step to step.
    step2 = client.get(f"/my/book/{listing.id}/how-often?easy=1&next=1&often=once&minutes=120")
    assert "easy=1" in step2.headers["Location"]
    when = client.get(step2.headers["Location"]).get_data(as_text=True)
    assert "<h1 class=\"govuk-fieldset__heading\">When?</h1>" in when
    assert when.count('class="carefair-picture"') == 1 and _slots(when)
    assert 'name="easy" value="1"' in when


def test_a_free_meet_and_greet_goes_through_the_steps(client, login, market, db_session):
    _, listing, holder = market
    login(holder)
    # Asked for longer than an hour, a meet-and-greet is kept to the hour step 1 promised.
    step2 = client.get(f"/my/book/{listing.id}/how-often?next=1&often=meet&minutes=120")
    assert "minutes=60" in step2.headers["Location"]
    when = client.get(step2.headers["Location"]).get_data(as_text=True)
    assert "When should you meet?" in when
    start = _slots(when)[0]
    check = client.get(f"/my/book/{listing.id}/check?often=meet&minutes=60"
                       f"&start={quote(start)}").get_data(as_text=True)
    assert 'id="price"><strong>Free</strong>' in check
    assert re.search(r'id="left-after"><strong>£1,000.00</strong>', check)
    assert client.post(f"/my/book/{listing.id}/check", data=_hidden(check)).status_code == 302
    booking = db_session.scalar(select(Booking))
    assert booking.kind == "meet_and_greet" and booking.total_pence == 0
    assert (booking.sessions[0].end_at - booking.sessions[0].start_at) == timedelta(hours=1)


@pytest.fixture
def group(app, db_session, make_user):
    from app.domain.access import Role
    from app.domain.listings import Category, Slot
    from app.domain.vetting import ProviderType
    from app.services import providers
    from tests.provider_helpers import verified_provider

    with app.app_context():
        user, listing = verified_provider(
            make_user, make_user(Role.BROKER), provider_type=ProviderType.GROUP_ACTIVITY,
            category=Category.GETTING_OUT, funding_modes=["council_managed"],
            minimum_units=1, price="24.00", price_unit="session")
        from datetime import time

        providers.set_availability(user, [Slot(d, time(10), time(14)) for d in range(5)])
        plan = {"personal_assistant": 1_000_000, "community_activities": 300_000}
        first, _ = holder_with_budget(make_user, categories=plan)
        second, _ = holder_with_budget(make_user, categories=plan)
    return listing, first, second


def test_a_group_session_is_started_and_joined_through_the_steps(
        client, login, group, db_session):
    listing, first, second = group
    login(first)
    how = client.get(f"/my/book/{listing.id}/how-often").get_data(as_text=True)
    assert "A group session: the cost is shared" in how and "meet-and-greet" not in how
    assert 'id="open-groups"' not in how  # nothing to join yet
    step2 = client.get(f"/my/book/{listing.id}/how-often?next=1&often=group&fewest=2&most=6"
                       "&minutes=120")
    assert step2.status_code == 302 and "fewest=2" in step2.headers["Location"]
    when = client.get(step2.headers["Location"]).get_data(as_text=True)
    start = _slots(when)[-1]  # a late one, so joining is still open two days before
    check = client.get(f"/my/book/{listing.id}/check?often=group&fewest=2&most=6&minutes=120"
                       f"&start={quote(start)}").get_data(as_text=True)
    # £24.00 a session, shared by at least 2: at most £12.00 each.
    assert '<strong>£12.00 at most</strong>' in check and "Your share of £24.00" in check
    assert re.search(r'id="left-after"><strong>£988.00</strong>', check)
    assert "A broker will look" not in check
    assert client.post(f"/my/book/{listing.id}/check", data=_hidden(check)).status_code == 302
    booking = db_session.scalar(select(Booking))
    assert booking.kind == "pooled" and (booking.min_participants, booking.max_participants) \
        == (2, 6)
    assert booking.join_deadline == booking.sessions[0].start_at - timedelta(hours=48)

    # Someone else finds it on step 1 and joins it, seeing the most they would pay.
    login(second)
    how = client.get(f"/my/book/{listing.id}/how-often").get_data(as_text=True)
    assert f'href="/my/book/{listing.id}/join/{booking.id}"' in how
    assert "1 joined, room for 5 more" in how
    join = client.get(f"/my/book/{listing.id}/join/{booking.id}").get_data(as_text=True)
    assert "<strong>£12.00 at most</strong>" in join and "£988.00" in join
    easy = client.get(f"/my/book/{listing.id}/join/{booking.id}?easy=1").get_data(as_text=True)
    assert easy.count('class="carefair-picture"') == 4
    response = client.post(f"/my/book/{listing.id}/join/{booking.id}", data={})
    assert response.headers["Location"].endswith(f"/my/bookings/{booking.id}")
    db_session.refresh(booking)
    assert {p.holder_id for p in booking.participants} == {first.id, second.id}
    # Once in, it is no longer offered to join.
    assert f"/join/{booking.id}" not in client.get(
        f"/my/book/{listing.id}/how-often").get_data(as_text=True)
    gone = client.get(f"/my/book/{listing.id}/join/{booking.id}", follow_redirects=True)
    assert "you have already joined it" in gone.get_data(as_text=True)


def test_a_weekly_series_is_offered_only_at_times_free_every_week(app, market):
    provider, listing, holder = market
    with app.app_context():
        first = free_time.next_free(listing, minutes=120, limit=1)[0]
        # Someone already has the same time three weeks later.
        later = first.start + timedelta(weeks=3)
        bookings.request_booking(holder, holder, bookings.BookingInput(
            listing_id=listing.id, kind="one_off", start=later,
            end=later + timedelta(hours=2)))
        once = [s.start for s in free_time.next_free(listing, minutes=120, limit=40)]
        two_weeks = [s.start for s in free_time.next_free(listing, minutes=120, limit=40,
                                                          weeks=2)]
        four_weeks = [s.start for s in free_time.next_free(listing, minutes=120, limit=40,
                                                           weeks=4)]
    assert first.start in once and first.start in two_weeks
    assert first.start not in four_weeks and four_weeks  # other times still fit four weeks
