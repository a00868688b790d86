from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from marketplace.analytics.localization import localization
from marketplace.analytics.network import load_graph
from marketplace.analytics.scope import resolve_scope


@pytest.fixture
def awarded(db, factories):
    """A tender of a Хабаровск buyer: lot 1 won by a Приморский край supplier for 400 000, lot 2 won locally (no
    amount: the lot's budget 100 000 counts), lot 3 closed without a winner, lot 4 won by a Kazakh supplier."""
    from marketplace.tenders.models import LotAward, ResponseStatus, Tender, TenderResponse, TenderStatus

    buyer = factories.organization(region="27", name="Заказчик")
    local = factories.organization(region="27", name="Местный поставщик")
    district = factories.organization(region="25", name="Приморский поставщик")
    kazakh = factories.organization(region=None, country="KZ", name="Казахский поставщик")
    tender = Tender(organization_id=buyer.id, title="Тендер", status=TenderStatus.AWARDED)
    db.session.add(tender)
    db.session.flush()
    lots = [factories.listing("tender_lot", organization=buyer, tender_id=tender.id, lot_number=i, okpd2=["25.62"],
                              budget=Decimal(budget)) for i, budget in enumerate((500000, 100000, 80000, 30000), 1)]
    decided = datetime(2026, 9, 14, tzinfo=UTC)
    for lot, winner, amount in ((lots[0], district, Decimal(400000)), (lots[1], local, None),
                                (lots[2], None, None), (lots[3], kazakh, Decimal(20000))):
        response = None
        if winner is not None:
            response = TenderResponse(lot_id=lot.id, organization_id=winner.id, price=Decimal(1), quantity=Decimal(1),
                                      lead_time_days=10, status=ResponseStatus.AWARDED)
            db.session.add(response)
            db.session.flush()
        db.session.add(LotAward(lot_id=lot.id, tender_id=tender.id, response_id=response.id if response else None,
                                supplier_organization_id=winner.id if winner else None, amount=amount,
                                decided_at=decided))
    db.session.flush()
    return buyer, local, district, kazakh


def test_awarded_value_by_the_winners_tier(awarded):
    report = localization(resolve_scope("27"))
    series = report.awarded
    assert report.awards_note is None
    assert {t.tier: t.value for t in series.tiers} == {"local": 100000, "district": 400000, "eaeu": 20000}
    assert sum(t.share for t in series.tiers) == pytest.approx(1.0)
    assert [m.month for m in series.months] == ["2026-09"]
    assert localization(resolve_scope("25")).awarded.total == 0  # counted where the lot is delivered


def test_awards_link_the_buyer_and_the_winners_in_the_network(awarded):
    buyer, local, district, kazakh = awarded
    graph = load_graph()
    assert set(graph.neighbors(buyer.id)) == {local.id, district.id, kazakh.id}
    assert graph.edges[buyer.id, district.id]["value"] == 400000
    assert graph.nodes[district.id]["supplier"] and not graph.nodes[buyer.id]["supplier"]
