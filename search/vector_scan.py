"""Vector top-k over one segment of :mod:`search.embedded_vectors`: exact by default, approximate on request.

- **Single-threaded BLAS.** A matrix-vector product is memory-bound: a second BLAS thread adds little, and on
  shared cores it waits for the scheduler (measured on 2 busy cores: p50 0.03 ms, p95 24 ms for a 3,000-row product
  with two threads; 0.05 / 0.08 ms with one). Every product here runs under :data:`ONE_BLAS_THREAD`.
- **Partitions.** Segments are written sorted by (side, status, region) (:meth:`Segment.groups` finds the
  (side, status) runs), so a filter on side and status alone is a few contiguous slices: the product runs over the
  slices' rows only, with no mask over the whole matrix and no gather. Deleted rows and the few excluded ids or
  organisations are set to -inf in the slice's scores. A region (or district) filter starts from that value's rows,
  one run in each (side, status) group of a segment so written (:func:`runs`): the runs are multiplied as slices,
  and the rows failing the other filters are set to -inf. Any other filter (kind, codes, ids…) or scattered rows
  take the mask path: the passing rows are gathered and multiplied when they are under a third of the segment,
  else the whole segment is multiplied.
- **Approximate (``approximate=True``, segments of at least ``min_rows``).** An inverted file: the segment's rows
  are clustered by spherical k-means (faiss, built once per immutable segment and saved beside it as
  ``ivf.npz``: the centroids and the rows of each list); a broad query multiplies only the rows of the ``probe``
  share of lists nearest to it. The rows are our own memory-mapped matrix, so the index costs 4 bytes a row, and
  the scores of the rows it returns are exact. Filters stay exact: every returned row passes them; only recall is
  approximate (printed by ``bench/bench_search.py``). When too few rows of the probed lists pass, the exact scan
  answers instead.
"""
from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from search.base import Filters
    from search.embedded_vectors import Segment, VectorState

log = logging.getLogger(__name__)
IVF_FILE = "ivf.npz"
MAX_RUNS = 16  # runs of rows multiplied slice by slice; more, and the passing rows are gathered


class _OneBlasThread:
    """A re-entrant, thread-safe cap of the BLAS libraries to one thread (threadpoolctl), a no-op without it.

    The BLAS libraries are looked up once; entering sets each one that runs more than one thread to one and leaving
    restores it: a ctypes call per library, where ``ThreadpoolController.limit`` re-reads every library's info on
    each call (≈50 µs, a twentieth of a hybrid query at 100k).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._libraries: list[Any] | None = None  # None: not looked up yet
        self._restore: list[tuple[Any, int]] = []

    def _blas(self) -> list[Any]:
        if self._libraries is None:
            try:
                from threadpoolctl import ThreadpoolController
                self._libraries = list(ThreadpoolController().select(user_api="blas").lib_controllers)
            except ImportError:  # pragma: no cover - scikit-learn brings it
                self._libraries = []
        return self._libraries

    def __enter__(self) -> None:
        with self._lock:
            if self._depth == 0:
                for library in self._blas():
                    threads = library.get_num_threads()
                    if threads != 1:
                        library.set_num_threads(1)
                        self._restore.append((library, threads))
            self._depth += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth == 0:
                for library, threads in self._restore:
                    library.set_num_threads(threads)
                self._restore = []


ONE_BLAS_THREAD = _OneBlasThread()


def matvec(matrix: np.ndarray, qvec: np.ndarray) -> np.ndarray:
    with ONE_BLAS_THREAD:
        return np.asarray(matrix @ qvec)


def top(ids: np.ndarray, scores: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``depth`` best finite scores (unordered) with their ids."""
    if len(scores) > depth:
        part = np.argpartition(-scores, depth - 1)[:depth]
        ids, scores = ids[part], scores[part]
    keep = np.isfinite(scores)
    if not keep.all():
        ids, scores = ids[keep], scores[keep]
    return ids, scores


