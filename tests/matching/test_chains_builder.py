"""The chain builder against brute force, the procurement priority, capacity, deadline and recompute."""
from __future__ import annotations

import itertools
import math
import random

import pytest

from matching.chains import (
    ChainRequest,
    StageCandidate,
    TransportModel,
    build_chains,
    chain_graph,
    evaluate_chain,
    recompute,
)
from matching.geo import CountryLists, Place, ProcurementTier, haversine_km, procurement_tier

KHV = Place(region="27", district="FEFD", lat=48.46473, lon=135.05989)
PLACES = {
    "27": KHV,
    "79": Place(region="79", district="FEFD", lat=48.79464, lon=132.92172),
    "25": Place(region="25", district="FEFD", lat=43.11649, lon=131.88239),
    "28": Place(region="28", district="FEFD", lat=50.29066, lon=127.5272),
    "54": Place(region="54", district="SIBFD", lat=55.02819, lon=82.92115),
    "66": Place(region="66", district="UFD", lat=56.83852, lon=60.60549),
    "77": Place(region="77", district="CFD", lat=55.75405, lon=37.6204),
}
TRANSPORT = TransportModel(cost_per_tonne_km=5.0, km_per_day=500.0, handling_days=1.0)


def make_request(stages, *, quantity=10, weight=100.0, deadline=60, delivery=KHV):
    return ChainRequest.from_dict({
        "item": "Изделие", "quantity": quantity, "unit_weight_kg": weight, "deadline_days": deadline,
        "delivery_region": delivery.region, "stages": stages,
    }, resolve_region=PLACES)


def cand(listing, org, region, price, lead, cap=None, *, acceptable=True, certs=(), jitter=(0.0, 0.0), country="RU"):
    base = PLACES.get(region, KHV)
    place = Place(country=country, region=region if country == "RU" else None,
                  district=base.district if country == "RU" else None,
                  lat=base.lat + jitter[0], lon=base.lon + jitter[1])
    return StageCandidate(listing_id=listing, organization_id=org, organization=f"ООО «{org}»", place=place,
                          price_per_unit=price, lead_time_days=lead, capacity_per_month=cap,
                          certifications=tuple(certs), acceptable=acceptable)


# ---------------------------------------------------------------------- an independent brute force
def _days(km, t):
    return 0.0 if km <= 0 else t.handling_days + km / t.km_per_day


def _km(a: Place, b: Place, t) -> float:
    return haversine_km(a.lat, a.lon, b.lat, b.lon) * t.detour_factor


def brute_force(request, candidates, transport, k, countries=None):
    """Every assignment of the allowed candidates, straight from the definitions; best cost per supplier set."""
    q, deadline, delivery = request.quantity, request.deadline_days, request.delivery_region
    tonnes = request.quantity * request.unit_weight_kg / 1000
    allowed = []
    for st in request.stages:
        ok = []
        for c in candidates.get(st.id, []):
            tier = procurement_tier(c.place, delivery, countries)
            if not c.acceptable or tier == ProcurementTier.EXCLUDED:
                continue
            if not set(st.certifications_required) <= set(c.certifications):
                continue
            if c.capacity_per_month is not None and (
                    c.capacity_per_month < q or (st.min_capacity and c.capacity_per_month < st.min_capacity)):
                continue
            if c.lead_time_days + _days(_km(c.place, delivery, transport), transport) > deadline:
                continue
            ok.append((tier, c))
        if not ok:
            return []
        best = min(t for t, _ in ok)
        allowed.append([c for t, c in ok if t == best])
    best_by_suppliers: dict[tuple, float] = {}
    ids = [s.id for s in request.stages]
    for combo in itertools.product(*allowed):
        pick = dict(zip(ids, combo, strict=True))
        cost = sum(c.price_per_unit * q for c in combo)
        finish = {}
        end = 0.0
        for st in request.stages:
            ready = 0.0
            for b in st.after:
                km = _km(pick[b].place, pick[st.id].place, transport)
                cost += tonnes * km * transport.cost_per_tonne_km
                ready = max(ready, finish[b] + _days(km, transport))
            finish[st.id] = ready + pick[st.id].lead_time_days
            if not any(st.id in o.after for o in request.stages):
                km = _km(pick[st.id].place, delivery, transport)
                cost += tonnes * km * transport.cost_per_tonne_km
                end = max(end, finish[st.id] + _days(km, transport))
        if end > deadline + 1e-9:
            continue
        load: dict[str, list] = {}
        for c in combo:
            entry = load.setdefault(c.organization_id, [0, math.inf])
            entry[0] += q
            entry[1] = min(entry[1], math.inf if c.capacity_per_month is None else c.capacity_per_month)
        if any(taken > cap + 1e-9 for taken, cap in load.values()):
            continue
        key = tuple(c.organization_id for c in combo)
        best_by_suppliers[key] = min(best_by_suppliers.get(key, math.inf), cost)
    return sorted(best_by_suppliers.values())[: k + 1]


