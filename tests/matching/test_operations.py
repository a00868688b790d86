"""The operations catalogue on a small hand-made tree: hierarchy, covers(), recognition, search."""
from __future__ import annotations

import pytest

from matching.operations import CatalogueError, OperationCatalogue, same_word
from matching.parameters import MaterialCatalogue

NODES = [
    {"id": "machining", "name": "Механическая обработка", "synonyms": ["мехобработка", "металлообработка"],
     "okved2": ["25.62"], "okpd2": ["25.62.20"], "parameters": ["materials", "max_length_mm"], "generic": True,
     "children": [
         {"id": "machining.turning", "name": "Токарная обработка",
          "synonyms": ["токарные работы", "точение", "токарка"], "exclude": ["токарный патрон"],
          "children": [
              {"id": "machining.turning.cnc", "name": "Токарная обработка на станках с ЧПУ",
               "synonyms": ["токарные работы на чпу"], "parameters": ["max_diameter_mm", "tolerance_it"]},
              {"id": "machining.turning.mill_turn", "name": "Токарно-фрезерная обработка"},
          ]},
         {"id": "machining.milling", "name": "Фрезерная обработка",
          "synonyms": ["фрезерование", "фрезеровка", "фрезерные работы"],
          "children": [{"id": "machining.milling.five_axis", "name": "Пятиосевая фрезерная обработка",
                        "synonyms": ["пятиосевая обработка"]}]},
     ]},
    {"id": "coating", "name": "Нанесение покрытий", "okved2": ["25.61"],
     "children": [
         {"id": "coating.powder", "name": "Порошковая окраска", "synonyms": ["порошковая покраска"],
          "exclude": ["порошковая металлургия"]},
         {"id": "coating.zinc", "name": "Цинкование", "synonyms": ["оцинковка"],
          "children": [
              {"id": "coating.zinc.hot_dip", "name": "Горячее цинкование", "synonyms": ["горячая оцинковка"]},
              {"id": "coating.zinc.galvanic", "name": "Гальваническое цинкование"},
          ]},
     ]},
    {"id": "welding", "name": "Сварка", "synonyms": ["сварочные работы"], "okved2": ["25.62"],
     "children": [
         {"id": "welding.mig_mag", "name": "Полуавтоматическая сварка MIG/MAG", "abbreviations": ["MIG", "MAG"]},
         {"id": "welding.tig", "name": "Аргонодуговая сварка", "synonyms": ["аргонная сварка"],
          "abbreviations": ["TIG"]},
         {"id": "welding.structures", "name": "Изготовление сварных металлоконструкций",
          "synonyms": ["изготовление металлоконструкций", "сварка металлоконструкций"]},
     ]},
    {"id": "heat", "name": "Термическая обработка", "synonyms": ["термообработка"],
     "children": [{"id": "heat.induction", "name": "Закалка ТВЧ", "abbreviations": ["ТВЧ"],
                   "synonyms": ["закалка токами высокой частоты"]}]},
]


@pytest.fixture(scope="module")
def cat() -> OperationCatalogue:
    return OperationCatalogue.from_nodes(NODES)


def ids(cat: OperationCatalogue, text: str) -> list[str]:
    return [r.operation_id for r in cat.recognize(text)]


def test_hierarchy_and_inheritance(cat):
    cnc = cat.get("machining.turning.cnc")
    assert cnc.parent_id == "machining.turning" and cnc.depth == 2 and cnc.family == "machining"
    assert cnc.okved2 == ("25.62",) and cnc.okpd2 == ("25.62.20",)  # inherited from the root
    assert cnc.parameters == ("max_diameter_mm", "tolerance_it")  # its own
    assert cat.get("machining.milling").parameters == ("materials", "max_length_mm")
    assert cat.get("machining.turning").synonyms != cat.get("machining").synonyms  # synonyms never inherited
    assert cat.ancestors("machining.turning.cnc") == ["machining.turning", "machining"]
    assert set(cat.descendants("coating")) == {"coating.powder", "coating.zinc", "coating.zinc.hot_dip",
                                               "coating.zinc.galvanic"}
    assert [o.id for o in cat.path("coating.zinc.hot_dip")] == ["coating", "coating.zinc", "coating.zinc.hot_dip"]
    assert cat.codes(["machining.turning", "coating.powder"], "okved2") == ["25.62", "25.61"]


def test_covers(cat):
    assert cat.covers("machining.turning", "machining.turning")
    assert cat.covers("machining.turning.cnc", "machining.turning")  # a CNC shop does turning
    assert not cat.covers("machining.turning", "machining.turning.cnc")  # turning is not generic
    assert cat.covers("machining", "machining.milling")  # generic root: a machining shop mills
    assert not cat.covers("machining", "machining.turning.cnc")  # through the non-generic turning node
    assert not cat.covers("coating", "coating.zinc.hot_dip")  # coating is not generic
    assert not cat.covers("coating.zinc.galvanic", "coating.zinc.hot_dip")  # siblings
    assert not cat.covers("welding.tig", "machining.turning")
    assert cat.related("coating.zinc.hot_dip", "coating") and not cat.related("coating.powder", "coating.zinc")


def test_bad_nodes_are_refused():
    with pytest.raises(CatalogueError, match="повторяется"):
        OperationCatalogue.from_nodes([{"id": "a", "name": "А"}, {"id": "a", "name": "Б"}])
    with pytest.raises(CatalogueError, match="неизвестные параметры"):
        OperationCatalogue.from_nodes([{"id": "a", "name": "А", "parameters": ["colour"]}])
    with pytest.raises(CatalogueError, match="нет названия"):
        OperationCatalogue.from_nodes([{"id": "a", "name": " "}])
    with pytest.raises(CatalogueError, match="неверным id"):
        OperationCatalogue.from_nodes([{"id": "Turning", "name": "Токарная"}])


