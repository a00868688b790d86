"""Loading the reference data shipped in ``refdata/data`` (see its SOURCES.md): idempotent upserts."""
from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update

from marketplace.classifiers.models import ClassifierCode, code_level
from marketplace.extensions import db
from marketplace.geo.models import Country, FederalDistrict, Region, Town

log = logging.getLogger(__name__)
DATA_DIR = Path(__file__).parent / "data"


@dataclass
class LoadReport:
    """Rows inserted and updated per table; both are zero when the database already holds the same data."""

    inserted: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    total: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(self.inserted.values()) or any(self.updated.values())


def _rows(name: str, data_dir: Path) -> Iterator[dict[str, str]]:
    with open(data_dir / name, encoding="utf-8", newline="") as fh:
        yield from csv.DictReader(fh)


def _upsert(model: type, key: tuple[str, ...], rows: list[dict[str, Any]], report: LoadReport) -> None:
    """Insert new rows and update changed ones, comparing with what the table holds."""
    table = model.__table__
    cols = list(rows[0].keys()) if rows else []
    existing = {tuple(r[k] for k in key): r for r in db.session.execute(select(*[table.c[c] for c in cols])).mappings()}
    new, changed = [], []
    for row in rows:
        current = existing.get(tuple(row[k] for k in key))
        if current is None:
            new.append(row)
        elif any(current[c] != row[c] for c in cols):
            changed.append(row)
    for start in range(0, len(new), 2000):
        db.session.execute(insert(table), new[start:start + 2000])
    for row in changed:
        db.session.execute(update(table).where(*[table.c[k] == row[k] for k in key]).values(**row))
    name = table.name
    report.inserted[name] = len(new)
    report.updated[name] = len(changed)
    report.total[name] = len(rows)


def _float(value: str) -> float | None:
    return float(value) if value not in ("", None) else None


def load_reference_data(data_dir: Path = DATA_DIR, progress: Callable[[str], None] | None = None) -> LoadReport:
    """Load countries, federal districts, regions, towns, ОКПД2, ОКВЭД2, the operations catalogue and the materials
    list; the caller commits."""
    report = LoadReport()
    say = progress or (lambda _msg: None)

    say("страны")
    _upsert(Country, ("iso2",), [
        {"iso2": r["iso2"], "iso3": r["iso3"], "name": r["name"], "lat": _float(r["lat"]), "lon": _float(r["lon"]),
         "eaeu": r["eaeu"] == "1", "unfriendly": r["unfriendly"] == "1"} for r in _rows("countries.csv", data_dir)
    ], report)
    say("федеральные округа")
    _upsert(FederalDistrict, ("code",), [
        {"code": r["code"], "name": r["name"], "centre": r["centre"]} for r in _rows("federal_districts.csv", data_dir)
    ], report)
    say("субъекты РФ")
    _upsert(Region, ("code",), [
        {"code": r["code"], "iso": r["iso"] or None, "name": r["name"], "district_code": r["federal_district"],
         "centre": r["centre"], "lat": float(r["lat"]), "lon": float(r["lon"]), "timezone": r["timezone"] or None}
        for r in _rows("regions.csv", data_dir)
    ], report)
    say("города")
    towns, seen = [], set()
    for r in _rows("cities.csv", data_dir):
        key = (r["region_code"], r["name"])
        if key in seen:  # a handful of towns share a name inside one subject; keep the first (the larger)
            continue
        seen.add(key)
        towns.append({"name": r["name"], "region_code": r["region_code"], "lat": float(r["lat"]),
                      "lon": float(r["lon"]), "population": int(r["population"]) if r["population"] else None})
    _upsert(Town, ("region_code", "name"), towns, report)
    for scheme, filename in (("okpd2", "okpd2.csv"), ("okved2", "okved2.csv")):
        say(scheme.upper())
        rows = [{"scheme": scheme, "code": r["code"], "name": r["name"], "parent_code": r["parent"] or None,
                 "section": r["section"], "level": code_level(r["code"])} for r in _rows(filename, data_dir)]
        rows.sort(key=lambda row: row["level"])  # parents before children for the self-referencing key
        _upsert_scheme(scheme, rows, report)
    say("операции и материалы")
    from marketplace.operations.catalogue import MATERIALS_FILE, OPERATIONS_DIR
    from marketplace.operations.loader import load_operations
    from matching.operations import OperationCatalogue

    load_operations(OperationCatalogue.load(data_dir / OPERATIONS_DIR.name, data_dir / MATERIALS_FILE.name)
                    if data_dir != DATA_DIR else _shipped_catalogue(), report)
    db.session.flush()
    log.info("reference data loaded: inserted %s, updated %s", report.inserted, report.updated)
    return report


def _shipped_catalogue():
    from marketplace.operations.catalogue import get_catalogue

    return get_catalogue()


def _upsert_scheme(scheme: str, rows: list[dict[str, Any]], report: LoadReport) -> None:
    table = ClassifierCode.__table__
    cols = ["name", "parent_code", "section", "level"]
    existing = {r.code: r for r in db.session.execute(
        select(table.c.code, *[table.c[c] for c in cols]).where(table.c.scheme == scheme))}
    new = [r for r in rows if r["code"] not in existing]
    changed = [r for r in rows if r["code"] in existing and any(getattr(existing[r["code"]], c) != r[c] for c in cols)]
    for start in range(0, len(new), 2000):
        db.session.execute(insert(table), new[start:start + 2000])
    for row in changed:
        db.session.execute(update(table).where(table.c.scheme == scheme, table.c.code == row["code"])
                           .values(**{c: row[c] for c in cols}))
    report.inserted[scheme] = len(new)
    report.updated[scheme] = len(changed)
    report.total[scheme] = len(rows)
