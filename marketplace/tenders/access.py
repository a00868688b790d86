"""Who sees and does what with tenders, lots and responses; the ``*_or_404`` helpers answer 404 for the rest.

* A draft is seen only by the buyer's organization (and platform admins).
* An open tender, once published, is public; a closed one is seen by the buyer, the invited organizations and the
  active members of the tender's community — nobody else learns that it exists.
* A response is seen by its author organization and — once the submission deadline has passed — by the buyer:
  until then the responses are sealed, and the buyer (an admin too) learns only how many there are.
* Only a user with a confirmed e-mail, for an organization verified by a coordinator (or, in a closed tender,
  invited by name by the buyer), may respond.

The predicates take any user-like object (a ``User``, Flask-Login's anonymous user or ``None``), so the pages, the
JSON API and the jobs share them.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import abort
from flask_login import current_user
from sqlalchemy import Select, false, or_, select

from marketplace.communities.models import CommunityMember, MemberStatus
from marketplace.core.permissions import is_admin, is_member, organization_ids
from marketplace.core.validation import FieldError
from marketplace.extensions import db
from marketplace.listings.models import Listing, TenderLot
from marketplace.organizations.models import Organization
from marketplace.tenders.models import Tender, TenderResponse, TenderStatus, TenderVisibility, tender_invitations


def can_manage_tender(user: Any, tender: Tender) -> bool:
    """Members of the buyer's organization (and admins) edit, publish, cancel and award."""
    return is_member(user, tender.organization_id)


def is_invited(organization_id: int, tender: Tender) -> bool:
    """The organization may take part in a closed tender: invited by name or an active member of its community."""
    if any(o.id == organization_id for o in tender.invited_organizations):
        return True
    if tender.community_id is None:
        return False
    return db.session.scalar(select(CommunityMember.id).where(
        CommunityMember.community_id == tender.community_id, CommunityMember.organization_id == organization_id,
        CommunityMember.status == MemberStatus.ACTIVE)) is not None


def can_take_part(organization_id: int, tender: Tender) -> bool:
    """The organization may see the published tender and respond (deadline and status aside)."""
    if organization_id == tender.organization_id or tender.status == TenderStatus.DRAFT:
        return False
    return tender.visibility == TenderVisibility.OPEN or is_invited(organization_id, tender)


def can_view_tender(user: Any, tender: Tender) -> bool:
    if can_manage_tender(user, tender):
        return True
    if tender.status == TenderStatus.DRAFT:
        return False
    if tender.visibility == TenderVisibility.OPEN:
        return True
    return any(is_invited(org_id, tender) for org_id in organization_ids(user))


def responding_organizations(user: Any, tender: Tender) -> list[Organization]:
    """The user's organizations that may respond to ``tender`` (status and deadline aside)."""
    ids = [org_id for org_id in sorted(organization_ids(user)) if can_take_part(org_id, tender)]
    return [db.session.get(Organization, org_id) for org_id in ids]


def responses_sealed(tender: Tender, now: datetime | None = None) -> bool:
    """Until the submission deadline the responses are sealed envelopes: nobody but their authors reads them."""
    deadline = tender.submission_deadline
    if deadline is None:
        return True
    deadline = deadline.replace(tzinfo=UTC) if deadline.tzinfo is None else deadline
    if now is None:
        from marketplace.tenders import services  # the tenders' one clock (closing at the deadline reads it too)

        now = services.utcnow()
    return now < deadline


def can_view_response(user: Any, response: TenderResponse, now: datetime | None = None) -> bool:
    """The author organization always; the buyer (and admins) once the responses are no longer sealed."""
    if response.organization_id in organization_ids(user):
        return True
    tender = response.lot.tender
    return tender is not None and can_manage_tender(user, tender) and not responses_sealed(tender, now)


def response_refusals(user: Any, organization: Organization, tender: Tender) -> list[FieldError]:
    """Why ``user`` may not respond for ``organization`` (empty: they may), beyond invitation and deadline: a
    confirmed e-mail, and an organization verified by a coordinator or invited by name to a closed tender."""
    errors = []
    if user is not None and getattr(user, "is_authenticated", False) and not getattr(user, "is_confirmed", False):
        errors.append(FieldError("email", "подтвердите адрес электронной почты: предложения подают пользователи "
                                          "с подтверждённым e-mail (ссылка — в письме после регистрации)"))
    approved = tender.visibility == TenderVisibility.CLOSED and any(
        o.id == organization.id for o in tender.invited_organizations)
    if not organization.verified and not approved:
        errors.append(FieldError("organization", f"организация «{organization.name}» ещё не проверена "
                                                 "координатором региона: предложения подают проверенные "
                                                 "организации и приглашённые заказчиком в закрытый тендер"))
    return errors


def can_view_lot(user: Any, lot: Listing) -> bool:
    """A tender lot is visible exactly when its tender is (listing pages and the API should ask this for lots)."""
    tender = getattr(lot, "tender", None)
    if tender is None:
        from marketplace.core.permissions import can_view_listing

        return can_view_listing(user, lot)
    return can_view_tender(user, tender)


def visible_tenders_query(user: Any) -> Select[tuple[Tender]]:
    """Tenders ``user`` may see: published-or-later open ones, closed ones they are invited to, and their own."""
    if is_admin(user):
        return select(Tender)
    org_ids = organization_ids(user)
    own = Tender.organization_id.in_(org_ids) if org_ids else false()
    public = Tender.visibility == TenderVisibility.OPEN
    if org_ids:
        invited = or_(
            Tender.id.in_(select(tender_invitations.c.tender_id)
                          .where(tender_invitations.c.organization_id.in_(org_ids))),
            Tender.community_id.in_(select(CommunityMember.community_id).where(
                CommunityMember.organization_id.in_(org_ids), CommunityMember.status == MemberStatus.ACTIVE)))
    else:
        invited = false()
    return select(Tender).where(or_(own, (Tender.status != TenderStatus.DRAFT) & or_(public, invited)))


# View helpers ---------------------------------------------------------------------------------

def tender_or_404(tender_id: int, *, manage: bool = False, user: Any = None) -> Tender:
    user = current_user if user is None else user
    tender = db.session.get(Tender, tender_id)
    if tender is None or not can_view_tender(user, tender):
        abort(404)
    if manage and not can_manage_tender(user, tender):
        abort(404)
    return tender


def lot_or_404(tender: Tender, lot_id: int) -> TenderLot:
    lot = db.session.get(TenderLot, lot_id)
    if lot is None or lot.tender_id != tender.id:
        abort(404)
    return lot


def response_or_404(response_id: int, *, user: Any = None) -> TenderResponse:
    user = current_user if user is None else user
    response = db.session.get(TenderResponse, response_id)
    if response is None or not can_view_response(user, response):
        abort(404)
    return response
