"""Booking pages through the test client: book, errors beside fields with nothing held, act on it."""

import re

import pytest
from sqlalchemy import func, select

from app.domain.access import Role
from app.models import Booking, LedgerTransaction
from tests.booking_helpers import holder_with_budget, live_listing, next_weekday

pytestmark = pytest.mark.database


@pytest.fixture
def market(app, db_session, make_user):
    with app.app_context():
        provider, listing = live_listing(make_user)
        holder, _ = holder_with_budget(make_user)
    return provider, listing, holder


def _form(day, start="10:00", end="12:00", **extra):
    data = {
        "kind": "one_off",
        "day": [str(day.day), str(day.month), str(day.year)],
        "start_time": start,
        "end_time": end,
    }
    data.update(extra)
    return data


def test_listing_page_links_to_booking_and_check_shows_price_and_what_is_left(
    client, login, market
):
    _, listing, holder = market
    login(holder)
    page = client.get(f"/listings/{listing.id}").get_data(as_text=True)
    assert f"/my/book/{listing.id}" in page
    page = client.post(f"/my/book/{listing.id}", data=_form(next_weekday(1), check="x")).get_data(
        as_text=True
    )
    assert "£33.00" in page and "Available to spend now: £1,000.00." in page
    assert "Left to spend after this booking: <strong>£967.00</strong>." in page
    response = client.post(
        f"/my/book/{listing.id}", data=_form(next_weekday(1), confirm="x", expected_total="3300")
    )
    assert response.status_code == 302
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Requested" in detail


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(end_time="09:00"), "The end time must be after the start time"),
        (dict(start_time="9am"), "Enter a time like 09:30"),
        (dict(kind="recurring"), "needs an end"),
        (dict(past=True), "is in the past"),
        (dict(confirm="x", expected_total="2000"), "The price has changed"),
    ],
)
def test_bad_input_is_shown_beside_the_field_and_nothing_is_booked(
    client, login, market, db_session, change, message
):
    from datetime import date, timedelta

    _, listing, holder = market
    login(holder)
    day = date.today() - timedelta(days=3) if change.pop("past", False) else next_weekday(1)
    form = _form(day, **{"check": "x", **change})
    page = client.post(f"/my/book/{listing.id}", data=form).get_data(as_text=True)
    assert message in page and "govuk-error-message" in page
    assert db_session.scalar(select(func.count()).select_from(Booking)) == 0
    assert (
        db_session.scalar(
            select(func.count())
            .select_from(LedgerTransaction)
            .where(LedgerTransaction.operation == "hold")
        )
        == 0
    )


def test_listing_hidden_before_confirming_is_refused(client, login, market, db_session):
    _, listing, holder = market
    login(holder)
    client.post(f"/my/book/{listing.id}", data=_form(next_weekday(1), check="x"))
    listing.is_live = False
    db_session.commit()
    response = client.post(
        f"/my/book/{listing.id}", data=_form(next_weekday(1), confirm="x", expected_total="3300")
    )
    assert response.status_code == 404
    assert db_session.scalar(select(func.count()).select_from(Booking)) == 0


def test_provider_accepts_and_holder_sees_money_set_aside(client, login, market, db_session):
    provider, listing, holder = market
    login(holder)
    client.post(
        f"/my/book/{listing.id}", data=_form(next_weekday(1), confirm="x", expected_total="3300")
    )
    booking = db_session.scalar(select(Booking))
    login(provider)
    assert "Accept" in client.get(f"/provider/bookings/{booking.id}").get_data(as_text=True)
    client.post(f"/provider/bookings/{booking.id}/accept")
    login(holder)
    page = client.get(f"/my/bookings/{booking.id}").get_data(as_text=True)
    assert "Booked (money set aside)" in page and "Cancel this booking" in page
    # Someone else's booking is not there for them.
    login(provider)
    assert client.get("/my/bookings").status_code == 403


