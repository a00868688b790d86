"""Bulk import of organizations, offers and needs from CSV, XLSX or JSON Lines.

The whole file is read and validated first; a file with bad rows imports nothing unless
``skip_invalid`` is set, and then only the good rows go in. Re-importing a file changes nothing:
organizations are keyed by (country, tax id), listings by (organization, ``external_id``), and a
row is written only when a value differs from what the database holds. Writes go through Core
executemany statements in batches, so 100,000 rows take well under two minutes. The caller commits.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, tuple_, update

from marketplace.classifiers.models import ClassifierCode
from marketplace.core.audit import record_audit
from marketplace.core.models import OutboxEvent, utcnow
from marketplace.core.validation import FieldError, FieldParser
from marketplace.extensions import db
from marketplace.geo.models import Country, Region, Town
from marketplace.importer.readers import read_records
from marketplace.listings.fields import (
    ALL_LISTING_FIELDS,
    normalize_town,
    parse_listing_fields,
    parse_place,
)
from marketplace.listings.models import Listing, ListingCode, ListingKind, ListingStatus, Side
from marketplace.operations.models import ListingOperation, Operation
from marketplace.organizations.models import Organization, OrganizationKind
from marketplace.organizations.validators import inn_error, ogrn_error
from marketplace.tenders.models import Tender, TenderStatus

log = logging.getLogger(__name__)
BATCH = 2000

ORG_FIELDS = {"type", "country", "tax_id", "ogrn", "name", "region", "town", "kind", "address", "lat", "lon",
              "description", "website", "email", "phone", "contacts"}
# Columns compared to decide whether a listing row changed; "codes" and "operations" are compared separately.
LISTING_COLUMNS = ["kind", "side", "status", "title", "description", "country_code", "region_code", "town_id", "lat",
                   "lon", "quantity", "unit", "price", "budget", "currency", "lead_time_days", "starts_on", "ends_on",
                   "certifications", "equipment", "materials", "capacity_per_month", "capacity_unit", "min_lot",
                   "stock", "condition", "location", "equipment_model", "rate_period", "tender_id", "lot_number",
                   "frequency", "mode", "parameters"]
ORG_COLUMNS = ["name", "ogrn", "region_code", "town_id", "address", "lat", "lon", "kind", "description", "website",
               "email", "phone"]


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"строка {self.row}: {self.field}: {self.message}"


@dataclass
class ImportReport:
    rows: int = 0
    organizations_created: int = 0
    organizations_updated: int = 0
    organizations_unchanged: int = 0
    listings_created: int = 0
    listings_updated: int = 0
    listings_unchanged: int = 0
    tenders_created: int = 0
    skipped_rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    imported: bool = False

    def summary(self) -> dict[str, int]:
        return {k: v for k, v in self.__dict__.items() if isinstance(v, int) and not isinstance(v, bool)}


class ImportRejected(Exception):
    """The file has invalid rows and ``skip_invalid`` was not given: nothing was written."""

    def __init__(self, report: ImportReport):
        self.report = report
        super().__init__(f"{len(report.errors)} ошибок в файле; ничего не импортировано")


@dataclass
class _Reference:
    countries: dict[str, tuple[float | None, float | None]]
    regions: dict[str, tuple[float, float]]
    towns: dict[tuple[str, str], tuple[int, float, float]]
    okpd2: set[str]
    okved2: set[str]
    operations: set[str]

    @classmethod
    def load(cls) -> _Reference:
        s = db.session
        return cls(
            countries={c: (lat, lon) for c, lat, lon in s.execute(select(Country.iso2, Country.lat, Country.lon))},
            regions={c: (lat, lon) for c, lat, lon in s.execute(select(Region.code, Region.lat, Region.lon))},
            towns={(r, n.lower().replace("ё", "е")): (i, lat, lon) for i, r, n, lat, lon in
                   s.execute(select(Town.id, Town.region_code, Town.name, Town.lat, Town.lon))},
            okpd2=set(s.scalars(select(ClassifierCode.code).where(ClassifierCode.scheme == "okpd2"))),
            okved2=set(s.scalars(select(ClassifierCode.code).where(ClassifierCode.scheme == "okved2"))),
            operations=set(s.scalars(select(Operation.id))),
        )

    # The lookups of ``marketplace.listings.fields.Reference``, answered from memory.
    def region_point(self, code: str) -> tuple[float, float] | None:
        return self.regions.get(code)

    def country_point(self, code: str) -> tuple[float | None, float | None]:
        return self.countries.get(code, (None, None))

    def town(self, region_code: str, name: str) -> tuple[int, float, float] | None:
        return self.towns.get((region_code, normalize_town(name)))

    def has_code(self, scheme: str, code: str) -> bool:
        return code in (self.okpd2 if scheme == "okpd2" else self.okved2 if scheme == "okved2" else ())

    def has_operation(self, op_id: str) -> bool:
        return op_id in self.operations


def import_file(path: str | Path, *, skip_invalid: bool = False, user_id: int | None = None,
                progress: Callable[[Iterable[Any], str, int], Iterable[Any]] | None = None,
                encoding: str | None = None) -> ImportReport:
    """Validate and import ``path``; raise :class:`ImportRejected` (nothing written) when rows are bad.
    ``encoding``: the CSV's encoding as the user declares it (detected when None)."""
    path = Path(path)
    records = list(read_records(path, encoding=encoding))
    return import_records(records, source=path.name, skip_invalid=skip_invalid, user_id=user_id, progress=progress)