def random_instance(seed: int, *, dense: bool = False):
    """3-4 stages of 3-5 candidates with random DAGs; ``dense`` puts everyone near the buyer, in one tier, so
    many alternatives compete and shared organizations make capacity bind."""
    rng = random.Random(seed)
    m = rng.randint(2, 4)
    stages = []
    for i in range(m):
        after = [f"s{j}" for j in range(i) if rng.random() < 0.45]
        stages.append({"id": f"s{i}", "text": f"Операция {i}", "after": after})
    if m >= 3 and seed % 3 == 0:  # two parallel branches joining at the last stage
        stages[0]["after"], stages[1]["after"] = [], []
        stages[-1]["after"] = [f"s{j}" for j in range(m - 1) if not any(f"s{j}" in s["after"] for s in stages)]
    quantity = rng.choice([5, 10, 20])
    request = make_request(stages, quantity=quantity, weight=rng.choice([20.0, 150.0, 900.0]),
                           deadline=rng.randint(12, 45))
    orgs = [f"org{i}" for i in range(rng.randint(3, 7))]
    regions = list(PLACES)
    candidates = {}
    for st in request.stages:
        rows = []
        for j in range(rng.randint(3, 5)):
            region = "27" if dense else rng.choice(regions[:4] if rng.random() < 0.6 else regions)
            cap = rng.choice([None, quantity, 2 * quantity, 3 * quantity, quantity - 1])
            spread = 3.0 if dense else 0.5
            jitter = (0.0, 0.0) if rng.random() < 0.3 else (rng.uniform(-spread, spread), rng.uniform(-spread, spread))
            rows.append(cand(f"{st.id}-{j}", rng.choice(orgs), region, round(rng.uniform(100, 2000), 2),
                             rng.randint(1, 15), cap, acceptable=rng.random() > 0.1, jitter=jitter))
        candidates[st.id] = rows
    return request, candidates, rng.randint(0, 8 if dense else 4)


@pytest.mark.parametrize(("time_bounds", "buckets"), [(False, 0), (True, 512), (True, 3)],
                         ids=["plain-bound", "time-bound", "coarse-time-bound"])
@pytest.mark.parametrize("dense", [False, True], ids=["tiers", "dense"])
@pytest.mark.parametrize("seed", range(150))
def test_builder_equals_brute_force(seed, dense, time_bounds, buckets, monkeypatch):
    import matching.chains.builder as builder

    if buckets:
        monkeypatch.setattr(builder, "_TIME_BUCKETS", buckets)
    request, candidates, k = random_instance(seed, dense=dense)
    expected = brute_force(request, candidates, TRANSPORT, k)
    result = build_chains(request, candidates, k=k, transport=TRANSPORT, time_bounds=time_bounds)
    assert result.exact
    got = [c.total_cost for c in result.chains]
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-6)
    if not expected:
        assert result.infeasible_reasons
        return
    assert not result.infeasible_reasons
    assert len({c.suppliers for c in result.chains}) == len(result.chains)
    for rank, chain in enumerate(result.chains):
        assert chain.rank == rank
        assert chain.feasible
        assert chain.lead_time_days <= request.deadline_days + 1e-9
        assert chain.total_cost == pytest.approx(chain.production_cost + chain.transport_cost)
        assert sum(share for _, share in chain.localization) == pytest.approx(1.0)


