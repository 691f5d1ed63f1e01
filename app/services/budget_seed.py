"""Demo budgets, support plans and a few months of ledger history, loaded through the services."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from app.domain.budget import add_months, instalment_amounts, instalment_dates
from app.errors import InsufficientFunds
from app.services import accounts, budgets, ledger, transaction


def load_budgets(seed_dir: Path, today: date | None = None) -> None:
    path = seed_dir / "budgets.json"
    if not path.exists():
        return
    today = today or date.today()
    data = json.loads(path.read_text())
    admin = accounts.find_by_email("admin@carefair.example")
    for row in data["budgets"]:
        holder = accounts.find_by_email(row["holder"])
        if holder is None:
            continue
        # Seeding is idempotent: an existing budget means this holder is done.
        if budgets.budgets_of(holder.id):
            continue
        start = add_months(today.replace(day=1), -row["months_ago"])
        plan = row["plan"]
        # Seeded plans stand for ones the council has already agreed (actor None: Carefair).
        budgets.save_plan(holder.id, plan["what_matters"], plan["outcomes"], plan["categories"],
                          actor=None)
        budget = budgets.create_budget(
            holder.id, row["annual_pence"], start, row["frequency"], row["funding_mode"],
            contingency_weeks=row.get("contingency_weeks"), contingency_pence=row.get("contingency_pence"),
            actor=admin)
        dates = instalment_dates(start, budget.frequency_enum)
        amounts = instalment_amounts(budget.annual_pence, len(dates))
        for i, (due, pence) in enumerate(zip(dates, amounts, strict=True)):
            if due > today:
                break
            ledger.allocate(budget.id, pence, idempotency_key=f"seed-{budget.id}-instalment-{i}",
                            actor=admin, received_on=due, reference=f"Instalment {i + 1}")
        week, day = 0, start + timedelta(days=3)
        while day < today - timedelta(days=3):
            for n, spend in enumerate(row["weekly"]):
                key = f"seed-{budget.id}-w{week}-{n}"
                try:
                    held = ledger.hold(budget.id, spend["pence"], category=spend["category"],
                                       idempotency_key=key, actor=holder, reference=spend["reference"],
                                       occurred_on=day)
                except InsufficientFunds:
                    continue  # the demo never overspends; it just skips a week
                ledger.capture(held.id, spend["pence"], idempotency_key=key, actor=holder,
                               occurred_on=min(day + timedelta(days=2), today))
            week += 1
            day += timedelta(weeks=1)
        if row.get("open_hold"):
            spend = row["open_hold"]
            ledger.hold(budget.id, spend["pence"], category=spend["category"],
                        idempotency_key=f"seed-{budget.id}-open", actor=holder,
                        reference=spend["reference"], occurred_on=today)
        transaction.commit()  # one holder's budget history at a time (the ledger never commits)