def dropped_rows(seg: Segment, filters: Any) -> np.ndarray:
    """Rows of the segment that a broad query must not return: deleted, excluded ids, excluded organisations."""
    parts = [seg.deleted_rows]
    if filters.exclude_ids:
        parts.append(seg.rows_of(np.asarray(filters.exclude_ids, dtype=np.int64)))
    if filters.exclude_organization_ids:
        excluded = np.asarray(filters.exclude_organization_ids, dtype=np.int64)
        orgs = seg.cols["organization_id"]
        parts.append(np.flatnonzero(orgs == excluded[0]) if len(excluded) == 1 else
                     np.flatnonzero(np.isin(orgs, excluded)))
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def scan_ranges(seg: Segment, ranges: Sequence[tuple[int, int]], qvec: np.ndarray, filters: Any,
                depth: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``depth`` over contiguous row ranges: one product per range, the dropped rows at -inf."""
    drop = dropped_rows(seg, filters)
    all_ids, all_scores = [], []
    for start, stop in ranges:
        scores = matvec(seg.vectors[start:stop], qvec)
        inside = drop[(drop >= start) & (drop < stop)]
        if len(inside):
            scores = np.array(scores, copy=True)
            scores[inside - start] = -np.inf
        ids, scores = top(seg.ids[start:stop], scores, depth)
        all_ids.append(ids)
        all_scores.append(scores)
    if not all_ids:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    return np.concatenate(all_ids), np.concatenate(all_scores)


def runs(rows: np.ndarray, limit: int = MAX_RUNS) -> list[tuple[int, int]] | None:
    """Ascending rows as (first, end) runs of consecutive rows, or None when there are more than ``limit`` runs."""
    if not len(rows):
        return []
    breaks = np.flatnonzero(np.diff(rows) != 1)
    if len(breaks) >= limit:
        return None
    starts = [0, *(breaks + 1).tolist()]
    stops = [*(breaks + 1).tolist(), len(rows)]
    return [(int(rows[a]), int(rows[b - 1]) + 1) for a, b in zip(starts, stops, strict=True)]


# ------------------------------------------------------------------------------------------- approximate (IVF)


class InvertedFile:
    """Spherical k-means lists over one segment's rows: ``centroids`` (lists x dim), ``rows`` grouped by list,
    ``offsets`` (lists + 1) into ``rows``."""

    def __init__(self, centroids: np.ndarray, rows: np.ndarray, offsets: np.ndarray):
        self.centroids, self.rows, self.offsets = centroids, rows, offsets

    @classmethod
    def build(cls, vectors: np.ndarray, *, seed: int = 1) -> InvertedFile:
        import faiss

        n, dim = vectors.shape
        lists = max(1, int(round(np.sqrt(n))))
        rng = np.random.default_rng(seed)
        sample = np.sort(rng.choice(n, size=min(n, 40 * lists), replace=False))
        kmeans = faiss.Kmeans(dim, lists, niter=12, spherical=True, seed=seed, verbose=False)
        kmeans.train(np.ascontiguousarray(vectors[sample], dtype=np.float32))
        centroids = np.ascontiguousarray(kmeans.centroids, dtype=np.float32)
        assign = np.empty(n, dtype=np.int32)
        for start in range(0, n, 65_536):  # the nearest centroid of every row, a block at a time
            block = np.asarray(vectors[start:start + 65_536], dtype=np.float32)
            assign[start:start + len(block)] = np.argmax(block @ centroids.T, axis=1)
        rows = np.argsort(assign, kind="stable").astype(np.int32)
        offsets = np.searchsorted(assign[rows], np.arange(lists + 1)).astype(np.int64)
        return cls(centroids, rows, offsets)

    @classmethod
    def load_or_build(cls, seg_dir: os.PathLike[str] | str, vectors: np.ndarray) -> InvertedFile:
        path = os.path.join(seg_dir, IVF_FILE)
        try:
            with np.load(path) as npz:
                return cls(npz["centroids"], npz["rows"], npz["offsets"])
        except (FileNotFoundError, OSError, KeyError, ValueError):
            pass
        ivf = cls.build(vectors)
        tmp = os.path.join(seg_dir, f".{IVF_FILE}.{uuid.uuid4().hex}.tmp")
        try:
            with open(tmp, "wb") as fh:
                np.savez(fh, centroids=ivf.centroids, rows=ivf.rows, offsets=ivf.offsets)
            os.replace(tmp, path)  # segments are immutable, so is their index: any process may write it once
        except OSError as exc:  # a read-only directory, a segment merged away meanwhile: keep it in memory
            log.debug("could not save %s: %s", path, exc)
        return ivf

    def candidates(self, qvec: np.ndarray, probe: float) -> np.ndarray:
        """Rows of the lists nearest the query, ``probe`` of all lists (at least one), in row order."""
        lists = len(self.centroids)
        count = max(1, int(np.ceil(probe * lists)))
        near = np.argpartition(-(self.centroids @ qvec), count - 1)[:count] if count < lists else np.arange(lists)
        parts = [self.rows[self.offsets[i]:self.offsets[i + 1]] for i in near]
        return np.sort(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int32)


def scan_approximate(seg: Segment, ivf: InvertedFile, ranges: Sequence[tuple[int, int]], qvec: np.ndarray,
                     filters: Any, depth: int, probe: float) -> tuple[np.ndarray, np.ndarray] | None:
    """Top-``depth`` among the probed lists' rows that pass (in ``ranges``, not dropped); None when fewer than
    ``depth`` pass while the ranges hold more (the caller scans exactly)."""
    rows = ivf.candidates(qvec, probe)
    inside = np.zeros(len(rows), dtype=bool)
    for start, stop in ranges:
        inside |= (rows >= start) & (rows < stop)
    rows = rows[inside]
    drop = dropped_rows(seg, filters)
    passing = sum(stop - start for start, stop in ranges)
    if len(drop):
        rows = rows[~np.isin(rows, drop)]
        passing -= sum(int(((drop >= start) & (drop < stop)).sum()) for start, stop in ranges)
    if len(rows) < depth and len(rows) < passing:
        return None
    scores = matvec(seg.vectors[rows], qvec)
    return top(seg.ids[rows], scores, depth)


class VectorSearchMixin:
    """The reading half of :class:`search.embedded_vectors.VectorStore`: filter masks, the three scan paths."""

    path: Any
    approximate: bool
    approximate_min_rows: int
    probe: float
    _ivf_lock: threading.Lock

    def state(self) -> VectorState:  # pragma: no cover - provided by VectorStore
        raise NotImplementedError

    def mask(self, state: VectorState, seg: Segment, filters: Filters, allowed_ids: np.ndarray | None,
             rows: np.ndarray | None = None) -> np.ndarray | None:
        """Which rows of ``seg`` (all, or the given ``rows``) are live and pass the filters; None means all."""
        def col(values: np.ndarray) -> np.ndarray:
            return values if rows is None else values[rows]

        mask = None if seg.deleted is None else ~col(seg.deleted)

        def narrow(selected: np.ndarray) -> None:
            nonlocal mask
            mask = selected if mask is None else (mask & selected)

        for column, values in (("side", (filters.side,) if filters.side else ()), ("kind", filters.kinds),
                               ("region", filters.regions), ("district", filters.districts),
                               ("country", filters.countries), ("status", filters.statuses)):
            if values:
                codes = [c for c in (state.code(column, v) for v in values) if c is not None]
                if len(codes) == 1:  # the usual case (one region, one side): a comparison beats isin
                    narrow(col(seg.cols[column]) == codes[0])
                else:
                    narrow(np.isin(col(seg.cols[column]), np.asarray(codes, dtype=np.int32)))
        orgs = col(seg.cols["organization_id"])
        if filters.organization_id is not None:
            narrow(orgs == filters.organization_id)
        if filters.exclude_organization_ids:
            narrow(~np.isin(orgs, np.asarray(filters.exclude_organization_ids, dtype=np.int64)))
        if filters.ids is not None:
            narrow(np.isin(col(seg.ids), np.asarray(filters.ids, dtype=np.int64)))
        if filters.exclude_ids:
            narrow(~np.isin(col(seg.ids), np.asarray(filters.exclude_ids, dtype=np.int64)))
        if filters.active_on is not None:
            from search.embedded_vectors import day_number

            day = day_number(filters.active_on)
            narrow((col(seg.cols["starts_day"]) <= day) & (col(seg.cols["ends_day"]) >= day))
        if allowed_ids is not None:
            narrow(np.isin(col(seg.ids), allowed_ids))
        return mask

    def selected_rows(self, state: VectorState, seg: Segment, filters: Filters,
                      allowed_ids: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        """The candidate rows, ascending, and which of them pass the filters (None: all). A region or district
        filter starts from that value's rows (a per-segment index, built once), so the usual one-region query never
        touches the other rows; segments are sorted by (side, status, region), so those rows are a few runs."""
        for column, values in (("region", filters.regions), ("district", filters.districts)):
            if values:
                codes = [c for c in (state.code(column, v) for v in values) if c is not None]
                rows = seg.rows_with(column, codes)
                return rows, self.mask(state, seg, filters, allowed_ids, rows) if len(rows) else None
        mask = self.mask(state, seg, filters, allowed_ids)
        return (np.arange(len(seg.ids)), None) if mask is None else (np.flatnonzero(mask), None)

    def search(self, qvec: np.ndarray, filters: Filters, depth: int,
               allowed_ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``depth`` nearest live rows passing the filters: (ids, cosine) in descending order."""
        state = self.state()
        all_ids, all_scores = [], []
        for seg in state.segments:
            ranges = self.broad_ranges(state, seg, filters, allowed_ids)
            if ranges is not None:
                if not ranges:
                    continue
                found = None
                if self.approximate and len(seg.ids) >= self.approximate_min_rows and \
                        2 * sum(b - a for a, b in ranges) >= len(seg.ids):
                    found = scan_approximate(seg, self.ivf(seg), ranges, qvec, filters, depth, self.probe)
                ids, scores = found if found is not None else scan_ranges(seg, ranges, qvec, filters, depth)
            else:
                rows, passing = self.selected_rows(state, seg, filters, allowed_ids)
                if not len(rows) or (passing is not None and not passing.any()):
                    continue
                spans = runs(rows)
                if spans is not None:  # a few runs (a region's rows in each side and status): slices, no gather
                    scores = matvec(seg.vectors[spans[0][0]:spans[0][1]], qvec) if len(spans) == 1 else \
                        np.concatenate([matvec(seg.vectors[a:b], qvec) for a, b in spans])
                    if passing is not None:
                        scores[~passing] = -np.inf
                else:
                    if passing is not None:
                        rows = rows[passing]
                    if len(rows) < len(seg.ids) // 3:  # selective: gather the rows, multiply fewer
                        scores = matvec(seg.vectors[rows], qvec)
                    else:
                        scores = matvec(seg.vectors, qvec)[rows]
                ids, scores = top(seg.ids[rows], scores, depth)
            all_ids.append(ids)
            all_scores.append(np.asarray(scores, dtype=np.float32))
        if not all_ids:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        ids = np.concatenate(all_ids)
        scores = np.concatenate(all_scores)
        order = np.lexsort((ids, -scores))[:depth]
        return ids[order], scores[order]

    @staticmethod
    def broad_ranges(state: VectorState, seg: Segment, filters: Filters,
                     allowed_ids: np.ndarray | None) -> list[tuple[int, int]] | None:
        """The row slices a filter on side and status (and exclusions) selects, or None when another filter
        applies or the segment is not sorted by them (the mask path)."""
        if (filters.kinds or filters.regions or filters.districts or filters.countries or filters.ids is not None
                or filters.organization_id is not None or filters.active_on is not None or allowed_ids is not None):
            return None
        if not filters.side and not filters.statuses:
            return [(0, len(seg.ids))]
        if seg.groups is None:
            return None
        sides = None if not filters.side else {state.code("side", filters.side)}
        statuses = None if not filters.statuses else {state.code("status", v) for v in filters.statuses}
        ranges: list[tuple[int, int]] = []
        for side, status, start, stop in seg.groups:
            if (sides is None or side in sides) and (statuses is None or status in statuses):
                if ranges and ranges[-1][1] == start:
                    ranges[-1] = (ranges[-1][0], stop)
                else:
                    ranges.append((start, stop))
        return ranges

    def ivf(self, seg: Segment) -> InvertedFile:
        """The segment's inverted file, loaded or built once (segments never change)."""
        ivf = seg.__dict__.get("ivf")
        if ivf is None:
            with self._ivf_lock:
                ivf = seg.__dict__.get("ivf")
                if ivf is None:
                    ivf = seg.__dict__["ivf"] = InvertedFile.load_or_build(self.path / seg.name, seg.vectors)
        return ivf
