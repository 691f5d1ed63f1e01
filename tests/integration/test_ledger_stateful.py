"""Random sequences of money operations through the service keep the ledger's promises."""

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import func, select

from app.domain.access import Role
from app.domain.ledger import NON_NEGATIVE, Account
from app.errors import DomainError
from app.extensions import db
from app.models import LedgerEntry, LedgerTransaction
from app.services import ledger
from tests.ledger_helpers import funded_budget, key

pytestmark = pytest.mark.database

amounts = st.integers(min_value=1, max_value=60_000)


def test_random_operation_sequences_keep_the_ledger_sound(app_ctx, make_user):
    broker = make_user(Role.BROKER)

    class LedgerMachine(RuleBasedStateMachine):
        @initialize()
        def start(self):
            self.holder, self.admin, self.budget = funded_budget(make_user, funded=50_000,
                                                                 contingency_weeks=6)
            self.holds: list[int] = []
            self.captures: list[int] = []
            self.last: tuple | None = None  # (operation, key, args) of the last success

        def _try(self, call):
            # Each operation stands for a use case: commit what succeeded (the ledger's
            # primitives never commit), roll back what was refused.
            try:
                result = call()
            except DomainError:
                db.session.rollback()
                return None
            db.session.commit()
            return result

        @rule(amount=amounts)
        def allocate(self, amount):
            k = key("a")
            if self._try(lambda: ledger.allocate(self.budget.id, amount, idempotency_key=k, actor=self.admin)):
                self.last = ("allocate", k, amount)

        @rule(amount=amounts, category=st.sampled_from(["transport", "respite"]),
              reserve=st.booleans(), approved=st.booleans())
        def hold(self, amount, category, reserve, approved):
            k = key("h")
            tx = self._try(lambda: ledger.hold(
                self.budget.id, amount, category=category, idempotency_key=k, actor=self.holder,
                from_contingency=reserve, approved_by=broker if approved else None))
            if tx is not None:
                self.holds.append(tx.id)
                self.last = ("hold", k, amount, category)

        @precondition(lambda self: self.holds)
        @rule(data=st.data())
        def release(self, data):
            hold_id = data.draw(st.sampled_from(self.holds))
            self._try(lambda: ledger.release(hold_id, idempotency_key=key("r"), actor=self.holder))

        @precondition(lambda self: self.holds)
        @rule(data=st.data(), amount=amounts)
        def capture(self, data, amount):
            hold_id = data.draw(st.sampled_from(self.holds))
            tx = self._try(lambda: ledger.capture(hold_id, amount, idempotency_key=key("c"), actor=self.holder))
            if tx is not None:
                self.captures.append(tx.id)

        @precondition(lambda self: self.captures)
        @rule(data=st.data(), amount=amounts)
        def refund(self, data, amount):
            capture_id = data.draw(st.sampled_from(self.captures))
            self._try(lambda: ledger.refund(capture_id, amount, idempotency_key=key("f"), actor=self.holder))

        @rule(amount=amounts)
        def clawback(self, amount):
            held_before = ledger.balances(self.budget.id)[Account.HELD]
            if self._try(lambda: ledger.clawback(self.budget.id, amount, idempotency_key=key("k"),
                                                 actor=self.admin, reason="Unspent")):
                assert ledger.balances(self.budget.id)[Account.HELD] == held_before

        @rule(amount=st.integers(min_value=-60_000, max_value=60_000).filter(bool))
        def adjust(self, amount):
            self._try(lambda: ledger.adjust(self.budget.id, amount, reason="Correction",
                                            idempotency_key=key("j"), actor=broker))

        @precondition(lambda self: self.last is not None)
        @rule()
        def replay_last(self):
            before = ledger.balances(self.budget.id)
            if self.last[0] == "allocate":
                tx = ledger.allocate(self.budget.id, self.last[2], idempotency_key=self.last[1], actor=self.admin)
            else:
                tx = ledger.hold(self.budget.id, self.last[2], category=self.last[3],
                                 idempotency_key=self.last[1], actor=self.holder, approved_by=broker)
            assert tx.replayed
            assert ledger.balances(self.budget.id) == before

        @invariant()
        def balances_are_sums_never_negative_and_transactions_balance(self):
            balances = ledger.balances(self.budget.id)
            for account in NON_NEGATIVE:
                assert balances[account] >= 0, account
            assert sum(balances.values()) == 0
            unbalanced = db.session.execute(
                select(LedgerEntry.transaction_id).join(LedgerTransaction)
                .where(LedgerTransaction.budget_id == self.budget.id)
                .group_by(LedgerEntry.transaction_id).having(func.sum(LedgerEntry.amount_pence) != 0)
            ).all()
            assert unbalanced == []
            for hold_id in self.holds:
                assert ledger.held_remaining(hold_id) >= 0

    LedgerMachine.TestCase.settings = settings(
        max_examples=8, stateful_step_count=12, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    LedgerMachine.TestCase().runTest()
