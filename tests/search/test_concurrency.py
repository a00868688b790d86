"""Several processes on one embedded index: one or two write while another reads, as gunicorn and RQ workers do."""
from __future__ import annotations

import multiprocessing as mp
import traceback

import numpy as np
import pytest

from search import Document, Filters, Query, open_backend
from tests.search.conftest import DIM, unit

BATCHES = 8
BATCH = 25


def listing(i: int) -> Document:
    return Document(id=i, side="offer", kind="capability", title=f"Токарные работы партия {i}",
                    description="обработка валов", region=f"{i % 5 + 1:02d}", organization_id=i % 7,
                    vector=unit(i))


def write_batches(url: str, start: int, done, errors) -> None:
    try:
        backend = open_backend(url, dim=DIM)
        for b in range(BATCHES):
            backend.index([listing(start + b * BATCH + j) for j in range(BATCH)])
            if b % 4 == 3:  # delete a few and write them again: readers must never see duplicates
                backend.delete([start + b * BATCH])
                backend.index([listing(start + b * BATCH)])
    except Exception:  # the parent reports what happened in the child
        errors.put(traceback.format_exc())
    finally:
        done.set()


def read_until_done(url: str, done, errors, results) -> None:
    try:
        backend = open_backend(url, dim=DIM)
        last_count, rounds = 0, 0
        while not done.is_set() or rounds < 2:
            if done.is_set():
                rounds += 1
            count = backend.count()
            assert count >= last_count - 2, (count, last_count)  # each writer's delete+re-add may dip by one
            last_count = count
            for query in (Query(text="токарные работы", k=50), Query(vector=unit(7), k=50),
                          Query(text="валов", vector=unit(3), k=50, filters=Filters(regions=("01", "02")),
                                facets=("region",))):
                result = backend.search(query)
                ids = [h.id for h in result.hits]
                assert len(ids) == len(set(ids)), "duplicate hits"
                for hit in result.hits:
                    assert hit.fields["title"] == f"Токарные работы партия {hit.id}"
                if query.filters.regions:
                    assert {h.fields["region"] for h in result.hits} <= {"01", "02"}
                    assert sum(result.facets["region"].values()) == result.total
        results.put(backend.count())
    except Exception:
        errors.put(traceback.format_exc())


@pytest.mark.slow
def test_writers_and_a_reader_in_separate_processes(tmp_path):
    url = f"embedded://{tmp_path / 'idx'}"
    open_backend(url, dim=DIM).close()  # create it once, as the app does at start-up
    ctx = mp.get_context("spawn")
    errors, results = ctx.Queue(), ctx.Queue()
    done_a, done_b = ctx.Event(), ctx.Event()
    writers = [ctx.Process(target=write_batches, args=(url, 1, done_a, errors)),
               ctx.Process(target=write_batches, args=(url, 10_001, done_b, errors))]
    both_done = ctx.Event()
    reader = ctx.Process(target=read_until_done, args=(url, both_done, errors, results))
    for p in (*writers, reader):
        p.start()
    for p in writers:
        p.join(120)
    both_done.set()
    reader.join(120)
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    assert not failures, "\n".join(failures)
    assert all(p.exitcode == 0 for p in (*writers, reader))
    total = 2 * BATCHES * BATCH
    assert results.get(timeout=5) == total

    backend = open_backend(url, dim=DIM)
    assert backend.count() == total
    assert len(backend.ids()) == total
    everything = backend.search(Query(vector=unit(42), k=total))
    assert len(everything.hits) == total and everything.total == total
    ids = sorted(backend.ids())
    matrix = np.stack([unit(i) for i in ids])
    assert [h.id for h in everything.hits[:10]] == [ids[i] for i in np.argsort(-(matrix @ unit(42)))[:10]]
