"""A small marketplace in the Far East and beyond, indexed in a fresh embedded index, for the matching tests."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from marketplace.core.audit import record_outbox
from marketplace.indexing import services as indexing
from marketplace.listings.models import ListingKind
from tests.indexing.conftest import index  # noqa: F401  (a fresh embedded index per test)


@dataclass
class Market:
    buyer: Any
    need: Any
    khv: Any  # a turning shop in Хабаровский край (local to the need)
    vvo: Any  # in Приморский край (the same federal district)
    nsk: Any  # in Новосибирская область (elsewhere in Russia)
    bakery: Any  # a local offer that has nothing to do with the need
    by: Any  # in Belarus (EAEU)


def add(db, factories, kind, **fields):
    listing = factories.listing(kind, **fields)
    record_outbox("listing", listing.id, "upsert")
    return listing


@pytest.fixture
def market(app, db, factories, index) -> Market:  # noqa: F811  (the imported fixture)
    """A need for turning in Хабаровский край and turning shops at three distances, plus noise; indexed."""
    buyer = factories.organization(region="27", name="АО «Амурский судостроительный»")
    deadline = date.today() + timedelta(days=60)
    need = add(db, factories, ListingKind.MISSING_OPERATION, organization=buyer,
               title="Токарная обработка валов", description="Нужна токарная обработка стальных валов на станках ЧПУ",
               okpd2=["25.62.10"], quantity=Decimal("200"), unit="шт", ends_on=deadline)

    def shop(region: str, name: str, **fields):
        org = factories.organization(region=region, name=name)
        values = {"title": "Токарные работы на станках с ЧПУ", "description": "Токарная обработка деталей из стали",
                  "okved2": ["25.62"], "capacity_per_month": Decimal("1000"), "capacity_unit": "шт",
                  "lead_time_days": 14, "price": Decimal("1500")}
        values.update(fields)
        return add(db, factories, ListingKind.CAPABILITY, organization=org, **values)

    khv = shop("27", "ООО «Хабаровский механический»")
    vvo = shop("25", "ООО «Приморский станкозавод»")
    nsk = shop("54", "АО «Сибирский машиностроитель»")
    bakery_org = factories.organization(region="27", name="ООО «Хлебозавод №1»")
    bakery = add(db, factories, ListingKind.PRODUCT, organization=bakery_org, title="Хлеб пшеничный формовой",
                 description="Хлеб из пшеничной муки высшего сорта", okpd2=["10.71.11"])
    by_org = factories.organization(region=None, country="BY", name="ОАО «Минский механический»")
    by = add(db, factories, ListingKind.CAPABILITY, organization=by_org, title="Токарные работы на станках с ЧПУ",
             description="Токарная обработка деталей из стали", okved2=["25.62"],
             capacity_per_month=Decimal("1000"), capacity_unit="шт", lead_time_days=14)
    db.session.commit()
    indexing.drain_outbox()
    return Market(buyer, need, khv, vvo, nsk, bakery, by)
