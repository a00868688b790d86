"""The chain builder: the cheapest cooperation chain and its next-best alternatives, exactly.

Model
-----
Every stage of the route is given to one candidate. A chain costs its production (``price_per_unit × quantity``
per stage) plus its transport (``tonnes × km × rate`` on every leg: stage → next stage along each DAG edge and
final stage → delivery place). It is feasible when

* each stage's supplier is in the stage's *allowed tier*: the nearest procurement tier that has an acceptable
  candidate (the matcher's verdict, certifications, its own capacity for the lot, and its own lead time plus
  the direct trip to the buyer within the deadline); 430-р suppliers never, unless ``allow_excluded``;
* an organization taking several stages has the capacity for all of them (``stages × quantity ≤ capacity``);
* the critical path (lead times plus transit days of the legs) fits in ``deadline_days``.

Algorithm
---------
Best-first (A*) search over the stages in reverse topological order (the final stage first, then its suppliers),
with lazy successor generation (a partial chain pushes only its cheapest child and its next sibling), which
yields complete chains in non-decreasing cost: the first is the optimum, the next distinct supplier sets are the
alternatives. The bound is the exact optimum of a relaxation: capacity dropped, and for a stage feeding several
others all but one outgoing leg priced at 0, which makes the route a tree, so dynamic programming gives, for every
stage and candidate, the cheapest cost of its whole upstream sub-tree. Optionally (automatically when a tight
deadline slows the search) the same DP is indexed by time buckets with every duration rounded down, which makes
the bound deadline-aware and still a relaxation. Both bounds are admissible, so the search is exact; deadline
(a lower bound on every candidate's finish) and capacity checks prune only partial chains that cannot be completed.
See ``docs/chains.md``.
"""
from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import networkx as nx
import numpy as np

from matching.chains.model import (
    Assignment,
    Chain,
    ChainBuildResult,
    InfeasibleReason,
    Leg,
    StageCandidate,
    StageDecision,
    TransportModel,
)
from matching.chains.request import ChainRequest, ChainRequestError, Stage, stage_graph
from matching.geo import EARTH_RADIUS_KM, CountryLists, Place, ProcurementTier, distance_km, procurement_tier
from matching.text import ru_number

__all__ = ["build_chains", "chain_graph", "evaluate_chain", "recompute"]

_EPS = 1e-9
_PLAIN_EXPANSIONS = 500  # plain-bound expansions before the deadline-aware bound is built
_TIME_BUCKETS = 512

_REASON_RU = {
    "no_coordinates": "без координат площадки",
    "not_acceptable": "не прошли отбор по соответствию",
    "excluded": "из стран перечня 430-р",
    "certification": "без требуемых сертификатов",
    "capacity": "без нужной мощности",
    "deadline": "не успевают к сроку",
}
_WHERE_RU = {
    ProcurementTier.LOCAL: "в регионе доставки",
    ProcurementTier.DISTRICT: "в федеральном округе",
    ProcurementTier.NATIONAL: "в России",
    ProcurementTier.EAEU: "в странах ЕАЭС",
    ProcurementTier.FRIENDLY: "в дружественных странах",
    ProcurementTier.EXCLUDED: "в странах перечня 430-р",
}


