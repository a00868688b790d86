"""The cooperation network: organizations linked by awarded tenders and approved cooperation chains.

An edge joins a buyer and the supplier that won its lot (``award``), the organization that requested a chain and
each supplier of an approved chain, and two suppliers of consecutive stages of that chain (``chain``). Edge
attributes: ``count`` (how many awards and chain links) and ``value`` (roubles: the award, the stage's production
cost). Communities and centrality use ``count`` as the weight — it is comparable across kinds, money is not
(a stage's cost and a whole lot differ by orders of magnitude); the interregional links are ranked by value.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import networkx as nx
from networkx.algorithms.community import louvain_communities
from sqlalchemy import select

from marketplace.analytics import awards
from marketplace.analytics.scope import Geography, Scope, money
from marketplace.chains.models import ChainRequest, ChainStatus, CooperationChain
from marketplace.extensions import db
from marketplace.listings.models import Listing
from marketplace.organizations.models import Organization

SEED = 27
MAX_DRAWN_NODES = 120


@dataclass(frozen=True)
class Link:
    """One cooperation between two organizations (ids), as read from awards and chains."""

    a: int
    b: int
    kind: str  # award | chain
    value: float = 0.0
    supplier: int | None = None  # which end supplied, when one did


@dataclass(frozen=True)
class NetworkNode:
    id: int
    name: str
    region: str | None
    cluster: int
    partners: int  # degree
    strength: float  # weighted degree (number of links)
    betweenness: float
    supplier: bool
    x: float = 0.5
    y: float = 0.5
    home: bool = True  # registered in the report's scope (False: a partner from elsewhere)


@dataclass(frozen=True)
class NetworkEdge:
    source: int
    target: int
    count: int
    value: float


@dataclass(frozen=True)
class ClusterSummary:
    id: int
    size: int
    regions: tuple[str, ...]  # the most frequent regions first
    members: tuple[str, ...]  # the strongest organizations first (at most 5)


@dataclass(frozen=True)
class RegionLink:
    regions: tuple[str, str]
    names: tuple[str, str]
    count: int
    value: float


@dataclass(frozen=True)
class NetworkReport:
    scope: str
    scope_name: str
    organizations: int
    links: int
    clusters: tuple[ClusterSummary, ...] = field(default=())
    central: tuple[NetworkNode, ...] = field(default=())
    interregional: tuple[RegionLink, ...] = field(default=())
    nodes: tuple[NetworkNode, ...] = field(default=())  # the drawn ones: the strongest MAX_DRAWN_NODES
    edges: tuple[NetworkEdge, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NetworkReport:
        return cls(
            scope=data["scope"], scope_name=data["scope_name"], organizations=data["organizations"],
            links=data["links"],
            clusters=tuple(ClusterSummary(c["id"], c["size"], tuple(c["regions"]), tuple(c["members"]))
                           for c in data["clusters"]),
            central=tuple(NetworkNode(**n) for n in data["central"]),
            interregional=tuple(RegionLink(tuple(r["regions"]), tuple(r["names"]), r["count"], r["value"])
                                for r in data["interregional"]),
            nodes=tuple(NetworkNode(**n) for n in data["nodes"]),
            edges=tuple(NetworkEdge(**e) for e in data["edges"]))


# ---------------------------------------------------------------------------------------------------- graph

def cooperation_graph(links: Iterable[Link], organizations: Mapping[int, tuple[str, str | None]]) -> nx.Graph:
    """An undirected graph of organizations; parallel links are summed into ``count`` and ``value``.

    ``organizations`` maps an id to (name, region code); nodes carry ``name``, ``region`` and ``supplier``.
    """
    graph = nx.Graph()
    for link in links:
        if link.a == link.b:
            continue
        for node in (link.a, link.b):
            if node not in graph:
                name, region = organizations.get(node, (f"#{node}", None))
                graph.add_node(node, name=name, region=region, supplier=False)
        if link.supplier is not None:
            graph.nodes[link.supplier]["supplier"] = True
        if graph.has_edge(link.a, link.b):
            data = graph.edges[link.a, link.b]
            data["count"] += 1
            data["value"] += link.value
        else:
            graph.add_edge(link.a, link.b, count=1, value=link.value)
    return graph


def clusters(graph: nx.Graph, *, weight: str = "count", seed: int = SEED) -> list[set[int]]:
    """Louvain communities, the largest first (ties by smallest member id, so the order is stable)."""
    if graph.number_of_nodes() == 0:
        return []
    found = louvain_communities(graph, weight=weight, seed=seed)
    return sorted((set(c) for c in found), key=lambda c: (-len(c), min(c)))


def centrality(graph: nx.Graph, *, weight: str = "count", seed: int = SEED) -> dict[int, tuple[int, float, float]]:
    """``{node: (partners, strength, betweenness)}``: partners is the degree, strength the degree weighted by
    ``weight``, betweenness the unweighted (hop-count) betweenness — exact up to 500 organizations, estimated from
    100 sampled sources above that (18 s for 200 sources on 18,000 organizations; weighted Dijkstra, minutes)."""
    n = graph.number_of_nodes()
    if n == 0:
        return {}
    between = nx.betweenness_centrality(graph, k=100 if n > 500 else None, seed=seed)
    strength = dict(graph.degree(weight=weight))
    return {node: (graph.degree(node), float(strength[node]), between[node]) for node in graph}


def interregional_links(graph: nx.Graph, region_names: Mapping[str, str], *, k: int = 10) -> list[RegionLink]:
    """Pairs of regions linked across the network, the largest value (then count) first."""
    pairs: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0.0])
    for a, b, data in graph.edges(data=True):
        ra, rb = graph.nodes[a]["region"], graph.nodes[b]["region"]
        if not ra or not rb or ra == rb:
            continue
        key = (min(ra, rb), max(ra, rb))
        pairs[key][0] += data["count"]
        pairs[key][1] += data["value"]
    ranked = sorted(pairs.items(), key=lambda item: (-item[1][1], -item[1][0], item[0]))[:k]
    return [RegionLink(key, (region_names.get(key[0], key[0]), region_names.get(key[1], key[1])), int(c), money(v))
            for key, (c, v) in ranked]


def layout(graph: nx.Graph, *, seed: int = SEED) -> dict[int, tuple[float, float]]:
    """Spring layout scaled into the unit square with a margin."""
    if graph.number_of_nodes() == 0:
        return {}
    if graph.number_of_nodes() == 1:
        return {next(iter(graph)): (0.5, 0.5)}
    pos = nx.spring_layout(graph, weight="count", seed=seed, k=2.2 / graph.number_of_nodes() ** 0.5, iterations=100)
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    span_x = (max(xs) - min(xs)) or 1.0
    span_y = (max(ys) - min(ys)) or 1.0
    return {node: (0.06 + 0.88 * (p[0] - min(xs)) / span_x, 0.06 + 0.88 * (p[1] - min(ys)) / span_y)
            for node, p in pos.items()}


@dataclass(frozen=True)
class Analysis:
    """Communities and centrality of the whole network, computed once and shared by every scope's report."""

    cluster_of: dict[int, int]
    scores: dict[int, tuple[int, float, float]]


