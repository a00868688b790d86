"""Community operations and queries: create, join (open), request and approve (closed), invite and accept (any,
the only way into a secret one), leave or remove; the members' offers for the community's showcase.

Services change the session, ``flush()`` and write the audit trail; the caller commits. Visibility: open and closed
communities are public; a secret one exists only for its members and invitees (and platform admins).
"""
from __future__ import annotations

from typing import Any

from flask import abort
from flask_login import current_user
from sqlalchemy import Select, false, or_, select

from marketplace.communities.models import Community, CommunityAccess, CommunityKind, CommunityMember, MemberStatus
from marketplace.core.audit import record_audit
from marketplace.core.models import utcnow
from marketplace.core.permissions import can_edit_organization, is_admin, organization_ids
from marketplace.core.validation import FieldError, FieldParser, ValidationFailed
from marketplace.extensions import db
from marketplace.geo.models import Region
from marketplace.listings.models import Listing, ListingStatus, Side
from marketplace.organizations.models import Organization

KIND_TITLES_RU = {CommunityKind.CLUSTER: "кластер", CommunityKind.ASSOCIATION: "ассоциация",
                  CommunityKind.TECHNOPARK: "технопарк", CommunityKind.OTHER: "объединение"}
ACCESS_TITLES_RU = {CommunityAccess.OPEN: "открытое — вступает любая организация",
                    CommunityAccess.CLOSED: "закрытое — заявки одобряет владелец",
                    CommunityAccess.SECRET: "секретное — только по приглашению, скрыто от остальных"}


def _actor(user: Any) -> int | None:
    return getattr(user, "id", None) if user is not None and getattr(user, "is_authenticated", False) else None


def _parse(p: FieldParser, *, name: object, kind: object, access: object, description: object,
           region: object) -> dict[str, Any]:
    kind_value = p.choice("kind", kind, {k.value for k in CommunityKind}, required=True)
    access_value = p.choice("access", access, {a.value for a in CommunityAccess}, default="open")
    region_code = p.text("region", region, max_length=2)
    if region_code and db.session.get(Region, region_code) is None:
        p.error("region", f"неизвестный код субъекта РФ {region_code!r}")
    return {"name": p.text("name", name, required=True, max_length=300),
            "kind": CommunityKind(kind_value) if kind_value else None,
            "access": CommunityAccess(access_value) if access_value else None,
            "description": p.text("description", description, max_length=20000) or "",
            "region_code": region_code}


def create_community(owner: Organization, *, name: object, kind: object, access: object = "open",
                     description: object = "", region: object = None, user: Any = None) -> Community:
    """A community owned (and joined) by ``owner``."""
    p = FieldParser()
    values = _parse(p, name=name, kind=kind, access=access, description=description, region=region)
    if p.errors:
        raise ValidationFailed(p.errors)
    community = Community(owner=owner, created_by_id=_actor(user), **values)
    community.members.append(CommunityMember(organization=owner, status=MemberStatus.ACTIVE, joined_at=utcnow()))
    db.session.add(community)
    db.session.flush()
    record_audit("create", "community", community.id, {**values, "owner_organization_id": owner.id},
                 user_id=_actor(user))
    return community


def update_community(community: Community, *, name: object, kind: object, access: object, description: object = "",
                     region: object = None, user: Any = None) -> Community:
    p = FieldParser()
    values = _parse(p, name=name, kind=kind, access=access, description=description, region=region)
    if p.errors:
        raise ValidationFailed(p.errors)
    changes = {}
    for field, value in values.items():
        old = getattr(community, field)
        if old != value:
            changes[field] = [old, value]
            setattr(community, field, value)
    db.session.flush()
    if changes:
        record_audit("update", "community", community.id, changes, user_id=_actor(user))
    return community


def membership(community: Community, organization_id: int) -> CommunityMember | None:
    return db.session.scalar(select(CommunityMember).where(CommunityMember.community_id == community.id,
                                                           CommunityMember.organization_id == organization_id))


def _member_audit(action: str, member: CommunityMember, user: Any, **extra: Any) -> None:
    record_audit(action, "community_member", member.id, {"community_id": member.community_id,
                                                         "organization_id": member.organization_id,
                                                         "status": member.status.value, **extra},
                 user_id=_actor(user))


def join_community(community: Community, organization: Organization, *, user: Any = None) -> CommunityMember:
    """Join an open community at once, ask to join a closed one, or accept an invitation (the only way into a
    secret one)."""
    member = membership(community, organization.id)
    if member is not None:
        if member.status == MemberStatus.INVITED:
            return accept_invitation(member, user=user)
        raise ValidationFailed([FieldError("organization", "организация уже состоит в сообществе или подала заявку")])
    if community.access == CommunityAccess.SECRET:
        raise ValidationFailed([FieldError("organization", "в это сообщество вступают только по приглашению")])
    status = MemberStatus.ACTIVE if community.access == CommunityAccess.OPEN else MemberStatus.REQUESTED
    member = CommunityMember(community=community, organization=organization, status=status,
                             joined_at=utcnow() if status == MemberStatus.ACTIVE else None)
    db.session.add(member)
    db.session.flush()
    _member_audit("join" if status == MemberStatus.ACTIVE else "request", member, user)
    return member