def import_records(records: list[tuple[int, dict[str, Any]]], *, source: str = "records", skip_invalid: bool = False,
                   user_id: int | None = None,
                   progress: Callable[[Iterable[Any], str, int], Iterable[Any]] | None = None) -> ImportReport:
    track = progress or (lambda items, _label, _n: items)
    report = ImportReport(rows=len(records))
    ref = _Reference.load()

    orgs: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
    listings: list[tuple[int, dict[str, Any]]] = []
    for number, record in track(records, "Проверка", len(records)):
        errors, parsed = _parse_record(record, ref)
        if errors:
            report.errors.extend(RowError(number, e.field, e.message) for e in errors)
            continue
        if parsed["_type"] == "organization":
            key = (parsed["country_code"], parsed["tax_id"])
            if key in orgs:
                report.errors.append(RowError(number, "tax_id",
                                              f"организация уже описана в строке {orgs[key][0]}"))
                continue
            orgs[key] = (number, parsed)
        else:
            listings.append((number, parsed))

    # Resolve each listing's organization from the file or the database.
    existing_orgs = _existing_organizations(set(orgs) | {(p["_org_country"], p["_tax_id"])
                                                                  for _, p in listings})
    seen_listing: dict[tuple[str, str, str], int] = {}
    valid_listings: list[tuple[int, dict[str, Any]]] = []
    for number, parsed in listings:
        org_key = (parsed["_org_country"], parsed["_tax_id"])
        if org_key not in orgs and org_key not in existing_orgs:
            report.errors.append(RowError(number, "tax_id", f"организация с ИНН {parsed['_tax_id']} не найдена "
                                                            "ни в файле, ни в базе"))
            continue
        lkey = (*org_key, parsed["external_id"])
        if lkey in seen_listing:
            report.errors.append(RowError(number, "external_id",
                                          f"external_id уже встречается в строке {seen_listing[lkey]}"))
            continue
        seen_listing[lkey] = number
        valid_listings.append((number, parsed))

    bad_rows = {e.row for e in report.errors}
    report.errors.sort(key=lambda e: e.row)
    if bad_rows and not skip_invalid:
        raise ImportRejected(report)
    report.skipped_rows = len(bad_rows)

    org_ids = _write_organizations(orgs, existing_orgs, ref, report, track)
    _write_contact_persons(orgs, org_ids)
    _write_listings(valid_listings, org_ids, ref, report, track, user_id)
    record_audit("import", "import", source, report.summary(), user_id=user_id)
    db.session.flush()
    report.imported = True
    log.info("import of %s: %s", source, report.summary())
    return report


