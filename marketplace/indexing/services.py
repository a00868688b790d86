"""The marketplace side of search: listings become search documents, the outbox drains into the index,
``reindex`` rebuilds it and ``check`` compares it with the database.

The backend and the encoder are opened once per application (``app.extensions``) from the settings:
``SEARCH_URL`` (embedded directory or Elasticsearch URL) and ``EMBEDDING_MODEL`` (``builtin`` or a
sentence-transformers model).
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from marketplace.classifiers.models import ClassifierCode
from marketplace.core.models import OutboxEvent, utcnow
from marketplace.extensions import db
from marketplace.listings.models import Listing

log = logging.getLogger(__name__)
_lock = threading.RLock()  # get_backend() opens the encoder under the same lock
Progress = Callable[[Iterable[Any], str, int], Iterable[Any]]


def _no_progress(items: Iterable[Any], _label: str, _n: int) -> Iterable[Any]:
    return items


# Encoder and backend ---------------------------------------------------------------------------

def get_encoder():
    """The application's encoder; the built-in one is fitted on first use and kept beside the index.

    When another process refits the built-in encoder (``matching.refit_encoder`` replaces the file atomically), the
    file's new modification time makes every process load the new one on its next call.
    """
    ext = current_app.extensions
    loaded_from = ext.get("cosmos.encoder.file")
    if loaded_from is not None and "cosmos.encoder" in ext and _encoder_file_stamp() != loaded_from:
        with _lock:
            if ext.get("cosmos.encoder.file") == loaded_from:
                log.info("the built-in encoder at %s changed; reloading it", current_app.config["ENCODER_PATH"])
                ext.pop("cosmos.encoder", None)
    if "cosmos.encoder" not in ext:
        with _lock:
            if "cosmos.encoder" not in ext:
                ext["cosmos.encoder"] = _open_encoder()
                ext["cosmos.encoder.file"] = _encoder_file_stamp() \
                    if current_app.config["EMBEDDING_MODEL"] == "builtin" else None
    return ext["cosmos.encoder"]


def _encoder_file_stamp() -> tuple[str, int] | None:
    path = Path(current_app.config["ENCODER_PATH"])
    try:
        return str(path), path.stat().st_mtime_ns
    except OSError:
        return None


def _open_encoder():
    from matching.encoders import BuiltinEncoder, make_encoder

    name = current_app.config["EMBEDDING_MODEL"]
    if name != "builtin":
        return make_encoder(name)
    path = Path(current_app.config["ENCODER_PATH"])
    if path.exists():
        try:
            return BuiltinEncoder.load(path)
        except Exception:  # an encoder saved by an incompatible version: refit rather than fail
            log.warning("could not load the built-in encoder from %s; refitting", path, exc_info=True)
    encoder = fit_builtin_encoder()
    encoder.save(path)
    return encoder


def encoder_corpus(limit: int = 50_000) -> list[str]:
    """Texts the built-in encoder learns its vocabulary from: the classifiers and the marketplace's own listings."""
    texts = list(db.session.scalars(select(ClassifierCode.name)))
    rows = db.session.execute(select(Listing.title, Listing.description).order_by(Listing.id.desc()).limit(limit))
    texts.extend(f"{title}. {description}" for title, description in rows)
    return texts


def fit_builtin_encoder():
    from matching.encoders import BuiltinEncoder

    return BuiltinEncoder().fit(encoder_corpus())


def get_backend():
    ext = current_app.extensions
    if "cosmos.search" not in ext:
        with _lock:
            if "cosmos.search" not in ext:
                ext["cosmos.search"] = _open_backend()
    return ext["cosmos.search"]


def _open_backend():
    from search import open_backend

    url = current_app.config["SEARCH_URL"]
    options: dict[str, Any] = {}
    if url.startswith(("http://", "https://")):
        options["index_prefix"] = current_app.config["SEARCH_INDEX_PREFIX"]
    elif current_app.config.get("SEARCH_APPROXIMATE"):
        options.update(approximate=True, probe=float(current_app.config.get("SEARCH_PROBE", 0.05)))
    return open_backend(url, dim=get_encoder().dim, **options)


def close_search(*, keep_encoder: bool = False) -> None:
    """Close and forget the backend (and the encoder unless ``keep_encoder``): after a refit, in tests."""
    ext = current_app.extensions
    backend = ext.pop("cosmos.search", None)
    if backend is not None:
        backend.close()
    if not keep_encoder:
        ext.pop("cosmos.encoder", None)