def test_broker_sees_why_a_booking_waits_and_approves_it(app, client, login, make_user, db_session):
    with app.app_context():
        provider, listing = live_listing(make_user)
        holder, _ = holder_with_budget(make_user, categories={"transport": 300_000})
    login(holder)
    client.post(
        f"/my/book/{listing.id}", data=_form(next_weekday(1), confirm="x", expected_total="3300")
    )
    booking = db_session.scalar(select(Booking))
    assert "not one of the spending categories" in client.get(
        f"/my/bookings/{booking.id}"
    ).get_data(as_text=True)
    login(make_user(Role.BROKER))
    assert booking.reference in client.get("/broker/bookings").get_data(as_text=True)
    client.post(f"/broker/bookings/{booking.id}/approve", data={"reason": "Agreed"})
    assert db_session.get(Booking, booking.id).state == "requested"


def test_provider_acting_for_the_holder_is_told_they_cannot_confirm_their_own_hours(
    app, client, login, market, db_session, make_user
):
    from app.domain.access import DelegateKind
    from app.models import BookingSession
    from app.services import bookings, delegation
    from tests.booking_helpers import one_off

    provider, listing, holder = market
    with app.app_context():
        booking = bookings.request_booking(holder, holder, one_off(listing))
        bookings.accept(provider, booking.id)
        s = booking.sessions[0]
        session_id, booking_id = s.id, booking.id
        bookings.record_delivery(
            provider, s.id, actual_start=s.start_at, actual_end=s.end_at, now=s.end_at
        )
        _, token = delegation.invite(holder, holder.id, provider.email,
                                     DelegateKind.NOMINATED, set())
        delegation.accept(provider, token)
    login(provider)
    page = client.post(f"/my/sessions/{session_id}/confirm", follow_redirects=True)
    text = page.get_data(as_text=True)
    assert f"You provided this support, so you cannot confirm it for {holder.name}." in text
    assert "Traceback" not in text
    assert db_session.get(BookingSession, session_id).state == "delivered"
    assert db_session.get(Booking, booking_id).state != "settled"

    # The holder confirms; because the provider acts for them, a broker co-signs.
    client.post("/sign-out")
    login(holder)
    page = client.post(f"/my/sessions/{session_id}/confirm", follow_redirects=True)
    assert "You have confirmed. A broker will co-sign." in page.get_data(as_text=True)
    client.post("/sign-out")
    login(make_user(Role.BROKER))
    assert f"/broker/bookings/{booking_id}" in client.get("/broker/bookings").get_data(as_text=True)
    assert "Co-sign these hours" in client.get(f"/broker/bookings/{booking_id}").get_data(as_text=True)
    client.post(f"/broker/sessions/{session_id}/cosign")
    assert db_session.get(BookingSession, session_id).state == "settled"


def test_a_booking_held_by_a_concern_tells_only_the_broker_about_it(
    app, client, login, market, make_user, db_session
):
    from app.domain.access import DelegateKind
    from app.domain.rules import Finding, Severity, Subject
    from app.services import bookings, flags
    from tests.booking_helpers import one_off
    from tests.messaging_helpers import delegate

    provider, listing, holder = market
    with app.app_context():
        broker = make_user(Role.BROKER)
        nominated = delegate(make_user, holder, DelegateKind.NOMINATED)
        filed = flags.file_findings([Finding(
            "suspicious_messages", Severity.HIGH, Subject("provider", listing.profile_id),
            "A message from the provider asks to be paid in cash and to keep it secret.",
            {"categories": "cash,secrecy"})])
        db_session.commit()
        flag_id = filed.flags[0].id
        booking = bookings.request_booking(holder, holder, one_off(listing))
        assert booking.state == "awaiting_approval"
        # The booking keeps each reason's code: the pages decide what to hide by it.
        assert booking.approval_codes == ["rule_hold"]
        booking_id = booking.id
    neutral = "A broker needs to look at this booking before it goes ahead."
    pages = {
        holder: f"/my/bookings/{booking_id}",
        nominated: f"/my/bookings/{booking_id}",
        provider: f"/provider/bookings/{booking_id}",
    }
    for person, path in pages.items():
        login(person)
        page = client.get(path).get_data(as_text=True)
        assert neutral in page, person.role
        # The holder's side may always report a concern themselves (issue 16's link); what
        # must not show is that a broker is looking into one.
        page = re.sub(r'<p class="govuk-body"><a class="govuk-link" id="raise-concern".*?</p>',
                      "", page)
        assert f"F-{flag_id}" not in page and "concern" not in page.lower(), person.role
        assert "cash" not in page.lower() and "second look" not in page
        client.post("/sign-out")
    # Before booking, the check page says the same to the holder's side.
    login(holder)
    page = client.post(
        f"/my/book/{listing.id}", data=_form(next_weekday(2), check="x")
    ).get_data(as_text=True)
    assert neutral in page and f"F-{flag_id}" not in page and "concern" not in page.lower()
    client.post("/sign-out")
    login(broker)
    page = client.get(f"/broker/bookings/{booking_id}").get_data(as_text=True)
    assert f'href="/broker/flags/{flag_id}">F-{flag_id}</a>' in page
    assert "concern" in page and neutral not in page


