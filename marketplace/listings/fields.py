"""The field rules of a listing, shared by the bulk import, the pages and the API.

``parse_listing_fields`` reads one record (a mapping of field name to raw value: a CSV cell, a form value or a JSON
value) for a known kind and returns the column values; every problem is reported on the ``FieldParser`` under the
field's name, so a form can show it next to its input and the importer can show it next to its row.

Reference data is looked up through a small interface: the importer passes one that holds every code in memory
(thousands of rows), a single form uses :class:`DbReference`, which asks the database only for what the record names.
"""
from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import func, select

from marketplace.core.validation import FieldParser, split_codes, split_list
from marketplace.listings.models import ListingKind
from marketplace.listings.operations_fields import (
    OPERATION_FIELDS,
    current_catalogue,
    fill_codes,
    parse_operation_fields,
)

SCHEME_TITLES_RU = {"okpd2": "ОКПД2", "okved2": "ОКВЭД2"}

LISTING_COMMON = {"type", "kind", "external_id", "tax_id", "country", "title", "description", "okpd2", "okved2",
                  "quantity", "unit", "price", "budget", "currency", "region", "town", "lead_time_days", "starts_on",
                  "ends_on", "certifications", "status", *OPERATION_FIELDS}
KIND_FIELDS: dict[ListingKind, set[str]] = {
    ListingKind.CAPABILITY: {"equipment", "materials", "capacity_per_month", "capacity_unit"},
    ListingKind.PRODUCT: {"min_lot", "stock"},
    ListingKind.SURPLUS: {"condition", "location"},
    ListingKind.EQUIPMENT_RENT: {"equipment_model", "rate_period"},
    ListingKind.TENDER_LOT: {"tender", "tender_title", "lot_number"},
    ListingKind.MISSING_OPERATION: {"frequency"},
    ListingKind.PURCHASE_REQUEST: {"mode"},
}
ALL_LISTING_FIELDS = LISTING_COMMON | set().union(*KIND_FIELDS.values())
# Kind-specific model columns (the import's "tender" and "tender_title" name a Tender, not a column).
KIND_COLUMNS = (ALL_LISTING_FIELDS - LISTING_COMMON) - {"tender", "tender_title"}
CHOICES = {
    "condition": {"new", "used", "needs_repair"},
    "rate_period": {"hour", "day", "week", "month"},
    "frequency": {"once", "monthly", "quarterly", "yearly"},
    "mode": {"buy", "rent"},
}
CHOICE_TITLES_RU = {
    "condition": {"new": "новое", "used": "б/у", "needs_repair": "требует ремонта"},
    "rate_period": {"hour": "час", "day": "сутки", "week": "неделя", "month": "месяц"},
    "frequency": {"once": "разово", "monthly": "ежемесячно", "quarterly": "ежеквартально", "yearly": "ежегодно"},
    "mode": {"buy": "покупка", "rent": "аренда"},
}


class Reference(Protocol):
    """What the field rules need to know about reference data."""

    def region_point(self, code: str) -> tuple[float, float] | None: ...

    def town(self, region_code: str, name: str) -> tuple[int, float, float] | None: ...

    def has_code(self, scheme: str, code: str) -> bool: ...

    def has_operation(self, op_id: str) -> bool: ...


