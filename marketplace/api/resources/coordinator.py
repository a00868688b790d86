"""The coordinator's actions over ``marketplace.coordinator.services``: only in the coordinator's regions (admins:
everywhere); an object elsewhere is a 404, as on the coordinator's pages."""
from __future__ import annotations

from typing import Any

from marketplace.accounts.models import UserRole
from marketplace.api.blueprint import api_user, bp
from marketplace.api.openapi import operation
from marketplace.api.problems import Problem
from marketplace.api.schemas import HideSchema, ListingSchema, OrganizationSchema, VerifySchema
from marketplace.coordinator import services as coordinator_services
from marketplace.core.permissions import is_admin
from marketplace.extensions import db
from marketplace.listings.models import Listing
from marketplace.organizations.models import Organization

TAG = "Координатор"
ID = "int(max=2147483647)"


def _require_coordinator() -> Any:
    user = api_user()
    if not is_admin(user) and getattr(user, "role", None) != UserRole.COORDINATOR:
        raise Problem(403, "Только для координаторов и администраторов.")
    return user


@bp.post(f"/coordinator/organizations/<{ID}:organization_id>/verify")
@operation("Отметить организацию проверенной (или снять отметку)", TAG, body=VerifySchema,
           response=OrganizationSchema, auth="required", errors=(403,))
def verify_organization(organization_id: int, body: dict[str, Any]) -> Organization:
    user = _require_coordinator()
    organization = coordinator_services.organization_in_scope_or_404(organization_id, user=user)
    coordinator_services.verify_organization(organization, user=user, verified=body["verified"])
    db.session.commit()
    return organization


@bp.post(f"/coordinator/listings/<{ID}:listing_id>/hide")
@operation("Скрыть объявление, нарушающее правила", TAG, body=HideSchema, response=ListingSchema,
           auth="required", errors=(403,))
def hide_listing(listing_id: int, body: dict[str, Any]) -> Listing:
    user = _require_coordinator()
    listing = coordinator_services.listing_in_scope_or_404(listing_id, user=user)
    coordinator_services.hide_listing(listing, reason=body["reason"], user=user)
    db.session.commit()
    return listing


@bp.post(f"/coordinator/listings/<{ID}:listing_id>/unhide")
@operation("Вернуть скрытое объявление", TAG, response=ListingSchema, auth="required", errors=(403,))
def unhide_listing(listing_id: int) -> Listing:
    user = _require_coordinator()
    listing = coordinator_services.listing_in_scope_or_404(listing_id, user=user)
    coordinator_services.unhide_listing(listing, user=user)
    db.session.commit()
    return listing
