"""Typed SQLAlchemy models: persistence and column constraints only. Import all here for Alembic."""

from app.models.audit import AuditEvent
from app.models.base import Base, utcnow
from app.models.delegation import Delegation
from app.models.notification import Notification, NotificationPreference, OutboundEmail
from app.models.payments import Payment, PaymentOperation, ProcessedWebhookEvent, ProviderPaymentAccount
from app.models.user import User

__all__ = [
    "AuditEvent",
    "Base",
    "Delegation",
    "Notification",
    "NotificationPreference",
    "OutboundEmail",
    "Payment",
    "PaymentOperation",
    "ProcessedWebhookEvent",
    "ProviderPaymentAccount",
    "User",
    "utcnow",
]