def test_parallel_branches_join_at_assembly():
    request = make_request([
        {"id": "cast", "text": "Литьё корпуса"},
        {"id": "machine", "text": "Мехобработка корпуса", "after": ["cast"]},
        {"id": "shaft", "text": "Изготовление вала"},
        {"id": "assembly", "text": "Сборка", "after": ["machine", "shaft"]},
    ])
    candidates = {
        "cast": [cand("c1", "A", "27", 100, 5), cand("c2", "B", "27", 90, 5, jitter=(0.3, 0.3))],
        "machine": [cand("m1", "C", "27", 50, 3), cand("m2", "A", "27", 70, 3)],
        "shaft": [cand("s1", "D", "27", 40, 10, jitter=(0.1, 0))],
        "assembly": [cand("a1", "E", "27", 30, 2)],
    }
    result = build_chains(request, candidates, k=3, transport=TRANSPORT)
    assert [c.total_cost for c in result.chains] == pytest.approx(brute_force(request, candidates, TRANSPORT, 3))
    best = result.best
    legs = {(leg.from_stage, leg.to_stage) for leg in best.legs}
    assert legs == {("cast", "machine"), ("machine", "assembly"), ("shaft", "assembly"), ("assembly", "delivery")}
    a = {x.stage: x for x in best.assignments}
    # the shaft (10 days) is the critical branch: it starts at 0 and the assembly waits for it
    assert a["assembly"].start_day >= a["shaft"].finish_day
    assert a["assembly"].start_day >= a["machine"].finish_day
    graph = chain_graph(request, best)
    assert set(graph.predecessors("assembly")) == {"machine", "shaft"}
    assert graph.edges["assembly", "delivery"]["km"] == pytest.approx(0.0)
    d = best.to_dict()
    assert {"total_cost", "lead_time_days", "distance_km", "localization", "assignments"} <= set(d)
    assert set(d["assignments"][0]) >= {"stage", "listing_id", "organization", "region", "tier"}
    assert d["localization"] == {"local": 1.0}


# ---------------------------------------------------------------------- the procurement priority
def two_stage_request(**kw):
    return make_request([
        {"id": "weld", "text": "Сварка металлоконструкций"},
        {"id": "paint", "text": "Окраска", "after": ["weld"]},
    ], **kw)


def test_local_candidate_wins_over_cheaper_farther_ones():
    request = two_stage_request()
    candidates = {
        "weld": [cand("w-local", "KHV1", "27", 1000, 5), cand("w-pri", "PRI1", "25", 100, 5),
                 cand("w-msk", "MSK1", "77", 10, 5)],
        "paint": [cand("p-amur", "AMU1", "28", 300, 3), cand("p-msk", "MSK2", "77", 1, 3)],
    }
    result = build_chains(request, candidates, k=2, transport=TRANSPORT)
    best = result.best
    tiers = {a.stage: a.tier for a in best.assignments}
    assert tiers == {"weld": ProcurementTier.LOCAL, "paint": ProcurementTier.DISTRICT}
    assert best.assignment("weld").listing_id == "w-local"
    assert best.assignment("paint").listing_id == "p-amur"
    assert len(result.chains) == 1  # nothing else in the allowed tiers
    decisions = {d.stage: d for d in result.decisions}
    assert decisions["weld"].allowed_tier == ProcurementTier.LOCAL
    assert decisions["paint"].allowed_tier == ProcurementTier.DISTRICT
    assert "в регионе доставки исполнителей нет" in decisions["paint"].explanation
    assert best.explanations == (decisions["paint"].explanation,)
    assert best.to_dict()["localization"] == pytest.approx({"local": 10000 / 13000, "district": 3000 / 13000},
                                                          abs=1e-4)


