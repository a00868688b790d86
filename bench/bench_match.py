"""Matching latency: N synthetic offers in the embedded index, then time ``Matcher.match_need`` for needs across
the 89 regions (hybrid candidates, code candidates, scoring, constraints, tiers and the strict policy).

    python bench/bench_match.py --n 100000 [--needs 300] [--infer-codes] [--rule]

Offers are written from ОКПД2 names (``bench_search.synthesise``) and placed at their region's centre; needs are
other ОКПД2 names with a buyer's verb, half of them with their code, half text only. With ``--infer-codes`` the
text-only needs get codes from the product's classifier first, as the marketplace does (its fit is not timed);
with ``--rule`` every pair is judged by the platform's acceptability rule (operations and product types), as the
marketplace judges it, over the offers' readings stored as the match jobs store them (``listing_readings``; made
before the timing, their cost printed; ``--read-every-time`` reads every candidate's text in the match instead). Both together time a match as the marketplace runs it.
Target on 2 cores: match p95 <= 40 ms at 100,000 offers and <= 100 ms at 1M (run under ``taskset -c 0,1``).

The candidate search of every match (the matcher's backend calls, timed through a wrapper) is set against a bare
peer built in the same run on the same offers (``bench_peer.BarePeer``): tantivy top-100 of the need's words and a
numpy pass over every offer's vector, fused by reciprocal rank, plus the top-50 of the need's ОКПД2 subclass rows.
Ratios, p50/p95 and the machine's load are printed.
"""
from __future__ import annotations

import argparse
import csv
import resource
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_search as bs  # noqa: E402
from bench_peer import BarePeer, limit_blas, load, rrf  # noqa: E402

from matching.matcher import InMemoryLookup, ListingSpec, Matcher  # noqa: E402
from matching.policy import ProcurementPolicy  # noqa: E402
from search import open_backend  # noqa: E402

NEED_VERBS = ("Купим", "Требуется", "Закупка:", "Ищем поставщика:", "Нужна кооперация:")


