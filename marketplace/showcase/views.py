"""The public showcase of local producers: federal district → region → town, filtered by ОКПД2 section or class,
kind of offer and certification, and a public page of each organization with its active offers. No login."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from marketplace.core import pagecache
from marketplace.extensions import db
from marketplace.geo.models import FederalDistrict, Region, Town
from marketplace.listings.models import KIND_TITLES_RU, OFFER_KINDS
from marketplace.organizations.models import Organization
from marketplace.showcase import services

bp = Blueprint("showcase", __name__)


def _geography_scopes(**_kwargs: object) -> list[str]:
    """The counts of organizations; with a filter, of those with passing offers."""
    return ["orgs", "listings"] if request.args else ["orgs"]


def _filter_context(offer_filter: services.OfferFilter) -> dict[str, object]:
    from marketplace.listings.operations_fields import current_catalogue
    from marketplace.operations.services import operation_choices

    catalogue = current_catalogue()
    chosen = catalogue.get(offer_filter.operation) if offer_filter.operation else None
    return {"offer_filter": offer_filter, "filter_args": offer_filter.query_args(),
            "operation_groups": services.reference(("operation_choices", id(catalogue)),
                                                   lambda: operation_choices(catalogue)),
            "chosen_operation": chosen,
            "without_operation": {k: v for k, v in offer_filter.query_args().items() if k != "operation"},
            "sections": services.okpd2_sections(), "classes": services.okpd2_classes(offer_filter.section),
            "offer_kinds": sorted(((k.value, KIND_TITLES_RU[k]) for k in OFFER_KINDS), key=lambda kv: kv[1])}


@bp.get("/")
@pagecache.public_page(_geography_scopes)
def index() -> str:
    offer_filter = services.OfferFilter.from_args(request.args)
    return render_template("showcase/index.html", districts=services.filtered_organizations_by_region(offer_filter),
                           **_filter_context(offer_filter))


@bp.get("/districts/<code>")
@pagecache.public_page(_geography_scopes)
def district(code: str) -> str:
    district = db.session.get(FederalDistrict, code)
    if district is None:
        abort(404)
    offer_filter = services.OfferFilter.from_args(request.args)
    counts = next(d for d in services.filtered_organizations_by_region(offer_filter) if d.code == code)
    return render_template("showcase/district.html", district=district, counts=counts,
                           **_filter_context(offer_filter))


@bp.get("/regions/<code>")
@pagecache.public_page(_geography_scopes)
def region(code: str) -> str:
    region = db.session.get(Region, code)
    if region is None:
        abort(404)
    offer_filter = services.OfferFilter.from_args(request.args)
    town_id = request.args.get("town", type=int)
    town = db.session.get(Town, town_id) if town_id else None
    if town is not None and town.region_code != code:
        abort(404)
    sort = request.args.get("sort") or "name"
    bad_sort = sort not in services.ORGANIZATION_SORTS
    if bad_sort:
        sort = "name"
    page = services.filtered_region_organizations(code, offer_filter, town_id=town.id if town else None,
                                                  sort=sort, page=request.args.get("page"))
    return render_template("showcase/region.html", region=region, town=town,
                           towns=services.region_towns(code, offer_filter),
                           organizations=page.items, page=page, sort=sort, bad_sort=bad_sort,
                           **_filter_context(offer_filter))


@bp.get("/producers/<int:organization_id>")
@pagecache.public_page(lambda organization_id: [f"org:{organization_id}"])
def organization(organization_id: int) -> str:
    org = db.session.get(Organization, organization_id)
    if org is None or org.archived:
        abort(404)
    return render_template("showcase/organization.html", organization=org,
                           offers=services.organization_offers(org), kind_titles=KIND_TITLES_RU)
