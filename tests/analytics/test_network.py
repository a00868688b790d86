from __future__ import annotations

from decimal import Decimal

import pytest

from marketplace.analytics.network import (
    Link,
    centrality,
    chain_links,
    clusters,
    cooperation_graph,
    interregional_links,
    network,
    network_report,
)
from marketplace.analytics.scope import resolve_scope

ORGS = {1: ("Хабаровский завод", "27"), 2: ("Амурский завод", "28"), 3: ("Хабаровская верфь", "27"),
        4: ("Приморский литейный", "25"), 5: ("Московский станкозавод", "77"), 6: ("Новосибирский завод", "54"),
        7: ("Подмосковный завод", "77")}


def two_triangles_and_a_bridge():
    """{1, 2, 3} in the Far East and {5, 6, 7} elsewhere, joined by 3 — 4 — 5."""
    links = [Link(1, 2, "award", 100, supplier=2), Link(2, 3, "chain", 10, supplier=3),
             Link(1, 3, "award", 50, supplier=3), Link(1, 3, "chain", 5, supplier=3),
             Link(3, 4, "chain", 1000, supplier=4), Link(4, 5, "award", 2000, supplier=5),
             Link(5, 6, "award", 1, supplier=6), Link(6, 7, "chain", 1, supplier=7), Link(5, 7, "award", 1, supplier=5)]
    return cooperation_graph(links, ORGS)


def test_parallel_links_are_summed_and_self_links_dropped():
    graph = cooperation_graph([Link(1, 3, "award", 50), Link(3, 1, "chain", 5), Link(1, 1, "chain", 9)], ORGS)
    assert graph.number_of_edges() == 1
    assert graph.edges[1, 3]["count"] == 2 and graph.edges[1, 3]["value"] == 55


def test_communities_split_the_two_triangles():
    found = clusters(two_triangles_and_a_bridge(), seed=1)
    assert len(found) == 2
    assert {1, 2} <= found[0] or {1, 2} <= found[1]
    assert not any({1, 6} <= c for c in found)


def test_the_bridge_is_the_most_central():
    scores = centrality(two_triangles_and_a_bridge())
    best = max(scores, key=lambda n: scores[n][2])
    assert best == 4
    assert scores[3][0] == 3  # partners of 3: 1, 2 and 4
    assert scores[1][1] == 3  # strength of 1: one link to 2, two to 3


def test_interregional_links_by_value():
    links = interregional_links(two_triangles_and_a_bridge(), {"25": "Приморский край", "77": "Москва"}, k=3)
    assert links[0].regions == ("25", "77") and links[0].value == 2000
    assert links[1].regions == ("25", "27") and links[1].value == 1000
    assert all(a != b for a, b in (link.regions for link in links))


def test_report_of_a_region_keeps_its_organizations_and_their_partners(db):
    graph = two_triangles_and_a_bridge()
    scope = resolve_scope("25")
    report = network_report(graph, scope, {})
    assert {n.id for n in report.nodes} == {3, 4, 5}
    assert report.central[0].id == 4
    assert all(n.region == "25" and n.home for n in report.central)  # the region's own suppliers
    assert all(0 <= n.x <= 1 and 0 <= n.y <= 1 for n in report.nodes)


@pytest.fixture
def approved_chain(db, factories):
    from marketplace.chains.models import ChainRequest, ChainStatus, CooperationChain

    buyer = factories.organization(region="27", name="Заказчик цепочки")
    cutter = factories.organization(region="27", name="Резка")
    welder = factories.organization(region="54", name="Сварка")
    offer = factories.listing("capability", organization=welder)
    request = ChainRequest(organization_id=buyer.id, item="Рама", quantity=Decimal(10), unit_weight_kg=Decimal(50),
                           delivery_region="27", deadline_days=30, spec={})
    result = {"assignments": [
        {"stage": "cut", "listing_id": "1", "organization_id": str(cutter.id), "organization": cutter.name,
         "region": "27", "tier": "local", "production_cost": 300.0},
        {"stage": "weld", "listing_id": str(offer.id), "organization": welder.name, "region": "54",
         "tier": "national", "production_cost": 700.0},  # no organization_id: found through the listing
    ]}
    request.chains = [CooperationChain(rank=0, status=ChainStatus.APPROVED, total_cost=1000, lead_time_days=10,
                                       distance_km=100, result=result),
                      CooperationChain(rank=1, status=ChainStatus.SUGGESTED, total_cost=900, lead_time_days=9,
                                       distance_km=90, result=result)]
    db.session.add(request)
    db.session.flush()
    return buyer, cutter, welder


def test_approved_chains_link_the_buyer_to_each_supplier_and_consecutive_suppliers(approved_chain):
    buyer, cutter, welder = approved_chain
    links = chain_links()
    pairs = {frozenset((link.a, link.b)) for link in links}
    assert pairs == {frozenset((buyer.id, cutter.id)), frozenset((buyer.id, welder.id)),
                     frozenset((cutter.id, welder.id))}  # the suggested chain adds nothing
    report = network(resolve_scope("27"))
    assert report.organizations == 3
    assert report.interregional[0].regions == ("27", "54")
    assert report.interregional[0].value == 700