@pytest.fixture
def accepted_next_week(app, market):
    from app.services import bookings
    from tests.booking_helpers import one_off

    provider, listing, holder = market
    with app.app_context():
        booking = bookings.request_booking(holder, holder, one_off(listing))
        bookings.accept(provider, booking.id)
        return provider, holder, booking.id, booking.sessions[0].id


def test_session_buttons_appear_only_once_the_session_has_started(
    client, login, accepted_next_week, db_session
):
    from datetime import UTC, datetime, timedelta

    from app.models import BookingSession

    provider, holder, booking_id, session_id = accepted_next_week
    login(provider)
    page = client.get(f"/provider/bookings/{booking_id}").get_data(as_text=True)
    assert "Record delivery" not in page and "Client was not there" not in page
    login(holder)
    assert "They did not come" not in client.get(f"/my/bookings/{booking_id}").get_data(as_text=True)

    s = db_session.get(BookingSession, session_id)
    s.start_at = datetime.now(UTC) - timedelta(hours=2)
    s.end_at = datetime.now(UTC) - timedelta(hours=1)
    db_session.commit()
    assert "They did not come" in client.get(f"/my/bookings/{booking_id}").get_data(as_text=True)
    login(provider)
    page = client.get(f"/provider/bookings/{booking_id}").get_data(as_text=True)
    assert "Record delivery" in page and "Client was not there" in page


def test_a_refused_no_show_returns_to_the_booking_with_the_reason(client, login,
                                                                 accepted_next_week):
    provider, holder, booking_id, session_id = accepted_next_week
    login(holder)
    response = client.post(f"/my/sessions/{session_id}/no-show", follow_redirects=True)
    assert response.request.path == f"/my/bookings/{booking_id}"
    assert "only once the session should have started" in response.get_data(as_text=True)
    login(provider)
    response = client.post(f"/provider/sessions/{session_id}/no-show", follow_redirects=True)
    assert response.request.path == f"/provider/bookings/{booking_id}"
    response = client.get(f"/provider/sessions/{session_id}/delivery", follow_redirects=True)
    assert response.request.path == f"/provider/bookings/{booking_id}"
    assert "once the session has started" in response.get_data(as_text=True)


def test_the_price_check_gives_the_budget_pages_available_figure_and_the_contingency_apart(
    app, client, login, make_user
):
    from app.domain.ledger import Account
    from app.services import ledger
    from tests.booking_helpers import holder_with_budget, live_listing

    with app.app_context():
        _, listing = live_listing(make_user)
        holder, budget = holder_with_budget(make_user, contingency_weeks=4)
        balance = ledger.balances(budget.id)
        spendable, contingency = balance[Account.AVAILABLE], balance[Account.CONTINGENCY]
        listing_id = listing.id
    assert contingency > 0
    login(holder)
    page = client.post(f"/my/book/{listing_id}", data=_form(next_weekday(1), check="x")).get_data(
        as_text=True
    )
    pounds = lambda p: f"£{p // 100:,}.{p % 100:02d}"  # noqa: E731
    assert f"Available to spend now: {pounds(spendable)}, plus {pounds(contingency)} contingency" in page
    assert f"Left to spend after this booking: <strong>{pounds(spendable - 3300)}</strong>, and " \
           f"{pounds(contingency)} contingency." in page
    # The budget page says the same "available to spend".
    assert pounds(spendable) in client.get("/my/budget").get_data(as_text=True)
