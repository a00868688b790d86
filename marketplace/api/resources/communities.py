"""Communities (clusters, associations, technoparks): the ones the caller may see, and joining one."""
from __future__ import annotations

from typing import Any

from marshmallow import fields, validate
from sqlalchemy import Select

from marketplace.api.acting import acting_organization
from marketplace.api.blueprint import api_user, bp
from marketplace.api.openapi import PageQuery, operation
from marketplace.api.schemas import CommunityMemberSchema, CommunitySchema, JoinSchema, Text
from marketplace.communities import services as community_services
from marketplace.communities.models import Community, CommunityAccess, CommunityKind, CommunityMember
from marketplace.extensions import db

TAG = "Сообщества"
ID = "int(max=2147483647)"


class CommunityQuery(PageQuery):
    kind = fields.String(validate=validate.OneOf([k.value for k in CommunityKind]))
    access = fields.String(validate=validate.OneOf([a.value for a in CommunityAccess]))
    region = Text(max_length=2)


@bp.get("/communities")
@operation("Сообщества (секретные — только их участникам)", TAG, query=CommunityQuery, response=CommunitySchema,
           paginated=True)
def communities(query: dict[str, Any]) -> Select[Any]:
    stmt = community_services.visible_communities_query(api_user())
    for name in ("kind", "access"):
        if query.get(name):
            stmt = stmt.where(getattr(Community, name) == query[name])
    if query.get("region"):
        stmt = stmt.where(Community.region_code == query["region"])
    return stmt.order_by(Community.id)


@bp.get(f"/communities/<{ID}:community_id>")
@operation("Сообщество", TAG, response=CommunitySchema)
def community(community_id: int) -> Community:
    return community_services.community_or_404(community_id, user=api_user())


@bp.post(f"/communities/<{ID}:community_id>/join")
@operation("Вступить (открытое), подать заявку (закрытое) или принять приглашение", TAG, body=JoinSchema,
           response=CommunityMemberSchema, auth="required", errors=(403,))
def join(community_id: int, body: dict[str, Any]) -> CommunityMember:
    found = community_services.community_or_404(community_id, user=api_user())
    organization = acting_organization(body.get("organization_id"))
    member = community_services.join_community(found, organization, user=api_user())
    db.session.commit()
    return member
