"""Provider services on the database: visibility, broker decisions, expiry job, audit, photos."""

from datetime import date, timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.domain.access import Role
from app.domain.vetting import CheckKind, ProviderType
from app.errors import Conflict, InvalidInput, NotFound
from app.models import AuditEvent, Listing, ProviderProfile, VettingCheck
from app.services import listings, providers, vetting
from app.services import outbox as outbox_service
from app.signals import listing_changed
from tests.provider_helpers import (
    evidence_for,
    listing_input,
    png_bytes,
    profile_input,
    verified_provider,
)


@pytest.fixture
def broker(make_user):
    return make_user(Role.BROKER)


def _actions(db_session, subject_type=None):
    query = select(AuditEvent.action)
    if subject_type:
        query = query.where(AuditEvent.subject_type == subject_type)
    return list(db_session.scalars(query.order_by(AuditEvent.id)))


def test_listing_goes_live_only_when_the_last_required_check_is_verified(app_ctx, db_session,
                                                                         make_user, broker):
    user, listing = verified_provider(make_user, broker, skip={CheckKind.RIGHT_TO_WORK})
    assert listing.is_live is False
    received = []

    def on_change(sender, listing_id):
        received.append(listing_id)

    with listing_changed.connected_to(on_change):
        check = vetting.record_evidence(user, evidence_for(CheckKind.RIGHT_TO_WORK))
        assert db_session.get(Listing, listing.id).is_live is False
        vetting.decide(broker, check.id, approve=True)
    assert db_session.get(Listing, listing.id).is_live is True
    assert received == [listing.id]
    assert listings.public_listing(listing.id).id == listing.id
    actions = _actions(db_session)
    assert "vetting.verified" in actions and actions[-1] == "listing.shown"


def test_rejection_needs_a_reason_and_keeps_the_listing_hidden(app_ctx, db_session, make_user, broker):
    user, listing = verified_provider(make_user, broker, skip={CheckKind.DBS})
    check = vetting.record_evidence(user, evidence_for(CheckKind.DBS))
    with pytest.raises(InvalidInput) as err:
        vetting.decide(broker, check.id, approve=False, reason="  ")
    assert err.value.field == "reason"
    vetting.decide(broker, check.id, approve=False, reason="Number does not match")
    stored = db_session.get(VettingCheck, check.id)
    assert stored.status == "rejected" and stored.verified_by_id == broker.id
    assert db_session.get(Listing, listing.id).is_live is False
    with pytest.raises(Conflict):
        vetting.decide(broker, check.id, approve=True)
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "vetting.rejected"))
    assert event.actor_id == broker.id and event.details["reason"] == "Number does not match"
    items = {i.kind: i for i in vetting.checklist_for(providers.profile_of(user))}
    assert "Number does not match" in items[CheckKind.DBS].reason
    with pytest.raises(NotFound):
        listings.public_listing(listing.id)


def test_expiry_job_hides_listing_and_tells_the_provider_what_to_renew(app, app_ctx, db_session,
                                                                       make_user, broker):
    user, listing = verified_provider(make_user, broker)
    assert db_session.get(Listing, listing.id).is_live
    outbox = Path(app.config["MAIL_OUTBOX_DIR"])
    before = set(outbox.glob("*.eml")) if outbox.exists() else set()
    later = date.today() + timedelta(days=201)  # the insurance ends after 200 days
    notices = vetting.expire(on=later)
    assert [n.hidden_listing_ids for n in notices] == [[listing.id]]
    assert db_session.get(Listing, listing.id).is_live is False
    outbox_service.deliver_ready()  # a request or CLI command does this at teardown
    new = [p for p in outbox.glob("*.eml") if p not in before]
    mails = [message_from_bytes(p.read_bytes(), policy=default_policy) for p in new]
    mine = [m for m in mails if m["To"] == user.email]
    assert len(mine) == 1
    assert "public liability insurance has run out" in mine[0]["Subject"]
    hidden = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "listing.hidden",
                                                       AuditEvent.subject_id == str(listing.id)))
    assert hidden.actor_id is None and "expired" in hidden.details["reasons"][0]
    assert vetting.expire(on=later) == []  # nobody is told twice


def _mail_to(app, email: str, before: set) -> list:
    outbox_service.deliver_ready()  # a request or CLI command does this at teardown
    outbox = Path(app.config["MAIL_OUTBOX_DIR"])
    new = [p for p in outbox.glob("*.eml") if p not in before] if outbox.exists() else []
    mails = [message_from_bytes(p.read_bytes(), policy=default_policy) for p in new]
    return [m for m in mails if m["To"] == email]


