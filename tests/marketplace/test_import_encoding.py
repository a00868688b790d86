"""Issue 15, bad input in files: a CSV's encoding detected (charset-normalizer) or declared (--encoding), a broken
UTF-8 file refused with the line and the byte instead of imported as cp1251 mojibake; XLSX formula cells read from
their cached values or refused naming the cell; formula-like text escaped in the exports."""
from __future__ import annotations

import csv
import io
import zipfile

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from marketplace.importer.readers import ImportFileError, decode_csv
from marketplace.importer.service import ImportRejected, import_file
from marketplace.listings.models import Listing
from marketplace.organizations.models import Organization
from tests.marketplace.test_import import HEADER, rows_basic, write_xlsx


def csv_bytes(rows, encoding="utf-8", delimiter=",") -> bytes:
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=HEADER, delimiter=delimiter)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def counts(db):
    return (db.session.scalar(select(func.count()).select_from(Organization)),
            db.session.scalar(select(func.count()).select_from(Listing)))


@pytest.mark.parametrize("bad", [b"\xff", b"\x98"])
def test_one_bad_byte_in_utf8_is_refused_with_line_and_byte(db, tmp_path, bad):
    raw = csv_bytes(rows_basic())
    at = raw.index("Втулки".encode()) + 2  # inside the 5th line (row 5 of the spreadsheet)
    path = tmp_path / "broken.csv"
    path.write_bytes(raw[:at] + bad + raw[at:])
    before = counts(db)
    with pytest.raises(ImportFileError, match=rf"строка 5, байт \d+: 0x{bad[0]:02X}"):
        import_file(path)
    assert counts(db) == before  # nothing half-saved, and no mojibake


def test_cli_refuses_the_broken_file_with_exit_1(runner, tmp_path):
    raw = csv_bytes(rows_basic())
    at = raw.index("Амурмаш".encode())
    path = tmp_path / "broken.csv"
    path.write_bytes(raw[:at] + b"\xff" + raw[at:])
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code == 1
    assert "строка 2" in result.output and "0xFF" in result.output


@pytest.mark.parametrize("encoding", ["cp1251", "koi8_r"])
def test_legacy_encodings_are_detected(db, tmp_path, encoding):
    rows = [{k: v.replace("«", '"').replace("»", '"') for k, v in row.items()} for row in rows_basic()]
    path = tmp_path / "legacy.csv"
    path.write_bytes(csv_bytes(rows, encoding, ";"))  # koi8-r has no «»
    assert import_file(path).listings_created == 3
    assert db.session.scalar(select(Organization.name).where(Organization.name.like("%Амурмаш%"))) == 'ООО "Амурмаш"'
    assert db.session.scalar(select(Listing.title).where(Listing.external_id == "p-1")) == "Втулки бронзовые"


def test_declared_encoding_is_used_and_checked(db, runner, tmp_path):
    path = tmp_path / "declared.csv"
    path.write_bytes(csv_bytes(rows_basic(), "cp1251", ";"))
    with pytest.raises(ImportFileError, match=r"строка 2, байт \d+: 0x.. не читается в указанной кодировке utf-8"):
        import_file(path, encoding="utf-8")
    with pytest.raises(ImportFileError, match="неизвестная кодировка"):
        import_file(path, encoding="no-such")
    result = runner.invoke(args=["import", "--encoding", "cp1251", str(path)])
    assert result.exit_code == 0, result.output


def test_decode_keeps_utf8_and_its_bom():
    text = "type,title\nneed,Втулка «И»\n"
    assert decode_csv(text.encode(), "x.csv") == text
    assert decode_csv(b"\xef\xbb\xbf" + text.encode(), "x.csv") == text


def _xlsx_with_formula(tmp_path, cached: str | None):
    """A workbook whose description cell is a formula, with or without the value a spreadsheet program caches."""
    rows = rows_basic()
    rows[2]["description"] = "=1+1"
    path = write_xlsx(tmp_path / "formula.xlsx", rows)
    if cached is None:
        return path
    # openpyxl writes no cached values: add one to the sheet's XML as Excel would.
    with zipfile.ZipFile(path) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    assert "<f>1+1</f><v />" in sheet
    parts["xl/worksheets/sheet1.xml"] = sheet.replace("<f>1+1</f><v />", f"<f>1+1</f><v>{cached}</v>").encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return path


def test_xlsx_formula_without_cached_value_names_the_cell(db, tmp_path):
    before = counts(db)
    with pytest.raises(ImportRejected) as exc:
        import_file(_xlsx_with_formula(tmp_path, None))
    (error,) = exc.value.report.errors
    column = chr(ord("A") + HEADER.index("description"))
    assert error.row == 4 and f"{column}4 (=1+1)" in error.message
    assert counts(db) == before


def test_xlsx_formula_is_read_from_its_cached_value(db, tmp_path):
    import_file(_xlsx_with_formula(tmp_path, "2"))
    assert db.session.scalar(select(Listing.description).where(Listing.external_id == "cap-1")) == "2"


# Exports ----------------------------------------------------------------------------------------------------------

EVIL = '=HYPERLINK("http://evil.example/x","Открыть")'


def _gap(rank: int, name: str, unit: str):
    from marketplace.analytics.gaps import GapRow

    return GapRow(rank=rank, okpd2_class="25.62", name=name, needs=3, budget=1000.0, unmet_needs=2,
                  unmet_budget=-5.0, unmet_without_budget=0, unmet_quantity=2.0, unit=unit)


def test_formula_like_text_is_escaped_in_csv_and_xlsx_exports():
    from marketplace.analytics.export import gaps_csv, gaps_xlsx
    from marketplace.analytics.gaps import GapNeed, GapReport

    report = GapReport(scope="27", scope_name="Хабаровский край", level="local", needs=3, unmet_needs=2,
                       unmet_budget=1000.0, rows=(_gap(1, EVIL, "+7 деталь"), _gap(2, "@SUM(A1)", "шт")))
    need = GapNeed(id=1, title="-деталь", kind="purchase_request", organization_id=1, organization=EVIL,
                   region_code="27", okpd2_code="25.62.10", budget=None, quantity=1.0, unit="шт",
                   created_at="2026-12-01", best_tier=None)
    text = gaps_csv(report)
    assert "'=HYPERLINK" in text and "'+7 деталь" in text and "'@SUM(A1)" in text
    assert ";-5,0;" in text  # a negative number is a number, not a formula
    book = load_workbook(io.BytesIO(gaps_xlsx(report, {"25.62": [need]})))
    cells = [c for ws in book.worksheets for r in ws.iter_rows() for c in r]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    values = {c.value for c in cells}
    assert EVIL in values and "-деталь" in values and "@SUM(A1)" in values  # the text as typed, as text
    assert any(c.value == -5 and c.data_type == "n" for c in cells)
