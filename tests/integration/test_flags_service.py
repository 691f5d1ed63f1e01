"""Flags on the database: the snapshot builder, the scan filing findings once, broker review
(audited), suspension hiding listings through the vetting service, payouts held, referrals,
and the provider's one response."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.domain.access import DelegateKind, Role
from app.domain.rules import Finding, Severity, Subject
from app.domain.rules.model import ProviderKind
from app.errors import Conflict, InvalidInput, NotFound, NotPermitted
from app.extensions import db
from app.models import AuditEvent, Flag, Listing, ProviderProfile, SafeguardingReferral
from app.services import brokerage, flags, messaging, restrictions
from app.services.market_snapshot import build_snapshot, postcode_area
from app.signals import listing_changed
from tests.messaging_helpers import CASH, delegate, live_listing


def _actions(db_session, prefix):
    return list(db_session.scalars(select(AuditEvent.action).where(
        AuditEvent.action.startswith(prefix)).order_by(AuditEvent.id)))


def _bare_provider(make_user, price_pence, districts=("SY1",)):
    """A published (not vetted) listing straight in the database: enough for the snapshot."""
    from app.models import ProviderDistrict

    user = make_user(Role.PROVIDER)
    profile = ProviderProfile(user_id=user.id, provider_type="self_employed_pa",
                              display_name=f"PA {user.id}")
    db.session.add(profile)
    db.session.flush()
    for d in districts:
        db.session.add(ProviderDistrict(profile_id=profile.id, district=d))
    listing = Listing(profile_id=profile.id, category="personal_care", title="Care",
                      price_pence=price_pence, price_unit="hour", funding_modes=["direct_payment"],
                      published=True, is_live=False)
    db.session.add(listing)
    db.session.commit()
    return user, profile, listing


def test_postcode_area_is_the_most_common_area_of_the_districts():
    assert postcode_area(["SY1", "SY3", "TF2"]) == "SY"
    assert postcode_area(["TF2", "SY1"]) == "SY"  # a tie goes to the first alphabetically
    assert postcode_area([]) == ""


def test_snapshot_holds_providers_listings_holders_delegations_and_recent_messages(
        app_ctx, make_user, db_session):
    provider, listing = live_listing(make_user)
    holder = make_user(Role.HOLDER, at_risk=True)
    helper = delegate(make_user, holder, DelegateKind.NOMINATED)
    thread = messaging.start(holder, holder.id, listing.id, "Hello")
    messaging.reply_as_provider(provider, thread.id, "Hi")
    _, withdrawn_profile, withdrawn = _bare_provider(make_user, 1700)
    withdrawn.published = False
    db_session.commit()

    snap = build_snapshot()
    mine = snap.provider_by_id[listing.profile_id]
    assert mine.kind is ProviderKind.PA_SELF_EMPLOYED and mine.user_ids == {provider.id}
    assert [(fact.id, fact.rate_pence, fact.area, fact.unit) for fact in snap.listings] == [
        (listing.id, 1650, "SY", "hour")]  # the withdrawn listing is no offer
    assert snap.holder_by_id[holder.id].at_risk is True
    assert [(d.holder_id, d.user_id, d.kind) for d in snap.delegations] == [
        (holder.id, helper.id, "nominated")]
    assert [(m.holder_id, m.provider_id, m.from_provider, m.text) for m in snap.messages] == [
        (holder.id, listing.profile_id, False, "Hello"),
        (holder.id, listing.profile_id, True, "Hi")]
    assert snap.sessions == ()  # nothing booked yet
    # Messages outside the rule window are left out.
    later = build_snapshot(datetime.now(UTC) + timedelta(days=200))
    assert later.messages == ()


def test_scan_files_each_finding_once(app_ctx, make_user, db_session):
    for price in (1500, 1550, 1600, 1600, 1650):
        _bare_provider(make_user, price)
    _, _, dear = _bare_provider(make_user, 6000)
    first = brokerage.scan()
    assert first.filed >= 1
    outlier = db_session.scalar(select(Flag).where(Flag.rule == "price_outlier"))
    assert outlier.subject_id == str(dear.id) and outlier.provider_profile_id == dear.profile_id
    assert outlier.evidence["rate_pence"] == 6000 and outlier.evidence["peers"] == 6
    again = brokerage.scan()
    assert again.filed == 0 and again.already_on_file == first.filed
    assert db_session.scalar(select(func.count(Flag.id))) == first.filed
    assert _actions(db_session, "flag.raised") == ["flag.raised"] * first.filed


def test_a_scan_tells_each_broker_once_however_many_flags_it_files(app_ctx, make_user,
                                                                  db_session):
    from app.models import Notification

    brokers = [make_user(Role.BROKER), make_user(Role.BROKER)]
    for price in (1500, 1550, 1600, 1600, 1650):
        _bare_provider(make_user, price)
    for price in (6000, 6500):
        _bare_provider(make_user, price)
    first = brokerage.scan()
    assert first.filed >= 2
    for broker in brokers:
        told = db_session.scalars(select(Notification).where(
            Notification.user_id == broker.id)).all()
        assert [n.event for n in told] == ["flags_raised_by_scan"]
        assert f"({first.filed})" in told[0].subject
        assert told[0].link.endswith("/broker/flags")
    brokerage.scan()  # nothing new: nobody is told again
    assert db_session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id.in_([b.id for b in brokers]))) == 2


def test_message_flag_filed_at_send_is_not_filed_again_by_the_scan(app_ctx, make_user,
                                                                   db_session):
    provider, listing = live_listing(make_user)
    holder = make_user(Role.HOLDER)
    thread = messaging.start(holder, holder.id, listing.id, "Hello")
    messaging.reply_as_provider(provider, thread.id, CASH)
    result = brokerage.scan()
    assert result.already_on_file == 1
    assert db_session.scalar(select(func.count(Flag.id)).where(
        Flag.rule == "suspicious_messages")) == 1


def test_provider_who_is_also_a_nominated_person_is_flagged_by_the_scan(app_ctx, make_user,
                                                                        db_session):
    provider, listing = live_listing(make_user)
    holder = make_user(Role.HOLDER)
    from app.models import Delegation

    db_session.add(Delegation(holder_id=holder.id, delegate_id=provider.id, kind="nominated",
                              status="active", invited_email=provider.email,
                              created_by_id=holder.id))
    db_session.commit()
    brokerage.scan()
    flag = db_session.scalar(select(Flag).where(Flag.rule == "provider_is_delegate"))
    assert flag.holder_id == holder.id and flag.provider_profile_id == listing.profile_id


def _open_flag(make_user, severity=Severity.MEDIUM, rule="price_outlier"):
    provider, listing = live_listing(make_user)
    filed = flags.file_findings([Finding(rule, severity, Subject("listing", listing.id),
                                         "Far above similar listings.",
                                         {"rate_pence": 9000, "peers": 6})])
    db.session.commit()
    return provider, listing, filed.flags[0]


def test_dismiss_needs_a_reason_and_is_audited(app_ctx, make_user, db_session):
    _, _, flag = _open_flag(make_user)
    broker = make_user(Role.BROKER)
    with pytest.raises(InvalidInput) as err:
        flags.dismiss(broker, flag.id, reason="  ")
    assert err.value.field == "reason"
    flags.dismiss(broker, flag.id, reason="Specialist night care; price agreed with council.")
    assert flag.status == "dismissed" and flag.reviewed_by_id == broker.id
    assert _actions(db_session, "flag.") == ["flag.raised", "flag.dismissed"]
    with pytest.raises(Conflict):
        flags.uphold(broker, flag.id, outcome="warn", reason="Changed my mind")


def test_only_brokers_review_flags(app_ctx, make_user):
    provider, _, flag = _open_flag(make_user)
    with pytest.raises(NotPermitted):
        flags.dismiss(provider, flag.id, reason="Not me")


def test_uphold_suspend_hides_the_listings_and_tells_search(app_ctx, make_user, db_session):
    provider, listing, flag = _open_flag(make_user)
    broker = make_user(Role.BROKER)
    told = []

    def receiver(sender, listing_id):
        told.append(listing_id)

    with listing_changed.connected_to(receiver):
        flags.uphold(broker, flag.id, outcome="suspend_listing", reason="Overcharging.")
    db_session.refresh(listing)
    assert listing.is_live is False and told == [listing.id]
    assert restrictions.listings_suspended(listing.profile_id)
    assert not restrictions.payouts_held(listing.profile_id)
    assert _actions(db_session, "flag.upheld") == ["flag.upheld"]
    assert "provider.listings_suspended" in _actions(db_session, "provider.")
    # Vetting refreshes keep it hidden while suspended; lifting shows it again.
    from app.services import vetting

    vetting.refresh_visibility(listing.profile)
    assert listing.is_live is False
    restrictions.lift(broker, listing.profile_id, reason="Prices corrected.")
    db_session.refresh(listing)
    assert listing.is_live is True and "provider.restriction_lifted" in _actions(db_session,
                                                                                 "provider.")


def test_refer_to_safeguarding_records_a_referral_suspends_and_holds_payouts(app_ctx, make_user,
                                                                             db_session):
    provider, listing, flag = _open_flag(make_user, Severity.HIGH)
    broker = make_user(Role.BROKER)
    admin = make_user(Role.COUNCIL_ADMIN)
    flags.uphold(broker, flag.id, outcome="refer_safeguarding", reason="Pressure on a client.")
    referral = db_session.scalar(select(SafeguardingReferral))
    assert referral.flag_id == flag.id and referral.referred_by_id == broker.id
    assert restrictions.payouts_held(listing.profile_id)
    assert restrictions.listings_suspended(listing.profile_id)
    db_session.refresh(listing)
    assert listing.is_live is False
    from app.models import Notification

    events = {(n.user_id, n.event) for n in db_session.scalars(select(Notification))}
    assert (admin.id, "safeguarding") in events and (provider.id, "flag_upheld") in events


def test_critical_finding_suspends_and_holds_at_once_pending_review(app_ctx, make_user,
                                                                    db_session):
    provider, listing = live_listing(make_user)
    flags.file_findings([Finding("safeguarding_concern", Severity.CRITICAL,
                                 Subject("provider", listing.profile_id), "A concern.",
                                 {"concern_id": 1})])
    db.session.commit()
    db_session.refresh(listing)
    assert listing.is_live is False and restrictions.payouts_held(listing.profile_id)


def test_advice_only_findings_are_not_put_on_file(app_ctx, make_user, db_session):
    provider, listing = live_listing(make_user)
    filed = flags.file_findings([Finding("above_council_rate", Severity.LOW,
                                         Subject("listing", listing.id), "Above the rate.", {})])
    assert filed.advice_only == 1 and filed.flags == []


def test_provider_sees_upheld_flags_only_and_responds_once(app_ctx, make_user, db_session):
    provider, listing, flag = _open_flag(make_user)
    broker = make_user(Role.BROKER)
    assert flags.upheld_for_provider(provider) == []  # open flags are not shown
    flags.uphold(broker, flag.id, outcome="warn", reason="Please review your prices.")
    assert flags.upheld_for_provider(provider) == [flag]
    flags.respond(provider, flag.id, response="My price includes travel in a rural area.")
    assert flag.provider_response.startswith("My price")
    with pytest.raises(Conflict):
        flags.respond(provider, flag.id, response="Another go")
    other, _ = live_listing(make_user)
    with pytest.raises(NotFound):
        flags.respond(other, flag.id, response="Not mine")
    assert _actions(db_session, "flag.provider_responded") == ["flag.provider_responded"]


def test_brokerage_scan_command_prints_what_it_filed(app, make_user, db_session):
    with app.app_context():
        for price in (1500, 1550, 1600, 1600, 1650, 6000):
            _bare_provider(make_user, price)
    result = app.test_cli_runner().invoke(args=["brokerage", "scan"])
    assert result.exit_code == 0, result.output
    assert "1 new flag(s) filed" in result.output
    again = app.test_cli_runner().invoke(args=["brokerage", "scan"])
    assert "0 new flag(s) filed, 1 already on file" in again.output


def _broker_notices(db_session, broker):
    from app.models import Notification

    return list(db_session.scalars(select(Notification).where(
        Notification.user_id == broker.id, Notification.event == "flag_raised")))


def test_provider_accepting_a_nominated_person_invitation_is_flagged_at_once(
        app_ctx, make_user, db_session):
    from app.services import delegation

    provider, listing = live_listing(make_user)
    holder = make_user(Role.HOLDER)
    broker = make_user(Role.BROKER)
    _, token = delegation.invite(holder, holder.id, provider.email, DelegateKind.NOMINATED, set())
    accepted = delegation.accept(provider, token)
    # Carefair does not decide care: the delegation stands, and a broker is asked to look now.
    assert accepted.status == "active"
    flag = db_session.scalar(select(Flag).where(Flag.rule == "provider_is_delegate"))
    assert flag is not None and flag.status == "open"
    assert (flag.holder_id, flag.provider_profile_id) == (holder.id, listing.profile_id)
    assert (flag.severity, flag.action) == ("high", "hold")
    assert len(_broker_notices(db_session, broker)) == 1
    assert "flag.raised" in _actions(db_session, "flag.")
    # The next scan finds it on file, not a second time.
    assert brokerage.scan().already_on_file >= 1
    assert db_session.scalar(select(func.count(Flag.id)).where(
        Flag.rule == "provider_is_delegate")) == 1


def test_broker_recording_a_provider_as_authorised_person_files_a_flag(
        app_ctx, make_user, db_session):
    from datetime import date

    from app.domain.access import LegalBasis
    from app.services import delegation

    provider, listing = live_listing(make_user)
    holder = make_user(Role.HOLDER)
    broker = make_user(Role.BROKER)
    delegation.record_authorised_person(broker, holder.id, provider.email, provider.name,
                                        LegalBasis.LASTING_POWER_OF_ATTORNEY,
                                        date.today() + timedelta(days=365))
    flag = db_session.scalar(select(Flag).where(Flag.rule == "provider_is_delegate"))
    assert flag is not None and flag.holder_id == holder.id
    assert "authorised person" in flag.explanation


def test_someone_who_is_not_a_provider_accepting_an_invitation_raises_no_flag(
        app_ctx, make_user, db_session):
    from app.services import delegation

    live_listing(make_user)
    holder = make_user(Role.HOLDER)
    friend = make_user(Role.SUPPORTER)
    _, token = delegation.invite(holder, holder.id, friend.email, DelegateKind.NOMINATED, set())
    delegation.accept(friend, token)
    assert db_session.scalar(select(func.count(Flag.id))) == 0


def test_bookings_with_a_provider_who_became_the_nominated_person_wait_for_a_broker(
        app_ctx, make_user, db_session):
    from app.services import bookings, delegation
    from tests import booking_helpers
    from tests.booking_helpers import holder_with_budget, one_off

    provider, listing = booking_helpers.live_listing(make_user)
    holder, _ = holder_with_budget(make_user)
    _, token = delegation.invite(holder, holder.id, provider.email, DelegateKind.NOMINATED, set())
    delegation.accept(provider, token)
    booking = bookings.request_booking(holder, holder, one_off(listing))
    assert booking.state == "awaiting_approval"