# ====================================================================== public API
def build_chains(
    request: ChainRequest,
    candidates: Mapping[str, Sequence[StageCandidate]],
    *,
    k: int = 3,
    transport: TransportModel | None = None,
    countries: CountryLists | None = None,
    allow_excluded: bool = False,
    max_expansions: int = 200_000,
    time_bounds: bool | None = None,
) -> ChainBuildResult:
    """Return the cheapest feasible chain and up to ``k`` alternatives that differ in at least one supplier.

    Parameters
    ----------
    request : ChainRequest
        The route, the lot and the delivery place (with coordinates).
    candidates : mapping
        Stage id → the matcher's candidates for that stage. The builder does not search.
    k : int
        How many alternatives after the best chain; chains differ in the organization of at least one stage.
    transport : TransportModel, optional
        Rates and speeds of the legs.
    countries : CountryLists, optional
        EAEU and 430-р lists for the procurement tiers.
    allow_excluded : bool
        Allow suppliers from the 430-р list when nothing nearer exists.
    max_expansions : int
        A safety stop for pathological instances; if reached, ``result.exact`` is False (the chains returned
        are still the best ones, in order, but there may be fewer than asked).
    time_bounds : bool, optional
        Use the deadline-aware bound (a time-bucketed DP, ~0.05-0.1 s to build for 500 candidates a stage).
        ``None`` (default) switches it on when the plain bound has not finished in 500 expansions,
        which happens when a tight deadline makes the cheapest sub-chains too slow.

    Returns
    -------
    ChainBuildResult
        ``chains`` sorted by total cost (rank 0 is the optimum), ``decisions`` per stage, and
        ``infeasible_reasons`` when no chain meets the constraints.

    Examples
    --------
    >>> result = build_chains(request, {"casting": [...], "machining": [...]}, k=5)  # doctest: +SKIP
    >>> result.best.to_dict()["total_cost"]  # doctest: +SKIP
    """
    if k < 0:
        raise ValueError("k must be >= 0")
    transport = transport or TransportModel()
    countries = countries or CountryLists()
    delivery = request.delivery_region
    if delivery.lat is None or delivery.lon is None:
        raise ChainRequestError("delivery_region", f"no coordinates for subject {delivery.region!r}; "
                                                   "pass resolve_region to ChainRequest.from_dict")
    unknown = set(candidates) - {s.id for s in request.stages}
    if unknown:
        raise ValueError(f"candidates for unknown stages: {sorted(unknown)}")

    screened = [_screen(request, stage, candidates.get(stage.id, ()), transport, countries, allow_excluded)
                for stage in request.stages]
    decisions = tuple(s.decision for s in screened)
    empty = [s for s in screened if not s.kept]
    if empty:
        reasons = tuple(InfeasibleReason("candidates", _no_candidates_text(s), stage=s.stage.id) for s in empty)
        return ChainBuildResult(chains=(), infeasible_reasons=reasons, decisions=decisions)

    short = _capacity_shortfall(request, screened)
    if short:
        return ChainBuildResult(chains=(), infeasible_reasons=(InfeasibleReason("capacity", short),),
                                decisions=decisions)

    problem = _Problem(request, screened, transport)
    if time_bounds:
        problem.enable_time_bounds(_TIME_BUCKETS)
    first_pass = max_expansions if time_bounds is not None else min(max_expansions, _PLAIN_EXPANSIONS)
    found, expansions, complete = problem.search(k + 1, max_expansions=first_pass)
    if not complete and time_bounds is None and problem.timed is None and math.isfinite(problem.deadline):
        problem.enable_time_bounds(_TIME_BUCKETS)
        found, more, complete = problem.search(k + 1, max_expansions=max_expansions)
        expansions += more
    explanation_by_stage = {s.stage.id: s.decision.explanation for s in screened if s.decision.explanation}
    chains = []
    for rank, picks in enumerate(found):
        chosen = {problem.stage_ids[i]: problem.cands[i][c] for i, c in enumerate(picks)}
        chain = evaluate_chain(request, chosen, transport=transport, countries=countries,
                               allow_excluded=allow_excluded)
        notes = tuple(explanation_by_stage[a.stage] for a in chain.assignments
                      if a.tier > ProcurementTier.LOCAL and a.stage in explanation_by_stage)
        chains.append(replace(chain, rank=rank, explanations=notes))
    reasons: tuple[InfeasibleReason, ...] = ()
    if not chains:
        reasons = problem.diagnose(complete, max_expansions)
    return ChainBuildResult(chains=tuple(chains), infeasible_reasons=reasons, decisions=decisions,
                            exact=complete, expansions=expansions)