def analyse(graph: nx.Graph, *, seed: int = SEED) -> Analysis:
    communities = clusters(graph, seed=seed)
    return Analysis({node: i for i, members in enumerate(communities) for node in members},
                    centrality(graph, seed=seed))


def network_report(graph: nx.Graph, scope: Scope, region_names: Mapping[str, str], *, seed: int = SEED,
                   max_nodes: int = MAX_DRAWN_NODES, analysis: Analysis | None = None) -> NetworkReport:
    """The part of ``graph`` that touches ``scope`` (its organizations and their partners), summarized.

    Clusters and centrality are those of the whole network (``analysis``, computed here when not given): a
    supplier is central in the country's cooperation, not only in the part a region sees.
    """
    analysis = analysis or analyse(graph, seed=seed)
    inside = set(graph)
    if scope.kind != "country":
        inside = {n for n, region in graph.nodes(data="region") if region in scope.regions}
        graph = graph.edge_subgraph([(a, b) for a, b in graph.edges(inside)]).copy()
    cluster_of, scores = analysis.cluster_of, analysis.scores

    def node(n: int, xy: tuple[float, float] = (0.5, 0.5)) -> NetworkNode:
        partners, strength, between = scores[n]
        data = graph.nodes[n]
        return NetworkNode(id=n, name=data["name"], region=data["region"], cluster=cluster_of[n], partners=partners,
                           strength=strength, betweenness=round(between, 6), supplier=data["supplier"],
                           x=round(xy[0], 4), y=round(xy[1], 4), home=n in inside)

    strongest = sorted(graph, key=lambda n: (-scores[n][1], n))[:max_nodes]
    drawn = graph.subgraph(strongest)
    positions = layout(drawn, seed=seed)
    central = sorted((n for n in graph if graph.nodes[n]["supplier"] and n in inside),
                     key=lambda n: (-scores[n][2], -scores[n][1], n))[:10]
    members_of: dict[int, list[int]] = defaultdict(list)
    for n in graph:
        members_of[cluster_of[n]].append(n)
    summaries = []
    for cid in sorted(members_of, key=lambda c: (-len(members_of[c]), c)):
        members = members_of[cid]
        regions: dict[str, int] = defaultdict(int)
        for m in members:
            if graph.nodes[m]["region"]:
                regions[graph.nodes[m]["region"]] += 1
        top_regions = sorted(regions, key=lambda r: (-regions[r], r))[:3]
        summaries.append(ClusterSummary(
            cid, len(members), tuple(region_names.get(r, r) for r in top_regions),
            tuple(graph.nodes[m]["name"] for m in sorted(members, key=lambda m: (-scores[m][1], m))[:5])))
    return NetworkReport(
        scope=scope.code, scope_name=scope.name, organizations=graph.number_of_nodes(),
        links=int(sum(d["count"] for _, _, d in graph.edges(data=True))), clusters=tuple(summaries),
        central=tuple(node(n) for n in central), interregional=tuple(interregional_links(graph, region_names)),
        nodes=tuple(node(n, positions[n]) for n in strongest),
        edges=tuple(NetworkEdge(a, b, d["count"], money(d["value"])) for a, b, d in drawn.edges(data=True)))


