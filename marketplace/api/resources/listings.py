"""Offers and needs (one ``listings`` table): search with filters, one listing, and writes over the listing
services."""
from __future__ import annotations

from typing import Any

from marshmallow import fields, validate
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import selectinload, with_polymorphic

from marketplace.api.acting import acting_organization
from marketplace.api.blueprint import api_user, bp
from marketplace.api.openapi import PageQuery, operation, text_contains
from marketplace.api.problems import STATE_TYPE, Problem
from marketplace.api.schemas import (
    KINDS,
    SIDES,
    STATUSES,
    ListingCreateSchema,
    ListingSchema,
    ListingUpdateSchema,
    RenewSchema,
    Text,
)
from marketplace.core.permissions import (
    can_edit_listing,
    can_view_listing,
    visible_listings_clause,
)
from marketplace.extensions import db
from marketplace.geo.models import Region
from marketplace.listings import services as listing_services
from marketplace.listings.models import Listing, ListingCode, ListingKind

TAG = "Предложения и потребности"
SORTS = {
    "-created_at": (Listing.created_at.desc(), Listing.id.desc()),
    "created_at": (Listing.created_at, Listing.id),
    "-updated_at": (Listing.updated_at.desc(), Listing.id.desc()),
    "title": (Listing.title, Listing.id),
}


class SideListingQuery(PageQuery):
    """Filters of /offers and /needs (the side is in the path)."""

    kind = fields.String(validate=validate.OneOf(KINDS))
    region = Text(max_length=2, metadata={"description": "Код субъекта РФ (где предложение / куда поставить)."})
    district = Text(max_length=8, metadata={"description": "Код федерального округа."})
    okpd2 = Text(max_length=20, metadata={"description": "Начало кода ОКПД2: 25.62 находит 25.62.10 и 25.62.20."})
    status = fields.String(validate=validate.OneOf(STATUSES))
    organization = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1),
                                  metadata={"description": "Id организации."})
    q = Text(max_length=200, metadata={
        "description": "Текст в любой словоформе (по индексу поиска) или часть названия."})
    sort = fields.String(load_default="-created_at", validate=validate.OneOf(sorted(SORTS)))


class ListingQuery(SideListingQuery):
    side = fields.String(validate=validate.OneOf(SIDES), metadata={"description": "offer или need."})


def visible_listings(user: Any) -> Select[Any]:
    """Listings ``user`` may see, by the one rule of ``core.permissions.can_view_listing`` (its SQL form); a page
    loads their codes and catalogue operations in one more query each, and every kind's own columns (one table)
    with the rows, not one query per listing when they are read."""
    listing = with_polymorphic(Listing, "*")
    stmt = select(listing).options(selectinload(listing.operation_links), selectinload(listing.codes))
    clause = visible_listings_clause(user)
    return stmt if clause is None else stmt.where(clause)


def can_view(user: Any, listing: Listing) -> bool:
    return can_view_listing(user, listing)


def listing_or_404(listing_id: int, user: Any) -> Listing:
    listing = db.session.get(Listing, listing_id)
    if listing is None or not can_view(user, listing):
        raise Problem(404)
    return listing


def _text_matches(q: str) -> Any:
    """``q`` in any inflection through the search index ("токарная обработка" finds "токарные работы"), or in the
    title as typed (a listing saved a moment ago that the index has not caught up with yet)."""
    import logging

    from marketplace.indexing.finder import text_listing_ids
    from search import SearchError

    try:
        ids = text_listing_ids(q)
    except SearchError:
        logging.getLogger(__name__).warning("search index unavailable; q=%r matched on titles only", q)
        ids = []
    like = text_contains(Listing.title, q)
    return or_(Listing.id.in_(ids), like) if ids else like


def _filtered(stmt: Select[Any], query: dict[str, Any]) -> Select[Any]:
    if query.get("side"):
        stmt = stmt.where(Listing.side == query["side"])
    if query.get("kind"):
        stmt = stmt.where(Listing.kind == query["kind"])
    if query.get("region"):
        stmt = stmt.where(Listing.region_code == query["region"])
    if query.get("district"):
        stmt = stmt.where(Listing.region_code.in_(select(Region.code).where(Region.district_code == query["district"])))
    if query.get("okpd2"):
        stmt = stmt.where(Listing.id.in_(select(ListingCode.listing_id).where(
            ListingCode.scheme == "okpd2", ListingCode.code.startswith(query["okpd2"], autoescape=True))))
    if query.get("status"):
        stmt = stmt.where(Listing.status == query["status"])
    if query.get("organization"):
        stmt = stmt.where(Listing.organization_id == query["organization"])
    if query.get("q"):
        stmt = stmt.where(_text_matches(query["q"]))
    return stmt.order_by(*SORTS[query["sort"]])


