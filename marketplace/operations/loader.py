"""``cosmos refdata load`` for the operations catalogue and the materials list: idempotent, versioned by digest."""
from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update

from marketplace.extensions import db
from marketplace.operations.models import Material, Operation, ReferenceVersion
from matching.operations import OperationCatalogue


def _sync(model: type, rows: list[dict[str, Any]], report: Any) -> None:
    """Insert new rows and update changed ones by id; rows are ordered parents first."""
    table = model.__table__
    cols = list(rows[0]) if rows else []
    existing = {r["id"]: r for r in db.session.execute(select(*[table.c[c] for c in cols])).mappings()} if rows else {}
    new = [r for r in rows if r["id"] not in existing]
    changed = [r for r in rows if r["id"] in existing and any(existing[r["id"]][c] != r[c] for c in cols)]
    for row in new:  # one by one: a child's parent must be there first
        db.session.execute(insert(table).values(**row))
    for row in changed:
        db.session.execute(update(table).where(table.c.id == row["id"]).values(**row))
    report.inserted[table.name] = len(new)
    report.updated[table.name] = len(changed)
    report.total[table.name] = len(rows)


def load_operations(catalogue: OperationCatalogue, report: Any) -> None:
    """Upsert the catalogue into ``operations`` and ``materials``; record its digest in ``reference_versions``.

    Operations are never deleted: a listing may still name an id a newer edition dropped (ids are never reused).
    """
    materials = [{"id": m.id, "parent_id": m.parent_id, "name": m.name, "synonyms": list(m.synonyms),
                  "grades": list(m.grades), "position": i}
                 for i, m in enumerate(catalogue.materials.materials.values())]
    _sync(Material, materials, report)
    ops = sorted(catalogue.operations.values(), key=lambda o: (o.depth, o.position))
    _sync(Operation, [{"id": o.id, "parent_id": o.parent_id, "family": o.family, "name": o.name,
                       "synonyms": list(o.synonyms), "okved2": list(o.okved2), "okpd2": list(o.okpd2),
                       "equipment": list(o.equipment), "parameters": list(o.parameters), "generic": o.generic,
                       "depth": o.depth, "position": o.position} for o in ops], report)
    version = db.session.get(ReferenceVersion, "operations")
    if version is None:
        db.session.add(ReferenceVersion(name="operations", digest=catalogue.digest, items=len(catalogue)))
        report.inserted["reference_versions"] = 1
    elif version.digest != catalogue.digest or version.items != len(catalogue):
        version.digest, version.items = catalogue.digest, len(catalogue)
        report.updated["reference_versions"] = 1
    report.inserted.setdefault("reference_versions", 0)
    report.updated.setdefault("reference_versions", 0)
    report.total["reference_versions"] = 1
