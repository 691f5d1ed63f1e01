"""Budget, statement and plan pages for holders, delegates, brokers and council admins."""

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.domain.access import Role
from app.errors import InvalidInput, NeedsApproval, NotPermitted
from app.extensions import db
from app.models import AuditEvent, Delegation, LedgerTransaction, Notification
from app.services import budgets, ledger
from tests.ledger_helpers import funded_budget, key

pytestmark = pytest.mark.database


def _spend(holder, budget, pence=20_000):
    held = ledger.hold(budget.id, pence, category="personal_assistant", idempotency_key=key(), actor=holder)
    ledger.capture(held.id, pence, idempotency_key=key(), actor=holder)
    db.session.commit()  # the ledger's primitives never commit: this test is their use case


def test_holder_sees_balances_forecast_chart_and_table(client, make_user, login):
    holder, _, budget = funded_budget(make_user)
    _spend(holder, budget)
    ledger.hold(budget.id, 5_000, category="transport", idempotency_key=key(), actor=holder)
    db.session.commit()
    login(holder)
    page = client.get("/my/budget").get_data(as_text=True)
    assert 'id="available">£750.00' in page
    assert 'id="held">£50.00' in page and 'id="spent">£200.00' in page
    assert "At this rate your money lasts until" in page
    assert "<svg" in page and "<script" not in page.split("<svg")[1].split("</svg>")[0]
    assert 'id="spend-table"' in page and "Personal assistant" in page


def test_someone_acting_for_the_holder_reads_the_forecast_about_the_holder(
        client, make_user, login):
    from app.domain.access import DelegateKind
    from tests.messaging_helpers import delegate

    holder, _, budget = funded_budget(make_user)
    _spend(holder, budget)
    login(delegate(make_user, holder, DelegateKind.AUTHORISED))
    page = client.get("/my/budget").get_data(as_text=True)
    assert "At this rate their money lasts until" in page
    assert "your money" not in page.lower()


def test_holder_statement_lists_entries_and_downloads_as_csv(client, make_user, login):
    holder, _, budget = funded_budget(make_user)
    _spend(holder, budget, 12_345)
    login(holder)
    page = client.get("/my/budget/statement").get_data(as_text=True)
    assert "Paid for support received" in page and "£123.45" in page
    response = client.get("/my/budget/statement.csv")
    assert response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    assert body.splitlines()[0].startswith("date,transaction,entry,description")
    assert ",Spent,Personal assistant,123.45," in body


@pytest.mark.parametrize("shares,status", [("budget", 200), ("plan", 403)])
def test_circle_sees_the_budget_only_when_shared(client, make_user, login, db_session, shares, status):
    holder, _, budget = funded_budget(make_user)
    friend = make_user(Role.SUPPORTER)
    db_session.add(Delegation(holder_id=holder.id, delegate_id=friend.id, kind="circle", status="active",
                              invited_email=friend.email, shares=shares, created_by_id=holder.id))
    db_session.commit()
    login(friend)
    assert client.get("/my/budget").status_code == status
    assert client.get("/my/budget/statement.csv").status_code == status
    assert client.get("/my/plan/edit").status_code == 403


def test_holder_without_a_budget_is_told_plainly(client, login_as):
    login_as(Role.HOLDER)
    assert "has not set up a budget" in client.get("/my/budget").get_data(as_text=True)


def test_statement_download_without_a_budget_is_a_plain_not_found(client, login_as):
    login_as(Role.HOLDER)
    response = client.get("/my/budget/statement.csv")
    assert response.status_code == 404 and response.mimetype == "text/plain"
    assert "There is no budget yet" in response.get_data(as_text=True)


def test_holder_edits_plan_as_a_new_version_and_bad_amounts_show_beside_the_field(client, make_user, login):
    holder, _, budget = funded_budget(make_user)
    login(holder)
    form = {"what_matters": "My garden", "outcomes": "Stay at home", "amount_respite": "120.555"}
    page = client.post("/my/plan/edit", data=form).get_data(as_text=True)
    assert "no more than 2 numbers after the decimal point" in page and 'value="120.555"' in page
    assert len(budgets.plan_versions(holder.id)) == 1
    form["amount_respite"] = "1,200.50"
    assert client.post("/my/plan/edit", data=form).status_code == 302
    page = client.get("/my/plan").get_data(as_text=True)
    assert "Waiting for a broker to agree" in page and "£1,200.50" in page and "Version 1" in page
    assert "Seeing my friends" in client.get("/my/plan/versions/1").get_data(as_text=True)


SAME_SPENDING = {"amount_personal_assistant": "10,000", "amount_transport": "3,000"}


