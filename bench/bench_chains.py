"""Benchmark of the chain builder (on demand, not part of the test suite).

    .venv/bin/python bench/bench_chains.py [--stages 6] [--candidates 500] [--k 5] [--seeds 7]

Random suppliers at the centres of the subjects of the Federation (jittered by up to ~30 km), random prices,
lead times and capacities; the best chain and ``k`` alternatives. Scenarios:

* ``one-tier``: every candidate outside the buyer's federal district, so the tier rule keeps all of them
  (the hard case: 500 candidates per stage reach the search);
* ``one-tier+deadline``: the same with a deadline of 0.8 × the lead time of the cheapest chain (so it binds);
* ``one-tier+tight``: 0.65 × (the hard case for any exact method: a resource-constrained assignment);
* ``one-tier+capacity``: 60 organizations shared by all stages, each able to take one or two stages;
* ``dag``: a route where one stage feeds two others (not a tree), deadline 0.8 ×;
* ``mixed``: candidates all over Russia; the tier rule leaves the nearest few per stage (the usual case).

Prints the median and the worst wall time over the seeds, and the search's expansions.
"""
from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from matching.chains import ChainRequest, StageCandidate, TransportModel, build_chains  # noqa: E402
from matching.geo import Place  # noqa: E402

REGION_FILES = [ROOT / "marketplace" / "refdata" / "data" / "regions.csv", ROOT.parent / "shared" / "data" / "regions.csv"]
TREE = [("cast", []), ("machine", ["cast"]), ("paint", ["machine"]), ("shaft", []), ("motor", []),
        ("assembly", ["paint", "shaft", "motor"])]
DAG = [("cast", []), ("machine", ["cast"]), ("shaft", ["cast"]), ("paint", ["machine"]), ("motor", []),
       ("assembly", ["paint", "shaft", "motor"])]


def load_regions() -> list[Place]:
    for path in REGION_FILES:
        if path.exists():
            with path.open(encoding="utf-8") as fh:
                return [Place(region=r["code"], district=r["federal_district"], lat=float(r["lat"]), lon=float(r["lon"]))
                        for r in csv.DictReader(fh)]
    raise SystemExit("regions.csv not found")


def route(n_stages: int, shape: list) -> list[dict]:
    if n_stages == len(shape):
        return [{"id": s, "text": s, "after": a} for s, a in shape]
    # a generic in-tree: pairs of stages in branches joining at the last one
    stages = [{"id": f"s{i}", "text": f"s{i}", "after": [f"s{i - 1}"] if i % 2 else []} for i in range(n_stages - 1)]
    stages.append({"id": "final", "text": "final", "after": [s["id"] for s in stages if s["id"] not in
                                                              {a for t in stages for a in t["after"]}]})
    return stages


def instance(seed: int, scenario: str, n_stages: int, n_cands: int, regions: list[Place]):
    rng = random.Random(seed)
    delivery = next(p for p in regions if p.region == "27")  # Хабаровский край
    pool = regions if scenario == "mixed" else [p for p in regions if p.district != delivery.district]
    shape = DAG if scenario == "dag" else TREE
    quantity = 50
    stages = route(n_stages, shape)
    request = ChainRequest.from_dict({"item": "bench", "quantity": quantity, "unit_weight_kg": 150,
                                      "delivery_region": {"region": delivery.region, "district": delivery.district,
                                                          "lat": delivery.lat, "lon": delivery.lon},
                                      "deadline_days": 1000, "stages": stages})
    orgs = [f"org{i}" for i in range(60)] if scenario == "one-tier+capacity" else None
    candidates = {}
    for stage in request.stages:
        base_price = rng.uniform(2_000, 40_000)
        rows = []
        for j in range(n_cands):
            p = rng.choice(pool)
            place = Place(region=p.region, district=p.district, lat=p.lat + rng.uniform(-0.3, 0.3),
                          lon=p.lon + rng.uniform(-0.3, 0.3))
            org = rng.choice(orgs) if orgs else f"{stage.id}-{j}"
            cap = rng.choice([quantity, 2 * quantity]) if orgs else rng.choice([None, 5 * quantity])
            rows.append(StageCandidate(listing_id=f"{stage.id}-{j}", organization_id=org, organization=org,
                                       place=place, price_per_unit=round(base_price * rng.uniform(0.7, 1.5), 2),
                                       lead_time_days=rng.randint(5, 30), capacity_per_month=cap))
        candidates[stage.id] = rows
    squeeze = {"one-tier+deadline": 0.8, "dag": 0.8, "one-tier+tight": 0.65}.get(scenario)
    if squeeze:
        # the buyer needs it sooner than the cheapest chain delivers it
        fastest_cheap = build_chains(request, candidates, k=0, transport=TransportModel()).best
        request = ChainRequest.from_dict({**request.to_dict(),
                                          "deadline_days": round(fastest_cheap.lead_time_days * squeeze, 1)})
    return request, candidates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", type=int, default=6)
    parser.add_argument("--candidates", type=int, default=500)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=7)
    parser.add_argument("--scenario", action="append")
    parser.add_argument("--target", type=float, default=1.0,
                        help="seconds the slowest build (best + k alternatives) may take; exit 1 above it")
    args = parser.parse_args()
    regions = load_regions()
    scenarios = args.scenario or ["one-tier", "one-tier+deadline", "one-tier+tight", "one-tier+capacity", "dag",
                                  "mixed"]
    transport = TransportModel()
    print(f"{args.stages} stages × {args.candidates} candidates, best + {args.k} alternatives, "
          f"{args.seeds} seeds, {len(os.sched_getaffinity(0))} CPUs")
    print(f"{'scenario':20} {'median s':>9} {'max s':>7} {'expansions':>11} {'kept/stage':>11} {'chains':>7}")
    worst = 0.0
    for scenario in scenarios:
        times, expansions, kept, found, inexact = [], [], [], [], 0
        for seed in range(args.seeds):
            request, candidates = instance(seed, scenario, args.stages, args.candidates, regions)
            t0 = time.perf_counter()
            result = build_chains(request, candidates, k=args.k, transport=transport)
            times.append(time.perf_counter() - t0)
            expansions.append(result.expansions)
            kept.append(statistics.mean(d.kept for d in result.decisions))
            found.append(len(result.chains))
            inexact += not result.exact
        print(f"{scenario:20} {statistics.median(times):9.3f} {max(times):7.3f} "
              f"{int(statistics.median(expansions)):11d} {statistics.mean(kept):11.0f} {min(found):>3}-{max(found)}"
              + (f"  ({inexact} stopped at max_expansions)" if inexact else ""))
        worst = max(worst, *times)
    met = worst <= args.target
    print(f"target: every build ≤ {args.target:g} s — {'met' if met else 'NOT met'} (slowest {worst:.3f} s)")
    if not met:
        sys.exit(1)


if __name__ == "__main__":
    main()