def test_providers_are_warned_a_month_and_a_week_before_a_check_runs_out(app, app_ctx, db_session,
                                                                         make_user, broker):
    user, listing = verified_provider(make_user, broker)  # the insurance ends after 200 days
    outbox = Path(app.config["MAIL_OUTBOX_DIR"])
    before = set(outbox.glob("*.eml")) if outbox.exists() else set()
    assert vetting.warn_before_expiry(on=date.today() + timedelta(days=160)) == []
    month_before = date.today() + timedelta(days=175)
    (sent,) = vetting.warn_before_expiry(on=month_before)
    assert (sent.warning.kind, sent.warning.days_left) == (CheckKind.INSURANCE, 25)
    (mail,) = _mail_to(app, user.email, before)
    ends = (date.today() + timedelta(days=200)).strftime("%-d %B %Y")
    assert "public liability insurance runs out on" in mail["Subject"] and ends in mail["Subject"]
    assert db_session.get(Listing, listing.id).is_live  # a warning hides nothing
    # Once a stage: the next days say nothing, the week before says it again, once.
    assert vetting.warn_before_expiry(on=month_before) == []
    assert vetting.warn_before_expiry(on=month_before + timedelta(days=10)) == []
    assert len(vetting.warn_before_expiry(on=date.today() + timedelta(days=195))) == 1
    assert vetting.warn_before_expiry(on=date.today() + timedelta(days=196)) == []
    events = db_session.scalars(select(AuditEvent).where(
        AuditEvent.action == "vetting.expiry_warned")).all()
    assert [(e.actor_id, e.details["stage"]) for e in events] == [(None, 30), (None, 7)]


def test_a_provider_who_has_sent_new_evidence_is_not_warned(app_ctx, make_user, broker):
    user, _ = verified_provider(make_user, broker)
    vetting.record_evidence(user, evidence_for(CheckKind.INSURANCE))
    assert vetting.warn_before_expiry(on=date.today() + timedelta(days=195)) == []


def test_expiry_job_hides_dbs_older_than_the_council_maximum(app_ctx, db_session, make_user, broker):
    user, listing = verified_provider(make_user, broker)
    max_days = app_ctx_settings().dbs_max_age_days_without_update_service
    notices = vetting.expire(on=date.today() + timedelta(days=max_days))
    assert notices and "DBS Update Service" in " ".join(notices[0].renew)


def app_ctx_settings():
    from flask import current_app

    return current_app.config["COUNCIL"]


def test_becoming_an_agency_hides_personal_care_until_cqc_is_verified(app_ctx, db_session,
                                                                       make_user, broker):
    user, listing = verified_provider(make_user, broker)
    providers.save_profile(user, profile_input(ProviderType.HOME_CARE_AGENCY))
    assert db_session.get(Listing, listing.id).is_live is False
    check = vetting.record_evidence(user, evidence_for(CheckKind.CQC))
    vetting.decide(broker, check.id, approve=True)
    assert db_session.get(Listing, listing.id).is_live is True


def test_withdrawn_listing_is_not_live_and_editing_is_audited(app_ctx, db_session, make_user, broker):
    user, listing = verified_provider(make_user, broker)
    listings.update_listing(user, listing.id, listing_input(published=False, price="18.00"))
    stored = db_session.get(Listing, listing.id)
    assert stored.is_live is False and stored.price_pence == 1800
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "listing.updated"))
    assert event.details["changes"]["price_pence"] == [1650, 1800]


def test_provider_cannot_reach_another_providers_listing(app_ctx, db_session, make_user, broker):
    _, listing = verified_provider(make_user, broker)
    other, _ = verified_provider(make_user, broker)
    with pytest.raises(NotFound):
        listings.update_listing(other, listing.id, listing_input(title="Mine now"))
    assert db_session.get(Listing, listing.id).title == "Care at home"


@pytest.mark.parametrize("field,overrides", [
    ("price", {"price": "0"}), ("price", {"price": "250.00"}), ("price", {"price": "12.345"}),
    ("funding_modes", {"funding_modes": []}),
    ("cancellation_charge", {"cancellation_charge": "500"}),
])
def test_bad_listing_input_is_refused_and_nothing_is_written(app_ctx, db_session, make_user, field,
                                                             overrides):
    user = make_user(Role.PROVIDER)
    providers.save_profile(user, profile_input())
    with pytest.raises(InvalidInput) as err:
        listings.create_listing(user, listing_input(**overrides))
    assert err.value.field == field
    assert db_session.scalar(select(func.count(Listing.id))) == 0


def test_wrong_cqc_number_is_refused_beside_the_field(app_ctx, db_session, make_user):
    user = make_user(Role.PROVIDER)
    providers.save_profile(user, profile_input(ProviderType.HOME_CARE_AGENCY))
    with pytest.raises(InvalidInput) as err:
        vetting.record_evidence(user, vetting.EvidenceInput(CheckKind.CQC, "CQC-12345"))
    assert err.value.field == "reference"
    assert db_session.scalar(select(func.count(VettingCheck.id))) == 0


def test_not_a_postcode_district_is_refused(app_ctx, db_session, make_user):
    user = make_user(Role.PROVIDER)
    with pytest.raises(InvalidInput) as err:
        providers.save_profile(user, profile_input(districts="SY1, Shrewsbury"))
    assert err.value.field == "districts" and "Shrewsbury" in err.value.message
    assert providers.profile_of(user) is None


