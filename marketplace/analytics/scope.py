"""Scopes of coordinator analytics (a subject of the Federation, a federal district, Russia) and SQL helpers.

Every aggregate is computed per region in SQL (``GROUP BY region_code``) and rolled up to districts and the
country in Python from those few rows, so one pass over the tables serves all 98 scopes.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Integer, case, cast, func, select
from sqlalchemy.sql.elements import ColumnElement

from marketplace.extensions import db
from marketplace.geo.models import FederalDistrict, Region
from matching.geo import ProcurementTier

COUNTRY = "RU"
# Tier labels in the charter's order; a stored match's ``tier`` is one of these.
TIERS = ProcurementTier.labels()
TIER_TITLES_RU = {
    "local": "свой регион",
    "district": "свой федеральный округ",
    "national": "Россия",
    "eaeu": "ЕАЭС",
    "friendly": "дружественные страны",
    "excluded": "страны перечня 430-р",
}
# Gap levels: "no acceptable supplier within …"; the value is the worst tier that still closes the gap.
GAP_LEVELS = {"local": 1, "district": 2, "national": 3}
GAP_LEVEL_TITLES_RU = {
    "local": "нет поставщика в регионе",
    "district": "нет поставщика в федеральном округе",
    "national": "нет поставщика в России",
}
NO_TIER = len(TIERS) + 1  # rank of "no acceptable match at all"


class UnknownScope(LookupError):
    pass


@dataclass(frozen=True)
class Scope:
    """What a report covers: ``kind`` is "region", "district" or "country"; ``code`` is "27", "FEFD" or "RU"."""

    kind: str
    code: str
    name: str
    regions: tuple[str, ...]  # the region codes inside; every region for the country

    @property
    def district_code(self) -> str | None:
        return self.code if self.kind == "district" else None

    def contains(self, region_code: str | None) -> bool:
        return self.kind == "country" or region_code in self.regions


@dataclass(frozen=True)
class Geography:
    """Regions and districts, read once: ``region → district`` and names."""

    region_district: dict[str, str]
    region_names: dict[str, str]
    district_names: dict[str, str]

    @classmethod
    def load(cls) -> Geography:
        regions = db.session.execute(select(Region.code, Region.district_code, Region.name)).all()
        districts = db.session.execute(select(FederalDistrict.code, FederalDistrict.name)).all()
        return cls({r.code: r.district_code for r in regions}, {r.code: r.name for r in regions},
                   {d.code: d.name for d in districts})

    def scope(self, code: str) -> Scope:
        code = code.strip()
        if code.upper() == COUNTRY:
            return Scope("country", COUNTRY, "Россия", tuple(sorted(self.region_names)))
        if code in self.region_names:
            return Scope("region", code, self.region_names[code], (code,))
        upper = code.upper()
        if upper in self.district_names:
            regions = tuple(sorted(r for r, d in self.region_district.items() if d == upper))
            return Scope("district", upper, f"{self.district_names[upper]} федеральный округ", regions)
        raise UnknownScope(f"unknown scope {code!r}: a region code (27), a federal district (FEFD) or RU")

    def all_scopes(self) -> list[Scope]:
        return ([self.scope(COUNTRY)] + [self.scope(d) for d in sorted(self.district_names)]
                + [self.scope(r) for r in sorted(self.region_names)])

    def scopes_of(self, region_code: str | None) -> tuple[str, ...]:
        """The scope codes a region's rows roll up into: itself, its district and the country."""
        if region_code is None or region_code not in self.region_district:
            return (COUNTRY,)
        return (region_code, self.region_district[region_code], COUNTRY)


@dataclass(frozen=True)
class ValueCell:
    """Value of one region, month and tier as SQL hands it back (matched needs or awarded lots)."""

    region_code: str | None
    month: str
    tier: str
    value: float
    count: int
    without_value: int


def resolve_scope(code: str) -> Scope:
    return Geography.load().scope(code)


def tier_rank(column: ColumnElement) -> ColumnElement[int]:
    """1 for local … 6 for excluded, in SQL; anything unknown ranks after them."""
    return case({label: i for i, label in enumerate(TIERS, 1)}, value=column, else_=NO_TIER)


def region_filter(column: ColumnElement, scope: Scope) -> ColumnElement[bool] | None:
    """``column IN (scope's regions)``, or None for the whole country (no filter)."""
    if scope.kind == "country":
        return None
    return column.in_(scope.regions)


def year_month(column: ColumnElement) -> tuple[ColumnElement[int], ColumnElement[int]]:
    """Portable year and month of a timestamp (``EXTRACT`` on PostgreSQL, ``strftime`` on SQLite)."""
    return cast(func.extract("year", column), Integer), cast(func.extract("month", column), Integer)


def hours_between(later: ColumnElement, earlier: ColumnElement) -> ColumnElement[float]:
    """``later - earlier`` in hours, in SQL, on PostgreSQL and SQLite."""
    if db.session.get_bind().dialect.name == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 24.0
    return func.extract("epoch", later - earlier) / 3600.0


def floor_int(expr: ColumnElement[float]) -> ColumnElement[int]:
    """The integer part of a non-negative number (SQLite's CAST truncates; PostgreSQL's rounds, so floor first)."""
    if db.session.get_bind().dialect.name == "sqlite":
        return cast(expr, Integer)
    return cast(func.floor(expr), Integer)


def month_key(year: int, month: int) -> str:
    return f"{int(year):04d}-{int(month):02d}"


def month_range(months: Iterable[str]) -> list[str]:
    """Every month from the first to the last of ``months`` ("2026-01" … "2026-04"), so charts keep a time axis."""
    months = sorted(months)
    if not months:
        return []
    year, month = map(int, months[0].split("-"))
    out = []
    while (key := month_key(year, month)) <= months[-1]:
        out.append(key)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def money(value: object) -> float:
    return round(float(value or 0), 2)


def chunks(items: Iterable[str], size: int = 900) -> Iterable[list[str]]:
    batch: list[str] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
