"""A buyer with a need, a supplier with a matching offer and the match between them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from marketplace.accounts.models import UserRole
from marketplace.core.models import utcnow
from marketplace.listings.models import ListingKind
from marketplace.matches.models import Match
from marketplace.organizations.models import OrganizationKind

EXPLANATION = {"distance_km": 12.0, "signals": [], "constraints": [], "reasons": ["тот же вид работ"]}


@dataclass
class Parties:
    buyer_org: Any
    buyer: Any
    supplier_org: Any
    supplier: Any
    other_org: Any
    other_supplier: Any
    need: Any
    offer: Any
    other_offer: Any
    match: Any
    other_match: Any


@pytest.fixture
def parties(db, factories) -> Parties:
    buyer_org = factories.organization(region="27", kind=OrganizationKind.BUYER, name="АО «Амурский судостроительный»")
    buyer = factories.user(role=UserRole.BUYER, organization=buyer_org, email_confirmed_at=utcnow())
    supplier_org = factories.organization(region="27", kind=OrganizationKind.MANUFACTURER,
                                          name="ООО «Хабаровский механический»")
    supplier = factories.user(organization=supplier_org, email_confirmed_at=utcnow())
    other_org = factories.organization(region="25", kind=OrganizationKind.MANUFACTURER, name="ООО «Приморский станкозавод»")
    other_supplier = factories.user(organization=other_org, email_confirmed_at=utcnow())
    need = factories.listing(ListingKind.MISSING_OPERATION, organization=buyer_org, title="Токарная обработка валов",
                             quantity=Decimal("200"), unit="шт", ends_on=date.today() + timedelta(days=60))
    offer = factories.listing(ListingKind.CAPABILITY, organization=supplier_org, title="Токарные работы на ЧПУ")
    other_offer = factories.listing(ListingKind.CAPABILITY, organization=other_org, title="Токарная обработка")
    match = Match(need_id=need.id, offer_id=offer.id, score=0.8, tier="local", rank=0, explanation=EXPLANATION)
    other_match = Match(need_id=need.id, offer_id=other_offer.id, score=0.7, tier="district", rank=1,
                        explanation=EXPLANATION)
    db.session.add_all([match, other_match])
    db.session.flush()
    return Parties(buyer_org, buyer, supplier_org, supplier, other_org, other_supplier, need, offer, other_offer,
                   match, other_match)
