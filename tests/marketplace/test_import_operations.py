"""``cosmos import`` with the columns ``operations``, ``material_ids`` and one per parameter key: stored like the
forms store them, re-import changes nothing, a bad value rejects the file naming its row and field."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import func, select

from marketplace.core.models import OutboxEvent
from marketplace.importer.service import ImportRejected, import_file
from marketplace.listings.models import Listing
from marketplace.operations.models import ListingOperation
from marketplace.organizations.validators import make_inn
from tests.fixtures.listing_operations import catalogue  # noqa: F401  (a fixture)

pytestmark = pytest.mark.usefixtures("catalogue")

INN = make_inn("272100077")
HEADER = ["type", "kind", "tax_id", "name", "region", "external_id", "title", "okved2", "quantity", "operations",
          "material_ids", "max_length_mm", "max_width_mm", "max_height_mm", "max_diameter_mm", "tolerance_it",
          "roughness_ra_um", "batch_min", "batch_max"]
ORG = {"type": "organization", "tax_id": INN, "name": "ООО «Окраска»", "region": "27", "kind": "manufacturer"}
POWDER = {"type": "offer", "kind": "capability", "tax_id": INN, "external_id": "op-1",
          "title": "Порошковая окраска, камера 6×2×2 м, сталь и алюминий", "operations": "coating.powder",
          "material_ids": "Ст3; алюминий", "max_length_mm": "6000", "max_width_mm": "2000", "max_height_mm": "2000"}
TURNING = {"type": "offer", "kind": "capability", "tax_id": INN, "external_id": "op-2", "title": "Токарка",
           "operations": "machining.turning; coating.zinc.hot_dip", "max_diameter_mm": "400", "tolerance_it": "7",
           "roughness_ra_um": "0,8", "batch_min": "10", "batch_max": "500"}
NEED = {"type": "need", "kind": "missing_operation", "tax_id": INN, "external_id": "n-1", "title": "Нужно цинкование",
        "operations": "coating.zinc.hot_dip", "material_ids": "steel", "max_length_mm": "12000", "quantity": "40"}


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return path


def listing(db, external_id: str) -> Listing:
    return db.session.scalars(select(Listing).where(Listing.external_id == external_id)).one()


def test_import_stores_operations_and_parameters_and_reimport_changes_nothing(db, tmp_path):
    path = write_csv(tmp_path / "ops.csv", [ORG, POWDER, TURNING, NEED])
    report = import_file(path)
    assert report.listings_created == 3
    powder = listing(db, "op-1")
    assert powder.operation_ids == ["coating.powder"]
    assert powder.parameters == {"materials": ["steel.carbon", "aluminium"], "max_length_mm": 6000.0,
                                 "max_width_mm": 2000.0, "max_height_mm": 2000.0}
    assert powder.okved2_codes == ["25.61"] and powder.okpd2_codes == ["25.61.1"]
    turning = listing(db, "op-2")
    assert turning.operation_ids == ["machining.turning", "coating.zinc.hot_dip"]
    assert turning.parameters == {"max_diameter_mm": 400.0, "tolerance_it": 7, "roughness_ra_um": 0.8,
                                  "batch_min": 10, "batch_max": 500}
    assert turning.okpd2_codes == ["25.61.11.111"] and turning.okved2_codes == ["25.62", "25.61"]
    need = listing(db, "n-1")
    assert need.operation_ids == ["coating.zinc.hot_dip"] and need.parameters["materials"] == ["steel"]

    outbox = db.session.scalar(select(func.count(OutboxEvent.id)))
    again = import_file(path)
    assert again.listings_unchanged == 3 and again.listings_updated == 0
    assert db.session.scalar(select(func.count(OutboxEvent.id))) == outbox

    changed = dict(TURNING, operations="machining.turning", tolerance_it="8")
    report = import_file(write_csv(tmp_path / "changed.csv", [ORG, POWDER, changed, NEED]))
    assert report.listings_updated == 1 and report.listings_unchanged == 2
    db.session.expire_all()
    turning = listing(db, "op-2")
    assert turning.operation_ids == ["machining.turning"] and turning.parameters["tolerance_it"] == 8
    assert db.session.scalar(select(func.count(ListingOperation.listing_id))) == 3


@pytest.mark.parametrize(("row", "field", "words"), [
    (dict(POWDER, operations="coating.powder; painting"), "operations", "неизвестная операция «painting»"),
    (dict(POWDER, material_ids="Ст3; адамантий"), "material_ids", "нет в списке материалов: «адамантий»"),
    (dict(POWDER, max_length_mm="-6000"), "max_length_mm", "наибольшая длина: должно быть больше 0"),
    (dict(TURNING, tolerance_it="25"), "tolerance_it", "не больше 18"),
    (dict(TURNING, roughness_ra_um="много"), "roughness_ra_um", "ожидается число"),
    (dict(POWDER, tolerance_it="7"), "tolerance_it", "не относится ни к одной из выбранных операций"),
    (dict(NEED, batch_max="100"), "batch_max", "в потребности не указывается"),
])
def test_a_bad_value_rejects_the_file_naming_row_and_field(db, tmp_path, row, field, words):
    path = write_csv(tmp_path / "bad.csv", [ORG, TURNING, row])
    with pytest.raises(ImportRejected) as excinfo:
        import_file(path)
    errors = excinfo.value.report.errors
    assert [(e.row, e.field) for e in errors] == [(4, field)], errors
    assert words in errors[0].message and str(errors[0]).startswith(f"строка 4: {field}: ")
    assert db.session.scalar(select(func.count(Listing.id)).where(Listing.external_id.in_(["op-1", "op-2", "n-1"]))) == 0