class DbReference:
    """Reference lookups for one record at a time, straight from the database (cached per instance)."""

    def __init__(self) -> None:
        self._codes: dict[tuple[str, str], bool] = {}

    def region_point(self, code: str) -> tuple[float, float] | None:
        from marketplace.extensions import db
        from marketplace.geo.models import Region

        region = db.session.get(Region, code)
        return (region.lat, region.lon) if region else None

    def town(self, region_code: str, name: str) -> tuple[int, float, float] | None:
        from marketplace.extensions import db
        from marketplace.geo.models import Town

        wanted = normalize_town(name)
        for town in db.session.scalars(select(Town).where(Town.region_code == region_code,
                                                          func.lower(Town.name).in_({name.lower(), wanted}))):
            if normalize_town(town.name) == wanted:
                return town.id, town.lat, town.lon
        # SQLite's lower() folds ASCII only: compare the region's towns in Python when the SQL match missed.
        for town in db.session.scalars(select(Town).where(Town.region_code == region_code)):
            if normalize_town(town.name) == wanted:
                return town.id, town.lat, town.lon
        return None

    def has_code(self, scheme: str, code: str) -> bool:
        from marketplace.classifiers.models import ClassifierCode
        from marketplace.extensions import db

        key = (scheme, code)
        if key not in self._codes:
            self._codes[key] = db.session.get(ClassifierCode, key) is not None
        return self._codes[key]

    def has_operation(self, op_id: str) -> bool:
        from marketplace.extensions import db
        from marketplace.operations.models import Operation

        return db.session.get(Operation, op_id) is not None


def normalize_town(name: str) -> str:
    return name.strip().lower().replace("ё", "е")


def parse_place(p: FieldParser, record: Mapping[str, Any], ref: Reference, country: str, *,
                required_region: bool) -> tuple[str | None, int | None, float | None, float | None]:
    """Region (two-digit code of a subject of the Federation) and town of a Russian place, with its coordinates."""
    region = p.text("region", record.get("region"), max_length=3)
    if region and region.isdigit() and len(region) == 1:
        region = "0" + region
    if country != "RU":
        if region:
            p.error("region", "указывается только для организаций из России")
        point = ref.country_point(country) if hasattr(ref, "country_point") else (None, None)
        return None, None, point[0], point[1]
    if not region:
        if required_region:
            p.error("region", "обязательное поле для организаций из России")
        return None, None, None, None
    point = ref.region_point(region)
    if point is None:
        p.error("region", f"неизвестный код субъекта РФ {region!r}")
        return None, None, None, None
    town_name = p.text("town", record.get("town"), max_length=200)
    lat, lon = point
    town_id = None
    if town_name:
        town = ref.town(region, town_name)
        if town is None:
            p.error("town", f"город {town_name!r} не найден в субъекте {region}")
        else:
            town_id, lat, lon = town
    return region, town_id, lat, lon


def parse_codes(p: FieldParser, scheme: str, value: Any, ref: Reference) -> list[str]:
    codes: list[str] = []
    for code in split_codes(value):
        if not ref.has_code(scheme, code):
            p.error(scheme, f"неизвестный код {SCHEME_TITLES_RU.get(scheme, scheme)} {code!r}")
        elif code not in codes:
            codes.append(code)
    return codes