def evaluate_chain(
    request: ChainRequest,
    chosen: Mapping[str, StageCandidate],
    *,
    transport: TransportModel | None = None,
    countries: CountryLists | None = None,
    allow_excluded: bool = False,
) -> Chain:
    """Price, schedule and check one given assignment of candidates to stages.

    The returned chain's ``violations`` lists what it breaks: ``deadline``, ``capacity``, ``certification``,
    ``not_acceptable``, ``excluded``, ``no_coordinates``.
    """
    transport = transport or TransportModel()
    countries = countries or CountryLists()
    missing = [s.id for s in request.stages if s.id not in chosen]
    if missing:
        raise ValueError(f"no candidate for stages {missing}")
    delivery = request.delivery_region
    q, tonnes = request.quantity, request.tonnes
    violations: list[str] = []
    explanations: list[str] = []

    def leg(a: str, b: str, pa: Place, pb: Place) -> Leg:
        km = distance_km(pa, pb)
        if km is None:
            _flag(violations, "no_coordinates")
            km = 0.0
        km *= transport.detour_factor
        return Leg(a, b, km, transport.leg_days(km), transport.leg_cost(km, tonnes))

    legs: list[Leg] = []
    finish: dict[str, float] = {}
    start: dict[str, float] = {}
    arrival_delivery = 0.0
    for stage in request.stages:  # topological order
        cand = chosen[stage.id]
        arrival = 0.0
        for before in stage.after:
            lg = leg(before, stage.id, chosen[before].place, cand.place)
            legs.append(lg)
            arrival = max(arrival, finish[before] + lg.days)
        start[stage.id] = arrival
        finish[stage.id] = arrival + cand.lead_time_days
        if not request.successors(stage.id):
            lg = leg(stage.id, "delivery", cand.place, delivery)
            legs.append(lg)
            arrival_delivery = max(arrival_delivery, finish[stage.id] + lg.days)
        if not cand.acceptable:
            _flag(violations, "not_acceptable")
        if not _has_certifications(cand, stage):
            _flag(violations, "certification")
            explanations.append(f"Этап «{stage.text}»: у исполнителя нет сертификатов "
                                f"{', '.join(stage.certifications_required)}")
        if stage.min_capacity is not None and cand.capacity_per_month is not None \
                and cand.capacity_per_month < stage.min_capacity - _EPS:
            _flag(violations, "capacity")

    position = {s.id: i for i, s in enumerate(request.stages)}
    legs.sort(key=lambda lg: (position[lg.from_stage], position.get(lg.to_stage, len(position))))

    assignments = []
    for stage in request.stages:
        cand = chosen[stage.id]
        tier = procurement_tier(cand.place, delivery, countries)
        if tier == ProcurementTier.EXCLUDED and not allow_excluded:
            _flag(violations, "excluded")
        assignments.append(Assignment(
            stage=stage.id, listing_id=cand.listing_id, organization_id=cand.organization_id,
            organization=cand.organization, region=cand.place.region, tier=tier,
            price_per_unit=cand.price_per_unit, production_cost=cand.price_per_unit * q,
            lead_time_days=cand.lead_time_days, start_day=start[stage.id], finish_day=finish[stage.id],
            candidate=cand))

    load: dict[str, list[float]] = defaultdict(lambda: [0.0, math.inf])
    for a in assignments:
        entry = load[a.organization_id]
        entry[0] += q
        cap = a.candidate.capacity_per_month
        entry[1] = min(entry[1], math.inf if cap is None else cap)
    for org_id, (taken, cap) in load.items():
        if taken > cap + _EPS * max(1.0, taken):
            _flag(violations, "capacity")
            name = next(a.organization for a in assignments if a.organization_id == org_id)
            explanations.append(f"{name}: нужно {ru_number(taken)} шт. в месяц, мощность {ru_number(cap)}")
    if arrival_delivery > request.deadline_days + _EPS:
        _flag(violations, "deadline")
        explanations.append(f"Срок {ru_number(round(arrival_delivery, 1))} дн. больше допустимого {ru_number(request.deadline_days)} дн.")

    production = sum(a.production_cost for a in assignments)
    transport_cost = sum(lg.cost for lg in legs)
    return Chain(
        total_cost=production + transport_cost,
        production_cost=production,
        transport_cost=transport_cost,
        lead_time_days=arrival_delivery,
        distance_km=sum(lg.km for lg in legs),
        localization=_localization(assignments),
        assignments=tuple(assignments),
        legs=tuple(legs),
        explanations=tuple(explanations),
        violations=tuple(violations),
    )


def recompute(
    request: ChainRequest,
    chain: Chain,
    stage_id: str,
    new_candidate: StageCandidate,
    *,
    transport: TransportModel | None = None,
    countries: CountryLists | None = None,
    allow_excluded: bool = False,
) -> Chain:
    """Swap the supplier of one stage (a coordinator's edit) and recompute costs, schedule and checks.

    The result keeps the chain's rank; ``violations`` names what the swap breaks (``deadline``, ``capacity``,
    ``certification``, ``excluded``, …) and contains ``tier`` when the new supplier is in a farther tier than
    the one it replaces (the procurement priority allowed the nearer one).
    """
    old = chain.assignment(stage_id)  # KeyError for an unknown stage
    chosen = {a.stage: a.candidate for a in chain.assignments}
    chosen[stage_id] = new_candidate
    out = evaluate_chain(request, chosen, transport=transport, countries=countries, allow_excluded=allow_excluded)
    stage = request.stage(stage_id)
    notes = [f"Этап «{stage.text}»: исполнитель заменён: {old.organization} → {new_candidate.organization}"]
    violations = list(out.violations)
    new_tier = out.assignment(stage_id).tier
    if new_tier > old.tier:
        violations.append("tier")
        notes.append(f"Этап «{stage.text}»: исполнитель дальше по приоритету закупки "
                     f"({new_tier.title_ru} вместо «{old.tier.title_ru}»)")
    return replace(out, rank=chain.rank, violations=tuple(violations), explanations=tuple(notes) + out.explanations)


def chain_graph(request: ChainRequest, chain: Chain) -> nx.DiGraph:
    """The chain as a DiGraph for drawing: stage nodes carry their ``assignment``; edges carry ``km``, ``days``,
    ``cost`` of the legs; the ``"delivery"`` node carries the delivery ``place``."""
    graph = stage_graph(request)
    for a in chain.assignments:
        graph.nodes[a.stage]["assignment"] = a
    for lg in chain.legs:
        graph.add_edge(lg.from_stage, lg.to_stage, km=lg.km, days=lg.days, cost=lg.cost)
    return graph


