"""``cosmos refdata load`` for the operations catalogue and the materials list: idempotent, versioned by digest."""
from __future__ import annotations

import json

from sqlalchemy import func, select

from marketplace.operations.loader import load_operations
from marketplace.operations.models import Material, Operation, ReferenceVersion
from marketplace.refdata.loader import LoadReport, load_reference_data
from matching.operations import OperationCatalogue
from matching.parameters import MaterialCatalogue

TABLES = ("operations", "materials", "reference_versions")


def test_the_shipped_catalogue_is_loaded(db):
    from marketplace.operations.catalogue import get_catalogue

    catalogue = get_catalogue()
    assert db.session.scalar(select(func.count()).select_from(Operation)) >= len(catalogue)
    version = db.session.get(ReferenceVersion, "operations")
    assert version is not None and version.digest == catalogue.digest and version.items == len(catalogue)


def test_loading_twice_changes_nothing(db):
    report = load_reference_data()
    assert {t: (report.inserted[t], report.updated[t]) for t in TABLES} == dict.fromkeys(TABLES, (0, 0))


def test_refdata_cli_again_changes_nothing(runner):
    """The session's database was loaded once already: the command is the second run."""
    result = runner.invoke(args=["refdata", "load", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert all(report["inserted"][t] == 0 and report["updated"][t] == 0 for t in TABLES), report
    assert report["total"]["operations"] >= 1


def _catalogue(name: str, grade: str = "Ст3") -> OperationCatalogue:
    nodes = [{"id": "zz_test", "name": "Проверочная операция", "okved2": ["25.62"],
              "children": [{"id": "zz_test.child", "name": name, "synonyms": ["проверка"]}]}]
    materials = MaterialCatalogue.from_nodes([{"id": "zz_steel", "name": "Проверочная сталь", "grades": [grade]}])
    return OperationCatalogue.from_nodes(nodes, materials, digest=name + grade)


def test_a_new_edition_inserts_then_updates_only_what_changed(db):
    report = LoadReport()
    load_operations(_catalogue("Дочерняя"), report)
    assert report.inserted["operations"] >= 2 and report.inserted["materials"] >= 1
    assert report.updated["reference_versions"] == 1  # another digest than the shipped one
    again = LoadReport()
    load_operations(_catalogue("Дочерняя"), again)
    assert {t: (again.inserted[t], again.updated[t]) for t in TABLES} == dict.fromkeys(TABLES, (0, 0))
    changed = LoadReport()
    load_operations(_catalogue("Дочерняя, новое название", grade="Ст3сп"), changed)
    assert changed.updated["operations"] == 1 and changed.updated["materials"] == 1
    assert changed.inserted["operations"] == 0 and changed.updated["reference_versions"] == 1
    db.session.expire_all()
    assert db.session.get(Operation, "zz_test.child").name == "Дочерняя, новое название"
    assert db.session.get(Operation, "zz_test.child").parent_id == "zz_test"
    assert db.session.get(Material, "zz_steel").grades == ["Ст3сп"]
