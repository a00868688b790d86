"""The embedded backend: tantivy for words, a numpy matrix for vectors, both in one directory.

Layout of ``<root>``::

    meta.json                 format version and vector dimension
    write.lock                the writers' lock (fcntl.flock)
    text/                     the tantivy index (BM25, Russian snowball stemmer + stop words, positions)
    vectors/manifest.json     the live vector segments, the tombstone file of each, the category vocabulary
    vectors/seg-000007-1a2b3c4d/  vectors.npy (float32, rows x dim, memory-mapped), ids.npy, cols.npz (filter columns)
    vectors/seg-000007-1a2b3c4d.del-000012.npy   which rows of that segment are deleted, as of generation 12

Concurrency: any number of processes (gunicorn workers, RQ workers) may open the same directory. Reads take no
lock. Every write (``index``, ``delete``, ``clear``) takes an exclusive ``fcntl.flock`` on ``write.lock`` for its
duration, so writers from different processes queue rather than collide on tantivy's single ``IndexWriter``; the
tantivy writer is opened for the write and dropped after it, never held between calls.

- Words: a write commits tantivy once per batch. Readers call ``Index.reload()`` before each search, so they see
  the last commit, never half of one (tantivy's commit is atomic: a new ``meta.json`` names the new segments).
- Vectors: segments are immutable. A write adds a new segment for the new and changed rows and new tombstone files
  for segments whose rows were replaced or deleted, every file written under a temporary name and moved into place
  with ``os.replace``; last, it replaces ``manifest.json`` the same way. That replacement is the commit. Readers
  ``stat`` the manifest before each search and re-map the segments when its inode, size or mtime changed. Files no
  longer named by the manifest are unlinked; a reader that already mapped them keeps its mapping (POSIX), and a
  reader that loses the race to open one re-reads the manifest and tries again. Small segments are merged
  (rewritten without their deleted rows) when there are more than ``max_segments``.
- The two halves commit one after the other (words first). In the moment between, a reader can see a listing's
  new words with its old vector; a vector hit whose listing is no longer in the word index is dropped.

Vector search is exact: the filter masks are computed on in-memory category columns, then either the selected rows
are gathered and multiplied (selective filters) or the whole matrix is (broad filters), and ``argpartition`` takes
the top. Hybrid ranking fuses the BM25 list and the cosine list by reciprocal rank fusion.
"""
from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import logging
import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np

try:
    import tantivy
except ImportError as exc:  # pragma: no cover - tantivy is in install_requires
    from search.base import BackendUnavailable

    raise BackendUnavailable("the embedded search backend needs the 'tantivy' package (pip install tantivy)") from exc

from search.base import (
    RRF_K,
    Document,
    Filters,
    Hit,
    Query,
    SearchBackend,
    SearchError,
    SearchResult,
    check_vector,
    code_class,
    code_section,
    document_from_source,
    document_source,
    expand_codes,
    rrf_fuse,
)
from search.russian import fold_yo, stem_families

log = logging.getLogger(__name__)

FORMAT = 2
CATEGORY_COLUMNS = ("side", "kind", "region", "district", "country", "status")
EXTRA_COLUMNS = ("organization_id", "starts_day", "ends_day")
_NO_START, _NO_END = np.iinfo(np.int32).min, np.iinfo(np.int32).max
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
RAW_FIELDS = CATEGORY_COLUMNS + ("okpd2_section", "okpd2_class", "okved2_section", "okved2_class")
TITLE_BOOST = 2.0
FAMILY_BOOST = 0.6
PHRASE_BOOST = 1.5
_QUOTED = re.compile(r'"([^"]*)"')
_WORD = re.compile(r"[^\W_]+")  # letters and digits: what the simple tokenizer keeps


def _analyzer(stem: bool) -> tantivy.TextAnalyzer:
    builder = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple()).filter(tantivy.Filter.lowercase())
    if stem:
        builder = builder.filter(tantivy.Filter.stopword("russian")).filter(tantivy.Filter.stemmer("russian"))
    return builder.build()


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", indexed=True, fast=True)
    for name in RAW_FIELDS:
        builder.add_text_field(name, fast=True, tokenizer_name="raw", index_option="basic")
    builder.add_text_field("okpd2", tokenizer_name="raw", index_option="basic")
    builder.add_text_field("okved2", tokenizer_name="raw", index_option="basic")
    builder.add_integer_field("organization_id", indexed=True, fast=True)
    builder.add_text_field("title", tokenizer_name="ru_stem")
    builder.add_text_field("description", tokenizer_name="ru_stem")
    builder.add_text_field("words", tokenizer_name="ru_lower")
    builder.add_boolean_field("has_vector", indexed=True, fast=True)
    builder.add_integer_field("starts_day", fast=True)
    builder.add_integer_field("ends_day", fast=True)
    builder.add_integer_field("updated_us", fast=True)
    builder.add_integer_field("updated_tz", fast=True)
    builder.add_bytes_field("source", stored=True)
    return builder.build()