# ====================================================================== screening and the tier rule
@dataclass
class _Screened:
    stage: Stage
    kept: list[StageCandidate]
    kept_km_delivery: list[float]
    decision: StageDecision
    rejected_all: dict[str, int]
    considered: int


def _flag(violations: list[str], code: str) -> None:
    if code not in violations:
        violations.append(code)


def _has_certifications(cand: StageCandidate, stage: Stage) -> bool:
    if not stage.certifications_required:
        return True
    have = {c.strip().casefold() for c in cand.certifications}
    return all(c.strip().casefold() in have for c in stage.certifications_required)


def _screen(request: ChainRequest, stage: Stage, cands: Sequence[StageCandidate], transport: TransportModel,
            countries: CountryLists, allow_excluded: bool) -> _Screened:
    """Drop the candidates that cannot serve the stage on their own, then keep the nearest tier only."""
    delivery = request.delivery_region
    q = request.quantity
    ok: list[tuple[StageCandidate, ProcurementTier, float]] = []
    rejected: dict[tuple[ProcurementTier, str], int] = defaultdict(int)
    rejected_all: dict[str, int] = defaultdict(int)
    tiers_seen: set[ProcurementTier] = set()
    for cand in cands:
        if not isinstance(cand, StageCandidate):
            raise TypeError(f"stage {stage.id}: expected StageCandidate, got {type(cand).__name__}")
        for name in ("price_per_unit", "lead_time_days"):
            value = getattr(cand, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"stage {stage.id}, listing {cand.listing_id}: {name} must be >= 0, got {value!r}")
        tier = procurement_tier(cand.place, delivery, countries)
        tiers_seen.add(tier)
        km = distance_km(cand.place, delivery)
        reason = None
        if km is None:
            reason = "no_coordinates"
        elif not cand.acceptable:
            reason = "not_acceptable"
        elif tier == ProcurementTier.EXCLUDED and not allow_excluded:
            reason = "excluded"
        elif not _has_certifications(cand, stage):
            reason = "certification"
        elif cand.capacity_per_month is not None and (
                cand.capacity_per_month < q - _EPS * q
                or (stage.min_capacity is not None and cand.capacity_per_month < stage.min_capacity - _EPS)):
            reason = "capacity"
        elif cand.lead_time_days + transport.leg_days(km * transport.detour_factor) > request.deadline_days + _EPS:
            reason = "deadline"  # even shipped straight to the buyer it would be late
        if reason is None:
            ok.append((cand, tier, km * transport.detour_factor))  # type: ignore[operator]
        else:
            rejected[(tier, reason)] += 1
            rejected_all[reason] += 1

    allowed = min((t for _, t, _ in ok), default=None)
    kept = _prune_dominated([(c, km) for c, t, km in ok if t == allowed])
    nearer = [t for t in ProcurementTier if allowed is None or t < allowed]
    rejected_rows = tuple((t.label, r, n) for (t, r), n in sorted(rejected.items()) if t in nearer)
    explanation = None
    if allowed is not None and allowed > ProcurementTier.LOCAL:
        parts = []
        for tier in ProcurementTier:
            if tier >= allowed:
                break
            if tier == ProcurementTier.EXCLUDED:
                continue
            counts = {r: n for (t, r), n in rejected.items() if t == tier}
            if tier not in tiers_seen:
                parts.append(f"{_WHERE_RU[tier]} исполнителей нет")
            elif tier < ProcurementTier.EAEU or counts:
                total = sum(counts.values())
                why = ", ".join(f"{n} {_REASON_RU[r]}" for r, n in sorted(counts.items(), key=lambda x: -x[1]))
                parts.append(f"{_WHERE_RU[tier]} {total} исполн., но все отклонены ({why})")
        explanation = f"Этап «{stage.text}»: {'; '.join(parts)} — выбран уровень «{allowed.title_ru}»."
    decision = StageDecision(stage=stage.id, allowed_tier=allowed, considered=len(cands), kept=len(kept),
                             rejected=rejected_rows, explanation=explanation)
    return _Screened(stage=stage, kept=[c for c, _ in kept], kept_km_delivery=[km for _, km in kept],
                     decision=decision, rejected_all=dict(rejected_all), considered=len(cands))


