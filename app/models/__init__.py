"""Typed SQLAlchemy models: persistence and column constraints only. Import all here for Alembic."""

from app.models.audit import AuditEvent
from app.models.base import Base, utcnow
from app.models.budget import Budget, PlanCategory, SupportPlanVersion
from app.models.delegation import Delegation
from app.models.ledger import LedgerEntry, LedgerTransaction
from app.models.user import User

__all__ = ["AuditEvent", "Base", "Budget", "Delegation", "LedgerEntry", "LedgerTransaction",
           "PlanCategory", "SupportPlanVersion", "User", "utcnow"]
