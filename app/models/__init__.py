"""Typed SQLAlchemy models: persistence and column constraints only. Import all here for Alembic."""

from app.models.audit import AuditEvent
from app.models.base import Base, utcnow
from app.models.delegation import Delegation
from app.models.search_document import SearchDocument, SearchWord
from app.models.user import User

__all__ = ["AuditEvent", "Base", "Delegation", "SearchDocument", "SearchWord", "User", "utcnow"]
