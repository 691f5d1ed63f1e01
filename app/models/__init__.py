"""Typed SQLAlchemy models: persistence and column constraints only. Import all here for Alembic."""

from app.models.audit import AuditEvent
from app.models.base import Base, utcnow
from app.models.booking import Booking, BookingBackup, BookingSession, HolderPause, PoolParticipant
from app.models.budget import Budget, PlanCategory, PlanReview, SupportPlanVersion
from app.models.card_payment import BudgetCard, CardStep, SessionCardPayment
from app.models.delegation import Delegation
from app.models.flag import Flag, ProviderRestriction, SafeguardingReferral
from app.models.ledger import LedgerEntry, LedgerTransaction
from app.models.listing import Listing
from app.models.messaging import Conversation, Message
from app.models.notification import Notification, NotificationPreference, OutboundEmail
from app.models.payments import (
    Payment,
    PaymentOperation,
    ProcessedWebhookEvent,
    ProviderPaymentAccount,
)
from app.models.provider import (
    AvailabilityException,
    AvailabilitySlot,
    ProviderDistrict,
    ProviderProfile,
)
from app.models.review import ReplyHiding, Review, ReviewHiding, ReviewReply, ReviewReport
from app.models.search_document import (
    SearchDocument,
    SearchIndexChange,
    SearchIndexState,
    SearchPosting,
    SearchWord,
)
from app.models.user import HomeAddress, User
from app.models.vetting import VettingCheck

__all__ = [
    "AuditEvent",
    "AvailabilityException",
    "AvailabilitySlot",
    "Base",
    "Booking",
    "BookingBackup",
    "BookingSession",
    "Budget",
    "Conversation",
    "BudgetCard",
    "Delegation",
    "HolderPause",
    "HomeAddress",
    "Flag",
    "LedgerEntry",
    "LedgerTransaction",
    "Listing",
    "Message",
    "Notification",
    "NotificationPreference",
    "OutboundEmail",
    "Payment",
    "PaymentOperation",
    "PlanCategory",
    "PoolParticipant",
    "ProcessedWebhookEvent",
    "ProviderDistrict",
    "ProviderPaymentAccount",
    "ProviderProfile",
    "ProviderRestriction",
    "SafeguardingReferral",
    "ReplyHiding",
    "Review",
    "ReviewHiding",
    "ReviewReply",
    "ReviewReport",
    "SearchDocument",
    "SearchIndexChange",
    "SearchIndexState",
    "SearchPosting",
    "SearchWord",
    "SessionCardPayment",
    "CardStep",
    "PlanReview",
    "SupportPlanVersion",
    "User",
    "VettingCheck",
    "utcnow",
]
