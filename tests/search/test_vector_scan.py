"""Vector search stays exact through the partitioned path (segments sorted by side and status), the mask path and
updates; the approximate option returns only rows that pass the filters, with exact scores and a high recall."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from search import Document, Filters, Query, open_backend
from search.embedded_vectors import Segment
from search.vector_scan import ONE_BLAS_THREAD, runs

DIM = 16
STATUSES = ("active", "draft", "closed")


def corpus(n: int, seed: int, *, clustered: bool = False) -> list[Document]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(12, DIM))
    docs = []
    for i in range(1, n + 1):
        v = centres[i % 12] + 0.4 * rng.normal(size=DIM) if clustered else rng.normal(size=DIM)
        docs.append(Document(id=i, side="offer" if rng.random() < 0.6 else "need",
                             kind="capability" if i % 3 else "product", title=f"листинг {i}",
                             region=str(10 + i % 7), status=STATUSES[int(rng.integers(0, 3)) % 3 if i % 4 == 0 else 0],
                             organization_id=int(rng.integers(1, 40)),
                             vector=(v / np.linalg.norm(v)).astype(np.float32)))
    return docs


def passes(doc: Document, f: Filters) -> bool:
    return ((f.side is None or doc.side == f.side) and (not f.statuses or doc.status in f.statuses)
            and (not f.kinds or doc.kind in f.kinds) and (not f.regions or doc.region in f.regions)
            and doc.id not in f.exclude_ids and doc.organization_id not in f.exclude_organization_ids)


def exact_top(live: dict[int, Document], qvec: np.ndarray, f: Filters, k: int) -> list[int]:
    kept = [d for d in live.values() if passes(d, f)]
    scores = np.asarray([float(d.vector @ qvec) for d in kept])
    order = np.lexsort((np.asarray([d.id for d in kept]), -scores))[:k]
    return [kept[i].id for i in order]


FILTERS = (Filters(), Filters(side="offer"), Filters(side="offer", statuses=("active",)),
           Filters(statuses=("draft", "closed")), Filters(side="need", exclude_ids=(4, 8, 12),
                                                          exclude_organization_ids=(3, 5)),
           Filters(side="offer", regions=("12",)), Filters(kinds=("product",), statuses=("active",)),
           # a region's runs multiplied as slices, with the rows failing the other filters at -inf
           Filters(regions=("12",), kinds=("product",)),
           Filters(side="offer", statuses=("active",), regions=("11", "15"), exclude_organization_ids=(3,),
                   exclude_ids=(20, 21, 22)))


@pytest.fixture
def updated(tmp_path):
    """An index written in three batches (three segments), with updates that move rows between partitions and
    deletes: what the live documents are, and the backend."""
    backend = open_backend(f"embedded://{tmp_path / 'index'}", dim=DIM)
    docs = corpus(1500, seed=3)
    for start in range(0, 1500, 500):
        backend.index(docs[start:start + 500])
    live = {d.id: d for d in docs}
    moved = [replace(live[i], side="need" if live[i].side == "offer" else "offer", status="closed")
             for i in range(5, 1500, 37)]
    backend.index(moved)
    live.update({d.id: d for d in moved})
    gone = list(range(2, 1500, 53))
    backend.delete(gone)
    for i in gone:
        live.pop(i)
    yield backend, live
    backend.close()


@pytest.mark.parametrize("filters", FILTERS, ids=range(len(FILTERS)))
def test_top_ten_equals_brute_force_through_updates(updated, filters):
    backend, live = updated
    rng = np.random.default_rng(9)
    for _ in range(15):
        q = rng.normal(size=DIM).astype(np.float32)
        q /= np.linalg.norm(q)
        hits = backend.search(Query(vector=q, filters=filters, k=10, count=False, fields=False)).hits
        assert [h.id for h in hits] == exact_top(live, q, filters, 10)
        assert all(h.vector_score == pytest.approx(float(live[h.id].vector @ q), abs=1e-5) for h in hits)


def test_segments_are_sorted_so_side_and_status_are_slices(updated):
    backend, _ = updated
    store = backend._vectors
    state = store.state()
    assert len(state.segments) >= 2
    for seg in state.segments:
        assert seg.groups is not None
        ranges = store.broad_ranges(state, seg, Filters(side="offer", statuses=("active",)), None)
        side, status = state.code("side", "offer"), state.code("status", "active")
        rows = np.concatenate([np.arange(a, b) for a, b in ranges]) if ranges else np.empty(0, dtype=int)
        assert set(rows.tolist()) == set(np.flatnonzero((seg.cols["side"] == side) &
                                                        (seg.cols["status"] == status)).tolist())
        assert store.broad_ranges(state, seg, Filters(side="offer", regions=("12",)), None) is None
        # and by region inside each (side, status) run: one region's rows are one run in each of them
        region_rows = seg.rows_with("region", [state.code("region", "12")])
        assert 0 < len(runs(region_rows)) <= len(seg.groups)


def test_runs_of_rows():
    assert runs(np.array([], dtype=np.int64)) == []
    assert runs(np.array([3, 4, 5, 9, 10, 20])) == [(3, 6), (9, 11), (20, 21)]
    assert runs(np.array([1, 3, 5, 7]), limit=3) is None  # scattered rows are gathered instead


def test_a_segment_written_unsorted_has_no_groups():
    cols = {"side": np.array([0, 1, 0], dtype=np.int32), "status": np.zeros(3, dtype=np.int32)}
    seg = Segment("old", np.arange(3), np.zeros((3, DIM), dtype=np.float32), cols, None, None)
    assert seg.groups is None
    cols = {"side": np.array([0, 0, 1], dtype=np.int32), "status": np.array([0, 1, 1], dtype=np.int32)}
    assert Segment("new", np.arange(3), np.zeros((3, DIM), dtype=np.float32), cols, None, None).groups == [
        (0, 0, 0, 1), (0, 1, 1, 2), (1, 1, 2, 3)]


def test_products_run_on_one_blas_thread_and_the_cap_is_lifted_after():
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def numpy_blas() -> list[int]:
        # numpy's own BLAS, the one the products run on; a BLAS that another package loads later in a test run
        # (scipy's, faiss's) runs none of them and is left alone.
        libs = threadpoolctl.ThreadpoolController().select(user_api="blas").lib_controllers
        return [lib.num_threads for lib in libs if "/numpy" in lib.filepath]

    before = numpy_blas()
    assert before  # numpy runs on a BLAS threadpoolctl can see
    with ONE_BLAS_THREAD, ONE_BLAS_THREAD:
        assert all(n == 1 for n in numpy_blas())
    assert numpy_blas() == before


def test_approximate_returns_only_passing_rows_with_exact_scores(tmp_path):
    pytest.importorskip("faiss")
    docs = corpus(4000, seed=5, clustered=True)
    path = tmp_path / "index"
    backend = open_backend(f"embedded://{path}", dim=DIM, approximate=True, approximate_min_rows=1000, probe=0.25)
    backend.index(docs)
    backend.delete([7, 70, 700])
    live = {d.id: d for d in docs if d.id not in (7, 70, 700)}
    filters = Filters(side="offer", statuses=("active",), exclude_ids=(11, 12), exclude_organization_ids=(4,))
    rng = np.random.default_rng(2)
    recall = []
    for j in range(30):
        q = docs[int(rng.integers(0, 4000))].vector + 0.1 * rng.normal(size=DIM).astype(np.float32)
        q /= np.linalg.norm(q)
        hits = backend.search(Query(vector=q, filters=filters, k=10, count=False, fields=False)).hits
        assert len(hits) == 10
        assert all(h.id in live and passes(live[h.id], filters) for h in hits)
        assert all(h.vector_score == pytest.approx(float(live[h.id].vector @ q), abs=1e-5) for h in hits)
        recall.append(len({h.id for h in hits} & set(exact_top(live, q, filters, 10))) / 10)
        if j == 0:
            seg_dirs = [p for p in (path / "vectors").iterdir() if p.is_dir() and (p / "ivf.npz").exists()]
            assert seg_dirs, "the inverted file is saved beside its segment"
    assert np.mean(recall) >= 0.9
    exact = open_backend(f"embedded://{path}", dim=DIM)  # the same files, exact by default
    q = docs[0].vector
    assert [h.id for h in exact.search(Query(vector=q, filters=filters, k=10)).hits] == \
        exact_top(live, q, filters, 10)
    backend.close()
    exact.close()