def test_stage_leaves_the_region_only_when_local_ones_fail_capacity_or_deadline():
    request = two_stage_request(quantity=10, deadline=30)
    candidates = {
        "weld": [cand("w1", "KHV1", "27", 100, 5, cap=5),  # too small for 10 pieces a month
                 cand("w2", "KHV2", "27", 100, 40),  # too slow
                 cand("w3", "KHV3", "27", 100, 5, acceptable=False),
                 cand("w4", "PRI", "25", 500, 5), cand("w5", "MSK", "77", 50, 5)],
        "paint": [cand("p1", "KHV4", "27", 10, 2)],
    }
    result = build_chains(request, candidates, k=1, transport=TRANSPORT)
    best = result.best
    assert best.assignment("weld").tier == ProcurementTier.DISTRICT
    decision = next(d for d in result.decisions if d.stage == "weld")
    assert set(decision.rejected) == {("local", "capacity", 1), ("local", "deadline", 1),
                                      ("local", "not_acceptable", 1)}
    assert "без нужной мощности" in decision.explanation and "не успевают к сроку" in decision.explanation
    assert best.explanations == (decision.explanation,)


def test_excluded_country_only_when_the_policy_allows():
    countries = CountryLists(unfriendly=frozenset({"US"}))
    request = two_stage_request()
    candidates = {
        "weld": [cand("w-us", "US1", "US", 1, 5, country="US", jitter=(1, 1))],
        "paint": [cand("p1", "KHV4", "27", 10, 2)],
    }
    result = build_chains(request, candidates, countries=countries, transport=TRANSPORT)
    assert not result.chains
    assert [(r.constraint, r.stage) for r in result.infeasible_reasons] == [("candidates", "weld")]
    allowed = build_chains(request, candidates, countries=countries, transport=TRANSPORT, allow_excluded=True)
    assert allowed.best.assignment("weld").tier == ProcurementTier.EXCLUDED


def test_certifications_and_min_capacity_screen_candidates():
    request = make_request([{"id": "pcb", "text": "Монтаж печатных плат", "certifications_required": ["ISO 9001"],
                             "min_capacity": 100}])
    candidates = {"pcb": [cand("no-cert", "A", "27", 1, 1), cand("small", "B", "27", 1, 1, cap=50, certs=["ISO 9001"]),
                          cand("ok", "C", "25", 5, 1, cap=200, certs=["iso 9001"])]}
    best = build_chains(request, candidates, transport=TRANSPORT).best
    assert best.assignment("pcb").listing_id == "ok"
    assert best.assignment("pcb").tier == ProcurementTier.DISTRICT


# ---------------------------------------------------------------------- capacity, deadline, infeasibility
def test_one_organization_takes_several_stages_only_within_capacity():
    request = two_stage_request(quantity=10)
    big = [cand("w-big", "BIG", "27", 10, 2, cap=20), cand("p-big", "BIG", "27", 10, 2, cap=20)]
    small = [cand("w-small", "SMALL", "27", 10, 2, cap=15), cand("p-small", "SMALL", "27", 10, 2, cap=15)]
    other = [cand("w-o", "O1", "27", 11, 2, jitter=(0.2, 0)), cand("p-o", "O2", "27", 11, 2, jitter=(0.2, 0))]
    both = build_chains(request, {"weld": [big[0]], "paint": [big[1]]}, transport=TRANSPORT).best
    assert both.suppliers == ("BIG", "BIG") and both.transport_cost == pytest.approx(0.0)
    result = build_chains(request, {"weld": [small[0], other[0]], "paint": [small[1], other[1]]}, k=5,
                          transport=TRANSPORT)
    assert all(c.suppliers != ("SMALL", "SMALL") for c in result.chains)
    assert len(result.chains) == 3


