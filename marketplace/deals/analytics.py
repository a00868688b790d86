"""Deals as the analytics see them: an accepted offer is awarded value by the supplier's tier relative to the
delivery region, like a tender award (``marketplace.analytics.awards`` adds these to the lots' cells and links)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.orm import aliased

from marketplace.deals.models import Deal
from marketplace.extensions import db
from marketplace.geo.models import Country, Region
from marketplace.organizations.models import Organization


def deal_cells(scope: Any) -> list[Any]:
    """Deal value by (delivery region, month of the acceptance, tier of the supplier)."""
    from marketplace.analytics.scope import ValueCell, money, month_key, region_filter, year_month

    supplier = aliased(Organization)
    delivery = aliased(Region)
    supplier_region = aliased(Region)
    tier = case(
        (supplier.country_code != "RU",
         case((Country.unfriendly.is_(True), literal("excluded")), (Country.eaeu.is_(True), literal("eaeu")),
              else_=literal("friendly"))),
        (and_(Deal.delivery_region_code.is_not(None), supplier.region_code == Deal.delivery_region_code),
         literal("local")),
        (and_(delivery.district_code.is_not(None), supplier_region.district_code == delivery.district_code),
         literal("district")),
        else_=literal("national"))
    year, month = year_month(Deal.decided_at)
    query = (select(Deal.delivery_region_code, year, month, tier, func.sum(Deal.amount), func.count(),
                    func.count(Deal.amount))
             .join(supplier, supplier.id == Deal.supplier_organization_id)
             .join(Country, Country.iso2 == supplier.country_code)
             .outerjoin(delivery, delivery.code == Deal.delivery_region_code)
             .outerjoin(supplier_region, supplier_region.code == supplier.region_code)
             .group_by(Deal.delivery_region_code, year, month, tier))
    if scope is not None and (cond := region_filter(Deal.delivery_region_code, scope)) is not None:
        query = query.where(cond)
    return [ValueCell(r[0], month_key(r[1], r[2]), r[3], money(r[4]), int(r[5]), int(r[5] - r[6]))
            for r in db.session.execute(query).all()]


def deal_links() -> list[tuple[int, int, int, float]]:
    """(conversation id, buyer, supplier, amount) of every deal."""
    from marketplace.analytics.scope import money

    return [(r[0], r[1], r[2], money(r[3])) for r in db.session.execute(
        select(Deal.conversation_id, Deal.buyer_organization_id, Deal.supplier_organization_id, Deal.amount))]
