"""An accepted offer counts in the analytics as awarded value by the supplier's tier, like a tender award, and
links the buyer and the supplier in the cooperation network."""
from datetime import date, timedelta

import pytest

from marketplace.analytics.localization import localization
from marketplace.analytics.network import load_graph
from marketplace.analytics.scope import resolve_scope
from marketplace.deals import services


def _deal(p, supplier_org, supplier_user, price):
    request = services.send_request(p.buyer_org, p.buyer, {
        "title": "Валы", "delivery_region": "27", "text": "Просим цену",
        "deadline": (date.today() + timedelta(days=9)).isoformat()}, [services.Target(supplier_org.id)])
    conversation = request.conversations[0]
    services.make_offer(conversation, supplier_user, {"price": price})
    return services.accept_offer(conversation, p.buyer)


def test_deals_are_awarded_value_by_tier_and_network_links(db, parties):
    p = parties
    _deal(p, p.supplier_org, p.supplier, "300000")  # Хабаровский край: local
    _deal(p, p.other_org, p.other_supplier, "100000")  # Приморский край: district
    series = localization(resolve_scope("27")).awarded
    assert {t.tier: t.value for t in series.tiers} == {"local": 300000, "district": 100000}
    assert sum(t.share for t in series.tiers) == pytest.approx(1.0)
    graph = load_graph()
    assert set(graph.neighbors(p.buyer_org.id)) == {p.supplier_org.id, p.other_org.id}
    assert graph.edges[p.buyer_org.id, p.supplier_org.id]["value"] == 300000
