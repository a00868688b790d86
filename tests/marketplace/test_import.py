import csv
import json
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from marketplace.core.models import OutboxEvent
from marketplace.importer.readers import ImportFileError
from marketplace.importer.service import ImportRejected, import_file
from marketplace.listings.models import Capability, Listing, ListingKind, TenderLot
from marketplace.organizations.models import Organization
from marketplace.organizations.validators import make_inn
from marketplace.tenders.models import Tender

HEADER = ["type", "kind", "country", "tax_id", "ogrn", "name", "region", "town", "external_id", "title", "description",
          "okpd2", "okved2", "quantity", "unit", "price", "starts_on", "ends_on", "capacity_per_month",
          "lead_time_days", "certifications"]
KHV_INN = make_inn("272100001")
PRIM_INN = make_inn("254000002")


def rows_basic():
    return [
        {"type": "organization", "country": "RU", "tax_id": KHV_INN, "ogrn": "1022701128295", "name": "ООО «Амурмаш»",
         "region": "27", "town": "Комсомольск-на-Амуре", "kind": "manufacturer"},
        {"type": "organization", "tax_id": PRIM_INN, "name": "АО «Владлит»", "region": "25", "kind": "both"},
        {"type": "offer", "kind": "capability", "tax_id": KHV_INN, "external_id": "cap-1",
         "title": "Токарная обработка деталей", "okved2": "25.62", "okpd2": "25.62.10", "capacity_per_month": "500",
         "lead_time_days": "14", "certifications": "ISO 9001; ГОСТ РВ 0015-002"},
        {"type": "offer", "kind": "product", "tax_id": PRIM_INN, "external_id": "p-1", "title": "Втулки бронзовые",
         "okpd2": "25.99.29", "quantity": "1 000,5", "unit": "шт", "price": "120,50"},
        {"type": "need", "kind": "missing_operation", "tax_id": PRIM_INN, "external_id": "n-1",
         "title": "Нужна термообработка", "okved2": "25.61", "quantity": "200", "unit": "шт",
         "starts_on": "2026-12-01", "ends_on": "15.01.2027", "region": "27"},
    ]


def write_csv(path: Path, rows, header=HEADER, delimiter=","):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, rows, header=HEADER):
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append([row.get(h) for h in header])
    wb.save(path)
    return path


def write_jsonl(path: Path, rows):
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


def snapshot(db):
    listings = db.session.execute(select(Listing.id, Listing.external_id, Listing.title, Listing.quantity,
                                         Listing.updated_at).order_by(Listing.id)).all()
    orgs = db.session.execute(select(Organization.id, Organization.name, Organization.updated_at)
                              .order_by(Organization.id)).all()
    return listings, orgs


@pytest.mark.parametrize("writer,suffix", [(write_csv, "csv"), (write_xlsx, "xlsx"), (write_jsonl, "jsonl")])
def test_import_each_format(db, tmp_path, writer, suffix):
    path = writer(tmp_path / f"data.{suffix}", rows_basic())
    report = import_file(path)
    assert (report.organizations_created, report.listings_created) == (2, 3)
    cap = db.session.scalar(select(Capability).where(Capability.external_id == "cap-1"))
    assert cap.organization.tax_id == KHV_INN and cap.organization.ogrn == "1022701128295"
    assert cap.region_code == "27" and cap.town.name == "Комсомольск-на-Амуре"  # from the organization
    assert cap.okved2_codes == ["25.62"] and cap.okpd2_codes == ["25.62.10"]
    assert cap.capacity_per_month == 500 and cap.lead_time_days == 14
    assert cap.certifications == ["ISO 9001", "ГОСТ РВ 0015-002"]
    product = db.session.scalar(select(Listing).where(Listing.external_id == "p-1"))
    assert float(product.quantity) == 1000.5 and float(product.price) == 120.5
    need = db.session.scalar(select(Listing).where(Listing.external_id == "n-1"))
    assert need.kind == ListingKind.MISSING_OPERATION and need.side == "need"
    assert need.region_code == "27"  # delivery region differs from the organization's (25)
    assert need.ends_on.isoformat() == "2027-01-15"
    # every new listing is handed to the search index through the outbox, in the same transaction
    assert db.session.scalar(select(func.count(OutboxEvent.id)).where(OutboxEvent.processed_at.is_(None))) >= 3