@pytest.mark.parametrize("text, expected", [
    ("Выполним токарную обработку деталей типа вал до Ø400 мм", "machining.turning"),
    ("Токарка на заказ", "machining.turning"),
    ("Точение втулок", "machining.turning"),
    ("токарные работы на станках с ЧПУ", "machining.turning.cnc"),
    ("Фрезеровочные работы по металлу", "machining.milling"),  # a derived form no synonym lists
    ("фрезерованием пазов", "machining.milling"),
    ("Требуется горячее цинкование металлоконструкций, 12 т/мес", "coating.zinc.hot_dip"),
    ("оцинковка горячим способом", "coating.zinc.hot_dip"),
    ("Сварка полуавтоматом MIG/MAG", "welding.mig_mag"),
    ("TIG сварка нержавейки", "welding.tig"),
    ("закалка ТВЧ шеек валов", "heat.induction"),
])
def test_recognizes_forms_and_abbreviations(cat, text, expected):
    found = cat.recognize(text)
    assert found and found[0].operation_id == expected, found
    assert 0 < found[0].confidence <= 1 and found[0].matched


def test_the_specific_operation_replaces_its_ancestor(cat):
    assert ids(cat, "горячее цинкование опор") == ["coating.zinc.hot_dip"]
    assert "coating.zinc" not in ids(cat, "горячее цинкование опор")
    assert ids(cat, "цинкование крепежа") == ["coating.zinc"]  # the text does not say which


def test_two_operations_in_one_text(cat):
    assert set(ids(cat, "Токарные и фрезерные работы, порошковая покраска")) == {
        "machining.turning", "machining.milling", "coating.powder"}


def test_compounds_numerals_and_coordination(cat):
    assert ids(cat, "Токарно-фрезерная обработка корпусов") == ["machining.turning.mill_turn"]
    assert set(ids(cat, "Токарные, фрезерные работы")) == {"machining.turning", "machining.milling"}
    assert ids(cat, "5-осевая обработка лопаток") == ["machining.milling.five_axis"]


def test_an_object_of_a_work_is_not_another_work(cat):
    assert ids(cat, "Порошковая покраска металлоконструкций") == ["coating.powder"]
    assert ids(cat, "Требуются металлоконструкции каркаса здания") == ["welding.structures"]
    assert ids(cat, "Фрезеровка оснастки для горячего цинкования") == ["machining.milling"]


def test_excludes_and_equipment_nouns(cat):
    assert ids(cat, "Порошковая металлургия: спеченные втулки") == []
    assert ids(cat, "Токарный патрон трехкулачковый, продажа") == []
    assert ids(cat, "Продаём токарные станки 16К20") == []  # a machine, not the work
    assert ids(cat, "Поставка фрезерных станков") == []
    assert ids(cat, "Поставка станков для фрезерования") == []
    assert ids(cat, "Продам сварочный полуавтомат") == []
    assert ids(cat, "Изготовление деталей на токарных станках") == ["machining.turning"]  # the work done on them
    assert ids(cat, "Поставка офисной бумаги") == []
    assert ids(cat, "") == [] and ids(cat, "   ") == []


def test_abbreviations_need_the_upper_case_word(cat):
    assert "welding.mig_mag" not in ids(cat, "magnum opus")  # a word, not the abbreviation
    assert "heat.induction" not in ids(cat, "твч")  # lower case is not the abbreviation


def test_same_word_derivations():
    from matching.text import stem

    assert same_word(stem("фрезерная"), stem("фрезеровка"))
    assert same_word(stem("токарные"), stem("токарка"))
    assert not same_word(stem("сварка"), stem("сверление"))
    assert not same_word(stem("покраска"), stem("порошковая"))


def test_search_as_you_type(cat):
    assert cat.search("токар")[0].id == "machining.turning"
    assert cat.search("фрезеровк")[0].id == "machining.milling"
    assert cat.search("порошк")[0].id == "coating.powder"
    assert [o.id for o in cat.search("цинк")][:1] == ["coating.zinc"]
    assert {o.id for o in cat.search("горяч цинк")} == {"coating.zinc.hot_dip"}
    assert cat.search("TIG")[0].id == "welding.tig"
    assert all(o.family == "coating" for o in cat.search("а", family="coating"))
    assert cat.search("") == [] and cat.search("кофеварка") == []
    assert len(cat.search("обработка", limit=1)) == 1


def test_load_from_yaml(tmp_path):
    import yaml

    ops = tmp_path / "operations"
    ops.mkdir()
    (ops / "10-a.yaml").write_text(yaml.safe_dump(NODES[:2], allow_unicode=True), encoding="utf-8")
    (ops / "20-b.yaml").write_text(yaml.safe_dump(NODES[2:], allow_unicode=True), encoding="utf-8")
    mats = tmp_path / "materials.yaml"
    mats.write_text("- id: steel\n  name: Сталь\n", encoding="utf-8")
    first = OperationCatalogue.load(ops, mats)
    assert len(first) == 17 and "steel" in first.materials
    assert OperationCatalogue.load(ops, mats).digest == first.digest
    mats.write_text("- id: steel\n  name: Сталь углеродистая\n", encoding="utf-8")
    assert OperationCatalogue.load(ops, mats).digest != first.digest
    assert isinstance(first.materials, MaterialCatalogue)
