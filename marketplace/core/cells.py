"""Spreadsheet cells from user text: what goes into an export never runs as a formula (CSV/formula injection).

A string that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return, which some spreadsheet programs
skip before reading a formula) is what Excel and LibreOffice may evaluate: ``=HYPERLINK("http://evil…")`` in a need's
title became a live link in the coordinator's workbook. In CSV such a value gets a leading apostrophe (the
spreadsheet convention for "this is text"); in XLSX the cell is written as a string with Excel's quote prefix, so the
text reads exactly as typed and stays text when edited. Numbers are left alone (``-5`` is a number, not a formula).
"""
from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def formula_like(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _is_number(value)


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", ".").replace(" ", ""))
    except ValueError:
        return False
    return text.strip() not in ("", "+", "-")


def csv_cell(value: Any) -> Any:
    """``value`` for a CSV export: formula-like text prefixed with an apostrophe."""
    return "'" + value if formula_like(value) else value


def escape_workbook(workbook: Any) -> int:
    """Make every formula-like string cell of an openpyxl ``workbook`` plain text (call before saving); exports
    write no formulas of their own. Returns how many cells were escaped."""
    escaped = 0
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f" or formula_like(cell.value):
                    cell.data_type = "s"
                    cell.quotePrefix = True
                    escaped += 1
    return escaped
