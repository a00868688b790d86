"""Measure the engine's acceptability decision on labelled (need, offer, acceptable) pairs (issue 12).

A *scenario* is one need and 4–10 candidate offers, each labelled acceptable or not by a person (JSON Lines, one
scenario per line: ``bench/data/acceptability/scenarios.jsonl``). Labels hold only inside a scenario, so each
scenario gets a marketplace of its own: an in-memory search backend holding only that scenario's offers, searched
by the engine's own :meth:`Matcher.match_need` under the strict policy with lower tiers listed. An offer the engine
shows is one it found *acceptable* (the policy keeps only acceptable candidates); one it does not show is not —
whatever the rule inside the matcher and the policy is, this measures it. (One marketplace of all offers would be
more realistic, but an offer of another scenario may be acceptable too and is unlabelled; we chose exact labels.)

Figures: precision and recall of "acceptable" over the labelled pairs; *first shown is right* — over scenarios
with at least one right offer, the first match the strict policy shows is labelled acceptable, and over scenarios
with none, nothing is shown; tier-order violations (:func:`~matching.policy.strict_violations`); all by family, with
every wrong decision and the engine's explanation of it.
"""
from __future__ import annotations

import csv
import inspect
import json
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from matching.geo import CountryLists, Place
from matching.matcher import InMemoryLookup, ListingSpec, Matcher
from matching.policy import ProcurementPolicy, strict_violations

TODAY = date(2025, 3, 1)  # "today" for the deadlines written in the labelled set
TARGETS = {"precision": 0.97, "recall": 0.90, "first_shown_right": 0.95}
LISTING_FIELDS = ("kind", "title", "description", "region", "okpd2", "okved2", "quantity", "unit", "capacity",
                  "lead_time_days", "deadline", "certifications", "operations", "parameters")


@dataclass(frozen=True)
class LabelledOffer:
    offer: ListingSpec
    acceptable: bool
    reason: str = ""


@dataclass(frozen=True)
class Scenario:
    id: str
    family: str
    need: ListingSpec
    offers: tuple[LabelledOffer, ...]


@dataclass(frozen=True)
class Decision:
    """A pair the engine decided against its label."""

    scenario: str
    family: str
    need: str
    offer: str
    offer_region: str | None
    label: bool
    reason: str
    explanation: dict

    def to_dict(self) -> dict:
        return {"scenario": self.scenario, "family": self.family, "need": self.need, "offer": self.offer,
                "offer_region": self.offer_region, "label": self.label, "reason": self.reason,
                "explanation": self.explanation}


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    scenarios_with_right: int = 0
    first_shown_right: int = 0
    scenarios_without_right: int = 0
    nothing_shown: int = 0
    violations: int = 0

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def first_shown_right_rate(self) -> float | None:
        n = self.scenarios_with_right + self.scenarios_without_right
        return (self.first_shown_right + self.nothing_shown) / n if n else None

    def to_dict(self) -> dict:
        def r(x: float | None) -> float | None:
            return None if x is None else round(x, 4)

        return {"pairs": self.tp + self.fp + self.fn + self.tn, "tp": self.tp, "fp": self.fp, "fn": self.fn,
                "tn": self.tn, "precision": r(self.precision), "recall": r(self.recall),
                "first_shown_right": r(self.first_shown_right_rate),
                "scenarios_with_right": self.scenarios_with_right, "first_shown_right_count": self.first_shown_right,
                "scenarios_without_right": self.scenarios_without_right, "nothing_shown": self.nothing_shown,
                "tier_violations": self.violations}


@dataclass
class AcceptabilityReport:
    overall: Counts = field(default_factory=Counts)
    families: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    wrong: list[Decision] = field(default_factory=list)
    scenarios: int = 0

    def to_dict(self, *, wrong: bool = True) -> dict:
        out = {"scenarios": self.scenarios, **self.overall.to_dict(),
               "families": {f: c.to_dict() for f, c in sorted(self.families.items())}}
        if wrong:
            out["wrong"] = [d.to_dict() for d in self.wrong]
        return out


# loading ----------------------------------------------------------------------------------------------

