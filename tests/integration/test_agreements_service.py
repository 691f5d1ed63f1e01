"""Service agreements on the database: offered from a booking, unfair terms refused with nothing
written, accepted or changes asked for, versions kept, a rate rise with notice, offers lapsing."""

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import clock
from app.domain.access import DelegateKind, Role
from app.errors import Conflict, InvalidInput, NotFound
from app.models.jobs import AgreementBooking, ServiceAgreement, ServiceAgreementVersion
from app.services import agreements, bookings
from app.services.market_snapshot import agreement_version_facts
from tests.booking_helpers import holder_with_budget, live_listing, one_off
from tests.messaging_helpers import delegate

pytestmark = pytest.mark.database


@pytest.fixture
def booked(app_ctx, make_user):
    provider, listing = live_listing(make_user, charge="10.00")
    holder, _ = holder_with_budget(make_user)
    booking = bookings.request_booking(holder, holder, one_off(listing))
    bookings.accept(provider, booking.id)
    return provider, holder, booking


def _count(model):
    from app.extensions import db

    return db.session.scalar(select(func.count(model.id)))


def test_offer_is_built_from_the_booking_and_accepted(booked):
    provider, holder, booking = booked
    terms = agreements.suggested_terms(booking)
    assert terms.rate_pence == 1650 and terms.rate_unit == "hour" and terms.schedule
    agreement = agreements.offer(provider, booking.id, terms)
    assert agreements.agreement_for_booking(booking.id).id == agreement.id
    assert agreement.status == "offered" and agreements.version_in_force(agreement) is None
    agreements.accept(holder, holder, agreement.id)
    assert agreement.status == "accepted"
    assert agreements.version_in_force(agreement).rate_pence == 1650
    with pytest.raises(Conflict):
        agreements.offer(provider, booking.id, terms)  # one agreement per booking


def test_unfair_terms_are_refused_with_the_field_and_nothing_is_written(booked):
    provider, _, booking = booked
    terms = agreements.suggested_terms(booking)
    for unfair, field in [(replace(terms, notice_days=90), "notice_days"),
                          (replace(terms, exit_fee_pence=10_000), "exit_fee"),
                          (replace(terms, cancellation_charge_pence=5000), "cancellation_charge"),
                          (replace(terms, rate_unit="fortnight"), "rate_unit")]:
        with pytest.raises(InvalidInput) as refused:
            agreements.offer(provider, booking.id, unfair)
        assert refused.value.field == field
    assert _count(ServiceAgreement) == 0 and _count(ServiceAgreementVersion) == 0
    assert _count(AgreementBooking) == 0


def test_asking_for_changes_then_a_new_version_keeps_every_version(booked):
    provider, holder, booking = booked
    agreement = agreements.offer(provider, booking.id, agreements.suggested_terms(booking))
    agreements.request_changes(holder, holder, agreement.id, "Could it be 11am instead?")
    assert agreement.status == "changes_requested"
    new_terms = replace(agreements.suggested_terms(booking), schedule="Tuesdays at 11:00 for 2 hours")
    agreements.offer_new_version(provider, agreement.id, new_terms)
    agreements.accept(holder, holder, agreement.id)
    assert [(v.version, v.status) for v in agreement.versions] == [(1, "changes_requested"), (2, "accepted")]
    assert agreements.version_in_force(agreement).schedule == "Tuesdays at 11:00 for 2 hours"


def test_a_rate_rise_reaches_an_existing_client_only_after_notice(booked, app):
    provider, holder, booking = booked
    agreement = agreements.offer(provider, booking.id, agreements.suggested_terms(booking))
    agreements.accept(holder, holder, agreement.id)
    start = clock.now()
    with clock.frozen(start):
        rise = agreements.offer_new_version(
            provider, agreement.id, replace(agreements.suggested_terms(booking), rate_pence=1800))
    notice = app.config["COUNCIL"].agreement_rate_change_notice_days
    assert rise.effective_from == start + timedelta(days=notice)
    assert agreements.version_in_force(agreement, start + timedelta(days=notice - 1)).rate_pence == 1650
    assert agreements.version_in_force(agreement, start + timedelta(days=notice)).rate_pence == 1800
    facts = agreement_version_facts()
    assert [(f.version, f.rate_pence) for f in facts] == [(1, 1650), (2, 1800)]
    assert facts[0].accepted_at is not None and facts[1].effective_from == rise.effective_from


def test_only_the_holders_side_answers_and_others_cannot_see_it(booked, make_user):
    provider, holder, booking = booked
    agreement = agreements.offer(provider, booking.id, agreements.suggested_terms(booking))
    circle = delegate(make_user, holder, DelegateKind.CIRCLE, shares="bookings")
    stranger = make_user(Role.HOLDER)
    other_provider = make_user(Role.PROVIDER)
    with pytest.raises(NotFound):
        agreements.accept(circle, holder, agreement.id)
    assert agreements.for_holder(circle, holder, agreement.id).id == agreement.id  # may read
    with pytest.raises(NotFound):
        agreements.for_holder(stranger, holder, agreement.id)
    with pytest.raises(NotFound):
        agreements.for_provider(other_provider, agreement.id)
    nominated = delegate(make_user, holder, DelegateKind.NOMINATED)
    agreements.accept(nominated, holder, agreement.id)
    assert agreement.status == "accepted"