# Documents -------------------------------------------------------------------------------------

def listing_text(listing: Listing, code_names: dict[tuple[str, str], str], catalogue=None) -> str:
    """The text the engine reads for a listing: title, description, the names of its catalogue operations and of
    its codes."""
    names = [code_names.get((c.scheme, c.code), "") for c in listing.codes]
    ops = []
    if catalogue is not None:
        ops = [op.name for op in (catalogue.get(i) for i in listing.operation_ids) if op is not None]
    return ". ".join(dict.fromkeys(part for part in [listing.title, listing.description, *ops, *names] if part))


def listing_operations(listing: Listing, catalogue) -> tuple[str, ...]:
    """The listing's catalogue operations with every ancestor: a filter on ``machining.turning`` finds CNC turning."""
    from search.relevance import with_ancestors

    known = [i for i in listing.operation_ids if i in catalogue]
    return with_ancestors(known, catalogue.ancestors)


def _catalogue():
    from marketplace.operations.catalogue import get_catalogue

    try:
        return get_catalogue()
    except Exception:  # a broken or missing catalogue must not stop indexing: listings go in without operations
        log.exception("the operations catalogue could not be loaded; indexing without operations")
        return None


def _code_names(listings: Sequence[Listing]) -> dict[tuple[str, str], str]:
    keys = {(c.scheme, c.code) for listing in listings for c in listing.codes}
    if not keys:
        return {}
    rows = db.session.execute(select(ClassifierCode.scheme, ClassifierCode.code, ClassifierCode.name).where(
        ClassifierCode.code.in_({k[1] for k in keys})))
    return {(s, c): n for s, c, n in rows if (s, c) in keys}


def _districts() -> dict[str, str]:
    from marketplace.geo.services import region_districts

    return region_districts()


def listing_documents(listings: Sequence[Listing], encoder=None) -> list:
    """Search documents for ``listings``, with their vectors, in one encoder call."""
    from search import Document

    if not listings:
        return []
    encoder = encoder or get_encoder()
    names = _code_names(listings)
    districts = _districts()
    catalogue = _catalogue()
    texts = [listing_text(listing, names, catalogue) for listing in listings]
    vectors = encoder.encode_passages(texts)
    docs = []
    for listing, text, vector in zip(listings, texts, vectors, strict=True):
        docs.append(Document(
            id=listing.id, side=listing.side.value, kind=listing.kind.value, title=listing.title,
            description=text[len(listing.title):].lstrip(". "),
            okpd2=tuple(listing.okpd2_codes), okved2=tuple(listing.okved2_codes),
            region=listing.region_code, district=districts.get(listing.region_code or ""),
            country=listing.country_code, organization_id=listing.organization_id,
            quantity=float(listing.quantity) if listing.quantity is not None else None, unit=listing.unit,
            price=float(listing.price) if listing.price is not None else None,
            starts_on=listing.starts_on, ends_on=listing.ends_on, status=listing.status.value,
            updated_at=listing.updated_at, vector=vector,
            operations=listing_operations(listing, catalogue) if catalogue is not None else ()))
    return docs


def _load_listings(ids: Sequence[int]) -> list[Listing]:
    if not ids:
        return []
    return list(db.session.scalars(select(Listing).where(Listing.id.in_(list(ids)))
                                   .options(selectinload(Listing.codes), selectinload(Listing.operation_links))))


# Outbox, reindex, check --------------------------------------------------------------------------

@dataclass
class DrainReport:
    events: int = 0
    indexed: int = 0
    deleted: int = 0
    failed: int = 0


