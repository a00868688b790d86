"""The chain's diagram as plain data for a server-rendered SVG: stages in columns by their depth in the route
(``matching.chains.chain_graph``), the buyer last; each leg with its kilometres and days."""
from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from marketplace.chains.models import ChainRequest, CooperationChain

NODE_W, NODE_H, GAP_X, GAP_Y, PAD = 210, 74, 110, 22, 12
TIER_COLOURS = {"local": "#2e7d32", "district": "#1565c0", "national": "#ef6c00", "eaeu": "#6a1b9a",
                "friendly": "#6d4c41", "excluded": "#b3261e"}


@dataclass(frozen=True)
class Node:
    id: str
    x: float
    y: float
    title: str
    organization: str
    region: str
    tier: str | None
    colour: str


@dataclass(frozen=True)
class Edge:
    x1: float
    y1: float
    x2: float
    y2: float
    label: str


@dataclass(frozen=True)
class Diagram:
    width: float
    height: float
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


def _short(text: str, n: int = 30) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def chain_diagram(row: ChainRequest, chain: CooperationChain, region_names: dict[str, str]) -> Diagram | None:
    """Positions of the stages, the buyer and the legs; None when the stored chain cannot be drawn."""
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
    tallest = max(len(v) for v in layers.values())
    height = PAD * 2 + tallest * NODE_H + (tallest - 1) * GAP_Y
    pos: dict[str, tuple[float, float]] = {}
    for col, nodes in layers.items():
        column_h = len(nodes) * NODE_H + (len(nodes) - 1) * GAP_Y
        top = (height - column_h) / 2
        for i, node in enumerate(nodes):
            pos[node] = (PAD + col * (NODE_W + GAP_X), top + i * (NODE_H + GAP_Y))
    out_nodes = []
    for node, (x, y) in pos.items():
        if node == "delivery":
            place = request.delivery_region
            out_nodes.append(Node("delivery", x, y, "Заказчик", request.item and _short(request.item),
                                  region_names.get(place.region or "", place.region or ""), None, "#37474f"))
            continue
        a = graph.nodes[node].get("assignment")
        stage = graph.nodes[node]["stage"]
        tier = a.tier.label if a else None
        out_nodes.append(Node(node, x, y, _short(stage.text), _short(a.organization if a else "—"),
                              region_names.get(a.region or "", a.region or "—") if a else "—", tier,
                              TIER_COLOURS.get(tier or "", "#78909c")))
    edges = []
    for u, v, data in graph.edges(data=True):
        (x1, y1), (x2, y2) = pos[u], pos[v]
        km, days = data.get("km", 0.0), data.get("days", 0.0)
        label = f"{km:,.0f} км · {days:.1f} дн.".replace(",", " ") if km else "на месте"
        edges.append(Edge(x1 + NODE_W, y1 + NODE_H / 2, x2, y2 + NODE_H / 2, label))
    width = PAD * 2 + (last + 1) * NODE_W + last * GAP_X
    return Diagram(width=width, height=height, nodes=tuple(out_nodes), edges=tuple(edges))


def legend() -> list[tuple[str, str]]:
    from matching.geo import ProcurementTier

    return [(TIER_COLOURS[t.label], t.title_ru) for t in ProcurementTier if t.label in TIER_COLOURS][:4]

