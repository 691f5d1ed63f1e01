"""Test helpers for budgets: a holder with a plan and a funded budget, through the services."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import count

from app.domain.access import Role
from app.services import budgets

_keys = count()


def key(prefix: str = "t") -> str:
    return f"{prefix}-{next(_keys)}"


def funded_budget(make_user, *, annual=1_300_000, funded=100_000, contingency_weeks=0,
                  categories=None, start=None):
    """A holder with a plan (personal assistant and transport) and `funded` pence available."""
    holder = make_user(Role.HOLDER)
    admin = make_user(Role.COUNCIL_ADMIN)
    budgets.save_plan(holder.id, "Seeing my friends", "Get out more",
                      categories or {"personal_assistant": 1_000_000, "transport": 300_000}, actor=None)
    budget = budgets.create_budget(holder.id, annual, start or date.today() - timedelta(days=60),
                                   "four_weekly", "direct_payment", contingency_weeks=contingency_weeks,
                                   actor=admin)
    if funded:
        budgets.record_instalment(budget.id, funded, idempotency_key=key("alloc"), actor=admin)
    return holder, admin, budget