def _day(value: date) -> int:
    """Days since 1970-01-01."""
    return value.toordinal() - _EPOCH_ORDINAL


def _micros(value: datetime) -> tuple[int, int]:
    """Microseconds since the epoch (naive values are taken as UTC) and whether the value was aware."""
    aware = value.tzinfo is not None
    moment = value if aware else value.replace(tzinfo=UTC)
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds, int(aware)


def _from_micros(micros: int, aware: int) -> datetime:
    moment = datetime.fromtimestamp(micros // 1_000_000, tz=UTC).replace(microsecond=micros % 1_000_000)
    return moment if aware else moment.replace(tzinfo=None)


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _save_npy(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as fh:
        np.save(fh, array)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


# --------------------------------------------------------------------------------------------------- vectors


@dataclass
class _Segment:
    name: str
    ids: np.ndarray            # int64, one per row
    vectors: np.ndarray        # float32 rows x dim, memory-mapped
    cols: dict[str, np.ndarray]  # category codes (int32, -1 = None), organization_id, starts/ends_day
    deleted: np.ndarray | None  # bool per row, None when nothing is deleted
    deletes_file: str | None

    @property
    def live(self) -> np.ndarray:
        return ~self.deleted if self.deleted is not None else np.ones(len(self.ids), dtype=bool)

    @property
    def live_count(self) -> int:
        return len(self.ids) - (int(self.deleted.sum()) if self.deleted is not None else 0)

    @functools.cached_property
    def _by_id(self) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(self.ids, kind="stable")
        return self.ids[order], order

    def rows_of(self, doc_ids: np.ndarray) -> np.ndarray:
        """Live rows holding any of the given ids (a binary search, not a scan)."""
        sorted_ids, order = self._by_id
        pos = np.searchsorted(sorted_ids, doc_ids)
        inside = pos < len(sorted_ids)
        pos = pos[inside]
        rows = order[pos[sorted_ids[pos] == doc_ids[inside]]]  # ids are unique within a segment
        if self.deleted is not None:
            rows = rows[~self.deleted[rows]]
        return rows

    def with_deletes(self, deleted: np.ndarray | None, deletes_file: str | None) -> _Segment:
        """The same immutable rows with another tombstone file."""
        twin = _Segment(self.name, self.ids, self.vectors, self.cols, deleted, deletes_file)
        if "_by_id" in self.__dict__:
            twin.__dict__["_by_id"] = self.__dict__["_by_id"]
        return twin


@dataclass
class _VectorState:
    generation: int
    vocab: dict[str, list[str]]
    segments: list[_Segment]

    def code(self, column: str, value: str) -> int | None:
        try:
            return self.vocab[column].index(value)
        except ValueError:
            return None


class _VectorStore:
    """Immutable float32 segments plus tombstones, committed by replacing ``manifest.json``."""

    def __init__(self, path: Path, dim: int, *, max_segments: int = 10):
        self.path = path
        self.dim = dim
        self.max_segments = max_segments
        self._signature: tuple[int, int, int] | None = None
        self._state = _VectorState(0, {c: [] for c in CATEGORY_COLUMNS}, [])
        self._lock = threading.Lock()

    @property
    def manifest_path(self) -> Path:
        return self.path / "manifest.json"

    def state(self, *, force: bool = False) -> _VectorState:
        """The current committed state, re-read when another process committed since the last call."""
        with self._lock:
            if force:
                self._signature = None
            for attempt in range(20):
                try:
                    st = os.stat(self.manifest_path)
                except FileNotFoundError:
                    return self._state
                signature = (st.st_ino, st.st_size, st.st_mtime_ns)
                if signature == self._signature:
                    return self._state
                try:
                    self._state = self._load()
                    self._signature = signature
                    return self._state
                except FileNotFoundError:  # a writer replaced the manifest and removed files under us: re-read
                    if attempt == 19:
                        raise
            return self._state

    def _load(self) -> _VectorState:
        manifest = json.loads(self.manifest_path.read_bytes())
        previous = {seg.name: seg for seg in self._state.segments}
        segments = []
        for entry in manifest["segments"]:
            known = previous.get(entry["name"])
            if known is not None:  # segments never change, only their tombstones do
                if known.deletes_file != entry.get("deletes"):
                    deleted = np.load(self.path / entry["deletes"]) if entry.get("deletes") else None
                    known = known.with_deletes(deleted, entry.get("deletes"))
                segments.append(known)
                continue
            seg_dir = self.path / entry["name"]
            vectors = np.load(seg_dir / "vectors.npy", mmap_mode="r")
            ids = np.load(seg_dir / "ids.npy")
            with np.load(seg_dir / "cols.npz") as npz:
                cols = {name: npz[name] for name in npz.files}
            deleted = np.load(self.path / entry["deletes"]) if entry.get("deletes") else None
            segments.append(_Segment(entry["name"], ids, vectors, cols, deleted, entry.get("deletes")))
        return _VectorState(int(manifest["generation"]), {c: list(manifest["vocab"].get(c, [])) for c in
                                                         CATEGORY_COLUMNS}, segments)

    # -- reading

    def live_count(self) -> int:
        return sum(seg.live_count for seg in self.state().segments)

    def get(self, doc_id: int) -> np.ndarray | None:
        wanted = np.asarray([doc_id], dtype=np.int64)
        for seg in self.state().segments:
            rows = seg.rows_of(wanted)
            if len(rows):
                return np.array(seg.vectors[rows[0]], dtype=np.float32)
        return None

    def scores_for(self, doc_ids: Sequence[int], qvec: np.ndarray) -> dict[int, float]:
        """Cosine of the query with the given listings' vectors (those that have one)."""
        out: dict[int, float] = {}
        if not doc_ids:
            return out
        wanted = np.asarray(list(doc_ids), dtype=np.int64)
        for seg in self.state().segments:
            rows = np.sort(seg.rows_of(wanted))
            if len(rows):
                scores = np.asarray(seg.vectors[rows]) @ qvec
                out.update(zip(seg.ids[rows].tolist(), scores.tolist(), strict=True))
        return out

    def mask(self, state: _VectorState, seg: _Segment, filters: Filters,
             allowed_ids: np.ndarray | None) -> np.ndarray | None:
        """Rows of ``seg`` that are live and pass the filters; None means every row."""
        mask = None if seg.deleted is None else ~seg.deleted

        def narrow(selected: np.ndarray) -> None:
            nonlocal mask
            mask = selected if mask is None else (mask & selected)

        for column, values in (("side", (filters.side,) if filters.side else ()), ("kind", filters.kinds),
                               ("region", filters.regions), ("district", filters.districts),
                               ("country", filters.countries), ("status", filters.statuses)):
            if values:
                codes = [c for c in (state.code(column, v) for v in values) if c is not None]
                if len(codes) == 1:  # the usual case (one region, one side): a comparison beats isin
                    narrow(seg.cols[column] == codes[0])
                else:
                    narrow(np.isin(seg.cols[column], np.asarray(codes, dtype=np.int32)))
        orgs = seg.cols["organization_id"]
        if filters.organization_id is not None:
            narrow(orgs == filters.organization_id)
        if filters.exclude_organization_ids:
            narrow(~np.isin(orgs, np.asarray(filters.exclude_organization_ids, dtype=np.int64)))
        if filters.ids is not None:
            narrow(np.isin(seg.ids, np.asarray(filters.ids, dtype=np.int64)))
        if filters.exclude_ids:
            narrow(~np.isin(seg.ids, np.asarray(filters.exclude_ids, dtype=np.int64)))
        if filters.active_on is not None:
            day = _day(filters.active_on)
            narrow((seg.cols["starts_day"] <= day) & (seg.cols["ends_day"] >= day))
        if allowed_ids is not None:
            narrow(np.isin(seg.ids, allowed_ids))
        return mask

    def search(self, qvec: np.ndarray, filters: Filters, depth: int,
               allowed_ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``depth`` nearest live rows passing the filters: (ids, cosine) in descending order."""
        state = self.state()
        all_ids, all_scores = [], []
        for seg in state.segments:
            mask = self.mask(state, seg, filters, allowed_ids)
            n = len(seg.ids)
            if mask is None:
                ids, scores = seg.ids, seg.vectors @ qvec
            else:
                rows = np.flatnonzero(mask)
                if not len(rows):
                    continue
                if len(rows) < n // 3:  # selective: gather the rows, multiply fewer
                    scores = np.asarray(seg.vectors[rows]) @ qvec
                else:
                    scores = (seg.vectors @ qvec)[rows]
                ids = seg.ids[rows]
            if len(scores) > depth:
                top = np.argpartition(-scores, depth - 1)[:depth]
                ids, scores = ids[top], scores[top]
            all_ids.append(ids)
            all_scores.append(np.asarray(scores, dtype=np.float32))
        if not all_ids:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        ids = np.concatenate(all_ids)
        scores = np.concatenate(all_scores)
        order = np.lexsort((ids, -scores))[:depth]
        return ids[order], scores[order]

    # -- writing (the caller holds the write lock)

    def write(self, upserts: Sequence[tuple[Document, np.ndarray | None]], deletes: Iterable[int] = ()) -> None:
        """Replace or add the upserted listings' vectors and drop the deleted ones, as one commit."""
        self.path.mkdir(parents=True, exist_ok=True)
        state = self.state(force=True)
        latest: dict[int, tuple[Document, np.ndarray | None]] = {}
        for doc, vector in upserts:
            latest[doc.id] = (doc, vector)
        touched = np.asarray(sorted(set(latest) | {int(i) for i in deletes}), dtype=np.int64)
        if not len(touched) and not upserts:
            return
        generation = state.generation + 1
        vocab = {c: list(v) for c, v in state.vocab.items()}
        entries = []
        for seg in state.segments:
            hit = np.isin(seg.ids, touched)
            deletes_file = seg.deletes_file
            deleted = seg.deleted
            if hit.any():
                deleted = hit if deleted is None else (deleted | hit)
                deletes_file = f"{seg.name}.del-{generation:06d}.npy"
                _save_npy(self.path / deletes_file, deleted)
            entries.append({"name": seg.name, "rows": len(seg.ids), "live": len(seg.ids) - int(
                deleted.sum() if deleted is not None else 0), "deletes": deletes_file})
        with_vectors = [(doc, vec) for doc, vec in latest.values() if vec is not None]
        if with_vectors:
            name = f"seg-{generation:06d}-{uuid.uuid4().hex[:8]}"  # never reused, even after the dir is remade
            self._write_segment(name, with_vectors, vocab)
            entries.append({"name": name, "rows": len(with_vectors), "live": len(with_vectors), "deletes": None})
        entries = [e for e in entries if e["live"] > 0]
        entries = self._merge(entries, generation, vocab)
        self._commit(generation, vocab, entries)

    def _write_segment(self, name: str, rows: Sequence[tuple[Document, np.ndarray]],
                       vocab: dict[str, list[str]]) -> None:
        lookup = {c: {v: i for i, v in enumerate(vocab[c])} for c in CATEGORY_COLUMNS}

        def code(column: str, value: str | None) -> int:
            if value is None:
                return -1
            table = lookup[column]
            if value not in table:
                table[value] = len(vocab[column])
                vocab[column].append(value)
            return table[value]

        cols = {c: np.fromiter((code(c, getattr(doc, c)) for doc, _ in rows), dtype=np.int32, count=len(rows))
                for c in CATEGORY_COLUMNS}
        for column, attr, open_end in (("starts_day", "starts_on", _NO_START), ("ends_day", "ends_on", _NO_END)):
            cols[column] = np.fromiter((open_end if getattr(doc, attr) is None else _day(getattr(doc, attr))
                                        for doc, _ in rows), dtype=np.int32, count=len(rows))
        cols["organization_id"] = np.fromiter((doc.organization_id for doc, _ in rows), dtype=np.int64,
                                              count=len(rows))
        ids = np.fromiter((doc.id for doc, _ in rows), dtype=np.int64, count=len(rows))
        matrix = np.stack([vec for _, vec in rows]).astype(np.float32, copy=False)
        self._write_segment_arrays(name, ids, matrix, cols)

    def _write_segment_arrays(self, name: str, ids: np.ndarray, matrix: np.ndarray,
                              cols: dict[str, np.ndarray]) -> None:
        tmp = self.path / f".{name}.{uuid.uuid4().hex}.tmp"
        tmp.mkdir()
        np.save(tmp / "vectors.npy", np.ascontiguousarray(matrix, dtype=np.float32))
        np.save(tmp / "ids.npy", ids)
        np.savez(tmp / "cols.npz", **cols)
        for file in tmp.iterdir():
            with open(file, "rb") as fh:
                os.fsync(fh.fileno())
        final = self.path / name
        if final.exists():  # left over from a write that died before its manifest: never referenced
            shutil.rmtree(final)
        os.replace(tmp, final)

    def _merge(self, entries: list[dict[str, Any]], generation: int,
               vocab: dict[str, list[str]]) -> list[dict[str, Any]]:
        """Rewrite the smallest segments (and those more than a third deleted) into one when there are too many."""
        heavy = [e for e in entries if e["rows"] and (e["rows"] - e["live"]) * 3 > e["rows"]]
        if len(entries) <= self.max_segments and not heavy:
            return entries
        by_size = sorted(entries, key=lambda e: e["live"])
        chosen = {e["name"] for e in heavy}
        if len(entries) > self.max_segments:
            chosen |= {e["name"] for e in by_size[: len(entries) - self.max_segments // 2 + 1]}
        if len(chosen) < 2 and not heavy:
            return entries
        ids_parts, vec_parts, col_parts = [], [], {c: [] for c in (*CATEGORY_COLUMNS, *EXTRA_COLUMNS)}
        for entry in entries:
            if entry["name"] not in chosen:
                continue
            seg_dir = self.path / entry["name"]
            live = ~np.load(self.path / entry["deletes"]) if entry["deletes"] else None
            ids = np.load(seg_dir / "ids.npy")
            vectors = np.load(seg_dir / "vectors.npy", mmap_mode="r")
            with np.load(seg_dir / "cols.npz") as npz:
                cols = {name: npz[name] for name in npz.files}
            if live is not None:
                ids, vectors = ids[live], vectors[live]
                cols = {name: col[live] for name, col in cols.items()}
            ids_parts.append(ids)
            vec_parts.append(np.asarray(vectors))
            for name, col in cols.items():
                col_parts[name].append(col)
        name = f"seg-{generation:06d}-{uuid.uuid4().hex[:8]}m"
        merged_ids = np.concatenate(ids_parts)
        kept = [e for e in entries if e["name"] not in chosen]
        if len(merged_ids):
            self._write_segment_arrays(name, merged_ids, np.concatenate(vec_parts),
                                       {c: np.concatenate(parts) for c, parts in col_parts.items()})
            kept.append({"name": name, "rows": len(merged_ids), "live": len(merged_ids), "deletes": None})
        return kept

    def _commit(self, generation: int, vocab: dict[str, list[str]], entries: list[dict[str, Any]]) -> None:
        manifest = {"format": FORMAT, "dim": self.dim, "generation": generation, "vocab": vocab,
                    "segments": entries}
        _atomic_write_bytes(self.manifest_path, json.dumps(manifest, ensure_ascii=False).encode())
        referenced = {"manifest.json"} | {e["name"] for e in entries} | {e["deletes"] for e in entries
                                                                          if e["deletes"]}
        for path in self.path.iterdir():
            if path.name not in referenced and not path.name.startswith("."):
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()

    def clear(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        state = self.state(force=True)
        self._commit(state.generation + 1, {c: [] for c in CATEGORY_COLUMNS}, [])


# ------------------------------------------------------------------------------------------------------ backend


class EmbeddedBackend(SearchBackend):
    """Listings indexed in a local directory; see the module docstring for the file layout and concurrency.

    Parameters
    ----------
    path : directory of the index, created when missing.
    dim : vector dimension; an existing index with another dimension is refused.
    heap_size, num_threads : tantivy writer memory budget and threads (0 = one per core).
    commit_every : documents per commit when ``index()`` is given a long iterable.
    max_segments : vector segments kept before the smallest are merged.
    """

    def __init__(self, path: str | os.PathLike[str], *, dim: int, heap_size: int = 128_000_000,
                 num_threads: int = 0, commit_every: int = 50_000, max_segments: int = 10):
        self.root = Path(path).resolve()
        self.dim = int(dim)
        self.heap_size = heap_size
        self.num_threads = num_threads
        self.commit_every = commit_every
        self._thread_lock = threading.RLock()
        self.root.mkdir(parents=True, exist_ok=True)
        with self._write_lock():
            meta_path = self.root / "meta.json"
            if meta_path.exists():
                meta = json.loads(meta_path.read_text())
                if meta.get("format") != FORMAT:
                    raise SearchError(f"search index at {self.root} has format {meta.get('format')}, this code "
                                      f"reads {FORMAT}: delete the directory and reindex")
                if int(meta["dim"]) != self.dim:
                    raise SearchError(f"search index at {self.root} holds {meta['dim']}-dimensional vectors, "
                                      f"not {self.dim}: delete the directory and reindex")
            else:
                (self.root / "text").mkdir(exist_ok=True)
                _atomic_write_bytes(meta_path, json.dumps({"format": FORMAT, "dim": self.dim}).encode())
            self._schema = _schema()
            self._index = tantivy.Index(self._schema, path=str(self.root / "text"), reuse=True)
        self._stem = _analyzer(stem=True)
        self._lower = _analyzer(stem=False)
        self._index.register_tokenizer("ru_stem", self._stem)
        self._index.register_tokenizer("ru_lower", self._lower)
        self._families = stem_families(self._stem_word)
        self._vectors = _VectorStore(self.root / "vectors", self.dim, max_segments=max_segments)

    @classmethod
    def from_url(cls, url: str, *, dim: int, **opts: Any) -> EmbeddedBackend:
        """``embedded:///abs/dir``, ``file:///abs/dir`` or a plain path."""
        if "://" in url:
            parsed = urlparse(url)
            path = unquote((parsed.netloc or "") + parsed.path)
        else:
            path = url
        if not path:
            raise ValueError(f"embedded search URL {url!r} names no directory")
        return cls(path, dim=dim, **opts)

    def __repr__(self) -> str:
        return f"EmbeddedBackend({str(self.root)!r}, dim={self.dim})"

    # -- locking

    @contextlib.contextmanager
    def _write_lock(self) -> Iterator[None]:
        with self._thread_lock, open(self.root / "write.lock", "a+b") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def _searcher(self) -> tantivy.Searcher:
        self._index.reload()
        return self._index.searcher()

    # -- analysis

    def _stem_word(self, word: str) -> str:
        tokens = self._stem.analyze(word)
        return tokens[0] if tokens else ""

    def _tantivy_doc(self, doc: Document, has_vector: bool) -> tantivy.Document:
        out = tantivy.Document()
        out.add_integer("id", doc.id)
        for column in CATEGORY_COLUMNS:
            value = getattr(doc, column)
            if value is not None:
                out.add_text(column, value)
        for scheme in ("okpd2", "okved2"):
            codes = getattr(doc, scheme)
            for cut in expand_codes(codes):
                out.add_text(scheme, cut)
            for value in dict.fromkeys(s for s in (code_section(c) for c in codes) if s):
                out.add_text(f"{scheme}_section", value)
            for value in dict.fromkeys(c for c in (code_class(c) for c in codes) if c):
                out.add_text(f"{scheme}_class", value)
        out.add_integer("organization_id", doc.organization_id)
        out.add_text("title", fold_yo(doc.title))
        out.add_text("description", fold_yo(doc.description or ""))
        out.add_text("words", fold_yo(f"{doc.title}\n{doc.description or ''}"))
        out.add_boolean("has_vector", has_vector)
        if doc.starts_on is not None:
            out.add_integer("starts_day", _day(doc.starts_on))
        if doc.ends_on is not None:
            out.add_integer("ends_day", _day(doc.ends_on))
        if doc.updated_at is not None:
            micros, aware = _micros(doc.updated_at)
            out.add_integer("updated_us", micros)
            out.add_integer("updated_tz", aware)
        out.add_bytes("source", json.dumps(document_source(doc), ensure_ascii=False).encode())
        return out

    # -- writing

    def _writer(self, small: bool = False) -> tantivy.IndexWriter:
        # A small write does not need the bulk heap; allocating it costs more than the write itself.
        if small:
            return self._index.writer(heap_size=min(self.heap_size, 32_000_000), num_threads=1)
        return self._index.writer(heap_size=self.heap_size, num_threads=self.num_threads)

    def index(self, docs: Iterable[Document]) -> int:
        written = 0
        small = isinstance(docs, Sequence) and len(docs) < 1000
        with self._write_lock():
            writer = self._writer(small)
            pending: list[tuple[Document, np.ndarray | None]] = []
            try:
                for doc in docs:
                    vector = None if doc.vector is None else check_vector(doc.vector, self.dim,
                                                                          what=f"vector of listing {doc.id}")
                    writer.delete_documents_by_term("id", doc.id)
                    writer.add_document(self._tantivy_doc(doc, vector is not None))
                    pending.append((doc, vector))
                    written += 1
                    if len(pending) >= self.commit_every:
                        writer.commit()
                        self._vectors.write(pending)
                        pending = []
                writer.commit()
                if pending:
                    self._vectors.write(pending)
            except BaseException:
                writer.rollback()
                raise
            finally:
                writer.wait_merging_threads()
        log.debug("indexed %d listings into %s", written, self.root)
        return written

    def delete(self, ids: Iterable[int]) -> None:
        ids = [int(i) for i in ids]
        if not ids:
            return
        with self._write_lock():
            writer = self._writer(small=True)
            try:
                for doc_id in ids:
                    writer.delete_documents_by_term("id", doc_id)
                writer.commit()
                self._vectors.write([], ids)
            except BaseException:
                writer.rollback()
                raise
            finally:
                writer.wait_merging_threads()

    def clear(self) -> None:
        with self._write_lock():
            writer = self._writer(small=True)
            try:
                writer.delete_all_documents()
                writer.commit()
                self._vectors.clear()
            finally:
                writer.wait_merging_threads()

    def close(self) -> None:
        self._index = None  # type: ignore[assignment]
        self._vectors = None  # type: ignore[assignment]

    # -- reading

    def count(self) -> int:
        return self._searcher().num_docs

    def get(self, doc_id: int) -> Document | None:
        searcher = self._searcher()
        result = searcher.search(tantivy.Query.term_query(self._schema, "id", int(doc_id)), 1)
        if not result.hits:
            return None
        source = json.loads(bytes(searcher.doc(result.hits[0][1]).get_first("source")))
        return document_from_source(doc_id, source, self._vectors.get(int(doc_id)))

    def ids(self) -> dict[int, datetime | None]:
        searcher = self._searcher()
        total = searcher.num_docs
        if not total:
            return {}
        addrs = [addr for _, addr in searcher.search(tantivy.Query.all_query(), total, count=False).hits]
        ids = searcher.fast_field_values("id", addrs)
        micros = searcher.fast_field_values("updated_us", addrs)
        aware = searcher.fast_field_values("updated_tz", addrs)
        out = {i: (None if m is None else _from_micros(m, a or 0)) for i, m, a in zip(ids, micros, aware,
                                                                                       strict=True)}
        # A write torn between the two commits (a crash) leaves listings whose vector never landed: report them
        # as never updated so that the caller's consistency check indexes them again.
        wanted = np.asarray([i for i, v in zip(ids, searcher.fast_field_values("has_vector", addrs), strict=True)
                             if v], dtype=np.int64)
        if len(wanted):
            have = [seg.ids[seg.live] for seg in self._vectors.state().segments]
            present = np.concatenate(have) if have else np.empty(0, dtype=np.int64)
            for doc_id in wanted[~np.isin(wanted, present)].tolist():
                out[doc_id] = None
        return out

    # -- query building

    def _filter_clauses(self, filters: Filters) -> list[tuple[Any, tantivy.Query]]:
        schema = self._schema
        must, clauses = [], []
        for column, values in (("side", (filters.side,) if filters.side else ()), ("kind", filters.kinds),
                               ("region", filters.regions), ("district", filters.districts),
                               ("country", filters.countries), ("status", filters.statuses),
                               ("okpd2", filters.okpd2), ("okved2", filters.okved2)):
            if values:
                must.append(tantivy.Query.term_set_query(schema, column, list(values)))
        if filters.organization_id is not None:
            must.append(tantivy.Query.term_query(schema, "organization_id", int(filters.organization_id)))
        if filters.ids is not None:
            must.append(tantivy.Query.term_set_query(schema, "id", list(filters.ids)))
        clauses = [(tantivy.Occur.Must, tantivy.Query.const_score_query(q, 0.0)) for q in must]
        if filters.exclude_organization_ids:
            clauses.append((tantivy.Occur.MustNot, tantivy.Query.term_set_query(
                schema, "organization_id", [int(i) for i in filters.exclude_organization_ids])))
        if filters.exclude_ids:
            clauses.append((tantivy.Occur.MustNot, tantivy.Query.term_set_query(
                schema, "id", [int(i) for i in filters.exclude_ids])))
        if filters.active_on is not None:  # an open end has no value, and a range never matches a missing value
            day = _day(filters.active_on)
            clauses.append((tantivy.Occur.MustNot, tantivy.Query.range_query(
                schema, "starts_day", tantivy.FieldType.Integer, lower_bound=day, include_lower=False)))
            clauses.append((tantivy.Occur.MustNot, tantivy.Query.range_query(
                schema, "ends_day", tantivy.FieldType.Integer, upper_bound=day, include_upper=False)))
        return clauses

    def _phrase(self, words: Sequence[str], fields: Sequence[tuple[str, float]]) -> tantivy.Query | None:
        """Words in this order (stop words keep their place), in any of the fields."""
        terms = [(offset, stem) for offset, stem in ((i, self._stem_word(w)) for i, w in enumerate(words)) if stem]
        if not terms:
            return None
        if len(terms) == 1:
            per_field = [tantivy.Query.boost_query(tantivy.Query.term_query(self._schema, f, terms[0][1]), b)
                         for f, b in fields]
        else:
            first = terms[0][0]
            shifted = [(offset - first, stem) for offset, stem in terms]
            per_field = [tantivy.Query.boost_query(tantivy.Query.phrase_query(self._schema, f, shifted), b)
                         for f, b in fields]
        return tantivy.Query.disjunction_max_query(per_field)

    def _text_query(self, text: str, prefix: bool) -> tantivy.Query:
        schema = self._schema
        fields = (("title", TITLE_BOOST), ("description", 1.0))
        clauses: list[tuple[Any, tantivy.Query]] = []
        text = fold_yo(text)
        for phrase in _QUOTED.findall(text):
            query = self._phrase(_WORD.findall(phrase.lower()), fields)
            if query is not None:
                clauses.append((tantivy.Occur.Must, query))
        rest = _QUOTED.sub(" ", text)
        words = _WORD.findall(rest.lower())
        prefix_word = words.pop() if prefix and words and not rest[-1:].isspace() else None
        stems = list(dict.fromkeys(s for s in (self._stem_word(w) for w in words) if s))
        for stem in stems:
            variants = [(stem, 1.0)] + [(other, FAMILY_BOOST) for other in sorted(self._families.get(stem, ()))]
            subqueries = [tantivy.Query.boost_query(tantivy.Query.term_query(schema, f, v), fb * vb)
                          for f, fb in fields for v, vb in variants]
            clauses.append((tantivy.Occur.Should, tantivy.Query.disjunction_max_query(subqueries)))
        if len(stems) > 1:
            phrase = self._phrase(words, (("title", TITLE_BOOST * PHRASE_BOOST), ("description", PHRASE_BOOST)))
            if phrase is not None:
                clauses.append((tantivy.Occur.Should, phrase))
        if prefix_word:
            clauses.append((tantivy.Occur.Must, tantivy.Query.regex_query(schema, "words", f"{prefix_word}.*")))
        if not clauses:
            return tantivy.Query.empty_query()
        return tantivy.Query.boolean_query(clauses)

    @staticmethod
    def _combine(positive: tantivy.Query | None, filters: list[tuple[Any, tantivy.Query]]) -> tantivy.Query:
        clauses = list(filters)
        if positive is not None:
            clauses.insert(0, (tantivy.Occur.Must, positive))
        elif not any(occur == tantivy.Occur.Must for occur, _ in clauses):
            clauses.insert(0, (tantivy.Occur.Must, tantivy.Query.all_query()))
        return tantivy.Query.boolean_query(clauses) if len(clauses) > 1 else clauses[0][1]

    def _allowed_ids(self, searcher: tantivy.Searcher, filters: Filters) -> np.ndarray | None:
        """Ids passing the filters when they include code prefixes, which the vector columns cannot evaluate.

        All the filters go to tantivy, not only the codes, so that the id list stays as short as the match set
        (a region and a class: hundreds, not the whole class). A broad code filter alone costs a pass over its
        matches: section "C" with nothing else, 66k matches of 100k listings, takes ~60 ms.
        """
        if not (filters.okpd2 or filters.okved2):
            return None
        query = self._combine(None, self._filter_clauses(filters))
        total = searcher.search(query, 1, count=True).count
        if not total:
            return np.empty(0, dtype=np.int64)
        addrs = [addr for _, addr in searcher.search(query, total, count=False).hits]
        return np.asarray(searcher.fast_field_values("id", addrs), dtype=np.int64)

    # -- search

    def search(self, query: Query) -> SearchResult:
        searcher = self._searcher()
        schema = self._schema
        filters = self._filter_clauses(query.filters)
        text_q = self._text_query(query.text, query.prefix) if query.text else None
        qvec = check_vector(query.vector, self.dim, what="query vector") if query.vector is not None else None
        has_vector = tantivy.Query.term_query(schema, "has_vector", True)
        text_scores: dict[int, float] = {}
        vector_scores: dict[int, float] = {}
        page: list[tuple[int, float]]

        if query.mode == "text":
            match = self._combine(text_q, filters)
            parts = [match]
            if text_q is None:  # browsing: newest first
                result = searcher.search(match, max(query.k, 1), count=True, order_by_field="updated_us",
                                         offset=query.offset)
                ids = searcher.fast_field_values("id", [a for _, a in result.hits[: query.k]])
                page = [(i, 0.0) for i in ids]
            else:
                result = searcher.search(match, max(query.k, 1), count=True, offset=query.offset)
                hits = result.hits[: query.k]
                ids = searcher.fast_field_values("id", [a for _, a in hits])
                page = [(i, s) for i, (s, _) in zip(ids, hits, strict=True)]
                text_scores = dict(page)
            total = result.count
            if qvec is not None:
                vector_scores = self._vectors.scores_for([i for i, _ in page], qvec)
        else:
            assert qvec is not None
            depth = query.depth
            # The match set is (filters and has a vector) [or (filters and the words and no vector)]: disjoint
            # parts counted apart, because tantivy cannot skip through a union with a dense term (has_vector) and
            # would walk every document.
            parts = [self._combine(has_vector, filters)]
            if query.mode == "hybrid" and text_q is not None:
                parts.append(self._combine(tantivy.Query.const_score_query(text_q, 1.0),
                                           [*filters, (tantivy.Occur.MustNot, has_vector)]))
            total = sum(searcher.search(part, 1, count=True).count for part in parts)
            vec_ids, vec_scores = self._vectors.search(qvec, query.filters, depth,
                                                       self._allowed_ids(searcher, query.filters))
            vector_scores = dict(zip(vec_ids.tolist(), vec_scores.tolist(), strict=True))
            if query.mode == "vector" or text_q is None:
                ranked = list(vector_scores.items())
            else:
                result = searcher.search(self._combine(text_q, filters), depth, count=False)
                ids = searcher.fast_field_values("id", [a for _, a in result.hits])
                text_scores = {i: s for i, (s, _) in zip(ids, result.hits, strict=True)}
                ranked = rrf_fuse([(list(text_scores), query.text_weight),
                                   (list(vector_scores), query.vector_weight)], k=RRF_K)
                missing = [i for i, _ in ranked if i not in vector_scores]
                vector_scores.update(self._vectors.scores_for(missing, qvec))
            page = ranked[query.offset: query.offset + query.k]

        sources = self._sources(searcher, [i for i, _ in page])
        hits = tuple(Hit(id=i, score=float(s), text_score=text_scores.get(i), vector_score=vector_scores.get(i),
                         fields=sources[i]) for i, s in page if i in sources)
        facets = self._facets(searcher, parts, query.facets) if query.facets else {}
        return SearchResult(hits=hits, total=int(total), facets=facets)

    def _sources(self, searcher: tantivy.Searcher, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        if not ids:
            return {}
        result = searcher.search(tantivy.Query.term_set_query(self._schema, "id", list(ids)), len(ids) * 2,
                                 count=False)
        addrs = [a for _, a in result.hits]
        found = searcher.fast_field_values("id", addrs)
        return {i: json.loads(bytes(searcher.doc(a).get_first("source"))) for i, a in zip(found, addrs,
                                                                                         strict=True)}

    @staticmethod
    def _facets(searcher: tantivy.Searcher, parts: Sequence[tantivy.Query],
                names: Sequence[str]) -> dict[str, dict[str, int]]:
        """Terms counts over the match set, given as disjoint parts whose counts add up."""
        spec = {name: {"terms": {"field": name, "size": 10_000}} for name in names}
        out: dict[str, dict[str, int]] = {name: {} for name in names}
        for part in parts:
            result = searcher.aggregate(part, spec)
            for name in names:
                counts = out[name]
                for bucket in result.get(name, {}).get("buckets", []):
                    counts[bucket["key"]] = counts.get(bucket["key"], 0) + int(bucket["doc_count"])
        return {name: dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))) for name, counts in out.items()}