def test_a_district_not_in_use_is_refused_by_name(app_ctx, db_session, make_user):
    # SY30 has the shape of a district in Shrewsbury's area, but no postcode uses it: a provider
    # claiming it would never be found by anyone living in a real district.
    user = make_user(Role.PROVIDER)
    with pytest.raises(InvalidInput) as err:
        providers.save_profile(user, profile_input(districts="SY1, sy30"))
    assert err.value.field == "districts"
    assert err.value.message.startswith("SY30 is not a postcode district in use")
    assert providers.profile_of(user) is None


def test_every_district_not_in_use_is_named_and_the_old_ones_are_kept(app_ctx, db_session, make_user):
    user = make_user(Role.PROVIDER)
    providers.save_profile(user, profile_input(districts="SY1, SY2"))
    with pytest.raises(InvalidInput) as err:
        providers.save_profile(user, profile_input(districts="SY3, SY30, TF99, QQ1"))
    assert err.value.message.startswith("SY30, TF99 and QQ1 are not postcode districts in use")
    db_session.expire_all()
    assert providers.profile_of(user).district_codes == ["SY1", "SY2"]


def test_real_districts_of_every_shape_are_accepted(app_ctx, db_session, make_user):
    user = make_user(Role.PROVIDER)
    profile = providers.save_profile(user, profile_input(districts="sw1a, E1W, ec1a, bt1, SY10"))
    assert sorted(profile.district_codes) == ["BT1", "E1W", "EC1A", "SW1A", "SY10"]


def test_photo_is_stored_under_a_generated_name_without_metadata(app_ctx, db_session, make_user):
    user = make_user(Role.PROVIDER)
    providers.save_profile(user, profile_input())
    profile = providers.save_photo(user, png_bytes())
    path = providers.photo_file(profile)
    assert path.parent.name == "uploads" and len(path.stem) == 32 and path.suffix == ".png"
    assert path.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("data,message", [
    (b"<?php echo 'hi'; ?>", "JPG, PNG or WEBP"),
    (b"GIF89a" + b"\x00" * 100, "JPG, PNG or WEBP"),
    (b"", "Choose a photo"),
])
def test_photo_that_is_not_an_allowed_image_is_refused(app_ctx, db_session, make_user, data, message):
    user = make_user(Role.PROVIDER)
    providers.save_profile(user, profile_input())
    with pytest.raises(InvalidInput, match=message):
        providers.save_photo(user, data)
    assert providers.profile_of(user).photo_filename is None


def test_oversized_photo_is_refused(app_ctx, db_session, make_user):
    user = make_user(Role.PROVIDER)
    providers.save_profile(user, profile_input())
    with pytest.raises(InvalidInput, match="smaller than 2 MB"):
        providers.save_photo(user, png_bytes() + b"\x00" * (2 * 1024 * 1024))


def test_demo_seed_loads_a_realistic_council_once(app_ctx, db_session, monkeypatch):
    from app.services import accounts, demo_seed
    from tests.factories import _TEST_PASSWORD_HASH

    # argon2 is deliberately slow; the seed's own speed is not what this test is about.
    monkeypatch.setattr(accounts, "hash_password", lambda password: _TEST_PASSWORD_HASH)
    # ...and a cache of its own, so the stand-in hash does not outlive this test (a later demo,
    # such as the browser tests' live server, would otherwise seed people who cannot sign in).
    monkeypatch.setattr(demo_seed, "_DEMO_HASHES", {})
    demo_seed.seed_all()
    counts = dict(db_session.execute(select(ProviderProfile.provider_type,
                                            func.count(ProviderProfile.id))
                                     .group_by(ProviderProfile.provider_type)).all())
    assert set(counts) == {t.value for t in ProviderType} and sum(counts.values()) >= 60
    from app.models import ProviderDistrict
    assert db_session.scalar(select(func.count(func.distinct(ProviderDistrict.district)))) >= 10
    statuses = set(db_session.scalars(select(VettingCheck.status)))
    assert statuses == {"pending", "verified", "rejected"}
    maria = providers.profile_of(accounts.find_by_email("provider@carefair.example"))
    assert maria.type_enum is ProviderType.SELF_EMPLOYED_PA
    assert maria.listings and all(listing.is_live for listing in maria.listings)
    hidden = vetting.expire()
    assert hidden, "some seeded providers have expired checks"
    total = db_session.scalar(select(func.count(Listing.id)))
    demo_seed.seed_all()
    assert db_session.scalar(select(func.count(Listing.id))) == total
    assert all(listing.is_live for listing in providers.profile_of(
        accounts.find_by_email("provider@carefair.example")).listings)


def test_the_daily_vetting_command_warns_about_checks_running_out(app, app_ctx, make_user, broker):
    user, listing = verified_provider(make_user, broker, skip={CheckKind.INSURANCE})
    soon = vetting.record_evidence(user, evidence_for(CheckKind.INSURANCE,
                                                      expires_on=date.today() + timedelta(days=5)))
    vetting.decide(broker, soon.id, approve=True)
    output = app.test_cli_runner().invoke(args=["vetting", "expire"]).output
    assert "Hid 0 listing(s)" in output
    assert "Warned 1 provider(s) about 1 check(s) that run out soon." in output
    assert "Warned 0 provider(s)" in app.test_cli_runner().invoke(args=["vetting", "expire"]).output
