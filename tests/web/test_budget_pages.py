"""Budget, statement and plan pages for holders, delegates, brokers and council admins."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.domain.access import Role
from app.models import Delegation, LedgerTransaction
from app.services import budgets, ledger
from tests.ledger_helpers import funded_budget, key

pytestmark = pytest.mark.database


def _spend(holder, budget, pence=20_000):
    held = ledger.hold(budget.id, pence, category="personal_assistant", idempotency_key=key(), actor=holder)
    ledger.capture(held.id, pence, idempotency_key=key(), actor=holder)


def test_holder_sees_balances_forecast_chart_and_table(client, make_user, login):
    holder, _, budget = funded_budget(make_user)
    _spend(holder, budget)
    ledger.hold(budget.id, 5_000, category="transport", idempotency_key=key(), actor=holder)
    login(holder)
    page = client.get("/my/budget").get_data(as_text=True)
    assert 'id="available">£750.00' in page
    assert 'id="held">£50.00' in page and 'id="spent">£200.00' in page
    assert "At this rate your money lasts until" in page
    assert "<svg" in page and "<script" not in page.split("<svg")[1].split("</svg>")[0]
    assert 'id="spend-table"' in page and "Personal assistant" in page


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
    assert "My garden" in page and "£1,200.50" in page and "Version 1" in page
    assert "Seeing my friends" in client.get("/my/plan/versions/1").get_data(as_text=True)


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
    _admin(make_user, login)
    page = client.post(f"/admin/budgets/{budget.id}/adjustments",
                       data={"idempotency_key": key(), "direction": "add", "amount": "10", "reason": ""})
    assert "Enter the reason for the adjustment" in page.get_data(as_text=True)
    assert client.post(f"/admin/budgets/{budget.id}/adjustments", data={
        "idempotency_key": key(), "direction": "add", "amount": "10", "reason": "Missed mileage"}).status_code == 302
    too_much = client.post(f"/admin/budgets/{budget.id}/clawbacks", data={"idempotency_key": key(), "amount": "710.01"})
    assert "Only £710.00 is unspent" in too_much.get_data(as_text=True)
    assert client.post(f"/admin/budgets/{budget.id}/clawbacks",
                       data={"idempotency_key": key(), "amount": "710"}).status_code == 302
    balances = ledger.balances(budget.id)
    assert (balances["available"], balances["held"]) == (0, 30_000)


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