def _parse_record(record: dict[str, Any], ref: _Reference) -> tuple[list[FieldError], dict[str, Any]]:
    p = FieldParser()
    if "__error__" in record:
        p.error("строка", record["__error__"])
        return p.errors, {}
    rtype = p.choice("type", record.get("type"), {"organization", "offer", "need"}, required=True)
    if rtype is None:
        return p.errors, {}
    allowed = ORG_FIELDS if rtype == "organization" else ALL_LISTING_FIELDS
    for name, value in record.items():
        if name and name not in allowed and value not in (None, ""):
            p.error(name, f"неизвестное поле для записи типа {rtype}")
    if rtype == "organization":
        out = _parse_organization(p, record, ref)
    else:
        out = _parse_listing(p, rtype, record, ref)
    return p.errors, out


def _parse_country(p: FieldParser, record: dict[str, Any], ref: _Reference) -> str:
    country = (p.text("country", record.get("country"), max_length=2) or "RU").upper()
    if country not in ref.countries:
        p.error("country", f"неизвестная страна {country!r} (ожидается код ISO 3166-1, например RU)")
    return country


def _parse_tax_id(p: FieldParser, country: str, value: Any) -> str | None:
    tax_id = p.text("tax_id", value, required=True, max_length=20)
    if tax_id and country == "RU":
        tax_id = tax_id.zfill(10) if len(tax_id) == 9 else tax_id  # spreadsheets drop a leading zero
        problem = inn_error(tax_id)
        if problem:
            p.error("tax_id", problem)
    return tax_id


def _parse_organization(p: FieldParser, record: dict[str, Any], ref: _Reference) -> dict[str, Any]:
    country = _parse_country(p, record, ref)
    tax_id = _parse_tax_id(p, country, record.get("tax_id"))
    ogrn = p.text("ogrn", record.get("ogrn"), max_length=15)
    if ogrn and country == "RU":
        problem = ogrn_error(ogrn)
        if problem:
            p.error("ogrn", problem)
    name = p.text("name", record.get("name"), required=True, max_length=300)
    kind = p.choice("kind", record.get("kind"), {k.value for k in OrganizationKind}, required=True)
    region, town_id, lat, lon = parse_place(p, record, ref, country, required_region=True)
    given_lat = p.decimal("lat", record.get("lat"), minimum=Decimal(-90))
    given_lon = p.decimal("lon", record.get("lon"), minimum=Decimal(-180))
    if given_lat is not None and given_lon is not None:
        if abs(given_lat) > 90 or abs(given_lon) > 180:
            p.error("lat", "координаты вне допустимого диапазона")
        lat, lon = float(given_lat), float(given_lon)
    from marketplace.organizations.contacts import (
        parse_email,
        parse_persons,
        parse_phone,
        parse_website,
        split_persons_cell,
    )

    # A file without the «contacts» column leaves the persons as they are; an empty cell removes them.
    persons = (parse_persons(p, split_persons_cell(record.get("contacts"))) if "contacts" in record else None)
    return {"_type": "organization", "country_code": country, "tax_id": tax_id, "ogrn": ogrn, "name": name,
            "kind": kind, "region_code": region, "town_id": town_id, "lat": lat, "lon": lon,
            "address": p.text("address", record.get("address"), max_length=1000),
            "description": p.text("description", record.get("description"), max_length=10000),
            "website": parse_website(p, "website", record.get("website")),
            "email": parse_email(p, "email", record.get("email")),
            "phone": parse_phone(p, "phone", record.get("phone")), "_contacts": persons}