def test_holder_side_spending_change_waits_for_a_broker_and_changes_nothing_agreed(
        client, make_user, login):
    holder, _, budget = funded_budget(make_user)
    login(holder)
    response = client.post("/my/plan/edit", data={
        "what_matters": "Seeing my friends", "outcomes": "Get out more",
        "amount_personal_assistant": "90,000", "amount_transport": "3,000", "amount_respite": "500"})
    assert response.status_code == 302
    page = client.get("/my/plan").get_data(as_text=True)
    proposal, agreed = page.split('id="proposal"')[1].split("The agreed plan")
    assert "Waiting for a broker to agree" in proposal and "£90,000.00" in proposal
    assert "£10,000.00" in agreed and "£90,000.00" not in agreed and "Respite" not in agreed
    assert ledger.current_plan(holder.id).amounts == {"personal_assistant": 1_000_000, "transport": 300_000}
    # Respite is only in the proposal, so spending on it still needs a broker.
    with pytest.raises(NeedsApproval):
        ledger.hold(budget.id, 5_000, category="respite", idempotency_key=key(), actor=holder)
    budget_page = client.get("/my/budget").get_data(as_text=True)
    assert "£90,000.00" not in budget_page
    # Editing again carries on from the proposal rather than losing it.
    assert 'value="90000.00"' in client.get("/my/plan/edit").get_data(as_text=True)
    proposed = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "plan.proposed"))
    assert proposed.actor_id == holder.id and proposed.details["categories"]["personal_assistant"] == 9_000_000


def test_holder_side_text_only_change_takes_effect_at_once(client, make_user, login):
    holder, _, _ = funded_budget(make_user)
    login(holder)
    client.post("/my/plan/edit", data={"what_matters": "My dog, Biscuit", "outcomes": "Walk every day",
                                       **SAME_SPENDING})
    assert ledger.current_plan(holder.id).what_matters == "My dog, Biscuit"
    assert "Waiting for a broker" not in client.get("/my/plan").get_data(as_text=True)


def test_authorised_person_proposal_is_recorded_on_behalf_of_the_holder(client, make_user, login):
    holder, _, _ = funded_budget(make_user)
    helper = make_user(Role.HOLDER)
    with client.application.app_context():  # the service tells the brokers (links need the app)
        budgets.save_plan(holder.id, "x", "y", {"personal_assistant": 9_000_000}, actor=helper,
                          on_behalf_of=holder)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "plan.proposed"))
    assert (event.actor_id, event.on_behalf_of_id) == (helper.id, holder.id)
    assert budgets.waiting_proposal(holder.id) is not None
    assert ledger.current_plan(holder.id).version == 1


def _propose(client, holder, pa_pounds=90_000):
    with client.application.app_context():  # the service tells the brokers (links need the app)
        return budgets.save_plan(holder.id, "Seeing my friends", "Get out more",
                                 {"personal_assistant": pa_pounds * 100, "transport": 300_000},
                                 actor=holder)


def test_broker_sees_the_changes_and_a_warning_when_over_the_budget_then_agrees(client, make_user, login):
    holder, _, budget = funded_budget(make_user)
    proposal = _propose(client, holder)
    broker = login(make_user(Role.BROKER))
    queue = client.get("/broker/plans").get_data(as_text=True)
    assert holder.name in queue and "£93,000.00" in queue and "Over the budget by £80,000.00" in queue
    page = client.get(f"/broker/plans/{proposal.id}").get_data(as_text=True)
    assert "Changed" in page and "£10,000.00" in page and "£90,000.00" in page
    assert 'id="over-budget"' in page and "budget of £13,000.00 a year" in page
    response = client.post(f"/broker/plans/{proposal.id}/agree")
    assert response.status_code == 302
    assert ledger.current_plan(holder.id).id == proposal.id
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "plan.proposal_agreed"))
    assert (event.actor_id, event.on_behalf_of_id) == (broker.id, holder.id)
    told = db.session.scalars(select(Notification).where(Notification.user_id == holder.id)).all()
    assert [n.event for n in told] == ["plan_changes_agreed"]
    # A double submit decides once.
    client.post(f"/broker/plans/{proposal.id}/agree")
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "plan.proposal_agreed")) == 1
    assert "There are no changes waiting" in client.get("/broker/plans").get_data(as_text=True)


def test_broker_declines_with_a_reason_the_holder_then_sees(client, make_user, login):
    holder, _, _ = funded_budget(make_user)
    proposal = _propose(client, holder)
    login(make_user(Role.BROKER))
    page = client.post(f"/broker/plans/{proposal.id}/decline", data={"decline-reason": "  "})
    assert page.status_code == 400
    assert "Say why the changes are not agreed" in page.get_data(as_text=True)
    assert budgets.waiting_proposal(holder.id).id == proposal.id
    client.post(f"/broker/plans/{proposal.id}/decline",
                data={"decline-reason": "Far more than the budget; let us talk on Monday"})
    assert budgets.waiting_proposal(holder.id) is None
    assert ledger.current_plan(holder.id).version == 1
    told = db.session.scalars(select(Notification).where(Notification.user_id == holder.id)).all()
    assert [n.event for n in told] == ["plan_changes_declined"] and "Monday" not in told[0].body
    login(holder)
    page = client.get("/my/plan").get_data(as_text=True)
    assert "let us talk on Monday" in page and "(not agreed)" in page


