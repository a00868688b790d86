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

from search.base import Document, Filters

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
        if "_by_id" in self.__dict__:
            twin.__dict__["_by_id"] = self.__dict__["_by_id"]
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


class VectorStore:
    """Immutable float32 segments plus tombstones, committed by replacing ``manifest.json``."""

    def __init__(self, path: Path, dim: int, *, max_segments: int = 10):
        self.path = path
        self.dim = dim
        self.max_segments = max_segments
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
            vectors = np.load(seg_dir / "vectors.npy", mmap_mode="r")
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
                scores = np.asarray(seg.vectors[rows]) @ qvec
                out.update(zip(seg.ids[rows].tolist(), scores.tolist(), strict=True))
        return out

    def mask(self, state: VectorState, seg: Segment, filters: Filters,
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
            day = day_number(filters.active_on)
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
