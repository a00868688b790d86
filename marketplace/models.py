"""Every model, imported once so that the metadata (and Alembic) sees the whole schema."""
from marketplace.accounts.models import Membership, MembershipRole, User, UserRole, coordinator_regions
from marketplace.analytics.models import AnalyticsSnapshot, KpiTarget
from marketplace.chains.models import ChainEvent, ChainRequest, ChainRequestStatus, ChainStatus, CooperationChain
from marketplace.classifiers.models import ClassifierCode, Scheme
from marketplace.core.models import AuditLog, OutboxEvent
from marketplace.deals.models import Conversation, Deal, Message, QuoteRequest
from marketplace.documents.models import Document
from marketplace.geo.models import Country, FederalDistrict, Region, Town
from marketplace.listings.models import (
    LISTING_CLASSES,
    Capability,
    EquipmentRental,
    Listing,
    ListingCode,
    ListingKind,
    ListingStatus,
    MissingOperation,
    Product,
    PurchaseRequest,
    Side,
    SurplusStock,
    TenderLot,
)
from marketplace.matches.models import ListingReading, Match, MatchRun, MatchStatus
from marketplace.notifications.models import Notification, NotificationPreference
from marketplace.operations.models import ListingOperation, Material, Operation, ReferenceVersion
from marketplace.organizations.models import Organization, OrganizationContact, OrganizationKind
from marketplace.tenders.models import Tender, TenderQuestion, TenderStatus, TenderVisibility

__all__ = [
    "AnalyticsSnapshot", "ChainEvent", "ChainRequest", "ChainRequestStatus", "ChainStatus", "CooperationChain",
    "KpiTarget", "ListingOperation", "ListingReading", "Match", "Material", "Operation", "ReferenceVersion", "MatchRun", "MatchStatus", "Notification",
    "AuditLog", "Capability", "Document", "TenderQuestion", "ClassifierCode", "Country", "EquipmentRental", "FederalDistrict", "LISTING_CLASSES",
    "Listing", "ListingCode", "ListingKind", "ListingStatus", "Membership", "MembershipRole", "MissingOperation",
    "Organization", "OrganizationKind", "OutboxEvent", "Product", "PurchaseRequest", "Region", "Scheme", "Side",
    "SurplusStock", "Tender", "TenderLot", "TenderStatus", "TenderVisibility", "Town", "User", "UserRole",
    "coordinator_regions", "Conversation", "Deal", "Message", "QuoteRequest", "NotificationPreference",
    "OrganizationContact",
]