# ---------------------------------------------------------------------------------------------------- database

def chain_links() -> list[Link]:
    """Links of every approved chain: requester–supplier for each stage, supplier–supplier for consecutive stages."""
    rows = db.session.execute(
        select(CooperationChain.id, CooperationChain.result, ChainRequest.organization_id, Listing.organization_id)
        .join(ChainRequest, ChainRequest.id == CooperationChain.request_id)
        .outerjoin(Listing, Listing.id == ChainRequest.need_id)
        .where(CooperationChain.status == ChainStatus.APPROVED)).all()
    listing_ids = {int(a["listing_id"]) for _, result, _, _ in rows for a in (result or {}).get("assignments", [])
                   if not str(a.get("organization_id", "")).isdigit() and str(a.get("listing_id", "")).isdigit()}
    owner = dict(db.session.execute(select(Listing.id, Listing.organization_id)
                                    .where(Listing.id.in_(listing_ids))).all()) if listing_ids else {}
    links = []
    for _, result, requester, need_owner in rows:
        buyer = requester or need_owner
        previous = None
        for a in (result or {}).get("assignments", []):
            org, listing = str(a.get("organization_id", "")), str(a.get("listing_id", ""))
            supplier = int(org) if org.isdigit() else owner.get(int(listing)) if listing.isdigit() else None
            if supplier is None:
                continue
            value = float(a.get("production_cost") or 0.0)
            if buyer is not None:
                links.append(Link(buyer, supplier, "chain", value, supplier=supplier))
            if previous is not None and previous != supplier:
                links.append(Link(previous, supplier, "chain", 0.0, supplier=supplier))
            previous = supplier
    return links


def load_graph() -> nx.Graph:
    links = chain_links() + [Link(a.buyer_id, a.supplier_id, "award", a.value, supplier=a.supplier_id)
                             for a in (awards.award_links() or [])]
    ids = sorted({n for link in links for n in (link.a, link.b)})
    organizations: dict[int, tuple[str, str | None]] = {}
    for start in range(0, len(ids), 900):
        for oid, name, region in db.session.execute(
                select(Organization.id, Organization.name, Organization.region_code)
                .where(Organization.id.in_(ids[start:start + 900]))):
            organizations[oid] = (name, region)
    return cooperation_graph(links, organizations)


def all_network_reports(geography: Geography, scopes: Iterable[Scope], *, seed: int = SEED) -> dict[str, NetworkReport]:
    graph = load_graph()
    analysis = analyse(graph, seed=seed)
    return {s.code: network_report(graph, s, geography.region_names, seed=seed, analysis=analysis) for s in scopes}


def network(scope: Scope, *, seed: int = SEED) -> NetworkReport:
    return network_report(load_graph(), scope, Geography.load().region_names, seed=seed)
