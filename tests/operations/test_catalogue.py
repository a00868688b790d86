"""The shipped catalogue (refdata/data/operations/*.yaml, materials.yaml): integrity of the reference data."""
from __future__ import annotations

import csv
import re

import pytest

from marketplace.operations.catalogue import DATA_DIR, MATERIALS_FILE, OPERATIONS_DIR
from matching.operations import OperationCatalogue
from matching.parameters import PARAMETERS

pytestmark = pytest.mark.skipif(not any(OPERATIONS_DIR.glob("*.yaml")), reason="no operations YAML shipped yet")
# Words that never name one operation alone (SPEC: «обработка», «покрытие», «резка» alone are never a synonym).
TOO_GENERAL = {"обработка", "покрытие", "резка", "работы", "услуги", "изготовление", "производство", "ремонт",
               "монтаж", "сборка", "контроль", "испытания"}


@pytest.fixture(scope="module")
def catalogue() -> OperationCatalogue:
    return OperationCatalogue.load(OPERATIONS_DIR, MATERIALS_FILE)


def _codes(name: str) -> set[str]:
    with open(DATA_DIR / name, encoding="utf-8") as fh:
        return {row["code"] for row in csv.DictReader(fh)}


def test_size_and_files(catalogue):
    assert len(catalogue) >= 250
    assert all(re.fullmatch(r"\d\d-[a-z0-9-]+\.yaml", p.name) for p in OPERATIONS_DIR.glob("*.yaml"))
    assert len(catalogue.roots()) >= 10


def test_every_node_is_named_and_coded(catalogue):
    okpd2, okved2 = _codes("okpd2.csv"), _codes("okved2.csv")
    for op in catalogue.operations.values():
        assert op.name.strip() and re.fullmatch(r"[a-z0-9_.]+", op.id), op.id
        assert op.okved2 or op.okpd2, f"{op.id}: no code, not even inherited"
        assert set(op.okpd2) <= okpd2, f"{op.id}: unknown ОКПД2 {set(op.okpd2) - okpd2}"
        assert set(op.okved2) <= okved2, f"{op.id}: unknown ОКВЭД2 {set(op.okved2) - okved2}"
        assert set(op.parameters) <= set(PARAMETERS), op.id
        assert all(s == s.lower() for s in op.synonyms), f"{op.id}: synonyms are lower case"
        assert all(a == a.upper() for a in op.abbreviations), f"{op.id}: abbreviations are upper case"
        if not catalogue.children(op.id):
            assert not set(op.synonyms) & TOO_GENERAL, f"{op.id}: a synonym too general for a leaf"


def test_ids_are_path_like_under_their_family(catalogue):
    for op in catalogue.operations.values():
        assert op.family == (catalogue.path(op.id)[0].id)
        if op.parent_id:
            assert op.id.startswith(op.family + "."), op.id


def test_no_two_operations_share_a_name(catalogue):
    seen: dict[str, str] = {}
    for op in catalogue.operations.values():
        key = op.name.lower()
        assert key not in seen, f"{op.id} and {seen.get(key)} are both called «{op.name}»"
        seen[key] = op.id


def test_materials(catalogue):
    assert len(catalogue.materials.materials) >= 10
    assert catalogue.materials.resolve("12Х18Н10Т") and catalogue.materials.resolve("Д16Т")


def test_the_shipped_catalogue_reads_its_own_names(catalogue):
    """Every operation's own name is recognised as that operation (or one of its descendants when the name is a
    prefix of theirs): a name the recogniser cannot read is a data bug."""
    unread = []
    for op in catalogue.operations.values():
        found = [r.operation_id for r in catalogue.recognize(op.name, top=10)]
        if op.id not in found and not set(found) & set(catalogue.descendants(op.id)):
            unread.append((op.id, op.name, found))
    assert not unread, unread
