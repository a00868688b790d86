"""A chain's stage is judged by the platform's acceptability rule: the operation must agree, not only the codes."""
from __future__ import annotations

from marketplace.chains.candidates import find_candidates
from matching.chains import ChainRequest


def _request(stage: dict) -> ChainRequest:
    return ChainRequest.from_dict({"item": "Опоры освещения", "quantity": 50, "unit_weight_kg": 120,
                                   "delivery_region": {"region": "27", "lat": 48.48, "lon": 135.07},
                                   "deadline_days": 60, "stages": [stage]})


def test_a_galvanizing_stage_is_not_given_to_the_powder_shop_next_door(db, offers):
    powder = offers.add("27", "25.61", title="Порошковая окраска металлоконструкций, камера 6×2×2 м")
    zinc = offers.add("25", "25.61", title="Горячее цинкование металлоконструкций, ванна 12 м")
    offers.index()
    found = find_candidates(_request({"id": "zinc", "text": "Горячее цинкование опор освещения по ГОСТ 9.307",
                                      "okved2": ["25.61"]}))["zinc"]
    ids = {str(c.listing_id) for c in found.candidates}
    assert str(zinc.id) in ids
    assert str(powder.id) not in ids  # the same ОКВЭД2 25.61, another operation
    assert found.low_score >= 1


def test_catalogue_operations_of_a_stage_decide_over_its_words(db, offers):
    turning = offers.add("27", "25.62", title="Токарная обработка валов")
    milling = offers.add("27", "25.62", title="Фрезерная обработка корпусов на станках с ЧПУ")
    offers.index()
    found = find_candidates(_request({"id": "m", "text": "Механическая обработка корпуса", "okved2": ["25.62"],
                                      "operations": ["machining.milling"]}))["m"]
    ids = {str(c.listing_id) for c in found.candidates}
    assert str(milling.id) in ids and str(turning.id) not in ids


def test_a_stage_operation_id_is_validated_by_form():
    import pytest

    from matching.chains import ChainRequestError

    with pytest.raises(ChainRequestError) as err:
        _request({"id": "m", "text": "Фрезерование", "operations": ["Фрезерная обработка!"]})
    assert err.value.path == "stages[0].operations[0]" and "not an operation id" in err.value.problem


def test_an_unknown_operation_of_a_stage_is_refused_naming_it_and_nothing_is_saved(db):
    import pytest
    from sqlalchemy import func, select

    from marketplace.chains import services
    from marketplace.chains.models import ChainRequest as ChainRequestRow
    from marketplace.core.validation import ValidationFailed

    data = {"item": "Вал", "quantity": 10, "unit_weight_kg": 5, "delivery_region": "27", "deadline_days": 30,
            "stages": [{"id": "a", "text": "Токарная обработка", "operations": ["machining.turning"]},
                       {"id": "b", "text": "Цинкование", "operations": ["coating.zinc.nonexistent"]}]}
    with pytest.raises(ValidationFailed) as err:
        services.create_request(data)
    assert [(e.field, e.message) for e in err.value.errors] == [
        ("stages[1].operations[0]", "нет такой операции в каталоге: coating.zinc.nonexistent")]
    assert db.session.scalar(select(func.count()).select_from(ChainRequestRow)) == 0
    data["stages"][1]["operations"] = ["coating.zinc.hot_dip"]
    assert services.create_request(data).id
