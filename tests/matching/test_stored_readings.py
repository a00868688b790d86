"""Stored readings of the acceptability rule: the same checks as reading the text, and never trusted when stale."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from marketplace.classifiers.suggest import goods_vocabulary
from marketplace.operations.catalogue import get_catalogue
from matching.acceptability import AcceptabilityRule, Reading
from matching.acceptability_eval import load_scenarios, region_places
from matching.matcher import ListingSpec

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "bench" / "data" / "acceptability" / "scenarios.jsonl"
REGIONS = ROOT / "marketplace" / "refdata" / "data" / "regions.csv"


@pytest.fixture(scope="module")
def rule() -> AcceptabilityRule:
    return AcceptabilityRule(get_catalogue(), goods=goods_vocabulary(), fingerprint="test-data")


def _through_json(spec: ListingSpec, rule: AcceptabilityRule) -> ListingSpec:
    return replace(spec, reading=json.loads(json.dumps(rule.stored(spec), ensure_ascii=False)))


def test_every_labelled_pair_gets_the_same_checks_from_stored_readings(rule):
    scenarios = load_scenarios(SCENARIOS, region_places(REGIONS))
    plain = AcceptabilityRule(get_catalogue(), goods=goods_vocabulary())  # no fingerprint: always reads the text
    pairs = 0
    for sc in scenarios:
        need = _through_json(sc.need, rule)
        for labelled in sc.offers:
            offer = _through_json(labelled.offer, rule)
            assert rule.read(offer) == plain.read(labelled.offer)
            stored = [(c.name, c.held, c.detail) for c in rule.checks(need, offer)]
            read = [(c.name, c.held, c.detail) for c in plain.checks(sc.need, labelled.offer)]
            assert stored == read, (sc.id, labelled.offer.title)
            pairs += 1
    assert pairs >= 500


def test_a_reading_survives_json_unchanged(rule):
    spec = ListingSpec(id=1, side="offer", kind="capability", title="Токарная обработка валов из стали 40Х",
                       description="Диаметр до 400 мм, длина до 2 м, IT7", operations=(),
                       parameters={"max_mass_kg": 500})
    reading = rule.read(spec)
    assert reading.parameters and reading.head is not None
    assert Reading.from_json(json.loads(json.dumps(reading.to_json()))) == reading


def test_a_stale_or_foreign_reading_is_read_again(rule):
    turning = ListingSpec(id=1, side="offer", kind="capability", title="Токарная обработка валов")
    coating = ListingSpec(id=1, side="offer", kind="capability", title="Порошковая окраска металлоконструкций")
    stored_turning = rule.stored(turning)
    # the listing was edited since: its words no longer fit the key, the text is read
    edited = replace(coating, reading=stored_turning)
    assert rule.read(edited) == rule.read(coating) != rule.read(turning)
    # another rule (another catalogue, other code) does not trust it either
    other = AcceptabilityRule(get_catalogue(), goods=goods_vocabulary(), fingerprint="another-release")
    forged = replace(coating, reading={"key": rule.reading_key(coating), "reading": stored_turning["reading"]})
    assert rule.read(forged) == rule.read(turning)  # the same rule trusts a key it made (that is the point)
    assert other.read(forged) == other.read(coating)
    # a rule without a fingerprint stores nothing and trusts nothing
    bare = AcceptabilityRule(get_catalogue(), goods=goods_vocabulary())
    assert bare.stored(turning) is None and bare.read(forged) == bare.read(coating)
