"""Who sees a conversation: the buyer's and the supplier's members (and admins); a coordinator of the delivery
region reads it when the request came from a public need. Everyone else — a 404, as if it did not exist."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, or_, select

from marketplace.accounts.models import UserRole
from marketplace.core.permissions import PUBLIC_LISTING_STATUSES, _authenticated, is_admin, organization_ids
from marketplace.deals.models import Conversation, QuoteRequest
from marketplace.listings.models import Listing, ListingKind

BUYER, SUPPLIER, COORDINATOR, ADMIN = "buyer", "supplier", "coordinator", "admin"


def need_is_public(request: QuoteRequest) -> bool:
    """A request made for a need everybody may see (an active or closed need, not a tender's lot)."""
    need = request.need
    return need is not None and need.status in PUBLIC_LISTING_STATUSES and need.kind != ListingKind.TENDER_LOT


def conversation_role(user: Any, conversation: Conversation) -> str | None:
    """``buyer`` or ``supplier`` (members of that side write), ``coordinator`` or ``admin`` (read only), or None."""
    mine = organization_ids(user)
    if conversation.buyer_organization_id in mine:
        return BUYER
    if conversation.supplier_organization_id in mine:
        return SUPPLIER
    if is_admin(user):
        return ADMIN
    request = conversation.request
    if (_authenticated(user) and user.role == UserRole.COORDINATOR and request.delivery_region_code in
            user.region_codes and need_is_public(request)):
        return COORDINATOR
    return None


def can_view_conversation(user: Any, conversation: Conversation) -> bool:
    return conversation_role(user, conversation) is not None


def visible_conversations(user: Any) -> Select[tuple[Conversation]]:
    """``can_view_conversation`` as a query (the lists of the pages and the API)."""
    stmt = select(Conversation)
    if is_admin(user):
        return stmt
    mine = organization_ids(user)
    seen = []
    if mine:
        seen += [Conversation.buyer_organization_id.in_(mine), Conversation.supplier_organization_id.in_(mine)]
    if _authenticated(user) and user.role == UserRole.COORDINATOR and user.region_codes:
        public_need = select(QuoteRequest.id).join(Listing, Listing.id == QuoteRequest.need_id).where(
            QuoteRequest.delivery_region_code.in_(user.region_codes), Listing.status.in_(PUBLIC_LISTING_STATUSES),
            Listing.kind != ListingKind.TENDER_LOT)
        seen.append(and_(Conversation.request_id.in_(public_need)))
    if not seen:
        return stmt.where(Conversation.id.is_(None))
    return stmt.where(or_(*seen))
