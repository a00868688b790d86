"""Readers for the bulk import: CSV (UTF-8, or a legacy encoding detected by charset-normalizer or declared by
the user; comma, semicolon or tab), XLSX and JSON Lines.

Each yields ``(row_number, record)`` where the row number is what a person sees in the file: the
spreadsheet row (the header is row 1) or the line number of a JSON Lines file.
"""
from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SUPPORTED = {".csv": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".jsonl": "jsonl", ".ndjson": "jsonl"}


class ImportFileError(ValueError):
    """The file as a whole cannot be read: wrong type, broken encoding, no header."""


def detect_format(path: Path) -> str:
    try:
        return SUPPORTED[path.suffix.lower()]
    except KeyError:
        raise ImportFileError(
            f"{path.name}: неподдерживаемый тип файла {path.suffix or '(без расширения)'}; "
            "ожидается .csv, .xlsx или .jsonl") from None


def read_records(path: Path, *, encoding: str | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """The file's records; ``encoding`` (CSV only) is the user's declaration, else it is detected."""
    fmt = detect_format(path)
    if fmt == "csv":
        return _read_csv(path, encoding)
    if fmt == "xlsx":
        return _read_xlsx(path)
    return _read_jsonl(path)


# Legacy encodings a Russian CSV comes in; detection chooses among these (and UTF-8) only.
LEGACY_ENCODINGS = ("cp1251", "koi8_r", "cp866", "mac_cyrillic", "iso8859_5")


def decode_csv(raw: bytes, name: str, encoding: str | None = None) -> str:
    """The text of a CSV file. A declared ``encoding`` is used strictly. Otherwise UTF-8 (with or without a BOM);
    a file that is UTF-8 except for some bytes is refused with the line and the byte (re-reading it in another
    encoding would import mojibake); anything else is decoded in the encoding charset-normalizer finds."""
    if encoding:
        try:
            codec = codecs.lookup(encoding).name
        except LookupError:
            raise ImportFileError(f"{name}: неизвестная кодировка {encoding!r}") from None
        return _strict(raw, codec, name, declared=True)
    if raw.startswith(codecs.BOM_UTF8):
        return _strict(raw[len(codecs.BOM_UTF8):], "utf-8", name)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if _mostly_utf8(raw):
        return _strict(raw, "utf-8", name)
    from charset_normalizer import from_bytes

    best = from_bytes(raw, cp_isolation=list(LEGACY_ENCODINGS)).best()
    if best is None:
        raise ImportFileError(f"{name}: не удалось определить кодировку; укажите её (--encoding cp1251)")
    return _strict(raw, best.encoding, name)


def _mostly_utf8(raw: bytes) -> bool:
    """Most non-ASCII bytes form valid UTF-8 sequences: a UTF-8 file with a few broken bytes, not cp1251."""
    non_ascii = sum(1 for b in raw if b >= 0x80)
    valid = sum(len(ch.encode("utf-8")) for ch in raw.decode("utf-8", errors="ignore") if ord(ch) >= 0x80)
    return non_ascii > 0 and valid * 2 > non_ascii


def _strict(raw: bytes, codec: str, name: str, *, declared: bool = False) -> str:
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        how = "в указанной кодировке" if declared else "в кодировке"
        raise ImportFileError(
            f"{name}: строка {line}, байт {column}: 0x{raw[exc.start]:02X} не читается {how} {codec}; "
            "исправьте этот символ или укажите кодировку файла (--encoding)") from None


def _normalise_header(name: Any) -> str:
    return str(name or "").strip().lower().replace(" ", "_").lstrip("\ufeff")


def _read_csv(path: Path, encoding: str | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    text = decode_csv(path.read_bytes(), path.name, encoding)
    # The header names the columns without quoting, so its most frequent separator is the file's delimiter.
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [_normalise_header(h) for h in next(reader)]
    except StopIteration:
        raise ImportFileError(f"{path.name}: файл пуст") from None
    _check_header(path, header)
    for number, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        yield number, dict(zip(header, values, strict=False))


def _read_xlsx(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Cell values as the spreadsheet last computed them. A formula cell is read from its cached value; one without
    (a file written by a program that does not compute formulas) makes its row an error that names the cell, rather
    than an empty value read silently."""
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
        formulas = load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises several unrelated types for a broken file
        raise ImportFileError(f"{path.name}: не удалось прочитать XLSX ({exc})") from None
    try:
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        cells = formulas.worksheets[0].iter_rows()
        try:
            header = [_normalise_header(h) for h in next(rows)]
            next(cells, None)
        except StopIteration:
            raise ImportFileError(f"{path.name}: лист пуст") from None
        _check_header(path, header)
        for number, values in enumerate(rows, start=2):
            raw_cells = next(cells, ())
            missing = [f"{get_column_letter(i + 1)}{number} ({cell.value})"
                       for i, cell in enumerate(raw_cells)
                       if getattr(cell, "data_type", None) == "f" and (i >= len(values) or values[i] is None)]
            if missing:
                yield number, {"__error__": "формула без вычисленного значения в ячейке " + ", ".join(missing)
                               + "; откройте и сохраните файл в Excel или LibreOffice либо замените формулу "
                               "значением"}
                continue
            if not any(v not in (None, "") for v in values):
                continue
            yield number, {h: v for h, v in zip(header, values, strict=False) if h}
    finally:
        workbook.close()
        formulas.close()


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with open(path, encoding="utf-8-sig") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, {"__error__": f"строка не является JSON: {exc.msg}"}
                continue
            if not isinstance(record, dict):
                yield number, {"__error__": "строка должна быть JSON-объектом"}
                continue
            yield number, {_normalise_header(k): v for k, v in record.items()}


def _check_header(path: Path, header: list[str]) -> None:
    if "type" not in header:
        raise ImportFileError(f"{path.name}: в заголовке нет обязательной колонки type")
    seen = set()
    for name in header:
        if name and name in seen:
            raise ImportFileError(f"{path.name}: колонка {name} повторяется в заголовке")
        seen.add(name)
