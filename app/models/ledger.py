"""The append-only double-entry ledger: transactions (one per money operation) and their legs."""

from __future__ import annotations

from datetime import date, datetime
from itertools import groupby

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from app.domain.ledger import Account, Operation
from app.models.audit import APPEND_ONLY_MODELS, AppendOnlyError
from app.models.base import Base, UTCDateTime, utcnow

OPERATION_VALUES = ", ".join(f"'{o.value}'" for o in Operation)
ACCOUNT_VALUES = ", ".join(f"'{a.value}'" for a in Account)


class LedgerTransaction(Base):
    __tablename__ = "ledger_transactions"
    __table_args__ = (
        # A retried request carries the same key: the second attempt finds the first.
        UniqueConstraint("operation", "idempotency_key", name="uq_ledger_transactions_operation_key"),
        CheckConstraint(f"operation IN ({OPERATION_VALUES})", name="operation_known"),
        CheckConstraint("amount_pence > 0", name="amount_positive"),
        Index("ix_ledger_transactions_budget_occurred", "budget_id", "occurred_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    budget_id: Mapped[int] = mapped_column(ForeignKey("budgets.id"))
    operation: Mapped[str] = mapped_column(String(20))
    idempotency_key: Mapped[str] = mapped_column(String(80))
    # The headline amount (for adjust, its size; `amount_sign` says which way).
    amount_pence: Mapped[int] = mapped_column(Integer)
    category: Mapped[str | None] = mapped_column(String(40))
    from_contingency: Mapped[bool] = mapped_column(Boolean, default=False)
    # release / capture point at their hold; refund at its capture.
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    refund_of_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    reason: Mapped[str | None] = mapped_column(String(500))
    reference: Mapped[str | None] = mapped_column(String(120))
    occurred_on: Mapped[date] = mapped_column(Date)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    entries: Mapped[list[LedgerEntry]] = relationship(back_populates="transaction",
                                                      order_by="LedgerEntry.id")

    # Set (not stored) when a service returns an earlier transaction for a replayed key.
    replayed = False

    @property
    def operation_enum(self) -> Operation:
        return Operation(self.operation)


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint(f"account IN ({ACCOUNT_VALUES})", name="account_known"),
        CheckConstraint("amount_pence != 0", name="amount_not_zero"),
        # Balances are sums: this index answers them without touching the table (PostgreSQL
        # index-only scans; the column order matches `WHERE budget_id = ? GROUP BY account`).
        Index("ix_ledger_entries_budget_account", "budget_id", "account", "amount_pence"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    budget_id: Mapped[int] = mapped_column(ForeignKey("budgets.id"))
    account: Mapped[str] = mapped_column(String(20))
    amount_pence: Mapped[int] = mapped_column(Integer)
    category: Mapped[str | None] = mapped_column(String(40))

    transaction: Mapped[LedgerTransaction] = relationship(back_populates="entries")


APPEND_ONLY_MODELS.update({LedgerTransaction, LedgerEntry})


@event.listens_for(Session, "before_flush")
def _refuse_unbalanced_transactions(session: Session, flush_context, instances) -> None:
    """Flush guard: new entries of one transaction must sum to zero (the database checks too)."""
    new_entries = [obj for obj in session.new if isinstance(obj, LedgerEntry)]
    if not new_entries:
        return

    def key(entry: LedgerEntry) -> int:
        return id(entry.transaction) if entry.transaction is not None else entry.transaction_id

    for _, legs in groupby(sorted(new_entries, key=key), key=key):
        if sum(leg.amount_pence for leg in legs) != 0:
            raise AppendOnlyError("a ledger transaction's entries must sum to zero")