def parse_listing_fields(p: FieldParser, kind: ListingKind | None, record: Mapping[str, Any],
                         ref: Reference, catalogue: Any = None) -> dict[str, Any]:
    """Parse the common and kind-specific fields of a listing of ``kind``.

    Returns the column values (every kind-specific column, ``None`` where it does not apply), plus ``_codes``
    (``[(scheme, code), …]`` in order, the first of each scheme being the main one) and ``_region_given`` (False when
    the record names no place, so the caller puts the listing where its organization is), ``_operations`` (catalogue
    operation ids) and ``_parameters`` (``Listing.parameters``; see ``operations_fields``). Fields that belong to
    another kind are errors. ``kind=None`` (itself an error the caller reported) parses the common fields only.
    When the record names no ОКПД2 and no ОКВЭД2 code, its operations' codes are taken.
    """
    if kind is not None:
        for name in set(record) & (ALL_LISTING_FIELDS - LISTING_COMMON - KIND_FIELDS[kind]):
            if record.get(name) not in (None, ""):
                p.error(name, f"поле не относится к виду {kind.value}")
    title = p.text("title", record.get("title"), required=True, max_length=500)
    okpd2 = parse_codes(p, "okpd2", record.get("okpd2"), ref)
    okved2 = parse_codes(p, "okved2", record.get("okved2"), ref)
    operations, parameters = parse_operation_fields(p, kind, record, catalogue, getattr(ref, "has_operation", None))
    filled = [] if not operations or okpd2 or okved2 or any(e.field in ("okpd2", "okved2") for e in p.errors) \
        else fill_codes(operations, catalogue or current_catalogue(), ref.has_code)
    okpd2 += [c for s, c in filled if s == "okpd2"]
    okved2 += [c for s, c in filled if s == "okved2"]
    region, town_id, lat, lon = (None, None, None, None)
    if record.get("region") not in (None, ""):
        region, town_id, lat, lon = parse_place(p, record, ref, "RU", required_region=False)
    elif record.get("town") not in (None, ""):
        p.error("town", "город указывается вместе с region")
    starts_on = p.date("starts_on", record.get("starts_on"))
    ends_on = p.date("ends_on", record.get("ends_on"))
    p.date_order("starts_on", starts_on, "ends_on", ends_on)
    currency = (p.text("currency", record.get("currency"), max_length=3) or "RUB").upper()
    out: dict[str, Any] = {
        "title": title,
        "description": p.text("description", record.get("description"), max_length=20000) or "",
        "_region_given": region is not None, "region_code": region, "town_id": town_id, "lat": lat, "lon": lon,
        "quantity": p.decimal("quantity", record.get("quantity")),
        "unit": p.text("unit", record.get("unit"), max_length=32),
        "price": p.decimal("price", record.get("price")),
        "budget": p.decimal("budget", record.get("budget")),
        "currency": currency,
        "lead_time_days": p.integer("lead_time_days", record.get("lead_time_days"), maximum=3650),
        "starts_on": starts_on, "ends_on": ends_on,
        "certifications": split_list(record.get("certifications")),
        "_codes": [("okpd2", c) for c in okpd2] + [("okved2", c) for c in okved2],
        "_operations": operations, "_parameters": parameters,
    }
    for name in ALL_LISTING_FIELDS - LISTING_COMMON:
        out[name] = None
    if kind is None:
        return out
    if kind == ListingKind.CAPABILITY:
        if not okpd2 and not okved2:
            p.error("okved2", "для производственной операции нужен код ОКВЭД2 и/или ОКПД2 "
                              "(или операция из каталога в поле operations)")
        out["equipment"] = p.text("equipment", record.get("equipment"), max_length=5000)
        out["materials"] = p.text("materials", record.get("materials"), max_length=5000)
        out["capacity_per_month"] = p.decimal("capacity_per_month", record.get("capacity_per_month"))
        out["capacity_unit"] = p.text("capacity_unit", record.get("capacity_unit"), max_length=32)
    elif kind == ListingKind.PRODUCT:
        out["min_lot"] = p.decimal("min_lot", record.get("min_lot"))
        out["stock"] = p.decimal("stock", record.get("stock"))
    elif kind == ListingKind.SURPLUS:
        out["condition"] = p.choice("condition", record.get("condition"), CHOICES["condition"])
        out["location"] = p.text("location", record.get("location"), max_length=1000)
        if out["quantity"] is None:
            p.error("quantity", "для неликвидов укажите количество")
    elif kind == ListingKind.EQUIPMENT_RENT:
        out["equipment_model"] = p.text("equipment_model", record.get("equipment_model"), max_length=300)
        out["rate_period"] = p.choice("rate_period", record.get("rate_period"), CHOICES["rate_period"])
    elif kind == ListingKind.TENDER_LOT:
        out["lot_number"] = p.integer("lot_number", record.get("lot_number"), minimum=1)
    elif kind == ListingKind.MISSING_OPERATION:
        out["frequency"] = p.choice("frequency", record.get("frequency"), CHOICES["frequency"])
    elif kind == ListingKind.PURCHASE_REQUEST:
        out["mode"] = p.choice("mode", record.get("mode"), CHOICES["mode"], default="buy")
    return out


def decimal_text(value: Decimal | None) -> str:
    """A decimal as a form shows it: no exponent, no trailing zeros."""
    if value is None:
        return ""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
