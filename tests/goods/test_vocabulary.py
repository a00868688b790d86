"""The shipped goods vocabulary (refdata/data/goods/*.yaml): every file loads, every code is in ОКПД2, terms are usable."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from matching.goods import GoodsError, GoodsVocabulary, content_lemmas, is_abbreviation, load_goods

DATA_DIR = Path(__file__).resolve().parents[2] / "marketplace" / "refdata" / "data"
GOODS_DIR = DATA_DIR / "goods"
# The ОКПД2 divisions each file walks: the first code of every type is from them (later codes may cross over).
DIVISIONS = {
    "05-09-19-mining-fuels.yaml": ("05", "06", "07", "08", "09", "19"),
    "10-11-food.yaml": ("10", "11"),
    "13-15-textiles-clothing.yaml": ("13", "14", "15"),
    "16-17-wood-paper.yaml": ("16", "17"),
    "20-chemicals.yaml": ("20",),
    "22-plastics-rubber.yaml": ("22",),
    "23-building-materials.yaml": ("23",),
    "24-25-metals.yaml": ("24", "25"),
    "26-electronics.yaml": ("26",),
    "27-electrical.yaml": ("27",),
    "28-machinery.yaml": ("28",),
    "29-30-vehicles.yaml": ("29", "30"),
    "31-32-furniture-ppe-misc.yaml": ("31", "32"),
}


@pytest.fixture(scope="module")
def okpd2() -> set[str]:
    with open(DATA_DIR / "okpd2.csv", encoding="utf-8") as fh:
        return {row["code"] for row in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def vocabulary(okpd2) -> GoodsVocabulary:
    return load_goods(GOODS_DIR, known_codes=okpd2)


def test_every_file_loads_alone(okpd2, tmp_path):
    files = sorted(GOODS_DIR.glob("*.yaml"))
    assert {f.name for f in files} == set(DIVISIONS)
    for f in files:
        one = tmp_path / f.stem
        one.mkdir()
        (one / f.name).write_bytes(f.read_bytes())
        assert len(GoodsVocabulary.from_dir(one, known_codes=okpd2)) >= 25, f.name


def test_size(vocabulary):
    assert len(vocabulary) >= 400
    assert sum(len(t.terms) for t in vocabulary.types.values()) >= 4000


def test_every_code_exists_and_is_a_subcategory(vocabulary, okpd2):
    for t in vocabulary.types.values():
        assert t.okpd2, t.id
        for code in t.okpd2:
            assert code in okpd2, (t.id, code)
            assert len(code) in (8, 12), (t.id, code)
        assert len(set(t.okpd2)) == len(t.okpd2), t.id


def test_first_code_is_from_the_files_divisions(vocabulary):
    for t in vocabulary.types.values():
        assert t.okpd2[0][:2] in DIVISIONS[t.file], (t.file, t.id, t.okpd2[0])


def test_every_term_is_readable(vocabulary):
    """A term is an abbreviation or has content lemmas (a term of only prepositions or numbers would never match)."""
    for t in vocabulary.types.values():
        for term in (t.name, *t.terms):
            assert is_abbreviation(term) or content_lemmas(term), (t.id, term)


def test_no_term_names_two_types(vocabulary):
    seen: dict[object, str] = {}
    for t in vocabulary.types.values():
        for term in (t.name, *t.terms):
            key = term.upper() if is_abbreviation(term) else content_lemmas(term)
            other = seen.setdefault(key, t.id)
            assert other == t.id, f"{term!r} names both {other} and {t.id}"


def test_ids_are_slugs_and_names_are_russian(vocabulary):
    for t in vocabulary.types.values():
        assert t.id.isascii() and t.id == t.id.lower(), t.id
        assert any("а" <= c.lower() <= "я" for c in t.name), t.id


# -- validation errors name the file, the entry and the field -----------------------------------------------------
def _write(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("text, expected", [
    ("- {id: a, name: А, okpd2: [25.11.23], synonyms: [x]}", ["x.yaml", "a", "synonyms"]),
    ("- {id: a, name: А, okpd2: [25.11]}", ["x.yaml", "a", "okpd2", "25.11"]),
    ("- {id: a, name: А, okpd2: 25.11.23}", ["x.yaml", "a", "okpd2"]),
    ("- {id: A-b, name: А, okpd2: [25.11.23]}", ["x.yaml", "A-b", "id"]),
    ("- {id: a, okpd2: [25.11.23]}", ["x.yaml", "a", "name"]),
    ("- {id: a, name: А, okpd2: [25.11.23], terms: [х, 18650]}", ["x.yaml", "a", "terms", "18650"]),
    ("- {id: a, name: А, okpd2: [25.11.23], terms: х}", ["x.yaml", "a", "terms"]),
    ("- {name: А, okpd2: [25.11.23]}", ["x.yaml", "запись 1", "id"]),
    ("- {id: a, name: А, okpd2: [25.11.23]}\n- {id: a, name: Б, okpd2: [25.11.23]}", ["x.yaml", "a", "id"]),
    ("{id: a}", ["x.yaml", "список"]),
    ("- [a, b]", ["x.yaml", "запись 1"]),
])
def test_malformed_entries(tmp_path, text, expected):
    with pytest.raises(GoodsError) as err:
        GoodsVocabulary.from_dir(_write(tmp_path, "x.yaml", text))
    for part in expected:
        assert part in str(err.value)


def test_unknown_code_is_refused_with_known_codes(tmp_path):
    d = _write(tmp_path, "x.yaml", "- {id: a, name: А, okpd2: [25.11.29]}")
    assert len(GoodsVocabulary.from_dir(d)) == 1  # format only
    with pytest.raises(GoodsError, match=r"x\.yaml: a: поле okpd2: кода 25\.11\.29 нет в ОКПД2"):
        GoodsVocabulary.from_dir(d, known_codes={"25.11.23"})


def test_duplicate_id_across_files(tmp_path):
    _write(tmp_path, "a.yaml", "- {id: a, name: А, okpd2: [25.11.23]}")
    _write(tmp_path, "b.yaml", "- {id: a, name: Б, okpd2: [25.11.23]}")
    with pytest.raises(GoodsError, match=r"b\.yaml: a: поле id повторяется"):
        GoodsVocabulary.from_dir(tmp_path)


def test_bad_yaml_and_empty_dir(tmp_path):
    with pytest.raises(GoodsError, match="нет файлов"):
        GoodsVocabulary.from_dir(tmp_path)
    with pytest.raises(GoodsError, match=r"x\.yaml: не читается как YAML"):
        GoodsVocabulary.from_dir(_write(tmp_path, "x.yaml", "- {id: a, name: [}"))
