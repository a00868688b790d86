"""Chain request validation: every error names the field it is about."""
from __future__ import annotations

import copy

import pytest

from matching.chains import ChainRequest, ChainRequestError, Stage, stage_graph
from matching.geo import Place

KHV = Place(region="27", district="FEFD", lat=48.46473, lon=135.05989)


def valid() -> dict:
    return {
        "item": "Насосный агрегат",
        "quantity": 20,
        "unit_weight_kg": 180,
        "delivery_region": "27",
        "deadline_days": 60,
        "stages": [
            {"id": "casting", "text": "Литьё корпуса", "okved2": ["24.51"], "okpd2": ["24.51.3"]},
            {"id": "machining", "text": "Мехобработка", "okved2": ["25.62"], "after": ["casting"]},
            {"id": "motor", "text": "Электродвигатель", "okved2": ["27.11"]},
            {"id": "assembly", "text": "Сборка", "okved2": ["28.13"], "after": ["machining", "motor"],
             "certifications_required": ["ТР ТС 010/2011"], "min_capacity": 10},
        ],
    }


def test_valid_request_resolves_the_region_and_keeps_a_topological_order():
    d = valid()
    d["stages"] = list(reversed(d["stages"]))  # assembly first in the file
    request = ChainRequest.from_dict(d, resolve_region={"27": KHV})
    assert request.delivery_region == KHV
    ids = [s.id for s in request.stages]
    assert ids.index("casting") < ids.index("machining") < ids.index("assembly")
    assert ids.index("motor") < ids.index("assembly")
    assert request.final_stages == ("assembly",)
    assert request.successors("casting") == ("machining",)
    assert request.stage("assembly").min_capacity == 10
    assert request.tonnes == pytest.approx(3.6)
    assert set(stage_graph(request).predecessors("delivery")) == {"assembly"}
    again = ChainRequest.from_dict(request.to_dict())
    assert again == request


def test_resolver_may_be_a_callable_and_region_an_object():
    request = ChainRequest.from_dict(valid(), resolve_region=lambda code: KHV if code == "27" else None)
    assert request.delivery_region is KHV
    d = valid()
    d["delivery_region"] = {"region": "27", "district": "FEFD", "lat": 48.5, "lon": 135.1}
    assert ChainRequest.from_dict(d).delivery_region == Place(region="27", district="FEFD", lat=48.5, lon=135.1)
    assert ChainRequest.from_dict(valid()).delivery_region == Place(region="27")


def mutate(fn):
    d = copy.deepcopy(valid())
    fn(d)
    return d


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.pop("item"), "item: missing"),
    (lambda d: d.update(item="  "), "item: must be a non-empty string"),
    (lambda d: d.update(quantity=-5), "quantity: must not be negative"),
    (lambda d: d.update(quantity=0), "quantity: must be greater than zero"),
    (lambda d: d.update(quantity="10"), "quantity: must be a number"),
    (lambda d: d.update(quantity=True), "quantity: must be a number"),
    (lambda d: d.pop("unit_weight_kg"), "unit_weight_kg: missing"),
    (lambda d: d.update(deadline_days=float("nan")), "deadline_days: must be a number"),
    (lambda d: d.pop("delivery_region"), "delivery_region: missing"),
    (lambda d: d.update(delivery_region="Хабаровск"), "delivery_region: must be a two-digit subject code"),
    (lambda d: d.update(delivery_region="99"), 'delivery_region: unknown subject code "99"'),
    (lambda d: d.update(colour="red"), "colour: unknown field"),
    (lambda d: d.pop("stages"), "stages: missing"),
    (lambda d: d.update(stages=[]), "stages: at least one stage is required"),
    (lambda d: d.update(stages="casting"), "stages: must be a list"),
    (lambda d: d["stages"][2].update(after=["x"]), 'stages[2].after: unknown stage "x"'),
    (lambda d: d["stages"][1].update(after=["machining"]), 'stages[1].after: stage "machining" cannot follow itself'),
    (lambda d: d["stages"][1].update(after="casting"), "stages[1].after: must be a list of strings"),
    (lambda d: d["stages"][3].update(id="casting"), 'stages[3].id: duplicate stage id "casting" (also stages[0])'),
    (lambda d: d["stages"][0].pop("id"), "stages[0].id: missing"),
    (lambda d: d["stages"][0].update(id="литьё"), "stages[0].id: must be 1-64 latin letters"),
    (lambda d: d["stages"][1].pop("text"), "stages[1].text: missing"),
    (lambda d: d["stages"][0].update(okved2=["24-51"]), "stages[0].okved2[0]: not an ОКВЭД2 code"),
    (lambda d: d["stages"][0].update(okpd2=["x"]), "stages[0].okpd2[0]: not an ОКПД2 code"),
    (lambda d: d["stages"][3].update(min_capacity=-1), "stages[3].min_capacity: must not be negative"),
    (lambda d: d["stages"][3].update(certifications_required=[""]),
     "stages[3].certifications_required[0]: must be a non-empty string"),
    (lambda d: d["stages"][2].update(colour="red"), "stages[2].colour: unknown field"),
    (lambda d: d["stages"].__setitem__(2, "motor"), "stages[2]: must be an object"),
    (lambda d: d["stages"][0].update(after=["assembly"]), "stages: cycle"),
])
def test_errors_name_the_field(change, message):
    with pytest.raises(ChainRequestError) as info:
        ChainRequest.from_dict(mutate(change), resolve_region={"27": KHV})
    assert str(info.value).startswith(message)
    assert info.value.path == message.split(":")[0]


def test_cycle_message_lists_the_stages():
    d = mutate(lambda d: d["stages"][0].update(after=["assembly"]))
    with pytest.raises(ChainRequestError, match=r'cycle .*"casting".*"machining".*"assembly"'):
        ChainRequest.from_dict(d)


def test_request_built_in_code_is_validated_too():
    with pytest.raises(ChainRequestError, match="stages"):
        ChainRequest(item="x", quantity=1, unit_weight_kg=1, delivery_region=KHV, deadline_days=1, stages=())
    with pytest.raises(ChainRequestError, match="quantity"):
        ChainRequest(item="x", quantity=-1, unit_weight_kg=1, delivery_region=KHV, deadline_days=1,
                     stages=(Stage("a", "A"),))
    with pytest.raises(ChainRequestError, match=r'stages\[1\].after: unknown stage "zz"'):
        ChainRequest(item="x", quantity=1, unit_weight_kg=1, delivery_region=KHV, deadline_days=1,
                     stages=(Stage("a", "A"), Stage("b", "B", after=("zz",))))