def region_places(path: Path) -> dict[str, tuple[str, float, float]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return {r["code"]: (r["federal_district"], float(r["lat"]), float(r["lon"])) for r in csv.DictReader(fh)}


def percentiles(samples: list[float]) -> str:
    a = np.asarray(samples) * 1000
    return f"p50 {np.percentile(a, 50):.2f} ms, p95 {np.percentile(a, 95):.2f} ms, p99 {np.percentile(a, 99):.2f} ms"


class TimedBackend:
    """The backend with the time spent in ``search`` added up (the candidate search of a match)."""

    def __init__(self, backend):
        self.backend, self.spent = backend, 0.0

    def search(self, query):
        t0 = time.perf_counter()
        try:
            return self.backend.search(query)
        finally:
            self.spent += time.perf_counter() - t0

    def __getattr__(self, name):
        return getattr(self.backend, name)


def peer_candidates(peer: BarePeer, text: str, vector: np.ndarray, subclasses: tuple[str, ...],
                    depth: int) -> set[int]:
    """The matcher's candidate search done the bare way: words and one vector pass fused, then the subclasses."""
    words = peer.text(text, None, depth)
    vec_ids, _ = peer.vector(vector, None, depth)
    found = {i for i, _ in rrf([words, vec_ids.tolist()])[:depth]}
    for sub in subclasses:
        ids, _ = peer.vector(vector, peer.subclass_rows(sub), depth // 2)
        found.update(ids.tolist())
    return found


def ratio_line(name: str, product: list[float], peer: list[float]) -> str:
    p = np.percentile(np.asarray(product) * 1000, [50, 95])
    q = np.percentile(np.asarray(peer) * 1000, [50, 95])
    return (f"{name:<30} product p50 {p[0]:7.2f} ms p95 {p[1]:7.2f} ms | peer p50 {q[0]:6.2f} ms p95 {q[1]:6.2f} ms"
            f" | ratio {p[0] / q[0]:5.2f}x / {p[1] / q[1]:5.2f}x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="offers in the index")
    parser.add_argument("--needs", type=int, default=300, help="needs to match (timed)")
    parser.add_argument("--candidates", type=int, default=100, help="Matcher(candidates=...)")
    parser.add_argument("--infer-codes", action="store_true", help="classify text-only needs first")
    parser.add_argument("--rule", action="store_true", help="with the platform's acceptability rule (operations "
                        "catalogue and goods vocabulary), as the marketplace matches; without, the codes-only rule")
    parser.add_argument("--read-every-time", action="store_true", help="with --rule: no stored readings, every "
                        "candidate's text is read by the rule in the match (as before listing_readings)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--profile", action="store_true", help="print where the matching time goes (cProfile)")
    parser.add_argument("--ann", action="store_true", help="open the index with its approximate vector option")
    parser.add_argument("--blas-threads", type=int, default=1, help="BLAS threads of this process (0: default)")
    args = parser.parse_args(argv)
    limit_blas(args.blas_threads)
    if args.n < 1 or args.needs < 1:
        parser.error("--n and --needs must be positive")

    rng = np.random.default_rng(args.seed)
    codes = bs.load_okpd2(bs.PRODUCT_OKPD2)
    regions = bs.load_regions(bs.PRODUCT_REGIONS)
    places = region_places(bs.PRODUCT_REGIONS)
    names = [n for _, n in codes] + [n for _, n in bs.load_okpd2(bs.PRODUCT_OKVED2)]
    t0 = time.perf_counter()
    encoder = bs.BuiltinBenchEncoder(names)
    print(f"encoder fitted on {len(names)} names in {time.perf_counter() - t0:.1f} s (not timed below)")

    opts = {"approximate": True, "approximate_min_rows": 10_000} if args.ann else {}
    docs = bs.synthesise(1, args.n, codes, regions, None, rng)
    docs = [replace(d, side="offer", kind=bs.OFFER_KINDS[i % 4]) for i, d in enumerate(docs)]
    specs = []
    for d in docs:
        district, lat, lon = places[d.region]
        specs.append(ListingSpec(id=d.id, side="offer", kind=d.kind, title=d.title, description=d.description,
                                 okpd2=d.okpd2, region=d.region, district=district, lat=lat, lon=lon,
                                 organization_id=d.organization_id, quantity=d.quantity, unit=d.unit,
                                 capacity=float(rng.integers(100, 5000)) if d.kind == "capability" else None,
                                 lead_time_days=int(rng.integers(5, 60))))
    with tempfile.TemporaryDirectory() as tmp:
        backend = TimedBackend(open_backend(f"embedded://{tmp}/index", dim=encoder.dim, **opts))
        peer = BarePeer(encoder.dim)
        t0 = time.perf_counter()
        for start in range(0, len(docs), 20_000):
            chunk = docs[start:start + 20_000]
            vectors = encoder.encode_many([f"{d.title}. {d.description}" for d in chunk])
            chunk = [replace(d, vector=v) for d, v in zip(chunk, vectors, strict=True)]
            backend.index(chunk)
            peer.add(chunk)
        peer.freeze()
        del docs
        print(f"indexed {args.n} offers in {time.perf_counter() - t0:.1f} s (product and peer; {load()})")

        classifier = None
        if args.infer_codes:
            from matching.classify import CodeClassifier, load_code_entries

            t0 = time.perf_counter()
            classifier = CodeClassifier().fit(load_code_entries(bs.PRODUCT_OKPD2))
            print(f"classifier fitted in {time.perf_counter() - t0:.1f} s (not timed)")
        rule = None
        if args.rule:  # as the marketplace matches (marketplace.matches.services.acceptability_rule)
            from marketplace.classifiers.suggest import goods_vocabulary
            from marketplace.operations.catalogue import get_catalogue
            from matching.acceptability import AcceptabilityRule

            t0 = time.perf_counter()
            from marketplace.matches.readings import reference_fingerprint

            rule = AcceptabilityRule(get_catalogue(), goods=goods_vocabulary(), fingerprint=reference_fingerprint())
            print(f"acceptability rule loaded in {time.perf_counter() - t0:.1f} s (not timed)")
            if not args.read_every_time:  # as the match jobs leave them in listing_readings
                t0 = time.perf_counter()
                specs = [replace(s, reading=rule.stored(s)) for s in specs]
                rule._read.cache_clear()
                spent = time.perf_counter() - t0
                print(f"offers' readings stored in {spent:.1f} s, {spent / len(specs) * 1000:.2f} ms an offer "
                      "(once per listing and change, by the match jobs; not timed)")
        matcher = Matcher(encoder.encoder, backend, ProcurementPolicy(), InMemoryLookup(specs),
                          candidates=args.candidates, classifier=classifier, rule=rule)
        deadline = date.today() + timedelta(days=45)
        needs = []
        for i in range(args.needs):
            code, name = codes[int(rng.integers(0, len(codes)))]
            region = regions[int(rng.integers(0, len(regions)))][0]
            district, lat, lon = places[region]
            needs.append(ListingSpec(id=10_000_000 + i, side="need", kind="purchase_request",
                                     title=f"{NEED_VERBS[i % len(NEED_VERBS)]} {name[:1].lower()}{name[1:]}",
                                     okpd2=(code,) if i % 2 == 0 else (), region=region, district=district,
                                     lat=lat, lon=lon, quantity=float(rng.integers(1, 500)), unit="шт",
                                     deadline=deadline))
        matcher.match_need(needs[0])  # warm caches
        times, found, local, searching, bare = [], [], 0, [], []
        print(f"timing {args.needs} matches ({load()})")
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        for need in needs:
            backend.spent = 0.0
            t0 = time.perf_counter()
            result = matcher.match_need(need, top=10)
            times.append(time.perf_counter() - t0)
            searching.append(backend.spent)
            codes = result.inferred_codes or need.okpd2
            vector = encoder.encoder.encode_queries([need.text])[0]
            t0 = time.perf_counter()
            peer_candidates(peer, need.text, vector, tuple({c[:5] for c in codes if len(c) >= 5}),
                            args.candidates)
            bare.append(time.perf_counter() - t0)
            found.append(result.candidates_considered)
            local += bool(result.matches) and result.matches[0].tier.label == "local"
        if profiler is not None:
            import pstats

            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(18)
        backend.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nmatch_need top-10, {args.needs} needs over {args.n:,} offers: {percentiles(times)} "
          f"(target p95 <= 40 ms at 100k, <= 100 ms at 1M; {load()})")
    print(ratio_line("candidate search", searching, bare))
    print(ratio_line("whole match vs peer candidates", times, bare))
    print(f"candidates scored per need: mean {np.mean(found):.0f}; first match local for {local}/{args.needs}")
    print(f"peak memory {peak:.0f} MB")


if __name__ == "__main__":
    main()
