"""Tender awards as analytics sees them: awarded value by tier and month, and buyer–supplier links.

An awarded lot is a ``LotAward`` with a winning response; its value is the awarded amount (price × quantity of
the winning response) or, without one, the lot's budget. The winner's tier is computed like the engine's, from
the supplier organization's country and region relative to the lot's delivery region.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.orm import aliased

from marketplace.analytics.scope import Scope, ValueCell, money, month_key, region_filter, year_month
from marketplace.extensions import db
from marketplace.geo.models import Country, Region
from marketplace.listings.models import Listing
from marketplace.organizations.models import Organization

UNAVAILABLE = ("Итоги тендеров (победители лотов) пока не хранятся на платформе: доля присуждённой стоимости "
               "появится вместе с ними.")
NONE_YET = "Присуждённых лотов пока нет: доля по контрактам появится после первых решений заказчиков."


@dataclass(frozen=True)
class AwardLink:
    """An awarded lot: the buyer, the winning supplier and the value."""

    lot_id: int
    buyer_id: int
    supplier_id: int
    value: float


def _award_model():
    try:
        from marketplace.tenders.models import LotAward
    except ImportError:  # a deployment (or a branch) without tender awards
        return None
    return LotAward


def _awarded(award):
    """(award, lot, supplier) joined, only lots with a winner."""
    lot = aliased(Listing)
    supplier = aliased(Organization)
    return lot, supplier, and_(award.response_id.is_not(None), award.supplier_organization_id.is_not(None))


def award_cells(scope: Scope | None) -> list[ValueCell] | None:
    """Awarded value by (delivery region, month of the award, tier of the winner); None when awards do not exist."""
    award = _award_model()
    if award is None:
        return None
    lot, supplier, won = _awarded(award)
    lot_region = aliased(Region)
    supplier_region = aliased(Region)
    tier = case(
        (supplier.country_code != "RU",
         case((Country.unfriendly.is_(True), literal("excluded")), (Country.eaeu.is_(True), literal("eaeu")),
              else_=literal("friendly"))),
        (and_(lot.region_code.is_not(None), supplier.region_code == lot.region_code), literal("local")),
        (and_(lot_region.district_code.is_not(None), supplier_region.district_code == lot_region.district_code),
         literal("district")),
        else_=literal("national"))
    value = func.coalesce(award.amount, lot.budget)
    year, month = year_month(award.decided_at)
    query = (select(lot.region_code, year, month, tier, func.sum(value), func.count(), func.count(value))
             .select_from(award)
             .join(lot, lot.id == award.lot_id)
             .join(supplier, supplier.id == award.supplier_organization_id)
             .join(Country, Country.iso2 == supplier.country_code)
             .outerjoin(lot_region, lot_region.code == lot.region_code)
             .outerjoin(supplier_region, supplier_region.code == supplier.region_code)
             .where(won).group_by(lot.region_code, year, month, tier))
    if scope is not None and (cond := region_filter(lot.region_code, scope)) is not None:
        query = query.where(cond)
    from marketplace.deals.analytics import deal_cells  # accepted offers of requests for quotation count alike

    return [ValueCell(r[0], month_key(r[1], r[2]), r[3], money(r[4]), int(r[5]), int(r[5] - r[6]))
            for r in db.session.execute(query).all()] + deal_cells(scope)


def award_links() -> list[AwardLink] | None:
    """Every awarded lot as a buyer–supplier link; None when awards do not exist."""
    award = _award_model()
    if award is None:
        return None
    lot, _, won = _awarded(award)
    rows = db.session.execute(
        select(award.lot_id, lot.organization_id, award.supplier_organization_id,
               func.coalesce(award.amount, lot.budget))
        .join(lot, lot.id == award.lot_id).where(won)).all()
    from marketplace.deals.analytics import deal_links

    # A deal's link carries the negated conversation id where a lot's carries the lot id.
    return [AwardLink(r[0], r[1], r[2], money(r[3])) for r in rows] + [
        AwardLink(-conversation_id, buyer, supplier, value) for conversation_id, buyer, supplier, value in deal_links()]
