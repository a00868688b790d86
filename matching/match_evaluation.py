"""Measure need → offer matching on a marketplace built from labelled phrases.

Phrases that share an ОКПД2 code describe the same thing in different words. For every code with at least
``per_code`` phrases, the first becomes a need (a buyer's text, no code: buyers type words) delivered to a region,
the others become capability/product offers carrying the code (manufacturers pick codes), spread over the need's
own region, another region of its federal district and a region elsewhere in Russia. Every other code's offers are
the distractors. A hit is an offer of the need's code.

Reported next to the engine: the lexical baseline (BM25 over the index alone) and the vector baseline (cosine of
the encoder's vectors alone), both without the policy. In strict mode the engine's lists are checked for tier-order
violations (a farther tier listed above a nearer acceptable one) and for *local-first failures* (the need's region
holds an acceptable offer of the right code, but the first match shown is from farther away).
"""
from __future__ import annotations

import random
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from matching.evaluation import Example, Report, report
from matching.geo import CountryLists, Place, ProcurementTier
from matching.matcher import InMemoryLookup, ListingSpec, Matcher
from matching.policy import ProcurementPolicy, strict_violations


@dataclass(frozen=True)
class MatchEvaluation:
    reports: tuple[Report, ...]
    needs: int
    offers: int
    tier_violations: int
    local_first_failures: int


def build_marketplace(examples: Sequence[Example], regions: Sequence[Place], *, per_code: int = 3, seed: int = 0,
                      limit: int | None = None) -> tuple[list[ListingSpec], list[ListingSpec], dict[int, str]]:
    """Needs, offers and each need's code from ``examples`` (see the module docstring); deterministic for a
    ``seed``."""
    rng = random.Random(seed)
    by_code: dict[str, list[str]] = defaultdict(list)
    for e in examples:
        if e.text not in by_code[e.code]:
            by_code[e.code].append(e.text)
    codes = sorted(c for c, texts in by_code.items() if len(texts) >= per_code)
    if limit is not None:
        codes = codes[:limit]
    by_district: dict[str, list[Place]] = defaultdict(list)
    for p in regions:
        by_district[p.district or ""].append(p)
    needs, offers = [], []
    gold: dict[int, str] = {}
    next_id = 1
    for org, code in enumerate(codes, 1):
        texts = by_code[code][:per_code]
        home = rng.choice(list(regions))
        same_district = [p for p in by_district[home.district or ""] if p.region != home.region] or [home]
        elsewhere = [p for p in regions if p.district != home.district] or [home]
        needs.append(ListingSpec(id=next_id, side="need", kind="purchase_request", title=texts[0],
                                 region=home.region, district=home.district, lat=home.lat, lon=home.lon,
                                 organization_id=org * 10))
        gold[next_id] = code
        next_id += 1
        places = [home, rng.choice(same_district), rng.choice(elsewhere)]
        for i, text in enumerate(texts[1:]):
            place = places[(i + rng.randrange(3)) % 3]
            offers.append(ListingSpec(id=next_id, side="offer", kind="capability" if code[:1] > "3" else "product",
                                      title=text, okpd2=(code,), region=place.region, district=place.district,
                                      lat=place.lat, lon=place.lon, organization_id=org * 10 + 1 + i))
            next_id += 1
    return needs, offers, gold


def evaluate_matching(examples: Sequence[Example], encoder, *, regions: Sequence[Place], per_code: int = 3,
                      limit: int | None = None, seed: int = 0, countries: CountryLists | None = None,
                      threshold: float = 0.35, classifier=None) -> MatchEvaluation:
    """Recall@1/10, MRR@10, nDCG@10 of the engine and two baselines; tier checks of strict mode.

    With a ``classifier`` the engine reads ОКПД2 codes from each need's text (as the marketplace does for a need
    that names none) and weighs their agreement with the offers' codes.
    """
    from search import Document, Filters, Query, open_backend

    needs, offers, gold_code = build_marketplace(examples, regions, per_code=per_code, seed=seed, limit=limit)
    if not needs:
        raise ValueError(f"no code has {per_code} distinct phrases")
    code_of = {o.id: o.okpd2[0] for o in offers}
    vectors = encoder.encode_passages([o.text for o in offers])
    with tempfile.TemporaryDirectory() as tmp:
        backend = open_backend(f"embedded://{tmp}", dim=encoder.dim)
        try:
            backend.index([Document(id=o.id, side="offer", kind=o.kind, title=o.title, okpd2=o.okpd2,
                                    region=o.region, district=o.district, organization_id=o.organization_id,
                                    vector=v) for o, v in zip(offers, vectors, strict=True)])
            lookup = InMemoryLookup(offers)
            explore = Matcher(encoder, backend, ProcurementPolicy(mode="weighted", threshold=0.0, tier_penalty=0.0),
                              lookup, countries=countries, classifier=classifier)
            strict = Matcher(encoder, backend, ProcurementPolicy(mode="strict", threshold=threshold), lookup,
                             countries=countries, classifier=classifier)
            need_vectors = encoder.encode_queries([n.text for n in needs])
            ranked: dict[str, list[list[str]]] = {"engine": [], "lexical": [], "vector": []}
            violations = failures = 0
            base = Filters(side="offer")
            for need, vector in zip(needs, need_vectors, strict=True):
                ranked["engine"].append([str(m.listing_id) for m in explore.match_need(need, top=10).matches])
                ranked["lexical"].append([str(h.id) for h in backend.search(
                    Query(text=need.text, filters=base, k=10)).hits])
                ranked["vector"].append([str(h.id) for h in backend.search(
                    Query(vector=vector, filters=base, k=10)).hits])
                result = strict.match_need(need, top=30)
                violations += strict_violations(result.matches)
                local_ok = [m for m in result.matches
                            if m.tier == ProcurementTier.LOCAL and code_of.get(m.listing_id) == gold_code[need.id]]
                if local_ok and result.matches[0].tier != ProcurementTier.LOCAL:
                    failures += 1
        finally:
            backend.close()
    gold = [{str(o.id) for o in offers if code_of[o.id] == gold_code[n.id]} for n in needs]
    reports = tuple(report(method, ranked[key], gold) for method, key in
                    (("engine (hybrid+codes+distance)", "engine"), ("lexical baseline (BM25)", "lexical"),
                     ("vector baseline (cosine)", "vector")))
    return MatchEvaluation(reports, len(needs), len(offers), violations, failures)