def test_reimport_changes_nothing_and_a_changed_row_is_updated(db, tmp_path):
    rows = rows_basic()
    import_file(write_csv(tmp_path / "a.csv", rows))
    before = snapshot(db)
    outbox_before = db.session.scalar(select(func.count(OutboxEvent.id)))
    report = import_file(write_csv(tmp_path / "a.csv", rows))
    assert (report.listings_created, report.listings_updated, report.listings_unchanged) == (0, 0, 3)
    assert (report.organizations_created, report.organizations_updated, report.organizations_unchanged) == (0, 0, 2)
    assert snapshot(db) == before
    assert db.session.scalar(select(func.count(OutboxEvent.id))) == outbox_before

    rows[3]["title"] = "Втулки бронзовые БрАЖ9-4"
    rows[2]["okpd2"] = "25.62.20"
    report = import_file(write_csv(tmp_path / "b.csv", rows))
    assert (report.listings_created, report.listings_updated, report.listings_unchanged) == (0, 2, 1)
    db.session.expire_all()
    assert db.session.scalar(select(Listing.title).where(Listing.external_id == "p-1")) == "Втулки бронзовые БрАЖ9-4"
    cap = db.session.scalar(select(Listing).where(Listing.external_id == "cap-1"))
    assert cap.okpd2_codes == ["25.62.20"]


BAD_ROWS = [
    ({"tax_id": "2721000012"}, 2, "tax_id", "контрольная сумма"),
    ({"region": "99"}, 2, "region", "неизвестный код субъекта"),
    ({"name": ""}, 2, "name", "обязательное поле"),
    ({"ogrn": "1027700132196"}, 2, "ogrn", "контрольная сумма ОГРН"),
    ({"ogrn": "10277001321"}, 2, "ogrn", "13 цифр"),
    ({"tax_id": "27210846"}, 2, "tax_id", "10 или 12 цифр"),
    ({"kind": "factory"}, 2, "kind", ""),
    ({"town": "Атлантида"}, 2, "town", ""),
]


@pytest.mark.parametrize("change,row,field,reason", BAD_ROWS)
def test_bad_organization_rows_reject_the_file(db, tmp_path, change, row, field, reason):
    rows = rows_basic()
    rows[0] = {**rows[0], **change}
    with pytest.raises(ImportRejected) as excinfo:
        import_file(write_csv(tmp_path / "bad.csv", rows))
    errors = excinfo.value.report.errors
    assert any(e.row == row and e.field == field and reason in e.message for e in errors), errors
    assert db.session.scalar(select(func.count(Organization.id))) == 0
    assert db.session.scalar(select(func.count(Listing.id))) == 0


def test_every_bad_row_is_reported_and_nothing_is_saved(db, tmp_path):
    rows = rows_basic()
    rows[2]["okved2"] = "99.99"  # unknown ОКВЭД2
    rows[3]["quantity"] = "-5"  # negative quantity
    rows[4]["starts_on"] = "2027-02-01"  # after ends_on
    rows.append({"type": "offer", "kind": "product", "tax_id": PRIM_INN, "external_id": "", "title": "Без id"})
    rows.append({"type": "offer", "kind": "tender_lot", "tax_id": PRIM_INN, "external_id": "x", "title": "Не то"})
    with pytest.raises(ImportRejected) as excinfo:
        import_file(write_csv(tmp_path / "bad.csv", rows, header=HEADER))
    got = {(e.row, e.field) for e in excinfo.value.report.errors}
    assert {(4, "okved2"), (5, "quantity"), (6, "ends_on"), (7, "external_id"), (8, "kind")} <= got
    messages = {(e.row, e.field): e.message for e in excinfo.value.report.errors}
    assert "неизвестный код ОКВЭД2" in messages[(4, "okved2")]
    assert "отрицательным" in messages[(5, "quantity")]
    assert db.session.scalar(select(func.count(Organization.id))) == 0


