"""The acceptability rule's readings of listings, stored once beside them.

Reading a listing (its operations from the catalogue, the head noun and its qualifiers, the product types of the
goods vocabulary, the parameters in its words) takes 1–4 ms; a match judges about a hundred candidates, so reading
them every time made a match with the platform's rule ten times slower than without it (``bench/bench_match.py
--rule``). The reading depends only on the listing's words, operations and parameters and on the rule (its code and
reference data: :attr:`AcceptabilityRule.fingerprint`), so it is kept in ``listing_readings`` under a key of exactly
those: a listing edited since, or a release with another catalogue, has another key and is read again (and stored
again by the next match job). Nothing here decides anything: a missing or stale row costs time, never a wrong match.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from marketplace.extensions import db
from marketplace.matches.models import ListingReading
from matching.acceptability import AcceptabilityRule
from matching.matcher import ListingSpec

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def reference_fingerprint() -> str:
    """A digest of the reference files a reading depends on: the operations catalogue, the materials and the goods
    vocabulary (``refdata/data``), file names and contents."""
    from marketplace.operations.catalogue import DATA_DIR, MATERIALS_FILE, OPERATIONS_DIR

    digest = hashlib.sha256()
    files = [MATERIALS_FILE, *sorted(OPERATIONS_DIR.rglob("*")), *sorted((DATA_DIR / "goods").rglob("*"))]
    for path in files:
        if path.is_file():
            digest.update(str(path.relative_to(DATA_DIR)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def with_readings(specs: Sequence[ListingSpec], rule: AcceptabilityRule, *, store: bool) -> list[ListingSpec]:
    """``specs`` with their stored readings attached (``ListingSpec.reading``); with ``store``, the readings that
    were missing or stale are made now and written (in the caller's transaction: a match job commits them with
    its matches, a page or an ad-hoc match writes nothing)."""
    if rule.fingerprint is None or not specs:
        return list(specs)
    rows = dict(db.session.execute(select(ListingReading.listing_id, ListingReading.data).where(
        ListingReading.listing_id.in_([s.id for s in specs]))).all())
    out, fresh = [], {}
    for spec in specs:
        data = rows.get(spec.id)
        if data is None or data.get("key") != rule.reading_key(spec):
            data = rule.stored(spec) if store else None
            if data is not None:
                fresh[spec.id] = data
        out.append(replace(spec, reading=data) if data is not None else spec)
    if fresh:
        save(fresh)
    return out


def save(readings: Mapping[int, Mapping[str, Any]]) -> None:
    """Insert or replace the readings of these listings (one statement; two jobs writing the same row agree)."""
    values = [{"listing_id": i, "key": d["key"], "data": dict(d)} for i, d in readings.items()]
    dialect = db.engine.dialect.name
    try:
        with db.session.begin_nested():  # a listing deleted meanwhile must not fail the match that read it
            if dialect in ("postgresql", "sqlite"):
                insert = (postgresql if dialect == "postgresql" else sqlite).insert(ListingReading)
                db.session.execute(insert.on_conflict_do_update(
                    index_elements=[ListingReading.listing_id],
                    set_={"key": insert.excluded.key, "data": insert.excluded.data}), values)
            else:  # pragma: no cover - the platform runs on PostgreSQL or SQLite
                for v in values:
                    db.session.merge(ListingReading(**v))
    except IntegrityError:
        log.info("readings of %d listings not stored: a listing went away meanwhile", len(values))