def test_holder_side_cannot_agree_its_own_proposal(client, make_user, login):
    holder, _, _ = funded_budget(make_user)
    proposal = _propose(client, holder)
    login(holder)
    assert client.post(f"/broker/plans/{proposal.id}/agree").status_code == 403
    with pytest.raises(NotPermitted):
        budgets.agree_proposal(proposal.id, actor=holder)
    assert ledger.current_plan(holder.id).version == 1


def test_broker_edits_a_holders_plan(client, make_user, login):
    holder, _, _ = funded_budget(make_user)
    login(make_user(Role.BROKER))
    response = client.post(f"/broker/holders/{holder.id}/plan",
                           data={"what_matters": "Music", "outcomes": "Ride my bike", "amount_transport": "50"})
    assert response.status_code == 302
    assert ledger.current_plan(holder.id).amounts == {"transport": 5_000}


def _admin(make_user, login):
    return login(make_user(Role.COUNCIL_ADMIN))


def test_admin_creates_a_budget_and_bad_values_show_beside_fields(client, make_user, login):
    holder = make_user(Role.HOLDER)
    _admin(make_user, login)
    start = date.today()
    form = {"holder": str(holder.id), "annual_amount": "-5",
            "start_date": [str(start.day), str(start.month), str(start.year)],
            "frequency": "monthly", "funding_mode": "council_managed", "contingency_kind": "weeks",
            "contingency_weeks": "4"}
    page = client.post("/admin/budgets/new", data=form).get_data(as_text=True)
    assert "without a minus sign" in page and budgets.budgets_of(holder.id) == []
    form["annual_amount"] = "5000000"
    assert "no more than £1,000,000.00" in client.post("/admin/budgets/new", data=form).get_data(as_text=True)
    form["annual_amount"] = "12,000"
    form["start_date"] = ["1", "1", "1990"]
    assert "Enter a start date between" in client.post("/admin/budgets/new", data=form).get_data(as_text=True)
    form["start_date"] = [str(start.day), str(start.month), str(start.year)]
    response = client.post("/admin/budgets/new", data=form)
    assert response.status_code == 302
    assert budgets.budgets_of(holder.id)[0].annual_pence == 1_200_000


def _count(db_session, budget_id):
    return db_session.scalar(select(func.count()).select_from(LedgerTransaction)
                             .where(LedgerTransaction.budget_id == budget_id))


def test_admin_records_instalment_once_even_when_submitted_twice(client, make_user, login, db_session):
    _, _, budget = funded_budget(make_user, funded=0)
    _admin(make_user, login)
    today = date.today()
    form = {"idempotency_key": "form-key-1", "amount": "1000.00",
            "received_on": [str(today.day), str(today.month), str(today.year)]}
    assert client.post(f"/admin/budgets/{budget.id}/instalments", data=form).status_code == 302
    again = client.post(f"/admin/budgets/{budget.id}/instalments", data=form, follow_redirects=True)
    assert "already recorded, so nothing was added again" in again.get_data(as_text=True)
    assert _count(db_session, budget.id) == 1


@pytest.mark.parametrize("amount,received,message", [
    ("10.001", 0, "no more than 2 numbers after the decimal point"),
    ("0", 0, "more than £0"),
    ("100", 1, "today or in the past"),
    ("100", -400, "on or after the budget started"),
])
def test_bad_instalments_are_refused_beside_the_field(client, make_user, login, db_session, amount,
                                                     received, message):
    _, _, budget = funded_budget(make_user, funded=0)
    _admin(make_user, login)
    day = date.today() + timedelta(days=received)
    response = client.post(f"/admin/budgets/{budget.id}/instalments", data={
        "idempotency_key": key(), "amount": amount, "received_on": [str(day.day), str(day.month), str(day.year)]})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _count(db_session, budget.id) == 0