def test_skip_invalid_imports_the_good_rows(db, tmp_path):
    rows = rows_basic()
    rows[3]["okpd2"] = "00.00.00"
    report = import_file(write_csv(tmp_path / "bad.csv", rows), skip_invalid=True)
    assert report.skipped_rows == 1 and report.listings_created == 2
    assert [(e.row, e.field) for e in report.errors] == [(5, "okpd2")]


def test_listing_of_an_unknown_organization_is_an_error(db, tmp_path):
    rows = [r for r in rows_basic() if r["type"] != "organization"]
    with pytest.raises(ImportRejected) as excinfo:
        import_file(write_csv(tmp_path / "orphans.csv", rows))
    assert {e.field for e in excinfo.value.report.errors} == {"tax_id"}
    assert len(excinfo.value.report.errors) == 3


def test_duplicates_inside_a_file_are_errors(db, tmp_path):
    rows = rows_basic()
    rows.append(dict(rows[2]))
    rows.append(dict(rows[0]))
    with pytest.raises(ImportRejected) as excinfo:
        import_file(write_jsonl(tmp_path / "dup.jsonl", rows))
    got = {(e.row, e.field) for e in excinfo.value.report.errors}
    assert got == {(6, "external_id"), (7, "tax_id")}


def test_unknown_columns_and_wrong_kind_fields_are_named(db, tmp_path):
    rows = rows_basic()
    rows[3]["colour"] = "синий"
    rows[3]["capacity_per_month"] = "10"  # belongs to capabilities, not products
    with pytest.raises(ImportRejected) as excinfo:
        import_file(write_jsonl(tmp_path / "x.jsonl", rows))
    assert {(e.row, e.field) for e in excinfo.value.report.errors} == {(4, "colour"), (4, "capacity_per_month")}