@bp.get("/listings")
@operation("Предложения и потребности, с фильтрами", TAG, query=ListingQuery, response=ListingSchema,
           paginated=True)
def listings(query: dict[str, Any]) -> Select[Any]:
    return _filtered(visible_listings(api_user()), query)


@bp.get("/offers")
@operation("Предложения (side=offer)", TAG, query=SideListingQuery, response=ListingSchema, paginated=True)
def offers(query: dict[str, Any]) -> Select[Any]:
    return _filtered(visible_listings(api_user()), {**query, "side": "offer"})


@bp.get("/needs")
@operation("Потребности (side=need)", TAG, query=SideListingQuery, response=ListingSchema, paginated=True)
def needs(query: dict[str, Any]) -> Select[Any]:
    return _filtered(visible_listings(api_user()), {**query, "side": "need"})


@bp.get("/listings/<int(max=2147483647):listing_id>")
@operation("Предложение или потребность", TAG, response=ListingSchema)
def listing(listing_id: int) -> Listing:
    return listing_or_404(listing_id, api_user())


# Writes (a token is needed): over marketplace.listings.services ---------------------------------------------------

def _editable_or_404(listing_id: int) -> Listing:
    """A listing the caller may edit: 404 when they may not even see it, 403 when they see it but it is not theirs."""
    user = api_user()
    listing = listing_or_404(listing_id, user)
    if not can_edit_listing(user, listing):
        raise Problem(403, "Изменять объявление может только его организация.")
    if listing.kind == ListingKind.TENDER_LOT:
        raise Problem(409, "Лот тендера меняется через /tenders/{id}/lots/{lot_id}.", type_=STATE_TYPE)
    return listing


def _saved(listing: Listing) -> Listing:
    # The answer is what was just written: a commit that expired it would read the listing, its codes and its
    # operations again (three queries) for the same values. Columns the database fills stay expired and load.
    session = db.session()
    expire = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire
    listing_services.index_after_commit()
    return listing


@bp.post("/listings")
@operation("Создать предложение или потребность", TAG, body=ListingCreateSchema, response=ListingSchema, status=201,
           auth="required", errors=(403,), description="Поля — как в формате импорта (docs/import-format.md); "
                                                       "status: draft или active (по умолчанию active).")
def create_listing(body: dict[str, Any]) -> Listing:
    data = dict(body)
    kind = data.pop("kind")
    organization = acting_organization(data.pop("organization_id", None))
    listing = listing_services.create_listing(kind, organization, data, api_user())
    return _saved(listing)


@bp.patch("/listings/<int(max=2147483647):listing_id>")
@operation("Изменить своё предложение или потребность", TAG, body=ListingUpdateSchema, response=ListingSchema,
           auth="required", errors=(403, 409), description="Поля, которых нет в теле, не меняются.")
def update_listing(listing_id: int, body: dict[str, Any]) -> Listing:
    listing = _editable_or_404(listing_id)
    return _saved(listing_services.update_listing(listing, body, api_user()))


@bp.post("/listings/<int(max=2147483647):listing_id>/archive")
@operation("Снять с площадки (в архив)", TAG, response=ListingSchema, auth="required", errors=(403, 409))
def archive_listing(listing_id: int) -> Listing:
    listing = _editable_or_404(listing_id)
    return _saved(listing_services.archive_listing(listing, api_user()))


@bp.post("/listings/<int(max=2147483647):listing_id>/renew")
@operation("Продлить (и снова опубликовать закрытое или архивное)", TAG, body=RenewSchema, response=ListingSchema,
           auth="required", errors=(403, 409))
def renew_listing(listing_id: int, body: dict[str, Any]) -> Listing:
    listing = _editable_or_404(listing_id)
    return _saved(listing_services.renew_listing(listing, body["ends_on"], api_user()))
