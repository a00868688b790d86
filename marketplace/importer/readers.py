"""Readers for the bulk import: CSV (UTF-8 or cp1251, comma or semicolon), XLSX and JSON Lines.

Each yields ``(row_number, record)`` where the row number is what a person sees in the file: the
spreadsheet row (the header is row 1) or the line number of a JSON Lines file.
"""
from __future__ import annotations

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


def read_records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    fmt = detect_format(path)
    if fmt == "csv":
        return _read_csv(path)
    if fmt == "xlsx":
        return _read_xlsx(path)
    return _read_jsonl(path)


def _normalise_header(name: Any) -> str:
    return str(name or "").strip().lower().replace(" ", "_").lstrip("\ufeff")


def _read_csv(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1251"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - cp1251 decodes any byte string
        raise ImportFileError(f"{path.name}: не удалось определить кодировку")
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
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for a broken file
        raise ImportFileError(f"{path.name}: не удалось прочитать XLSX ({exc})") from None
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        try:
            header = [_normalise_header(h) for h in next(rows)]
        except StopIteration:
            raise ImportFileError(f"{path.name}: лист пуст") from None
        _check_header(path, header)
        for number, values in enumerate(rows, start=2):
            if not any(v not in (None, "") for v in values):
                continue
            yield number, {h: v for h, v in zip(header, values, strict=False) if h}
    finally:
        workbook.close()


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
