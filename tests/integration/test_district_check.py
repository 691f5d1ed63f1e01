"""Districts recorded before they were checked: the plain ones are corrected (audited), the rest are
listed for a broker, from the command line and on the market view's "Districts to check" page."""

import pytest
from sqlalchemy import select

from app.domain.access import Role
from app.extensions import db
from app.models import AuditEvent, ProviderDistrict, User
from app.services import district_check
from app.services.district_check import district_meant
from tests.market_helpers import market_provider

pytestmark = pytest.mark.database


def test_only_a_plain_change_of_form_is_read_as_a_district():
    assert district_meant("ls6 1ab") == "LS6"
    assert district_meant(" sw1a ") == "SW1A"
    assert district_meant("L S 6") == "LS6"
    assert district_meant("LS61AB") == "LS6"
    # A guess between districts is a person's decision.
    assert district_meant("LX6") is None
    assert district_meant("SY30") is None
    assert district_meant("") is None


@pytest.fixture
def old_records(app_ctx, make_user):
    """What sign-up, imports and profiles let in before districts were checked."""
    broker = make_user(Role.BROKER)
    listing = market_provider(make_user, broker, "Valley Care", districts="LS6, SY1")
    profile_id = listing.profile_id
    db.session.add_all([ProviderDistrict(profile_id=profile_id, district=d)
                        for d in ("sy1", "tf2", "SY30")])
    people = {
        "postcode": make_user(Role.HOLDER, name="Ann Postcode", home_district="ls6 1ab"),
        "made_up": make_user(Role.HOLDER, name="Bob Madeup", home_district="LX6"),
        "fine": make_user(Role.HOLDER, name="Cat Fine", home_district="LS6"),
    }
    db.session.commit()
    return profile_id, people


def _provider_districts(profile_id):
    return sorted(db.session.scalars(select(ProviderDistrict.district)
                                     .where(ProviderDistrict.profile_id == profile_id)))


def test_plain_districts_are_corrected_and_audited_and_made_up_ones_are_listed(old_records):
    profile_id, people = old_records
    result = district_check.correct_districts()
    assert people["postcode"].home_district == "LS6"
    assert people["made_up"].home_district == "LX6"  # never guessed
    assert _provider_districts(profile_id) == ["LS6", "SY1", "SY30", "TF2"]  # 'sy1' was a duplicate
    assert [(e.name, e.district) for e in result.unknown] == [("Bob Madeup", "LX6"), ("Valley Care", "SY30")]
    assert sorted((e.district, now) for e, now in result.corrected) == [
        ("ls6 1ab", "LS6"), ("sy1", "SY1"), ("tf2", "TF2")]
    audits = db.session.scalars(select(AuditEvent).where(AuditEvent.action.in_(
        ["holder.home_district_corrected", "provider.district_corrected"])).order_by(AuditEvent.id)).all()
    assert [(a.action, a.details) for a in audits] == [
        ("holder.home_district_corrected", {"old": "ls6 1ab", "new": "LS6"}),
        ("provider.district_corrected", {"old": "sy1", "new": "SY1"}),
        ("provider.district_corrected", {"old": "tf2", "new": "TF2"})]
    # Running it again changes nothing and still lists what needs a person.
    again = district_check.correct_districts()
    assert again.corrected == [] and len(again.unknown) == 2


def test_a_dry_run_changes_nothing(old_records):
    profile_id, people = old_records
    result = district_check.correct_districts(dry_run=True)
    assert len(result.corrected) == 3 and len(result.unknown) == 2
    db.session.expire_all()
    assert db.session.get(User, people["postcode"].id).home_district == "ls6 1ab"
    assert "tf2" in _provider_districts(profile_id)


def test_the_command_corrects_and_reports(app, old_records):
    out = app.test_cli_runner().invoke(args=["brokerage", "districts"])
    assert out.exit_code == 0, out.output
    assert "Corrected 3 district(s)." in out.output
    assert "'ls6 1ab' -> LS6" in out.output
    assert "2 district(s) are no postcode district in use and need a broker:" in out.output
    assert "(Bob Madeup): 'LX6'" in out.output and "(Valley Care): 'SY30'" in out.output