def region_places(path: str | Path) -> dict[str, Place]:
    """Subject code → its place (federal district, centre's coordinates) from ``regions.csv``."""
    with open(path, encoding="utf-8") as fh:
        return {r["code"]: Place(region=r["code"], district=r["federal_district"] or None,
                                 lat=float(r["lat"]) if r["lat"] else None, lon=float(r["lon"]) if r["lon"] else None)
                for r in csv.DictReader(fh)}


def _spec(data: Mapping[str, Any], *, side: str, id_: int, org: int, regions: Mapping[str, Place],
          where: str) -> ListingSpec:
    unknown = set(data) - set(LISTING_FIELDS) - {"acceptable", "reason"}
    if unknown:
        raise ValueError(f"{where}: неизвестные поля {sorted(unknown)}")
    if not str(data.get("title") or "").strip():
        raise ValueError(f"{where}: нет поля «title»")
    region = data.get("region")
    place = regions.get(region) if region else None
    if region and place is None:
        raise ValueError(f"{where}: неизвестный субъект РФ «{region}»")
    deadline = data.get("deadline")
    return ListingSpec(
        id=id_, side=side, kind=data.get("kind") or ("purchase_request" if side == "need" else "capability"),
        title=data["title"], description=data.get("description") or "", okpd2=tuple(data.get("okpd2") or ()),
        okved2=tuple(data.get("okved2") or ()), region=region, district=place.district if place else None,
        lat=place.lat if place else None, lon=place.lon if place else None, organization_id=org,
        organization_name=f"org{org}", quantity=data.get("quantity"), unit=data.get("unit"),
        capacity=data.get("capacity"), lead_time_days=data.get("lead_time_days"),
        deadline=date.fromisoformat(deadline) if deadline else None,
        certifications=frozenset(data.get("certifications") or ()), operations=tuple(data.get("operations") or ()),
        parameters=dict(data.get("parameters") or {}))


def parse_scenarios(records: Iterable[Mapping[str, Any]], regions: Mapping[str, Place]) -> list[Scenario]:
    """Scenarios from JSON objects ``{"id", "family", "need": {...}, "offers": [{..., "acceptable", "reason"}]}``;
    a bad record raises ``ValueError`` naming the scenario and field."""
    out, next_id = [], 1
    for number, rec in enumerate(records, 1):
        sid = str(rec.get("id") or f"#{number}")
        if not rec.get("family"):
            raise ValueError(f"{sid}: нет поля «family»")
        if not isinstance(rec.get("need"), Mapping) or not rec.get("offers"):
            raise ValueError(f"{sid}: нужны «need» и непустой «offers»")
        need = _spec(rec["need"], side="need", id_=next_id, org=next_id, regions=regions, where=f"{sid}.need")
        next_id += 1
        offers = []
        for i, data in enumerate(rec["offers"]):
            if not isinstance(data.get("acceptable"), bool):
                raise ValueError(f"{sid}.offers[{i}]: «acceptable» должно быть true или false")
            spec = _spec(data, side="offer", id_=next_id, org=next_id, regions=regions, where=f"{sid}.offers[{i}]")
            offers.append(LabelledOffer(spec, data["acceptable"], str(data.get("reason") or "")))
            next_id += 1
        out.append(Scenario(sid, str(rec["family"]), need, tuple(offers)))
    return out


def load_scenarios(path: str | Path, regions: Mapping[str, Place]) -> list[Scenario]:
    with open(path, encoding="utf-8") as fh:
        records = []
        for number, line in enumerate(fh, 1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"строка {number}: неверный JSON ({exc.msg})") from None
    return parse_scenarios(records, regions)


def fit_encoder(scenarios: Sequence[Scenario], extra_texts: Iterable[str] = (), *, n_components: int = 256):
    """A built-in encoder fitted on the set's texts and ``extra_texts`` (the ОКПД2 names, as the app does)."""
    from matching.encoders import BuiltinEncoder

    texts = [s.need.text for s in scenarios] + [o.offer.text for s in scenarios for o in s.offers]
    return BuiltinEncoder(n_components=n_components, min_df=1).fit([*texts, *extra_texts])


# evaluation -------------------------------------------------------------------------------------------

MatcherFactory = Callable[..., Matcher]


