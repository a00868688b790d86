"""recognize(): Russian lemmas, the head noun rule, abbreviations as tokens, longer terms first.

The texts are written for these tests (they are not the code-suggestion fixtures, which measure the vocabulary).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from matching.goods import GoodsVocabulary, load_goods

GOODS_DIR = Path(__file__).resolve().parents[2] / "marketplace" / "refdata" / "data" / "goods"


@pytest.fixture(scope="module")
def shipped() -> GoodsVocabulary:
    return load_goods(GOODS_DIR)


@pytest.fixture(scope="module")
def small() -> GoodsVocabulary:
    return GoodsVocabulary.from_entries([
        {"id": "plastic_boxes", "name": "Ящики пластиковые", "okpd2": ["22.22.13"],
         "terms": ["пластиковый ящик", "ящик для овощей пластиковый"]},
        {"id": "wooden_boxes", "name": "Ящики деревянные", "okpd2": ["16.24.13"], "terms": ["ящик", "деревянная тара"]},
        {"id": "vegetables", "name": "Овощи замороженные", "okpd2": ["10.39.11"], "terms": ["овощи"]},
        {"id": "chipboard", "name": "Плиты ДСП", "okpd2": ["16.21.13"], "terms": ["ДСП", "ЛДСП", "древесно-стружечная плита"]},
        {"id": "rebar", "name": "Арматура строительная", "okpd2": ["24.10.62"], "terms": ["арматура", "А500С"]},
        {"id": "valves", "name": "Арматура запорная", "okpd2": ["28.14.13"], "terms": ["запорная арматура", "задвижка"]},
        {"id": "trucks", "name": "Грузовые автомобили", "okpd2": ["29.10.41"], "terms": ["КАМАЗ", "самосвал"]},
        {"id": "truck_cranes", "name": "Автокраны", "okpd2": ["29.10.51"], "terms": ["автокран", "кран-манипулятор"]},
        {"id": "ceramic_tiles", "name": "Плитка керамическая", "okpd2": ["23.31.10"], "terms": ["керамогранит"]},
    ], file="small")


def ids(result) -> list[str]:
    return [t.id for t, _ in result]


# -- the rules, on a vocabulary of nine types -------------------------------------------------------------------
def test_head_noun_decides(small):
    assert ids(small.recognize("Ящики пластиковые для овощей")) == ["plastic_boxes"]
    assert ids(small.recognize("Овощи в пластиковых ящиках")) == ["vegetables"]


def test_longer_term_wins_and_covers_the_shorter(small):
    """«пластиковый ящик» (2 words) beats «ящик» (1): the wooden boxes' match is part of it and is dropped."""
    assert ids(small.recognize("Пластиковый ящик 600×400")) == ["plastic_boxes"]
    assert ids(small.recognize("Ящик 600×400")) == ["wooden_boxes"]
    assert ids(small.recognize("Запорная арматура Ду50")) == ["valves"]
    assert ids(small.recognize("Арматура 12 мм")) == ["rebar"]


def test_an_adjective_alone_does_not_match(small):
    assert small.recognize("Пластиковые") == []
    assert small.recognize("Запорные") == []
    assert small.recognize("Пластиковые окна") == []      # the head is «окно», no term has it
    assert small.recognize("Запорные устройства") == []


def test_abbreviation_as_a_token(small):
    assert ids(small.recognize("Плиты ДСП 16 мм")) == ["chipboard"]
    assert ids(small.recognize("лдсп белая")) == ["chipboard"]
    assert ids(small.recognize("Арматура А500С ф12")) == ["rebar"]
    assert small.recognize("Плиты из ДСПК") == []          # a token, not a substring
    assert small.recognize("Дом из бруса") == []


def test_abbreviation_beside_another_head_ranks_below_it(small):
    assert ids(small.recognize("Кран-манипулятор на шасси КАМАЗ")) == ["truck_cranes", "trucks"]
    assert ids(small.recognize("КАМАЗ 65115")) == ["trucks"]


def test_words_pymorphy_guesses_as_verbs(small):
    assert ids(small.recognize("Керамогранит 60×60 матовый")) == ["ceramic_tiles"]
    assert ids(small.recognize("Куплю керамогранит")) == ["ceramic_tiles"]


