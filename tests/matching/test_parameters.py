"""Engineering parameters: the materials list, validation naming each field, agreement of a need with an offer,
extraction from text."""
from __future__ import annotations

import pytest

from matching.parameters import MaterialCatalogue, compare_parameters, extract_parameters, validate_parameters

MATERIALS = [
    {"id": "steel", "name": "Сталь", "synonyms": ["стали", "стальной"], "children": [
        {"id": "steel.carbon", "name": "Сталь углеродистая", "grades": ["Ст3", "20", "45"],
         "synonyms": ["углеродистая сталь"]},
        {"id": "steel.stainless", "name": "Сталь нержавеющая", "grades": ["12Х18Н10Т", "AISI 304"],
         "synonyms": ["нержавейка", "нержавеющая сталь"]},
    ]},
    {"id": "aluminium", "name": "Алюминий", "synonyms": ["алюминиевые сплавы"], "grades": ["Д16Т", "АМг6"]},
]


@pytest.fixture(scope="module")
def mats() -> MaterialCatalogue:
    return MaterialCatalogue.from_nodes(MATERIALS)


def test_materials_resolve_ids_names_grades(mats):
    assert mats.resolve("steel.stainless") == ["steel.stainless"]
    assert mats.resolve("12Х18Н10Т") == ["steel.stainless"]
    assert mats.resolve("нержавейка; Д16Т") == ["steel.stainless", "aluminium"]
    assert mats.resolve("сталь 45") == ["steel.carbon"]  # the grade says which steel
    assert set(mats.resolve("стальной прокат и алюминиевые сплавы")) == {"steel", "aluminium"}
    assert mats.resolve("медь") == []


def test_materials_cover(mats):
    assert mats.covers("steel", "steel.stainless") is True  # a group covers its grades
    assert mats.covers("steel.stainless", "steel.stainless") is True
    assert mats.covers("steel.stainless", "steel") is None  # the need says "steel": which?
    assert mats.covers("aluminium", "steel.carbon") is False


def test_duplicate_material_is_refused():
    with pytest.raises(ValueError):
        MaterialCatalogue.from_nodes([{"id": "a", "name": "А"}, {"id": "a", "name": "Б"}])


def test_valid_parameters(mats):
    assert validate_parameters({"materials": ["steel.carbon"], "max_length_mm": 1200, "max_diameter_mm": 400.5,
                                "tolerance_it": 7, "roughness_ra_um": 0.8, "batch_min": 1, "batch_max": 500,
                                "min_thickness_mm": 0.5, "max_thickness_mm": 20}, mats) == {}
    assert validate_parameters({"max_length_mm": None, "materials": []}, mats) == {}  # empty is "not given"


@pytest.mark.parametrize("params, field, words", [
    ({"colour": "red"}, "colour", "неизвестный параметр"),
    ({"materials": ["unobtainium"]}, "materials", "unobtainium"),
    ({"max_length_mm": "long"}, "max_length_mm", "ожидается число"),
    ({"max_length_mm": True}, "max_length_mm", "ожидается число"),
    ({"max_length_mm": 0}, "max_length_mm", "больше 0"),
    ({"max_length_mm": 100_001}, "max_length_mm", "не больше 100\u00a0000"),
    ({"max_diameter_mm": 20_001}, "max_diameter_mm", "20\u00a0000"),
    ({"max_mass_kg": -1}, "max_mass_kg", "наибольшая масса"),
    ({"tolerance_it": 7.5}, "tolerance_it", "целое"),
    ({"tolerance_it": 19}, "tolerance_it", "18"),
    ({"roughness_ra_um": 0.001}, "roughness_ra_um", "0,01"),
    ({"batch_min": 0}, "batch_min", "не меньше 1"),
    ({"min_thickness_mm": 10, "max_thickness_mm": 2}, "min_thickness_mm", "больше наибольшей"),
    ({"batch_min": 100, "batch_max": 10}, "batch_min", "больше наибольшей"),
])
def test_each_bad_value_is_named(mats, params, field, words):
    errors = validate_parameters(params, mats)
    assert list(errors) == [field] and words in errors[field], errors


def test_allowed_keys_limit_what_a_listing_may_carry():
    assert validate_parameters({"tolerance_it": 7}, allowed=["materials"]) == {
        "tolerance_it": "неизвестный параметр «tolerance_it»"}


def test_compare_held_and_failed(mats):
    offer = {"materials": ["steel"], "max_length_mm": 1000, "max_diameter_mm": 400, "min_thickness_mm": 1,
             "max_thickness_mm": 20, "tolerance_it": 7, "roughness_ra_um": 1.6, "batch_min": 10, "batch_max": 1000}
    need = {"materials": ["steel.stainless"], "max_length_mm": 800, "max_diameter_mm": 450, "max_thickness_mm": 25,
            "tolerance_it": 8, "roughness_ra_um": 0.8}
    checks = {c.name: c for c in compare_parameters(need, offer, mats, quantity=5)}
    assert checks["materials"].held is True
    assert checks["max_length_mm"].held is True and "800" in checks["max_length_mm"].detail
    assert checks["max_diameter_mm"].held is False and "450" in checks["max_diameter_mm"].detail
    assert checks["thickness"].held is False and "1–20" in checks["thickness"].detail
    assert checks["tolerance_it"].held is True  # IT7 held, IT8 asked
    assert checks["roughness_ra_um"].held is False  # Ra 0.8 asked, 1.6 achieved
    assert checks["batch"].held is False and "меньше" in checks["batch"].detail


def test_compare_unknown_material_grade_and_missing_sides(mats):
    checks = compare_parameters({"materials": ["steel"]}, {"materials": ["steel.stainless"]}, mats)
    assert [(c.name, c.held) for c in checks] == [("materials", None)]
    checks = compare_parameters({"materials": ["aluminium"]}, {"materials": ["steel.carbon"]}, mats)
    assert checks[0].held is False and "Алюминий" in checks[0].detail
    assert compare_parameters({"max_length_mm": 10}, {}, mats) == []  # only what both sides give
    assert [c.held for c in compare_parameters({}, {"batch_max": 100}, mats, quantity=50)] == [True]


@pytest.mark.parametrize("text, expected", [
    ("Порошковая покраска, камера 6×2×2 м", {"max_length_mm": 6000, "max_width_mm": 2000, "max_height_mm": 2000}),
    ("токарная обработка валов Ø400 мм", {"max_diameter_mm": 400}),
    ("валы диаметром до 250 мм, длиной до 2 м", {"max_diameter_mm": 250, "max_length_mm": 2000}),
    ("поковки массой до 3 т", {"max_mass_kg": 3000}),
    ("лазерная резка толщиной от 0,5 до 20 мм", {"min_thickness_mm": 0.5, "max_thickness_mm": 20}),
    ("точность IT7, шероховатость Ra 0,8", {"tolerance_it": 7, "roughness_ra_um": 0.8}),
    ("по 6 квалитету", {"tolerance_it": 6}),
    ("Поставка офисной бумаги", {}),
])
def test_extract_parameters(text, expected):
    assert extract_parameters(text) == expected


def test_extract_materials(mats):
    assert extract_parameters("Фрезеровка корпусов из Д16Т", mats) == {"materials": ["aluminium"]}
    assert extract_parameters("сварка нержавейки 12Х18Н10Т", mats)["materials"] == ["steel.stainless"]