def approve_member(community: Community, organization: Organization, *, user: Any = None) -> CommunityMember:
    """The owner accepts a join request."""
    member = membership(community, organization.id)
    if member is None or member.status != MemberStatus.REQUESTED:
        raise ValidationFailed([FieldError("organization", "заявка на вступление не найдена")])
    member.status = MemberStatus.ACTIVE
    member.joined_at = utcnow()
    db.session.flush()
    _member_audit("approve", member, user)
    return member


def invite_organization(community: Community, organization: Organization, *, user: Any = None) -> CommunityMember:
    """The owner invites an organization; a pending request is approved instead."""
    member = membership(community, organization.id)
    if member is not None:
        if member.status == MemberStatus.REQUESTED:
            return approve_member(community, organization, user=user)
        raise ValidationFailed([FieldError("organization", "организация уже приглашена или состоит в сообществе")])
    member = CommunityMember(community=community, organization=organization, status=MemberStatus.INVITED)
    db.session.add(member)
    db.session.flush()
    _member_audit("invite", member, user)
    return member


def accept_invitation(member: CommunityMember, *, user: Any = None) -> CommunityMember:
    if member.status != MemberStatus.INVITED:
        raise ValidationFailed([FieldError("organization", "приглашение не найдено")])
    member.status = MemberStatus.ACTIVE
    member.joined_at = utcnow()
    db.session.flush()
    _member_audit("accept", member, user)
    return member


def remove_member(community: Community, organization: Organization, *, user: Any = None) -> None:
    """Leave, decline an invitation, withdraw or reject a request, or remove a member; the owner stays."""
    if organization.id == community.owner_organization_id:
        raise ValidationFailed([FieldError("organization", "владелец не может покинуть своё сообщество")])
    member = membership(community, organization.id)
    if member is None:
        raise ValidationFailed([FieldError("organization", "организация не состоит в сообществе")])
    _member_audit("remove", member, user)
    community.members.remove(member)
    db.session.delete(member)
    db.session.flush()


# Visibility -------------------------------------------------------------------------------------

def can_manage_community(user: Any, community: Community) -> bool:
    """Owners and admins of the owner organization (and platform admins)."""
    return can_edit_organization(user, community.owner)


def can_view_community(user: Any, community: Community) -> bool:
    if community.access != CommunityAccess.SECRET or is_admin(user):
        return True
    ids = organization_ids(user)
    return any(m.organization_id in ids for m in community.members)


def visible_communities_query(user: Any) -> Select[tuple[Community]]:
    query = select(Community).order_by(Community.name)
    if is_admin(user):
        return query
    ids = organization_ids(user)
    mine = Community.id.in_(select(CommunityMember.community_id).where(
        CommunityMember.organization_id.in_(ids))) if ids else false()
    return query.where(or_(Community.access != CommunityAccess.SECRET, mine))


def community_or_404(community_id: int, *, manage: bool = False, user: Any = None) -> Community:
    user = current_user if user is None else user
    community = db.session.get(Community, community_id)
    if community is None or not can_view_community(user, community):
        abort(404)
    if manage and not can_manage_community(user, community):
        abort(404)
    return community


def active_members(community: Community) -> list[Organization]:
    return list(db.session.scalars(
        select(Organization).join(CommunityMember, CommunityMember.organization_id == Organization.id)
        .where(CommunityMember.community_id == community.id, CommunityMember.status == MemberStatus.ACTIVE,
               Organization.archived.is_(False)).order_by(Organization.name)))


def pending_members(community: Community) -> list[CommunityMember]:
    return [m for m in community.members if m.status != MemberStatus.ACTIVE]


def member_offers(community: Community, *, limit: int = 500) -> list[Listing]:
    """Active offers of the community's active members: its showcase."""
    return list(db.session.scalars(
        select(Listing).join(CommunityMember, CommunityMember.organization_id == Listing.organization_id)
        .where(CommunityMember.community_id == community.id, CommunityMember.status == MemberStatus.ACTIVE,
               Listing.side == Side.OFFER, Listing.status == ListingStatus.ACTIVE)
        .order_by(Listing.title).limit(limit)))


def communities_of(organization_ids_: set[int]) -> list[Community]:
    """Communities the organizations are active members of (for the tender form's choice)."""
    if not organization_ids_:
        return []
    return list(db.session.scalars(
        select(Community).join(CommunityMember).where(CommunityMember.organization_id.in_(organization_ids_),
                                                      CommunityMember.status == MemberStatus.ACTIVE)
        .order_by(Community.name).distinct()))