def test_infeasible_capacity_names_capacity():
    request = two_stage_request(quantity=10)
    candidates = {"weld": [cand("w", "ONLY", "27", 10, 2, cap=10)], "paint": [cand("p", "ONLY", "27", 10, 2, cap=10)]}
    result = build_chains(request, candidates, transport=TRANSPORT)
    assert result.chains == () and not result
    assert [r.constraint for r in result.infeasible_reasons] == ["capacity"]


def test_infeasible_deadline_names_deadline():
    request = two_stage_request(deadline=20)
    candidates = {"weld": [cand("w", "A", "27", 10, 12)],
                  "paint": [cand("p", "B", "27", 10, 12, jitter=(0.1, 0.1))]}
    result = build_chains(request, candidates, transport=TRANSPORT)
    assert [r.constraint for r in result.infeasible_reasons] == ["deadline"]
    # 12 days welding + 1 day handling + 12 days painting + 1 day handling, plus ~14 km of road each way
    assert "не менее 26.1" in result.infeasible_reasons[0].message


def test_deadline_forces_a_dearer_faster_chain():
    request = two_stage_request(deadline=10)
    candidates = {"weld": [cand("slow", "A", "27", 10, 9), cand("fast", "B", "27", 20, 3)],
                  "paint": [cand("p", "A", "27", 10, 1)]}
    result = build_chains(request, candidates, k=3, transport=TRANSPORT)
    assert [c.assignment("weld").listing_id for c in result.chains] == ["slow", "fast"]
    tight = build_chains(two_stage_request(deadline=9.5), candidates, k=3, transport=TRANSPORT)
    assert [c.assignment("weld").listing_id for c in tight.chains] == ["fast"]


def test_alternatives_differ_in_at_least_one_supplier_not_just_listing():
    request = two_stage_request()
    candidates = {"weld": [cand("w1", "A", "27", 10, 2), cand("w2", "A", "27", 11, 1), cand("w3", "B", "27", 12, 2)],
                  "paint": [cand("p1", "C", "27", 10, 2)]}
    result = build_chains(request, candidates, k=5, transport=TRANSPORT)
    assert [c.suppliers for c in result.chains] == [("A", "C"), ("B", "C")]


def test_no_candidates_for_a_stage():
    result = build_chains(two_stage_request(), {"weld": [cand("w", "A", "27", 1, 1)]}, transport=TRANSPORT)
    assert [(r.constraint, r.stage) for r in result.infeasible_reasons] == [("candidates", "paint")]


def test_unknown_stage_in_candidates_is_a_caller_error():
    with pytest.raises(ValueError, match="unknown stages"):
        build_chains(two_stage_request(), {"nope": []})


def test_delivery_without_coordinates_is_refused():
    request = ChainRequest.from_dict({"item": "x", "quantity": 1, "unit_weight_kg": 1, "deadline_days": 5,
                                      "delivery_region": "27", "stages": [{"id": "a", "text": "A"}]})
    with pytest.raises(ValueError, match="delivery_region"):
        build_chains(request, {"a": []})


