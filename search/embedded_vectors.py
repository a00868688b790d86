"""The embedded backend's vectors: immutable float32 segments with tombstones, committed by replacing a manifest.

See :mod:`search.embedded` for the layout and the concurrency rules; this module is the numpy half of it.
"""
from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from search.base import Document
from search.vector_scan import VectorSearchMixin, matvec

FORMAT = 3
CATEGORY_COLUMNS = ("side", "kind", "region", "district", "country", "status")
EXTRA_COLUMNS = ("organization_id", "starts_day", "ends_day")
_NO_START, _NO_END = np.iinfo(np.int32).min, np.iinfo(np.int32).max
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def day_number(value: date) -> int:
    """Days since 1970-01-01."""
    return value.toordinal() - _EPOCH_ORDINAL


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def save_npy(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as fh:
        np.save(fh, array)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


# --------------------------------------------------------------------------------------------------- vectors


@dataclass
class Segment:
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
    def deleted_rows(self) -> np.ndarray:
        """The deleted rows, ascending (int64)."""
        return np.flatnonzero(self.deleted) if self.deleted is not None else np.empty(0, dtype=np.int64)

    @functools.cached_property
    def groups(self) -> list[tuple[int, int, int, int]] | None:
        """(side code, status code, first row, end row) of each run of rows, when every (side, status) pair is one
        run (segments are written sorted so); None for a segment written otherwise."""
        n = len(self.ids)
        if not n:
            return []
        key = self.cols["side"].astype(np.int64) * (1 << 32) + self.cols["status"].astype(np.int64)
        starts = np.concatenate(([0], np.flatnonzero(np.diff(key)) + 1))
        keys = key[starts]
        if len(np.unique(keys)) != len(keys):
            return None
        stops = np.append(starts[1:], n)
        return [(int(self.cols["side"][a]), int(self.cols["status"][a]), int(a), int(b))
                for a, b in zip(starts.tolist(), stops.tolist(), strict=True)]

    def rows_with(self, column: str, codes: Sequence[int]) -> np.ndarray:
        """Rows whose ``column`` holds one of ``codes``, ascending, from a per-column index built on first use."""
        index = self.__dict__.setdefault("_value_index", {}).get(column)
        if index is None:
            order = np.argsort(self.cols[column], kind="stable").astype(np.int32)  # 8 bytes a row with the values
            index = self.__dict__["_value_index"][column] = (self.cols[column][order], order)
        values, order = index
        keys = np.asarray(codes, dtype=values.dtype)  # a key of another dtype would cast the whole column per call
        lows, highs = np.searchsorted(values, keys, "left"), np.searchsorted(values, keys, "right")
        parts = [order[lo:hi] for lo, hi in zip(lows.tolist(), highs.tolist(), strict=True)]
        if len(parts) == 1:
            return parts[0]
        return np.sort(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)

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

    def with_deletes(self, deleted: np.ndarray | None, deletes_file: str | None) -> Segment:
        """The same immutable rows with another tombstone file."""
        twin = Segment(self.name, self.ids, self.vectors, self.cols, deleted, deletes_file)
        for cached in ("_by_id", "groups", "ivf", "_value_index"):  # what depends on the rows alone
            if cached in self.__dict__:
                twin.__dict__[cached] = self.__dict__[cached]
        return twin


@dataclass
class VectorState:
    generation: int
    vocab: dict[str, list[str]]
    segments: list[Segment]

    def code(self, column: str, value: str) -> int | None:
        try:
            return self.vocab[column].index(value)
        except ValueError:
            return None


class VectorStore(VectorSearchMixin):
    """Immutable float32 segments plus tombstones, committed by replacing ``manifest.json``."""

    def __init__(self, path: Path, dim: int, *, max_segments: int = 10, approximate: bool = False,
                 approximate_min_rows: int = 50_000, probe: float = 0.05):
        self.path = path
        self.dim = dim
        self.max_segments = max_segments
        self.approximate = approximate
        self.approximate_min_rows = approximate_min_rows
        self.probe = probe
        self._ivf_lock = threading.Lock()
        self._signature: tuple[int, int, int] | None = None
        self._state = VectorState(0, {c: [] for c in CATEGORY_COLUMNS}, [])
        self._lock = threading.Lock()

    @property
    def manifest_path(self) -> Path:
        return self.path / "manifest.json"

    def state(self, *, force: bool = False) -> VectorState:
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

    def _load(self) -> VectorState:
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
            vectors = np.load(seg_dir / "vectors.npy", mmap_mode="r").view(np.ndarray)  # no memmap wrapping per use
            ids = np.load(seg_dir / "ids.npy")
            with np.load(seg_dir / "cols.npz") as npz:
                cols = {name: npz[name] for name in npz.files}
            deleted = np.load(self.path / entry["deletes"]) if entry.get("deletes") else None
            segments.append(Segment(entry["name"], ids, vectors, cols, deleted, entry.get("deletes")))
        return VectorState(int(manifest["generation"]), {c: list(manifest["vocab"].get(c, [])) for c in
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
                scores = matvec(seg.vectors[rows], qvec)
                out.update(zip(seg.ids[rows].tolist(), scores.tolist(), strict=True))
        return out

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
                save_npy(self.path / deletes_file, deleted)
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
            cols[column] = np.fromiter((open_end if getattr(doc, attr) is None else day_number(getattr(doc, attr))
                                        for doc, _ in rows), dtype=np.int32, count=len(rows))
        cols["organization_id"] = np.fromiter((doc.organization_id for doc, _ in rows), dtype=np.int64,
                                              count=len(rows))
        ids = np.fromiter((doc.id for doc, _ in rows), dtype=np.int64, count=len(rows))
        matrix = np.stack([vec for _, vec in rows]).astype(np.float32, copy=False)
        self._write_segment_arrays(name, ids, matrix, cols)

    def _write_segment_arrays(self, name: str, ids: np.ndarray, matrix: np.ndarray,
                              cols: dict[str, np.ndarray]) -> None:
        # Sorted by (side, status, region): a query filtering on side and status alone reads contiguous slices
        # (Segment.groups), and one region's rows are a run in each of them (vector_scan.runs): no gather.
        order = np.lexsort((cols["region"], cols["status"], cols["side"]))
        if not np.array_equal(order, np.arange(len(order))):
            ids, matrix = ids[order], matrix[order]
            cols = {c: col[order] for c, col in cols.items()}
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
        atomic_write_bytes(self.manifest_path, json.dumps(manifest, ensure_ascii=False).encode())
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