def test_an_offer_nobody_answers_lapses_and_a_second_run_changes_nothing(booked, app):
    provider, _, booking = booked
    agreement = agreements.offer(provider, booking.id, agreements.suggested_terms(booking))
    days = app.config["COUNCIL"].agreement_offer_lapse_days
    assert agreements.lapse_offers(clock.now() + timedelta(days=days - 1)) == 0
    assert agreements.lapse_offers(clock.now() + timedelta(days=days + 1)) == 1
    assert agreements.lapse_offers(clock.now() + timedelta(days=days + 2)) == 0
    assert agreement.status == "lapsed" and agreement.versions[0].status == "lapsed"


def test_the_hourly_job_lapses_unanswered_offers(booked, app):
    provider, _, booking = booked
    agreement = agreements.offer(provider, booking.id, agreements.suggested_terms(booking))
    later = clock.now() + timedelta(days=app.config["COUNCIL"].agreement_offer_lapse_days + 1)
    report = bookings.run_timers(later)
    assert report.lapsed["agreement_offers"] == 1
    assert agreement.status == "lapsed"
    assert bookings.run_timers(later).lapsed["agreement_offers"] == 0


def test_changed_terms_that_are_not_only_a_price_wait_for_the_holder_to_accept(booked):
    """A lower hourly rate cannot carry a higher bank holiday rate or harsher terms in with it:
    what changes more than the price applies only once accepted, a price rise only after notice."""
    provider, holder, booking = booked
    terms = agreements.suggested_terms(booking)
    agreement = agreements.offer(provider, booking.id, terms)
    agreements.accept(holder, holder, agreement.id)
    start = clock.now()
    with clock.frozen(start):
        holidays = agreements.offer_new_version(provider, agreement.id, replace(
            terms, rate_pence=terms.rate_pence - 50, bank_holiday_rate_pence=terms.rate_pence * 2))
    assert holidays.effective_from is not None and holidays.effective_from > start
    assert agreements.version_in_force(agreement, start + timedelta(days=1)).version == 1
    with clock.frozen(start):
        longer = agreements.offer_new_version(provider, agreement.id, replace(
            terms, rate_pence=terms.rate_pence - 100, schedule="Sundays at 07:00 for 2 hours"))
    assert longer.effective_from is None
    assert agreements.version_in_force(agreement, start + timedelta(days=365)).version == 1

    agreements.accept(holder, holder, agreement.id)
    assert agreements.version_in_force(agreement).version == longer.version


def test_a_price_rise_after_a_cut_that_applied_still_needs_its_notice(booked, app):
    provider, holder, booking = booked
    terms = agreements.suggested_terms(booking)
    agreement = agreements.offer(provider, booking.id, terms)
    agreements.accept(holder, holder, agreement.id)
    start = clock.now()
    with clock.frozen(start):
        cut = agreements.offer_new_version(provider, agreement.id,
                                           replace(terms, rate_pence=terms.rate_pence - 150))
    assert agreements.version_in_force(agreement, start).version == cut.version  # a fall, at once
    later = start + timedelta(days=1)
    with clock.frozen(later):
        back_up = agreements.offer_new_version(provider, agreement.id, terms)
    notice = app.config["COUNCIL"].agreement_rate_change_notice_days
    assert back_up.effective_from == later + timedelta(days=notice)
    # The cut stays in force until the notice of the rise runs out.
    assert agreements.version_in_force(agreement, later + timedelta(days=notice - 1)).rate_pence == \
        terms.rate_pence - 150
    assert agreements.version_in_force(agreement, later + timedelta(days=notice)).rate_pence == terms.rate_pence


def test_a_session_is_priced_by_the_agreed_minimum_and_a_rate_for_another_unit_is_refused(booked):
    provider, holder, booking = booked
    terms = agreements.suggested_terms(booking)  # the listing's: hourly, two hours at least
    assert (terms.rate_unit, terms.minimum_minutes) == ("hour", 120)
    with pytest.raises(InvalidInput) as refused:
        agreements.offer(provider, booking.id, replace(terms, rate_unit="day", rate_pence=12000))
    assert refused.value.field == "rate_unit"
    with pytest.raises(InvalidInput) as refused:
        agreements.offer(provider, booking.id, replace(terms, minimum_minutes=180))
    assert refused.value.field == "minimum_minutes"
    agreement = agreements.offer(provider, booking.id, replace(terms, minimum_minutes=60))
    agreements.accept(holder, holder, agreement.id)
    start = booking.sessions[0].start_at
    # One hour is charged as one hour, as agreed, not as the listing's two.
    assert agreements.pricing_for(booking, start, start + timedelta(hours=1)) == terms.rate_pence


def test_a_broker_with_a_declared_conflict_cannot_answer_that_providers_agreement(booked, make_user):
    from app.services import conflicts
    from app.services.conflicts import ConflictOfInterest

    provider, holder, booking = booked
    agreement = agreements.offer(provider, booking.id, agreements.suggested_terms(booking))
    conflicted, other_broker = make_user(Role.BROKER), make_user(Role.BROKER)
    conflicts.declare(conflicted, str(agreement.profile_id), "My cousin runs this agency")
    with pytest.raises(ConflictOfInterest, match="declared a conflict of interest"):
        agreements.accept(conflicted, holder, agreement.id)
    with pytest.raises(ConflictOfInterest):
        agreements.request_changes(conflicted, holder, agreement.id, "Lower the rate, please")
    assert agreements.for_holder(holder, holder, agreement.id).status == "offered"  # nothing written
    agreements.accept(other_broker, holder, agreement.id)  # a broker without the conflict can
    assert agreements.for_holder(holder, holder, agreement.id).status == "accepted"