def test_broken_jsonl_line_is_reported_with_its_number(db, tmp_path):
    path = write_jsonl(tmp_path / "x.jsonl", rows_basic())
    path.write_text(path.read_text(encoding="utf-8") + "{not json\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as excinfo:
        import_file(path)
    assert [e.row for e in excinfo.value.report.errors] == [6]


def test_unsupported_file_type_and_missing_header(db, tmp_path):
    with pytest.raises(ImportFileError, match="неподдерживаемый тип"):
        import_file(write_csv(tmp_path / "x.txt", rows_basic()))
    (tmp_path / "nohead.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="type"):
        import_file(tmp_path / "nohead.csv")


def test_semicolon_cp1251_csv_from_excel(db, tmp_path):
    path = tmp_path / "excel.csv"
    with open(path, "w", newline="", encoding="cp1251") as fh:
        writer = csv.DictWriter(fh, fieldnames=HEADER, delimiter=";")
        writer.writeheader()
        writer.writerows(rows_basic())
    report = import_file(path)
    assert report.listings_created == 3


def test_tender_lots_create_their_tender_once(db, tmp_path):
    rows = rows_basic()[:2] + [
        {"type": "need", "kind": "tender_lot", "tax_id": PRIM_INN, "external_id": f"lot-{i}", "title": f"Лот {i}",
         "okpd2": "25.62.10", "quantity": "10", "tender": "T-1", "tender_title": "Поставка деталей", "lot_number": i}
        for i in (1, 2)]
    header = HEADER + ["tender", "tender_title", "lot_number"]
    import_file(write_csv(tmp_path / "t.csv", rows, header=header))
    import_file(write_csv(tmp_path / "t.csv", rows, header=header))
    tenders = db.session.scalars(select(Tender)).all()
    assert len(tenders) == 1 and tenders[0].title == "Поставка деталей"
    assert [lot.lot_number for lot in tenders[0].lots] == [1, 2]
    assert all(isinstance(lot, TenderLot) for lot in tenders[0].lots)


def test_foreign_organization(db, tmp_path):
    rows = [{"type": "organization", "country": "BY", "tax_id": "190000001", "name": "ОАО «МЗШ»",
             "kind": "manufacturer"},
            {"type": "offer", "kind": "product", "country": "BY", "tax_id": "190000001", "external_id": "by-1",
             "title": "Шестерни", "okpd2": "28.15.2"}]
    import_file(write_jsonl(tmp_path / "by.jsonl", rows))
    listing = db.session.scalar(select(Listing).where(Listing.external_id == "by-1"))
    assert listing.country_code == "BY" and listing.region_code is None and listing.lat is not None
    rows[0]["region"] = "27"
    with pytest.raises(ImportRejected) as excinfo:
        import_file(write_jsonl(tmp_path / "by2.jsonl", rows))
    assert [(e.row, e.field) for e in excinfo.value.report.errors] == [(1, "region")]


def test_ten_thousand_rows_twice_leave_the_same_rows(db, tmp_path):
    rows = []
    for o in range(200):
        inn = make_inn(f"27{o:07d}")
        rows.append({"type": "organization", "tax_id": inn, "name": f"Завод {o}", "region": "27", "kind": "both"})
        for i in range(49):
            rows.append({"type": "offer" if i % 2 else "need", "kind": "product" if i % 2 else "purchase_request",
                         "tax_id": inn, "external_id": f"{o}-{i}", "title": f"Изделие {o}-{i}", "okpd2": "25.62.10",
                         "quantity": str(i + 1), "unit": "шт"})
    assert len(rows) == 10_000
    path = write_csv(tmp_path / "big.csv", rows)
    first = import_file(path)
    assert first.listings_created == 9800 and first.organizations_created == 200
    before = snapshot(db)
    second = import_file(path)
    assert second.listings_unchanged == 9800 and second.listings_created == second.listings_updated == 0
    assert snapshot(db) == before


def test_import_cli_reports_bad_rows_and_exits_non_zero(runner, tmp_path):
    rows = rows_basic()
    rows[0]["tax_id"] = "1234567890"
    result = runner.invoke(args=["import", str(write_csv(tmp_path / "bad.csv", rows))])
    assert result.exit_code == 1
    assert "строка 2: tax_id: неверная контрольная сумма ИНН" in result.output
    assert "Ничего не импортировано" in result.output


def test_import_cli_json(runner, tmp_path):
    result = runner.invoke(args=["import", "--json", str(write_csv(tmp_path / "ok.csv", rows_basic()))])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["imported"] is True and report["listings_created"] == 3


def test_import_cli_shows_progress_and_json_stays_clean(runner, tmp_path):
    path = write_csv(tmp_path / "ok.csv", rows_basic())
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code == 0, result.output
    assert "Проверка" in result.stderr  # the progress bar over the rows, on stderr
    result = runner.invoke(args=["import", "--json", str(path)])
    assert "Проверка" not in result.output and json.loads(result.stdout.strip().splitlines()[-1])["imported"]


def test_import_cli_skip_invalid_reports_and_imports_the_rest(runner, db, tmp_path):
    rows = rows_basic()
    rows[3]["quantity"] = "-1"
    path = write_csv(tmp_path / "bad.csv", rows)
    result = runner.invoke(args=["import", "--json", str(path)])
    assert result.exit_code == 1
    rejected = json.loads(result.stdout.strip().splitlines()[-1])
    assert rejected["imported"] is False
    assert [(e["row"], e["field"]) for e in rejected["errors"]] == [(5, "quantity")]
    assert db.session.scalar(select(func.count(Listing.id))) == 0

    result = runner.invoke(args=["import", "--json", "--skip-invalid", str(path)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["listings_created"] == 2 and report["skipped_rows"] == 1
    assert db.session.scalar(select(func.count(Listing.id))) == 2