def _prune_dominated(items: list[tuple[StageCandidate, float]]) -> list[tuple[StageCandidate, float]]:
    """Drop a listing when the same organization offers, at the same site, one no dearer, no slower and with no
    less capacity. Such a listing is never needed: alternatives differ by organization, and swapping in the
    better listing keeps every constraint and the cost."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, (c, _) in enumerate(items):
        groups[(c.organization_id, c.place.lat, c.place.lon, c.place.country)].append(i)
    drop: set[int] = set()
    for members in groups.values():
        if len(members) < 2:
            continue
        for i in members:
            ci = items[i][0]
            cap_i = math.inf if ci.capacity_per_month is None else ci.capacity_per_month
            for j in members:
                if j == i or j in drop:
                    continue
                cj = items[j][0]
                cap_j = math.inf if cj.capacity_per_month is None else cj.capacity_per_month
                if cj.price_per_unit <= ci.price_per_unit and cj.lead_time_days <= ci.lead_time_days \
                        and cap_j >= cap_i:
                    drop.add(i)
                    break
    return [it for i, it in enumerate(items) if i not in drop]


def _capacity_shortfall(request: ChainRequest, screened: Sequence[_Screened]) -> str | None:
    """Can the organizations cover every stage at all? A max-flow check (stages → organizations, each taking as
    many stages as its largest capacity allows) that proves capacity infeasibility before any search."""
    q = request.quantity
    most: dict[str, float] = {}
    stages_of: dict[str, set[str]] = defaultdict(set)
    for s in screened:
        for c in s.kept:
            cap = math.inf if c.capacity_per_month is None else c.capacity_per_month
            most[c.organization_id] = max(most.get(c.organization_id, 0.0), cap)
            stages_of[c.organization_id].add(s.stage.id)
    m = len(screened)
    if all(len(st) == 1 or most[o] >= q * len(st) for o, st in stages_of.items()):
        return None  # nobody is asked for more than it can take
    graph = nx.DiGraph()
    for s in screened:
        graph.add_edge("source", ("stage", s.stage.id), capacity=1)
        for c in s.kept:
            graph.add_edge(("stage", s.stage.id), ("org", c.organization_id), capacity=1)
    for org, cap in most.items():
        graph.add_edge(("org", org), "sink", capacity=min(m, math.floor(cap / q + _EPS)) if math.isfinite(cap) else m)
    covered = nx.maximum_flow_value(graph, "source", "sink")
    if covered >= m:
        return None
    return (f"Не хватает мощностей: допустимые исполнители могут взять не более {covered} из {m} этапов "
            f"по {ru_number(q)} шт. (одна организация берёт несколько этапов только в пределах своей мощности).")


def _no_candidates_text(s: _Screened) -> str:
    if s.considered == 0:
        return f"Этап «{s.stage.text}»: нет ни одного кандидата."
    why = ", ".join(f"{n} {_REASON_RU[r]}" for r, n in sorted(s.rejected_all.items(), key=lambda x: -x[1]))
    return f"Этап «{s.stage.text}»: ни один из {s.considered} кандидатов не подходит ({why})."


def _localization(assignments: Sequence[Assignment]) -> tuple[tuple[str, float], ...]:
    value: dict[ProcurementTier, float] = defaultdict(float)
    for a in assignments:
        value[a.tier] += a.production_cost
    total = sum(value.values())
    if total <= 0:  # free production: share by count of stages
        value = defaultdict(float)
        for a in assignments:
            value[a.tier] += 1.0
        total = float(len(assignments))
    return tuple((t.label, value[t] / total) for t in sorted(value))


# ====================================================================== the search
def _unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    p, l_ = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(p) * np.cos(l_), np.cos(p) * np.sin(l_), np.sin(p)], axis=1)


def _great_circle_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Great-circle km between unit vectors ``a`` (n×3) and ``b`` (m×3), from the chord length: no trigonometry
    per pair, exactly 0 for the same site, and as precise as the haversine for short distances."""
    chord2 = np.zeros((len(a), len(b)))
    for axis in range(3):
        diff = a[:, axis, None] - b[None, :, axis]
        chord2 += diff * diff
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(chord2) / 2))


def _floor_down(x: np.ndarray) -> np.ndarray:
    """Whole buckets, rounded down a hair further so float noise never lengthens a relaxed path."""
    return np.maximum(np.floor(x - 1e-7), 0).astype(np.int64)


class _List:
    """The feasible options of one stage for one partial chain, cheapest added cost first (lazy siblings).

    ``kid_terms[j][i]`` is the bound that option ``i`` leaves for the stage's ``j``-th tree child.
    """

    __slots__ = ("idx", "delta", "tail", "kid_terms")

    def __init__(self, idx: list[int], delta: list[float], tail: list[float], kid_terms: list[list[float]]) -> None:
        self.idx, self.delta, self.tail, self.kid_terms = idx, delta, tail, kid_terms


