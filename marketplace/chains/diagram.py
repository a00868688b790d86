"""The chain's diagram as plain data for an HTML layout: stages in columns by their depth in the route
(``matching.chains.chain_graph``), the buyer last; each stage with the legs that leave it (kilometres, days).

Columns, not coordinates: the page lays them out left to right on a wide screen and one under another on a phone,
and every text wraps at the reader's font size (an SVG scaled to its box drew 8 px text for a long route).
"""
from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from marketplace.chains.models import ChainRequest, CooperationChain

TIER_COLOURS = {"local": "#2e7d32", "district": "#1565c0", "national": "#ef6c00", "eaeu": "#6a1b9a",
                "friendly": "#6d4c41", "excluded": "#b3261e"}
DELIVERY = "delivery"


@dataclass(frozen=True)
class Leg:
    to: str  # the id of the stage (or ``delivery``) that takes the output
    number: int | None  # that stage's number in the route, None for the buyer
    km: float
    days: float


@dataclass(frozen=True)
class Node:
    id: str
    number: int | None  # the stage's place in the request's route, 1-based; None for the buyer
    title: str
    organization: str
    region: str
    tier: str | None
    colour: str
    legs: tuple[Leg, ...]


@dataclass(frozen=True)
class Diagram:
    columns: tuple[tuple[Node, ...], ...]

    @property
    def nodes(self) -> tuple[Node, ...]:
        return tuple(n for column in self.columns for n in column)


def chain_diagram(row: ChainRequest, chain: CooperationChain, region_names: dict[str, str]) -> Diagram | None:
    """The stages in columns, the buyer last, with their legs; None when the stored chain cannot be drawn."""
    from marketplace.chains.services import engine_request, stored_chain
    from matching.chains import chain_graph

    try:
        request = engine_request(row)
        graph = chain_graph(request, stored_chain(row, chain))
    except Exception:  # a chain stored by an older version: the table still shows it
        return None
    # Right-aligned layers: a stage sits just before the stage that takes its output (the buyer last), so in the
    # usual in-tree (parts → sub-assemblies → assembly) every leg joins neighbouring columns.
    to_end: dict[str, int] = {}
    for node in reversed(list(nx.topological_sort(graph))):
        to_end[node] = max((to_end[v] + 1 for v in graph.successors(node)), default=0)
    last = max(to_end.values())
    depth = {node: last - d for node, d in to_end.items()}
    order = {s.id: i for i, s in enumerate(request.stages)}
    layers: dict[int, list[str]] = {}
    for node in graph.nodes:
        layers.setdefault(depth[node], []).append(node)
    # order each column by where its successors are (right to left), then by the route's order
    rank: dict[str, float] = {}
    for col in sorted(layers, reverse=True):
        nodes = layers[col]
        nodes.sort(key=lambda n: (sum(rank[v] for v in graph.successors(n)) / max(1, graph.out_degree(n)),
                                  order.get(n, 999)))
        for i, node in enumerate(nodes):
            rank[node] = i - (len(nodes) - 1) / 2
    number = {stage_id: i + 1 for stage_id, i in order.items()}
    columns = []
    for col in sorted(layers):
        nodes = []
        for node in layers[col]:
            legs = tuple(Leg(v, number.get(v), float(data.get("km", 0.0)), float(data.get("days", 0.0)))
                         for _, v, data in graph.out_edges(node, data=True))
            if node == DELIVERY:
                place = request.delivery_region
                nodes.append(Node(DELIVERY, None, "", request.item or "",
                                  region_names.get(place.region or "", place.region or ""), None, "#37474f", legs))
                continue
            a = graph.nodes[node].get("assignment")
            stage = graph.nodes[node]["stage"]
            tier = a.tier.label if a else None
            nodes.append(Node(node, number.get(node), stage.text, a.organization if a else "—",
                              region_names.get(a.region or "", a.region or "—") if a else "—", tier,
                              TIER_COLOURS.get(tier or "", "#78909c"), legs))
        columns.append(tuple(nodes))
    return Diagram(columns=tuple(columns))


def legend() -> list[tuple[str, str]]:
    """(colour, tier) of the first four tiers, nearest first; the page names each tier in the reader's language."""
    from matching.geo import ProcurementTier

    return [(TIER_COLOURS[t.label], t.label) for t in ProcurementTier if t.label in TIER_COLOURS][:4]