def default_matcher(encoder, backend, policy, lookup, **options) -> Matcher:
    """The engine as the marketplace builds it: with a ``catalogue``, the platform's acceptability rule
    (:class:`matching.acceptability.AcceptabilityRule`); options the Matcher does not take, and ``None`` ones, are
    left out."""
    catalogue = options.pop("catalogue", None)
    goods = options.pop("goods", None)
    if catalogue is not None:  # the platform's rule over the catalogue; without one, the codes-only rule of before
        from matching.acceptability import AcceptabilityRule

        options["rule"] = AcceptabilityRule(catalogue, goods=goods)
    accepted = inspect.signature(Matcher).parameters
    kwargs = {k: v for k, v in options.items() if k in accepted and v is not None}
    return Matcher(encoder, backend, policy, lookup, **kwargs)


def evaluate_acceptability(scenarios: Sequence[Scenario], encoder, *, policy: ProcurementPolicy | None = None,
                           countries: CountryLists | None = None, classifier=None, catalogue=None, goods=None,
                           today: date = TODAY, matcher_factory: MatcherFactory = default_matcher
                           ) -> AcceptabilityReport:
    """Run the engine over every scenario (see the module docstring) and count its decisions against the labels.

    ``policy`` is the strict policy to judge with (its threshold and rule are the engine's); lower tiers are always
    listed so that every acceptable offer is seen (the first shown is the same with or without them).
    """
    from search import Document, open_backend

    policy = replace(policy or ProcurementPolicy(mode="strict"), mode="strict", show_lower_tiers=True)
    report = AcceptabilityReport(scenarios=len(scenarios))
    with tempfile.TemporaryDirectory() as tmp:
        backend = open_backend(f"embedded://{tmp}", dim=encoder.dim)
        try:
            for sc in scenarios:
                offers = [lo.offer for lo in sc.offers]
                backend.clear()
                vectors = encoder.encode_passages([o.text for o in offers])
                backend.index([Document(id=o.id, side="offer", kind=o.kind, title=o.title, description=o.description,
                                        okpd2=o.okpd2, okved2=o.okved2, region=o.region, district=o.district,
                                        organization_id=o.organization_id, quantity=o.quantity, unit=o.unit,
                                        vector=v) for o, v in zip(offers, vectors, strict=True)])
                matcher = matcher_factory(encoder, backend, policy, InMemoryLookup(offers), countries=countries,
                                          today=today, classifier=classifier, catalogue=catalogue, goods=goods)
                result = matcher.match_need(sc.need, top=len(offers) + 1)
                _count(report, sc, result, matcher, encoder, vectors)
        finally:
            backend.close()
    return report


def _count(report: AcceptabilityReport, sc: Scenario, result, matcher: Matcher, encoder, vectors) -> None:
    shown = {m.listing_id: m for m in result.matches}
    label = {lo.offer.id: lo for lo in sc.offers}
    need = replace(sc.need, okpd2=result.inferred_codes) if result.inferred_codes else sc.need
    query = encoder.encode_queries([sc.need.text])[0]
    for counts in (report.overall, report.families[sc.family]):
        counts.violations += strict_violations(result.matches)
        if any(lo.acceptable for lo in sc.offers):
            counts.scenarios_with_right += 1
            first = result.matches[0].listing_id if result.matches else None
            counts.first_shown_right += bool(first is not None and first in label and label[first].acceptable)
        else:
            counts.scenarios_without_right += 1
            counts.nothing_shown += not result.matches
    for lo, vector in zip(sc.offers, vectors, strict=True):
        accepted = lo.offer.id in shown
        for counts in (report.overall, report.families[sc.family]):
            if accepted and lo.acceptable:
                counts.tp += 1
            elif accepted:
                counts.fp += 1
            elif lo.acceptable:
                counts.fn += 1
            else:
                counts.tn += 1
        if accepted != lo.acceptable:
            match = shown.get(lo.offer.id) or matcher.score_pair(
                need, lo.offer, semantic=float(vector @ query),
                code_discount=matcher.inferred_discount if result.inferred_codes else 1.0)
            report.wrong.append(Decision(sc.id, sc.family, sc.need.title, lo.offer.title, lo.offer.region,
                                         lo.acceptable, lo.reason, match.explanation))