# ---------------------------------------------------------------------- recompute
def test_recompute_flags_deadline_capacity_and_tier():
    request = two_stage_request(quantity=10, deadline=15)
    weld = [cand("w1", "A", "27", 10, 5, cap=10), cand("w2", "B", "27", 12, 5, jitter=(0.2, 0))]
    paint = [cand("p1", "C", "27", 10, 2, jitter=(0.1, 0))]
    chain = build_chains(request, {"weld": weld, "paint": paint}, transport=TRANSPORT).best
    assert chain.feasible

    cheaper = cand("w9", "D", "27", 1, 5, jitter=(0.2, 0.2))
    swapped = recompute(request, chain, "weld", cheaper, transport=TRANSPORT)
    assert swapped.feasible
    direct = evaluate_chain(request, {"weld": cheaper, "paint": paint[0]}, transport=TRANSPORT)
    assert swapped.total_cost == pytest.approx(direct.total_cost)
    assert swapped.total_cost < chain.total_cost

    far = cand("w-msk", "MSK", "77", 1, 5)
    late = recompute(request, chain, "weld", far, transport=TRANSPORT)
    assert {"deadline", "tier"} <= set(late.violations) and not late.feasible
    assert late.assignment("weld").tier == ProcurementTier.NATIONAL

    same_org = cand("p-a", "A", "27", 1, 1, cap=10)
    crowded = recompute(request, chain, "paint", same_org, transport=TRANSPORT)
    assert "capacity" in crowded.violations
    with pytest.raises(KeyError):
        recompute(request, chain, "nope", cheaper)


@pytest.mark.parametrize("seed", range(40))
def test_switching_to_the_deadline_bound_mid_search_keeps_the_answer(seed, monkeypatch):
    import matching.chains.builder as builder

    monkeypatch.setattr(builder, "_PLAIN_EXPANSIONS", 2)  # force the automatic switch on small instances
    request, candidates, k = random_instance(seed, dense=True)
    result = build_chains(request, candidates, k=k, transport=TRANSPORT)
    assert [c.total_cost for c in result.chains] == pytest.approx(brute_force(request, candidates, TRANSPORT, k))


def test_search_limit_returns_the_best_found_so_far_and_says_so():
    request, candidates, _ = random_instance(11, dense=True)
    full = build_chains(request, candidates, k=8, transport=TRANSPORT)
    assert full.exact and len(full.chains) == 9
    cut = build_chains(request, candidates, k=8, transport=TRANSPORT, max_expansions=10, time_bounds=False)
    assert not cut.exact and 1 <= len(cut.chains) < 9
    assert [c.total_cost for c in cut.chains] == pytest.approx([c.total_cost for c in full.chains][:len(cut.chains)])
    nothing = build_chains(*random_instance(5, dense=True)[:2], k=8, transport=TRANSPORT, max_expansions=3,
                           time_bounds=False)
    assert not nothing.chains and [r.constraint for r in nothing.infeasible_reasons] == ["search_limit"]


def test_result_is_json_ready():
    import json

    request, candidates, _ = random_instance(1, dense=True)
    result = build_chains(request, candidates, k=2, transport=TRANSPORT)
    data = json.loads(json.dumps(result.to_dict(), ensure_ascii=False))
    assert set(data) == {"chains", "infeasible_reasons", "decisions", "exact"}
    assert data["chains"][0]["rank"] == 0
    assert {leg["to"] for leg in data["chains"][0]["legs"]} >= {"delivery"}
    roundtrip = StageCandidate.from_dict(candidates["s0"][0].to_dict())
    assert roundtrip == candidates["s0"][0]


def test_capacity_shortfall_is_proved_without_searching():
    request = make_request([{"id": f"s{i}", "text": f"Операция {i}", "after": [f"s{i - 1}"] if i else []}
                            for i in range(6)], quantity=10)
    rng = random.Random(7)
    orgs = ["A", "B", "C"]  # three organizations, each able to take one stage of 10 pieces
    candidates = {s.id: [cand(f"{s.id}-{j}", orgs[j % 3], "27", rng.uniform(10, 20), 2, cap=15,
                              jitter=(rng.uniform(-1, 1), rng.uniform(-1, 1))) for j in range(60)]
                  for s in request.stages}
    result = build_chains(request, candidates, transport=TRANSPORT)
    assert [r.constraint for r in result.infeasible_reasons] == ["capacity"]
    assert "не более 3 из 6" in result.infeasible_reasons[0].message
    assert result.expansions == 0