def test_admin_adjusts_with_a_reason_and_claws_back_unspent(client, make_user, login):
    holder, _, budget = funded_budget(make_user)
    ledger.hold(budget.id, 30_000, category="transport", idempotency_key=key(), actor=holder)
    db.session.commit()
    _admin(make_user, login)
    page = client.post(f"/admin/budgets/{budget.id}/adjustments",
                       data={"idempotency_key": key(), "direction": "add", "amount": "10", "reason": ""})
    assert "Enter the reason for the adjustment" in page.get_data(as_text=True)
    assert client.post(f"/admin/budgets/{budget.id}/adjustments", data={
        "idempotency_key": key(), "direction": "add", "amount": "10", "reason": "Missed mileage"}).status_code == 302
    too_much = client.post(f"/admin/budgets/{budget.id}/clawbacks",
                           data={"idempotency_key": key(), "amount": "710.01", "reason": "Year end"})
    assert "Only £710.00 is unspent" in too_much.get_data(as_text=True)
    assert client.post(f"/admin/budgets/{budget.id}/clawbacks", data={
        "idempotency_key": key(), "amount": "710", "reason": "Year end", "confirmed": "yes"}).status_code == 302
    balances = ledger.balances(budget.id)
    assert (balances["available"], balances["held"]) == (0, 30_000)


def _clawbacks(budget) -> int:
    return db.session.scalar(select(func.count()).select_from(LedgerTransaction).where(
        LedgerTransaction.budget_id == budget.id, LedgerTransaction.operation == "clawback"))


def test_clawback_form_starts_empty_and_needs_a_reason_beside_the_field(client, make_user, login):
    _, _, budget = funded_budget(make_user)
    _admin(make_user, login)
    page = client.get(f"/admin/budgets/{budget.id}").get_data(as_text=True)
    form = page.split('id="clawback"')[1]
    amount_input = re.search(r'<input[^>]*name="amount"[^>]*>', form).group(0)
    assert 'value="' not in amount_input or 'value=""' in amount_input
    assert "Unspent at the end of the period</textarea>" not in form and "£1,000.00 is unspent" in form
    response = client.post(f"/admin/budgets/{budget.id}/clawbacks",
                           data={"idempotency_key": key(), "amount": "250", "reason": " "})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Enter the reason for taking the money back" in page and 'value="250"' in page
    assert _clawbacks(budget) == 0
    with pytest.raises(InvalidInput):
        ledger.clawback(budget.id, 100, idempotency_key=key(), actor=make_user(Role.COUNCIL_ADMIN),
                        reason="  ")


def test_clawback_is_confirmed_on_a_second_page_and_a_double_submit_takes_money_once(
        client, make_user, login):
    holder, _, budget = funded_budget(make_user)
    _admin(make_user, login)
    data = {"idempotency_key": key(), "amount": "250", "reason": "Unspent at the year end"}
    page = client.post(f"/admin/budgets/{budget.id}/clawbacks", data=data).get_data(as_text=True)
    assert (f"You are about to take £250.00 back from {holder.name}'s budget, leaving £750.00"
            in page)
    assert "Unspent at the year end" in page and "Take the money back" in page and "Cancel" in page
    assert _clawbacks(budget) == 0  # nothing moves until confirmed
    confirm = {**data, "confirmed": "yes"}
    assert client.post(f"/admin/budgets/{budget.id}/clawbacks", data=confirm).status_code == 302
    again = client.post(f"/admin/budgets/{budget.id}/clawbacks", data=confirm, follow_redirects=True)
    assert "already recorded" in again.get_data(as_text=True)
    assert _clawbacks(budget) == 1
    assert ledger.balances(budget.id)["available"] == 75_000
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "ledger.clawback"))
    assert event.details["reason"] == "Unspent at the year end" and event.on_behalf_of_id == holder.id


def test_admin_exports_period_audit_and_statement_csv(client, make_user, login):
    holder, _, budget = funded_budget(make_user)
    _spend(holder, budget, 4_200)
    _admin(make_user, login)
    first = budget.start_date
    last = date.today()
    response = client.get("/admin/budgets/audit.csv", query_string={
        "first": [str(first.day), str(first.month), str(first.year)],
        "last": [str(last.day), str(last.month), str(last.year)]})
    assert response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).splitlines()
    header = lines[0].split(",")
    row = next(line.split(",") for line in lines[1:] if line.startswith(f"{budget.id},"))
    assert row[header.index("allocated_pounds")] == "1000.00"
    assert row[header.index("spent_personal_assistant_pounds")] == "42.00"
    assert row[header.index("unspent_pounds")] == "958.00"
    assert client.get(f"/admin/budgets/{budget.id}/statement.csv").mimetype == "text/csv"
    assert "Budget for" in client.get(f"/admin/budgets/{budget.id}").get_data(as_text=True)


def test_other_holders_budgets_are_not_reachable(client, make_user, login):
    _, _, budget = funded_budget(make_user)
    login(make_user(Role.HOLDER))
    assert client.get(f"/admin/budgets/{budget.id}").status_code == 403
    assert "has not set up a budget" in client.get("/my/budget").get_data(as_text=True)