def drain_outbox(batch: int = 1000, max_batches: int | None = None) -> DrainReport:
    """Apply unprocessed outbox events to the index, oldest first; safe to run twice or in parallel.

    On PostgreSQL concurrent drains skip each other's rows (``FOR UPDATE SKIP LOCKED``); indexing is
    idempotent, so an event replayed after a crash only rewrites the same document.
    """
    report = DrainReport()
    backend = get_backend()
    rounds = 0
    while max_batches is None or rounds < max_batches:
        rounds += 1
        stmt = (select(OutboxEvent).where(OutboxEvent.processed_at.is_(None), OutboxEvent.topic == "search")
                .order_by(OutboxEvent.id).limit(batch))
        if db.engine.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        events = list(db.session.scalars(stmt))
        if not events:
            break
        listing_ids = sorted({e.entity_id for e in events if e.entity_type == "listing"})
        listings = {listing.id: listing for listing in _load_listings(listing_ids)}
        upserts = [listings[i] for i in listing_ids if i in listings]
        deletes = [i for i in listing_ids if i not in listings]
        try:
            if upserts:
                backend.index(listing_documents(upserts))
            if deletes:
                backend.delete(deletes)
        except Exception as exc:
            db.session.rollback()
            failed = db.session.scalars(select(OutboxEvent).where(OutboxEvent.id.in_([e.id for e in events])))
            for event in failed:
                event.attempts += 1
                event.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            db.session.commit()
            report.failed += len(events)
            log.exception("outbox drain failed for %d events", len(events))
            raise
        now = utcnow()
        for event in events:
            event.processed_at = now
        db.session.commit()
        report.events += len(events)
        report.indexed += len(upserts)
        report.deleted += len(deletes)
    return report


def pending_outbox() -> int:
    return db.session.scalar(select(func.count(OutboxEvent.id)).where(OutboxEvent.processed_at.is_(None))) or 0


def reindex(progress: Progress | None = None, batch: int = 2000) -> int:
    """Rebuild the index from the database: every listing is written again, stray documents are removed.

    Searches keep working throughout. Elasticsearch builds a new index and swaps the alias to it; the embedded
    index rewrites every listing in place (an upsert by id) and then drops the documents whose rows are gone, so
    it is never empty half-way. Outbox events written while the rebuild runs stay pending for the next drain:
    only those that existed when it started are marked done.
    """
    track = progress or _no_progress
    backend = get_backend()
    last_event = db.session.scalar(select(func.max(OutboxEvent.id))) or 0
    alias_swap = hasattr(backend, "reindex")
    # What the index held before the ids were read: a document absent from the rows below is a stray then.
    stray = set() if alias_swap else set(backend.ids())
    ids = list(db.session.scalars(select(Listing.id).order_by(Listing.id)))
    chunks = max(1, (len(ids) + batch - 1) // batch)

    def documents() -> Iterable[Any]:
        for start in track(range(0, len(ids), batch), "Индексация", chunks):
            yield from listing_documents(_load_listings(ids[start:start + batch]))
            db.session.expunge_all()

    if alias_swap:  # Elasticsearch: a fresh index behind the alias
        backend.reindex(documents())
    else:
        for start in track(range(0, len(ids), batch), "Индексация", chunks):
            chunk = _load_listings(ids[start:start + batch])
            backend.index(listing_documents(chunk))
            stray.difference_update(listing.id for listing in chunk)
            db.session.expunge_all()
        if stray:
            backend.delete(sorted(stray))
    db.session.execute(OutboxEvent.__table__.update().where(OutboxEvent.processed_at.is_(None),
                                                            OutboxEvent.id <= last_event)
                       .values(processed_at=utcnow()))
    db.session.commit()
    return len(ids)


@dataclass
class CheckReport:
    database: int = 0
    index: int = 0
    missing: list[int] = field(default_factory=list)  # in the database, not in the index
    extra: list[int] = field(default_factory=list)  # in the index, not in the database
    stale: list[int] = field(default_factory=list)  # indexed before the row's last change, or torn

    @property
    def consistent(self) -> bool:
        return not (self.missing or self.extra or self.stale)


def check() -> CheckReport:
    """Compare the database with the index: ids on each side and the time each document was indexed for.

    A document the index reports without a time is stale: the embedded backend says so for a write torn between
    its word and vector commits, and every document the marketplace writes carries the row's ``updated_at``.
    """
    backend = get_backend()
    db_rows = dict(db.session.execute(select(Listing.id, Listing.updated_at)).all())
    indexed = dict(backend.ids())
    report = CheckReport(database=len(db_rows), index=len(indexed))
    report.missing = sorted(set(db_rows) - set(indexed))
    report.extra = sorted(set(indexed) - set(db_rows))
    for listing_id, updated_at in db_rows.items():
        if listing_id not in indexed:
            continue
        seen = indexed[listing_id]
        if seen is None or (updated_at is not None and _as_naive(seen) < _as_naive(updated_at)):
            report.stale.append(listing_id)
    report.stale.sort()
    return report


def _as_naive(value):
    return value.replace(tzinfo=None) if getattr(value, "tzinfo", None) else value
