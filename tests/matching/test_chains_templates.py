"""Bundled route templates load, validate, use real classifier codes and build chains."""
from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

from matching.chains import StageCandidate, build_chains, load_template, template_names
from matching.chains.request import ChainRequestError
from matching.chains.templates import template_from_dict
from matching.geo import Place, ProcurementTier

REFDATA = Path(__file__).resolve().parents[2] / "marketplace" / "refdata" / "data"
KHV = Place(region="27", district="FEFD", lat=48.46473, lon=135.05989)
EXPECTED = {"bronze_bushing", "printed_circuit_assembly", "pump_unit", "welded_steel_structure", "wooden_frame_house"}


def codes(name: str) -> set[str]:
    path = REFDATA / name
    if not path.exists():
        pytest.skip(f"{path} is not in this checkout")
    with path.open(encoding="utf-8") as fh:
        return {row["code"] for row in csv.DictReader(fh)}


def test_all_templates_are_bundled():
    assert set(template_names()) >= EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_template_loads_and_builds_a_valid_request(name):
    template = load_template(name)
    assert template.id == name
    request = template.to_request(quantity=10, delivery_region="27", resolve_region={"27": KHV})
    assert request.delivery_region == KHV
    assert len(request.final_stages) == 1  # everything comes together before shipping
    assert all(s.okved2 for s in request.stages)
    if name != "bronze_bushing":  # a bushing is one line: cast, turn, groove, inspect
        assert any(len(s.after) >= 2 for s in request.stages), "parallel branches join at assembly"
    assert 3 <= len(request.stages) <= 10


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_template_codes_exist_in_the_classifiers(name):
    okved2, okpd2 = codes("okved2.csv"), codes("okpd2.csv")
    template = load_template(name)
    for stage in template.stages:
        assert set(stage.okved2) <= okved2, stage.id
        assert set(stage.okpd2) <= okpd2, stage.id
    assert template.okpd2 is None or template.okpd2 in okpd2


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_template_gets_a_local_chain_when_local_suppliers_exist(name):
    request = load_template(name).to_request(quantity=5, delivery_region="27", resolve_region={"27": KHV})
    rng = random.Random(name)
    candidates = {}
    for stage in request.stages:
        candidates[stage.id] = [
            StageCandidate(listing_id=f"{stage.id}-{i}", organization_id=f"org-{stage.id}-{i}",
                           organization=f"Завод {i}", place=Place(region="27", district="FEFD",
                                                                   lat=KHV.lat + rng.uniform(-1, 1),
                                                                   lon=KHV.lon + rng.uniform(-1, 1)),
                           price_per_unit=rng.uniform(1000, 50000), lead_time_days=rng.randint(3, 10),
                           certifications=stage.certifications_required)
            for i in range(4)]
    result = build_chains(request, candidates, k=2)
    assert len(result.chains) == 3
    assert all(a.tier == ProcurementTier.LOCAL for a in result.best.assignments)


def test_template_errors_name_the_field():
    raw = {"id": "t", "title": "T", "item": "x", "unit_weight_kg": 1,
           "stages": [{"id": "a", "text": "A"}, {"id": "b", "text": "B", "after": ["c"]}]}
    with pytest.raises(ChainRequestError, match=r'^stages\[1\]\.after: unknown stage "c"'):
        template_from_dict(raw)
    with pytest.raises(KeyError):
        load_template("nope")