def test_brokers_see_the_districts_to_check_and_can_put_a_holders_right(
        client, login_as, old_records):
    _, people = old_records
    login_as(Role.BROKER)
    html = client.get("/markets/districts").get_data(as_text=True)
    assert "LX6" in html and "SY30" in html and "ls6 1ab" in html
    assert f'href="/broker/holders/{people["made_up"].id}/district"' in html
    assert "Cat Fine" not in html
    response = client.post(f"/broker/holders/{people['made_up'].id}/district",
                           data={"district": "LS6"}, follow_redirects=True)
    assert response.status_code == 200
    assert "LX6" not in client.get("/markets/districts").get_data(as_text=True)


@pytest.mark.parametrize("role", [Role.HOLDER, Role.PROVIDER])
def test_holders_and_providers_cannot_see_the_districts_to_check(client, login_as, role):
    login_as(role)
    assert client.get("/markets/districts").status_code in (403, 404)


def test_a_blank_district_is_no_district_for_the_markets_and_is_cleared(app_ctx, make_user):
    from app.models import MarketFigureRecord, MarketRun
    from app.services import brokerage
    from tests.market_helpers import book, holders_in

    broker = make_user(Role.BROKER)
    listing = market_provider(make_user, broker, "Valley Care")
    blank = make_user(Role.HOLDER, name="Dee Blank", home_district=" ")
    book(listing, blank)
    book(listing, holders_in(make_user, "LS6", 1)[0])
    run = db.session.get(MarketRun, brokerage.scan().market_run_id)
    assert run.unplaced_holders == 1
    assert sorted(db.session.scalars(select(MarketFigureRecord.district).where(
        MarketFigureRecord.run_id == run.id))) == ["LS6"]
    result = district_check.correct_districts()
    assert [(e.name, now) for e, now in result.corrected] == [("Dee Blank", "")]
    assert blank.home_district is None and result.unknown == []


def test_a_sign_up_link_carrying_a_district_not_in_use_records_none(app_ctx):
    """Links sent before districts were checked are signed, so only finishing can check them."""
    from app.services import accounts

    for district, kept in (("LX6", None), ("LS6", "LS6")):
        token = accounts._sign_up_serializer().dumps({
            "email": f"new-{district.lower()}@carefair.example", "name": "New Person",
            "role": "holder", "district": district})
        user = accounts.finish_sign_up(token, "a long and unusual passphrase 42")
        assert user.home_district == kept


def test_the_holders_and_brokers_pages_say_when_a_recorded_district_is_not_in_use(
        client, login, login_as, make_user, db_session):
    made_up = make_user(Role.HOLDER, home_district="LX6")
    fine = make_user(Role.HOLDER, home_district="LS6")
    db_session.commit()
    login_as(Role.BROKER)
    assert "Not a postcode district in use" in client.get(f"/broker/holders/{made_up.id}").get_data(as_text=True)
    assert "Not a postcode district in use" not in client.get(f"/broker/holders/{fine.id}").get_data(as_text=True)
    login(made_up)
    assert "this is not a postcode district in use" in client.get("/my/").get_data(as_text=True)


def test_only_someone_acting_for_the_holder_may_change_their_district(app_ctx, make_user):
    from app.domain.access import DelegateKind
    from app.errors import NotPermitted
    from app.services.home_district import set_home_district
    from tests.messaging_helpers import delegate

    holder = make_user(Role.HOLDER, home_district="LS6")
    stranger = make_user(Role.SUPPORTER)  # someone else's helper, not this holder's
    with pytest.raises(NotPermitted):
        set_home_district(stranger, holder.id, "SY1")
    assert holder.home_district == "LS6"
    helper = delegate(make_user, holder, DelegateKind.NOMINATED)
    assert set_home_district(helper, holder.id, "SY1").home_district == "SY1"