def _parse_listing(p: FieldParser, rtype: str, record: dict[str, Any], ref: _Reference) -> dict[str, Any]:
    side = Side(rtype)
    kinds = {k.value for k in ListingKind if k.side == side}
    kind_value = p.choice("kind", record.get("kind"), kinds, required=True)
    kind = ListingKind(kind_value) if kind_value else None
    country = _parse_country(p, record, ref)
    tax_id = _parse_tax_id(p, country, record.get("tax_id"))
    external_id = p.text("external_id", record.get("external_id"), required=True, max_length=128)
    fields = parse_listing_fields(p, kind, record, ref)
    out: dict[str, Any] = {
        "_type": rtype, "_org_country": country, "_tax_id": tax_id, "external_id": external_id,
        "kind": kind, "side": side,
        "status": ListingStatus(p.choice("status", record.get("status"), {"draft", "active", "closed", "archived"},
                                         default="active") or "active"),
        **fields,
    }
    if kind == ListingKind.TENDER_LOT:
        out["tender"] = p.text("tender", record.get("tender"), required=True, max_length=128)
        out["tender_title"] = p.text("tender_title", record.get("tender_title"), max_length=500)
    return out


def _existing_organizations(keys: set[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    out: dict[tuple[str, str], dict[str, Any]] = {}
    key_list = [k for k in keys if k[1]]
    t = Organization.__table__
    for start in range(0, len(key_list), 500):
        chunk = key_list[start:start + 500]
        stmt = select(t.c.id, t.c.country_code, t.c.tax_id, *[t.c[c] for c in ORG_COLUMNS]).where(
            tuple_(t.c.country_code, t.c.tax_id).in_(chunk))
        for row in db.session.execute(stmt).mappings():
            out[(row["country_code"], row["tax_id"])] = dict(row)
    return out


def _write_organizations(orgs: dict[tuple[str, str], tuple[int, dict[str, Any]]],
                         existing: dict[tuple[str, str], dict[str, Any]], ref: _Reference, report: ImportReport,
                         track: Callable[..., Iterable[Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Insert new and update changed organizations; return every known organization by key."""
    t = Organization.__table__
    now = utcnow()
    new_rows, changed = [], []
    for key, (_number, parsed) in orgs.items():
        values = {c: parsed[c] for c in ORG_COLUMNS}
        values["kind"] = OrganizationKind(values["kind"])
        current = existing.get(key)
        if current is None:
            new_rows.append({**values, "country_code": key[0], "tax_id": key[1], "verified": False,
                             "archived": False, "created_at": now, "updated_at": now})
        elif any(_differs(current[c], values[c]) for c in ORG_COLUMNS):
            changed.append({"_id": current["id"], **values, "updated_at": now})
            existing[key] = {**current, **values}
        else:
            report.organizations_unchanged += 1
    for start in track(range(0, len(new_rows), BATCH), "Организации", max(1, len(new_rows) // BATCH)):
        batch = new_rows[start:start + BATCH]
        result = db.session.execute(insert(t).returning(t.c.id, t.c.country_code, t.c.tax_id,
                                                        sort_by_parameter_order=True), batch)
        for row, values in zip(result, batch, strict=True):
            existing[(row.country_code, row.tax_id)] = {"id": row.id, **values}
    if changed:
        db.session.execute(update(t).where(t.c.id == bindparam("_id")), changed)
    report.organizations_created = len(new_rows)
    report.organizations_updated = len(changed)
    return existing


def _write_contact_persons(orgs: dict[tuple[str, str], tuple[int, dict[str, Any]]],
                           known: dict[tuple[str, str], dict[str, Any]]) -> None:
    """Replace the contact persons of the organizations whose row has a «contacts» column, when they differ."""
    from marketplace.organizations.contacts import person_records, replace_persons

    for key, (_number, parsed) in orgs.items():
        persons = parsed.get("_contacts")
        if persons is None or key not in known:
            continue
        org_id = known[key]["id"]
        wanted = [{k: person.get(k) or "" for k in ("full_name", "position", "phone", "email")} for person in persons]
        if person_records(org_id) != wanted:
            replace_persons(org_id, persons)


def _differs(current: Any, new: Any) -> bool:
    if isinstance(current, Decimal) or isinstance(new, Decimal):
        if current is None or new is None:
            return current is not new
        return Decimal(current) != Decimal(new)
    if isinstance(current, float) and isinstance(new, float):
        return abs(current - new) > 1e-9
    if isinstance(current, date) and isinstance(new, str):
        return current.isoformat() != new
    return current != new


def _write_listings(listings: list[tuple[int, dict[str, Any]]], orgs: dict[tuple[str, str], dict[str, Any]],
                    ref: _Reference, report: ImportReport, track: Callable[..., Iterable[Any]],
                    user_id: int | None) -> None:
    t = Listing.__table__
    now = utcnow()
    tenders = _resolve_tenders(listings, orgs, report)
    rows: list[tuple[dict[str, Any], list[tuple[str, str]], list[str]]] = []
    for _number, parsed in listings:
        org = orgs[(parsed["_org_country"], parsed["_tax_id"])]
        values = {c: parsed.get(c) for c in LISTING_COLUMNS}
        if not parsed["_region_given"]:
            values.update(region_code=org.get("region_code"), town_id=org.get("town_id"), lat=org.get("lat"),
                          lon=org.get("lon"))
        values["country_code"] = parsed["_org_country"] if not parsed["_region_given"] else "RU"
        if parsed["kind"] == ListingKind.TENDER_LOT:
            values["tender_id"] = tenders[(org["id"], parsed["tender"])]
        values["organization_id"] = org["id"]
        values["external_id"] = parsed["external_id"]
        values["parameters"] = parsed["_parameters"]
        rows.append((values, parsed["_codes"], parsed["_operations"]))

    existing = _existing_listings({(v["organization_id"], v["external_id"]) for v, _, _ in rows})
    new_rows, new_codes, new_ops, changed, changed_codes, changed_ops = [], [], [], [], {}, {}
    for values, codes, ops in rows:
        current = existing.get((values["organization_id"], values["external_id"]))
        if current is None:
            new_rows.append({**values, "attributes": {}, "created_by_id": user_id, "created_at": now,
                             "updated_at": now})
            new_codes.append(codes)
            new_ops.append(ops)
            continue
        codes_changed = current["_codes"] != codes
        ops_changed = current["_operations"] != ops
        if codes_changed or ops_changed or any(_differs(current[c], values[c]) for c in LISTING_COLUMNS):
            changed.append({"_id": current["id"], **{c: values[c] for c in LISTING_COLUMNS}, "updated_at": now})
            if codes_changed:
                changed_codes[current["id"]] = codes
            if ops_changed:
                changed_ops[current["id"]] = ops
        else:
            report.listings_unchanged += 1

    outbox: list[dict[str, Any]] = []
    code_rows: list[dict[str, Any]] = []
    op_rows: list[dict[str, Any]] = []
    for start in track(range(0, len(new_rows), BATCH), "Предложения и потребности", max(1, len(new_rows) // BATCH)):
        batch = new_rows[start:start + BATCH]
        result = db.session.execute(insert(t).returning(t.c.id, sort_by_parameter_order=True), batch)
        for (listing_id,), codes, ops in zip(result, new_codes[start:start + BATCH], new_ops[start:start + BATCH],
                                             strict=True):
            code_rows.extend({"listing_id": listing_id, "scheme": s, "code": c, "position": i}
                             for i, (s, c) in enumerate(codes))
            op_rows.extend({"listing_id": listing_id, "operation_id": o, "position": i} for i, o in enumerate(ops))
            outbox.append({"entity_type": "listing", "entity_id": listing_id, "op": "upsert", "topic": "search",
                           "created_at": now, "attempts": 0})
    for start in range(0, len(changed), BATCH):
        db.session.execute(update(t).where(t.c.id == bindparam("_id")), changed[start:start + BATCH])
    if changed_codes:
        ids = list(changed_codes)
        for start in range(0, len(ids), 500):
            db.session.execute(delete(ListingCode.__table__).where(
                ListingCode.__table__.c.listing_id.in_(ids[start:start + 500])))
        for listing_id, codes in changed_codes.items():
            code_rows.extend({"listing_id": listing_id, "scheme": s, "code": c, "position": i}
                             for i, (s, c) in enumerate(codes))
    if changed_ops:
        ids = list(changed_ops)
        for start in range(0, len(ids), 500):
            db.session.execute(delete(ListingOperation.__table__).where(
                ListingOperation.__table__.c.listing_id.in_(ids[start:start + 500])))
        for listing_id, ops in changed_ops.items():
            op_rows.extend({"listing_id": listing_id, "operation_id": o, "position": i} for i, o in enumerate(ops))
    outbox.extend({"entity_type": "listing", "entity_id": row["_id"], "op": "upsert", "topic": "search",
                   "created_at": now, "attempts": 0} for row in changed)
    for start in range(0, len(code_rows), BATCH * 2):
        db.session.execute(insert(ListingCode.__table__), code_rows[start:start + BATCH * 2])
    for start in range(0, len(op_rows), BATCH * 2):
        db.session.execute(insert(ListingOperation.__table__), op_rows[start:start + BATCH * 2])
    for start in range(0, len(outbox), BATCH * 2):
        db.session.execute(insert(OutboxEvent.__table__), outbox[start:start + BATCH * 2])
    report.listings_created = len(new_rows)
    report.listings_updated = len(changed)


def _resolve_tenders(listings: list[tuple[int, dict[str, Any]]], orgs: dict[tuple[str, str], dict[str, Any]],
                     report: ImportReport) -> dict[tuple[int, str], int]:
    """Find or create the tenders that imported lots belong to (keyed by organization and tender external id)."""
    wanted: dict[tuple[int, str], str] = {}
    for _number, parsed in listings:
        if parsed["kind"] == ListingKind.TENDER_LOT:
            org_id = orgs[(parsed["_org_country"], parsed["_tax_id"])]["id"]
            wanted.setdefault((org_id, parsed["tender"]), parsed["tender_title"] or parsed["title"])
    out: dict[tuple[int, str], int] = {}
    if not wanted:
        return out
    for tender_id, org_id, ext in db.session.execute(select(Tender.id, Tender.organization_id, Tender.external_id)
                                                      .where(Tender.organization_id.in_({k[0] for k in wanted}))):
        out[(org_id, ext)] = tender_id
    for (org_id, ext), title in wanted.items():
        if (org_id, ext) not in out:
            tender = Tender(organization_id=org_id, external_id=ext, title=title, status=TenderStatus.PUBLISHED,
                            published_at=utcnow())
            db.session.add(tender)
            db.session.flush()
            out[(org_id, ext)] = tender.id
            report.tenders_created += 1
    return out


def _existing_listings(keys: set[tuple[int, str]]) -> dict[tuple[int, str], dict[str, Any]]:
    t = Listing.__table__
    by_org: dict[int, list[str]] = {}
    for org_id, ext in keys:
        by_org.setdefault(org_id, []).append(ext)
    out: dict[tuple[int, str], dict[str, Any]] = {}
    org_ids = list(by_org)
    for start in range(0, len(org_ids), 500):
        chunk = org_ids[start:start + 500]
        stmt = select(t.c.id, t.c.organization_id, t.c.external_id, *[t.c[c] for c in LISTING_COLUMNS]).where(
            t.c.organization_id.in_(chunk), t.c.external_id.is_not(None))
        for row in db.session.execute(stmt).mappings():
            key = (row["organization_id"], row["external_id"])
            if key in keys:
                out[key] = {**row, "_codes": [], "_operations": []}
    if out:
        by_id = {v["id"]: v for v in out.values()}
        ids = list(by_id)
        ct = ListingCode.__table__
        for start in range(0, len(ids), 1000):
            stmt = select(ct.c.listing_id, ct.c.scheme, ct.c.code).where(
                ct.c.listing_id.in_(ids[start:start + 1000])).order_by(ct.c.listing_id, ct.c.position)
            for listing_id, scheme, code in db.session.execute(stmt):
                by_id[listing_id]["_codes"].append((scheme, code))
        ot = ListingOperation.__table__
        for start in range(0, len(ids), 1000):
            stmt = select(ot.c.listing_id, ot.c.operation_id).where(
                ot.c.listing_id.in_(ids[start:start + 1000])).order_by(ot.c.listing_id, ot.c.position)
            for listing_id, op_id in db.session.execute(stmt):
                by_id[listing_id]["_operations"].append(op_id)
    return out
