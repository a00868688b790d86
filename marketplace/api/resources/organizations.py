"""Organizations: the public directory, one profile, and editing your own."""
from __future__ import annotations

from typing import Any

from marshmallow import fields, validate
from sqlalchemy import Select, or_, select

from marketplace.api.blueprint import api_user, bp
from marketplace.api.openapi import PageQuery, operation, text_contains
from marketplace.api.problems import Problem
from marketplace.api.schemas import OrganizationSchema, OrganizationUpdateSchema, Text
from marketplace.core.permissions import can_edit_organization, is_admin, organization_ids, organization_or_404
from marketplace.extensions import db
from marketplace.geo.models import Region
from marketplace.organizations import services as organization_services
from marketplace.organizations.models import Organization

TAG = "Организации"


class OrganizationQuery(PageQuery):
    region = Text(max_length=2, metadata={"description": "Код субъекта РФ."})
    district = Text(max_length=8, metadata={"description": "Код федерального округа."})
    kind = fields.String(validate=validate.OneOf(["manufacturer", "buyer", "both"]))
    verified = fields.Boolean()
    q = Text(max_length=200, metadata={"description": "Часть названия или ИНН."})
    sort = fields.String(load_default="name", validate=validate.OneOf(["name", "-created_at", "created_at"]))


def visible_organizations(user: Any) -> Select[Any]:
    """Profiles are public unless archived; archived ones only for their members (and admins)."""
    stmt = select(Organization)
    if not is_admin(user):
        mine = organization_ids(user)
        stmt = stmt.where(or_(Organization.archived.is_(False), Organization.id.in_(mine)) if mine
                          else Organization.archived.is_(False))
    return stmt


@bp.get("/organizations")
@operation("Организации", TAG, query=OrganizationQuery, response=OrganizationSchema, paginated=True)
def organizations(query: dict[str, Any]) -> Select[Any]:
    stmt = visible_organizations(api_user())
    if query.get("region"):
        stmt = stmt.where(Organization.region_code == query["region"])
    if query.get("district"):
        stmt = stmt.where(Organization.region_code.in_(
            select(Region.code).where(Region.district_code == query["district"])))
    if query.get("kind"):
        stmt = stmt.where(Organization.kind == query["kind"])
    if "verified" in query:
        stmt = stmt.where(Organization.verified.is_(query["verified"]))
    if query.get("q"):
        stmt = stmt.where(or_(text_contains(Organization.name, query["q"]), Organization.tax_id == query["q"]))
    order = {"name": (Organization.name, Organization.id),
             "created_at": (Organization.created_at, Organization.id),
             "-created_at": (Organization.created_at.desc(), Organization.id.desc())}[query["sort"]]
    return stmt.order_by(*order)


@bp.get("/organizations/<int(max=2147483647):organization_id>")
@operation("Организация", TAG, response=OrganizationSchema)
def organization(organization_id: int) -> Organization:
    return organization_or_404(organization_id, user=api_user())


@bp.patch("/organizations/<int(max=2147483647):organization_id>")
@operation("Изменить профиль своей организации (владелец или администратор организации)", TAG,
           body=OrganizationUpdateSchema, response=OrganizationSchema, auth="required", errors=(403,),
           description="Поля, которых нет в теле, не меняются; ИНН не меняется.")
def update_organization(organization_id: int, body: dict[str, Any]) -> Organization:
    user = api_user()
    organization = organization_or_404(organization_id, user=user)
    if not can_edit_organization(user, organization):
        raise Problem(403, "Профиль меняют владелец и администраторы организации.")
    organization_services.update_organization(organization, body, user)
    db.session.commit()
    return organization