def test_confidence_top_and_empty(small):
    result = small.recognize("Кран-манипулятор на шасси КАМАЗ", top=1)
    assert ids(result) == ["truck_cranes"]
    for text in ("Плиты ДСП", "Ящик", "Пластиковый ящик для овощей", "Кран-манипулятор на шасси КАМАЗ"):
        for _, confidence in small.recognize(text):
            assert 0 < confidence <= 1
    assert small.recognize("") == [] and small.recognize("   ") == []
    assert small.recognize("Требуется срочно") == []
    assert small.codes("Плиты ДСП") == ["16.21.13"]


# -- the shipped vocabulary: trade names the official ОКПД2 names do not use -----------------------------------
@pytest.mark.parametrize("text, expected, code", [
    ("Плиты ДСП ламинированные 16 мм", "chipboard", "16.21.13"),
    ("ЛДСП Egger белая", "chipboard", "16.21.13"),
    ("Лист гипсокартонный влагостойкий 12,5 мм", "drywall", "23.62.10"),
    ("Гипсокартон Кнауф", "drywall", "23.62.10"),
    ("ГКЛ 2500×1200", "drywall", "23.62.10"),
    ("Электросчётчики трёхфазные с поверкой", "utility_meters", "26.51.63"),
    ("Счётчик воды для квартиры", "utility_meters", "26.51.63"),
    ("Камеры видеонаблюдения уличные 4 Мп", "cctv_cameras", "26.70.13"),
    ("Автокран 25 тонн", "truck_cranes", "29.10.51"),
    ("Минвата 100 мм в плитах", "mineral_wool", "23.99.19"),
    ("Утеплитель базальтовый", "mineral_wool", "23.99.19"),
    ("ЖБИ для фундамента", "rc_other", "23.61.12"),
    ("Блоки ФБС 24.4.6", "rc_foundation", "23.61.12.111"),
    ("Профнастил С21 оцинкованный", "profiled_sheet", "24.33.20"),
    ("Металлочерепица Монтеррей", "metal_tile", "24.33.20"),
    ("Арматура А500С диаметр 12", "rebar", "24.10.62"),
    ("Задвижка стальная 30с41нж Ду100", "shutoff_valves", "28.14.13"),
    ("Биг-бэги четырёхстропные", "big_bags", "22.22.12"),
    ("Гофрокороба четырёхклапанные", "corrugated_boxes", "17.21.13"),
    ("Кабель ВВГнг-LS 3х2,5", "power_cable_lv", "27.32.13"),
    ("Подшипники роликовые конические", "bearings", "28.15.10"),
    ("Перчатки х/б с ПВХ", "work_gloves", "14.19.13"),
    ("Щебень гранитный фракции 20-40", "crushed_stone", "08.12.12"),
    ("Дизельное топливо зимнее", "diesel", "19.20.21.300"),
    ("Комбикорм для бройлеров", "farm_feed", "10.91.10"),
])
def test_trade_names(shipped, text, expected, code):
    result = shipped.recognize(text)
    assert result and result[0][0].id == expected, (text, ids(result))
    assert code in result[0][0].okpd2


@pytest.mark.parametrize("text, wrong", [
    ("Ящики пластиковые для овощей", {"vegetables_frozen", "vegetables_dried"}),
    ("Мешки для сахара", {"sugar"}),
    ("Станок для резки арматуры", {"rebar"}),
    ("Запорная арматура для газопровода", {"rebar", "pipes_oil_gas"}),
    ("Масло для компрессора", {"air_compressors"}),
    ("Краска для бетона", {"ready_concrete"}),
    ("Тележка для баллонов", {"pressure_vessels"}),
])
def test_near_misses_the_head_decides(shipped, text, wrong):
    assert not wrong & set(ids(shipped.recognize(text))), (text, ids(shipped.recognize(text)))


@pytest.mark.parametrize("text", ["Пластиковые", "Оцинкованный", "Керамическая", "Стальные, нержавеющие", "Срочно!"])
def test_shipped_adjective_alone_is_nothing(shipped, text):
    assert shipped.recognize(text) == []
