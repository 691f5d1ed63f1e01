"""Typed SQLAlchemy models: persistence and column constraints only. Import all here for Alembic."""

from app.models.audit import AuditEvent
from app.models.base import Base, utcnow
from app.models.booking import Booking, BookingBackup, BookingSession, HolderPause, PoolParticipant
from app.models.budget import (
    Budget,
    HourCapException,
    PlanCategory,
    PlanReview,
    SupportPlanVersion,
)
from app.models.card_payment import BudgetCard, CardStep, SessionCardPayment
from app.models.concern import Concern
from app.models.council_api import ApiToken, ImportedRecord
from app.models.delegation import Delegation
from app.models.flag import Flag, ProviderRestriction, SafeguardingReferral
from app.models.household import HouseholdMember
from app.models.job_run import ScheduledJobRun
from app.models.jobs import (
    AgreementBooking,
    CoverOffer,
    CoverRequest,
    JobNotice,
    JobPost,
    JobReply,
    ServiceAgreement,
    ServiceAgreementVersion,
    ShortlistEntry,
)
from app.models.ledger import LedgerEntry, LedgerTransaction
from app.models.listing import Listing
from app.models.market import (
    ConflictDeclaration,
    CouncilSettingOverride,
    MarketFigureRecord,
    MarketRun,
    MarketShareRecord,
    SteeringRecord,
)
from app.models.messaging import Conversation, Message
from app.models.notification import Notification, NotificationPreference, OutboundEmail
from app.models.payments import (
    Payment,
    PaymentOperation,
    ProcessedWebhookEvent,
    ProviderPaymentAccount,
)
from app.models.price_change import PriceChange
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
from app.models.user import HomeAddress, SignInThrottle, User
from app.models.vetting import VettingCheck

__all__ = [
    "AgreementBooking",
    "ApiToken",
    "ImportedRecord",
    "AuditEvent",
    "AvailabilityException",
    "AvailabilitySlot",
    "Base",
    "Booking",
    "BookingBackup",
    "CoverOffer",
    "CoverRequest",
    "BookingSession",
    "Budget",
    "ConflictDeclaration",
    "Concern",
    "Conversation",
    "CouncilSettingOverride",
    "BudgetCard",
    "Delegation",
    "HolderPause",
    "HomeAddress",
    "ScheduledJobRun",
    "SignInThrottle",
    "HouseholdMember",
    "Flag",
    "LedgerEntry",
    "LedgerTransaction",
    "JobNotice",
    "JobPost",
    "JobReply",
    "Listing",
    "ServiceAgreement",
    "ServiceAgreementVersion",
    "ShortlistEntry",
    "MarketFigureRecord",
    "MarketRun",
    "MarketShareRecord",
    "Message",
    "SteeringRecord",
    "Notification",
    "NotificationPreference",
    "OutboundEmail",
    "Payment",
    "PaymentOperation",
    "PlanCategory",
    "HourCapException",
    "PoolParticipant",
    "PriceChange",
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