class _Problem:
    """Arrays of the screened instance, the tree relaxation (DP) and the best-first search."""

    def __init__(self, request: ChainRequest, screened: Sequence[_Screened], transport: TransportModel) -> None:
        self.request = request
        self.q = request.quantity
        self.deadline = float(request.deadline_days)
        self.stage_ids = [s.stage.id for s in screened]
        index = {sid: i for i, sid in enumerate(self.stage_ids)}
        m = self.m = len(screened)
        self.cands = [s.kept for s in screened]
        self.n = [len(c) for c in self.cands]
        self.preds = [[index[b] for b in s.stage.after] for s in screened]
        self.succ: list[list[int]] = [[] for _ in range(m)]
        for i in range(m):
            for p in self.preds[i]:
                self.succ[p].append(i)
        org_ids: dict[str, int] = {}
        self.org = []
        self.prod, self.lead, self.cap, self.xyz = [], [], [], []
        for cands in self.cands:
            self.org.append(np.array([org_ids.setdefault(c.organization_id, len(org_ids)) for c in cands]))
            self.prod.append(np.array([c.price_per_unit * self.q for c in cands], dtype=float))
            self.lead.append(np.array([c.lead_time_days for c in cands], dtype=float))
            self.cap.append(np.array([math.inf if c.capacity_per_month is None else c.capacity_per_month
                                      for c in cands], dtype=float))
            self.xyz.append(_unit_vectors(np.array([c.place.lat for c in cands], dtype=float),
                                          np.array([c.place.lon for c in cands], dtype=float)))
        rate = request.tonnes * transport.cost_per_tonne_km

        def days(km: np.ndarray) -> np.ndarray:
            out = km * (1.0 / transport.km_per_day)
            out += transport.handling_days
            out[km <= 0] = 0.0
            return out

        self.cost: dict[tuple[int, int], np.ndarray] = {}
        self.days: dict[tuple[int, int], np.ndarray] = {}
        for i in range(m):
            for j in self.succ[i]:
                km = _great_circle_matrix(self.xyz[i], self.xyz[j]) * transport.detour_factor
                self.cost[i, j] = km * rate
                self.days[i, j] = days(km)
        self.cost_del: dict[int, np.ndarray] = {}
        self.days_del: dict[int, np.ndarray] = {}
        for i in range(m):
            if not self.succ[i]:
                km = np.array(screened[i].kept_km_delivery, dtype=float)
                self.cost_del[i] = km * rate
                self.days_del[i] = days(km)

        # Tree relaxation: each stage keeps one outgoing leg (to its first successor, or to the buyer).
        self.primary = [self.succ[i][0] if self.succ[i] else -1 for i in range(m)]
        self.kids = [[c for c in range(m) if self.primary[c] == i] for i in range(m)]
        self.sub: list[np.ndarray] = [np.empty(0)] * m
        self.best_in: list[np.ndarray] = [np.empty(0)] * m
        self.finish_lb: list[np.ndarray] = [np.empty(0)] * m
        for i in range(m):  # topological: every child before its parent
            sub = self.prod[i].copy()
            for c in self.kids[i]:
                sub += self.best_in[c]
            self.sub[i] = sub
            if self.primary[i] >= 0:
                self.best_in[i] = (sub[:, None] + self.cost[i, self.primary[i]]).min(axis=0)
            ready = np.zeros(self.n[i])
            for p in self.preds[i]:
                ready = np.maximum(ready, (self.finish_lb[p][:, None] + self.days[p, i]).min(axis=0))
            self.finish_lb[i] = ready + self.lead[i]
        self.order = list(range(m - 1, -1, -1))  # reverse topological: successors are assigned first
        self.pos = {stage: p for p, stage in enumerate(self.order)}
        self._base: dict[tuple, np.ndarray] = {}
        self._sorted: dict[tuple, tuple[np.ndarray, np.ndarray, list[np.ndarray]]] = {}
        self.timed: list[np.ndarray] | None = None  # time-bucketed bounds, built on demand
        self.bucket = 0.0
        self.buckets = 0

    # ------------------------------------------------------------------ the deadline-aware bound
    def enable_time_bounds(self, buckets: int = _TIME_BUCKETS) -> None:
        """Build ``G[w][c, b]``: the cheapest relaxed sub-tree of ``w`` when its parent takes option ``c`` and
        must finish within ``b`` time buckets, each lead time plus the transit into the next stage rounded down
        to whole buckets.

        Rounding down keeps it a relaxation (a chain within the deadline has a rounded path length within
        ``buckets``), so the bound stays admissible. Each sub-tree cost is a non-increasing step function of the
        budget, so a tree edge costs ``O(steps × n_parent)`` with ``np.minimum.at``, not ``× buckets``.
        """
        if not math.isfinite(self.deadline) or self.timed is not None:
            return
        self.buckets = nb = buckets
        self.bucket = width = self.deadline / nb
        span = np.arange(nb + 1)
        table: list[np.ndarray] = [np.empty(0)] * self.m
        for i in range(self.m):
            sub = np.zeros((self.n[i], nb + 1))
            for c in self.kids[i]:
                sub += table[c]
            sub[span[None, :] < _floor_down(self.lead[i] / width)[:, None]] = np.inf
            sub += self.prod[i][:, None]
            p = self.primary[i]
            if p < 0:
                continue
            # the parent's budget covers the parent's lead time and the leg into it: round them down together
            shift = _floor_down((self.days[i, p] + self.lead[p][None, :]) / width)
            cost = self.cost[i, p]
            # sub[c, ·] is a non-increasing step function of the budget: only its steps can be a minimum
            previous = np.concatenate([np.full((self.n[i], 1), np.inf), sub[:, :-1]], axis=1)
            rows, starts = np.nonzero(sub < previous)
            values = sub[rows, starts]
            g = np.full(self.n[p] * (nb + 1), np.inf)
            offsets = np.arange(self.n[p])[None, :] * (nb + 1)
            chunk = max(1, 2_000_000 // self.n[p])
            for lo in range(0, len(rows), chunk):
                r = rows[lo:lo + chunk]
                at = starts[lo:lo + chunk, None] + shift[r, :]
                ok = at <= nb
                np.minimum.at(g, (offsets + at)[ok], (values[lo:lo + chunk, None] + cost[r, :])[ok])
            table[i] = np.minimum.accumulate(g.reshape(self.n[p], nb + 1), axis=1)
        self.timed = table

    # ------------------------------------------------------------------ search
    def _terms(self, v: int, xs: tuple[int, ...], tail: np.ndarray, deadline: float) -> tuple[np.ndarray, list]:
        """Cost of giving ``v`` each option (its production, its outgoing legs, the bounds of its sub-trees)."""
        key = (v, xs)
        base = self._base.get(key)
        if base is None:
            base = self.prod[v].copy()
            if self.succ[v]:
                for s, x in zip(self.succ[v], xs, strict=True):
                    base += self.cost[v, s][:, x]
            else:
                base += self.cost_del[v]
            self._base[key] = base
        if self.timed is not None and math.isfinite(deadline):
            budget = np.floor((deadline - tail) / self.bucket + 1e-7)  # buckets left for v to finish
            late = budget < 0
            cols = np.clip(budget, 0, self.buckets).astype(np.int64)
            rows = np.arange(self.n[v])
            kid_terms = []
            for w in self.kids[v]:
                t = self.timed[w][rows, cols]
                t[late] = np.inf
                kid_terms.append(t)
        else:
            kid_terms = [self.best_in[w] for w in self.kids[v]]
        total = base
        for t in kid_terms:
            total = total + t
        return total, kid_terms

    def _tail(self, v: int, xs: tuple[int, ...], tails: tuple[float, ...]) -> np.ndarray:
        """Exact time from the finish of each option of ``v`` to the buyer, given the assigned successors."""
        if not self.succ[v]:
            return self.days_del[v]
        tail = None
        for s, x in zip(self.succ[v], xs, strict=True):
            t = self.days[v, s][:, x] + (self.lead[s][x] + tails[self.pos[s]])
            tail = t if tail is None else np.maximum(tail, t)
        return tail

    def _options(self, a: tuple[int, ...], tails: tuple[float, ...], terms: tuple, deadline: float,
                 check_capacity: bool) -> _List | None:
        """Feasible options of the next stage after the partial chain ``a``, cheapest added cost first."""
        v = self.order[len(a)]
        xs = tuple(a[self.pos[s]] for s in self.succ[v])
        timed = self.timed is not None and math.isfinite(deadline)
        if timed:  # the bound depends on the time left, so on the whole downstream chain
            tail = self._tail(v, xs, tails)
            total, kid_terms = self._terms(v, xs, tail, deadline)
            delta = total - terms[v]
            order = np.argsort(delta, kind="stable")
            delta, tail, kid_terms = delta[order], tail[order], [t[order] for t in kid_terms]
        else:  # the plain bound depends on the successors' options only: sort once per (stage, successors)
            key = (v, xs)
            cached = self._sorted.get(key)
            if cached is None:
                total, kid_terms = self._terms(v, xs, np.empty(0), math.inf)
                order = np.argsort(total, kind="stable")
                cached = self._sorted[key] = (order, total[order] - terms[v], [t[order] for t in kid_terms])
            order, delta, kid_terms = cached
            tail = self._tail(v, xs, tails)[order]
        mask = np.isfinite(delta)
        if math.isfinite(deadline):
            mask &= self.finish_lb[v][order] + tail <= deadline + _EPS
        if check_capacity and len(a):
            load: dict[int, list[float]] = {}
            for p, c in enumerate(a):
                st = self.order[p]
                o = int(self.org[st][c])
                entry = load.setdefault(o, [0.0, math.inf])
                entry[0] += self.q
                entry[1] = min(entry[1], self.cap[st][c])
            orgs = self.org[v][order]
            for o, (taken, cap) in load.items():
                same = orgs == o
                if same.any():
                    caps = np.minimum(cap, self.cap[v][order])
                    mask &= ~(same & (taken + self.q > caps + _EPS * (taken + self.q)))
        sel = np.flatnonzero(mask)
        if not len(sel):
            return None
        return _List(order[sel].tolist(), delta[sel].tolist(), tail[sel].tolist(),
                     [t[sel].tolist() for t in kid_terms])

    def _initial_terms(self, deadline: float) -> tuple:
        terms: list[float | None] = [None] * self.m
        for i in range(self.m):
            if not self.succ[i]:
                total, _ = self._terms(i, (), self.days_del[i], deadline)
                terms[i] = float(total.min())
        return tuple(terms)

    def _child_terms(self, terms: tuple, v: int, lst: _List, i: int) -> tuple:
        out = list(terms)
        out[v] = None
        for j, w in enumerate(self.kids[v]):
            out[w] = lst.kid_terms[j][i]
        return tuple(out)

    def search(self, want: int, *, deadline: float | None = None, check_capacity: bool = True,
               max_expansions: int = 200_000) -> tuple[list[tuple[int, ...]], int, bool]:
        """Pop partial chains cheapest-bound first; complete ones come out in cost order.

        Returns the candidate indices (per stage, in request order) of up to ``want`` chains with distinct
        supplier sets, the number of expansions, and whether the search finished (False: stopped at the limit;
        the chains found so far are still the best ones, in order).
        """
        deadline = self.deadline if deadline is None else deadline
        m = self.m
        terms0 = self._initial_terms(deadline)
        if any(t is not None and not math.isfinite(t) for t in terms0):
            return [], 0, True
        h0 = sum(t for t in terms0 if t is not None)
        heap: list = []
        seq = 0
        v0 = self.order[0]
        first = self._options((), (), terms0, deadline, check_capacity)
        if first is not None:
            heap.append((h0 + first.delta[0], 0, (first.idx[0],), (first.tail[0],),
                         self._child_terms(terms0, v0, first, 0), first, 0, h0, terms0))
        found: list[tuple[int, ...]] = []
        seen: set[tuple[int, ...]] = set()
        expansions = 0
        while heap and len(found) < want:
            if expansions >= max_expansions:
                return found, expansions, False
            expansions += 1
            _, _, a, tails, terms, lst, i, base, parent_terms = heapq.heappop(heap)
            if i + 1 < len(lst.idx):
                seq += 1
                v = self.order[len(a) - 1]
                heapq.heappush(heap, (base + lst.delta[i + 1], seq, a[:-1] + (lst.idx[i + 1],),
                                      tails[:-1] + (lst.tail[i + 1],), self._child_terms(parent_terms, v, lst, i + 1),
                                      lst, i + 1, base, parent_terms))
            if len(a) == m:
                by_stage = tuple(a[self.pos[s]] for s in range(m))
                suppliers = tuple(int(self.org[s][c]) for s, c in enumerate(by_stage))
                if suppliers not in seen:
                    seen.add(suppliers)
                    found.append(by_stage)
                continue
            nxt = self._options(a, tails, terms, deadline, check_capacity)
            if nxt is not None:
                f = base + lst.delta[i]
                seq += 1
                v = self.order[len(a)]
                heapq.heappush(heap, (f + nxt.delta[0], seq, a + (nxt.idx[0],), tails + (nxt.tail[0],),
                                      self._child_terms(terms, v, nxt, 0), nxt, 0, f, terms))
        return found, expansions, True

    def diagnose(self, complete: bool, max_expansions: int) -> tuple[InfeasibleReason, ...]:
        """Say which constraint leaves no chain: search again with the deadline, then capacity, relaxed."""
        if not complete:
            return (InfeasibleReason("search_limit", "Поиск остановлен по лимиту, цепочка не найдена; "
                                                     "сократите число кандидатов или увеличьте max_expansions."),)
        limit = min(max_expansions, 20_000)  # a diagnosis, not an answer: keep it quick
        without_deadline, _, done_d = self.search(1, deadline=math.inf, max_expansions=limit)
        without_capacity, _, done_c = self.search(1, check_capacity=False, max_expansions=limit)
        fastest = max(float((self.finish_lb[i] + self.days_del[i]).min()) for i in range(self.m) if not self.succ[i])
        deadline_msg = (f"Срок {ru_number(self.deadline)} дн. недостижим: самая быстрая цепочка из допустимых исполнителей "
                        f"займёт не менее {fastest:.1f} дн.") if fastest > self.deadline + _EPS else \
            f"Срок {ru_number(self.deadline)} дн. недостижим при ограничениях мощности исполнителей."
        capacity_msg = (f"Не хватает мощностей: исполнители, способные уложиться в срок, не могут взять "
                        f"несколько этапов по {ru_number(self.q)} шт.")
        reasons = []
        if without_deadline or not done_d:
            reasons.append(InfeasibleReason("deadline", deadline_msg))
        if without_capacity or not done_c:
            reasons.append(InfeasibleReason("capacity", capacity_msg))
        if not reasons:
            reasons = [InfeasibleReason("deadline", deadline_msg), InfeasibleReason("capacity", capacity_msg)]
        return tuple(reasons)
