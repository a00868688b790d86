"""The bare peer the search and match benches measure the product against, built on the same documents.

Nothing of the product is used: tantivy with the same analyzer chain (simple tokenizer, lowercase, Russian stop
words, Russian snowball), one boolean query of the query's stems over title (boost 2) and description, numpy exact
cosine over a float32 matrix (the rows of a region or of a code gathered through precomputed row lists, a broad
filter as one matrix-vector product), and reciprocal rank fusion in a dozen lines. It is what a careful engineer
would write in an afternoon; the product should stay within a small factor of it.
"""
from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np
import tantivy


def load() -> str:
    """The machine's load average (1, 5, 15 min), for printing next to every figure."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


_LIMITS: list = []


def limit_blas(threads: int) -> str:
    """Cap the BLAS threads of the whole bench process (product and peer alike); 0 leaves the default. Returns a
    line saying what the BLAS libraries run with."""
    from threadpoolctl import threadpool_info, threadpool_limits

    if threads > 0:
        _LIMITS.append(threadpool_limits(limits=threads, user_api="blas"))
    line = ", ".join(f"{i['internal_api']} {i['num_threads']} threads" for i in threadpool_info()
                     if i["user_api"] == "blas")
    print(f"BLAS: {line}")
    return line


def rrf(lists: Iterable[Sequence[int]], k: int = 60) -> list[tuple[int, float]]:
    """Reciprocal rank fusion: sum of 1 / (k + rank) over the lists an id appears in."""
    scores: dict[int, float] = {}
    for ids in lists:
        for rank, doc_id in enumerate(ids, start=1):
            scores[doc_id] = scores.get(doc_id, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda item: -item[1])


def top_k(ids: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best (ids, scores), best first; ties by id, as the product orders them."""
    if len(scores) > k:
        part = np.argpartition(-scores, k - 1)[:k]
        ids, scores = ids[part], scores[part]
    order = np.lexsort((ids, -scores))
    return ids[order], scores[order]


class BarePeer:
    """tantivy in RAM + a numpy matrix, filled with :meth:`add` (documents with vectors)."""

    def __init__(self, dim: int):
        self.dim = dim
        builder = tantivy.SchemaBuilder()
        builder.add_integer_field("id", indexed=True, fast=True)
        builder.add_text_field("region", tokenizer_name="raw", index_option="basic")
        builder.add_text_field("title", tokenizer_name="ru_stem")
        builder.add_text_field("description", tokenizer_name="ru_stem")
        self.schema = builder.build()
        self.index = tantivy.Index(self.schema)
        self.analyzer = (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple()).filter(tantivy.Filter.lowercase())
                         .filter(tantivy.Filter.stopword("russian")).filter(tantivy.Filter.stemmer("russian"))
                         .build())
        self.index.register_tokenizer("ru_stem", self.analyzer)
        self._parts: list[np.ndarray] = []
        self._id_parts: list[np.ndarray] = []
        self.matrix = np.empty((0, dim), dtype=np.float32)
        self.ids = np.empty(0, dtype=np.int64)
        self.by_region: dict[str, list[int]] = defaultdict(list)
        self.by_subclass: dict[str, list[int]] = defaultdict(list)
        self.by_side: dict[str, list[int]] = defaultdict(list)
        self._rows: dict[str, np.ndarray] = {}
        self.searcher = None

    def add(self, docs: Sequence) -> None:
        writer = self.index.writer(heap_size=128_000_000)
        base = len(self.ids) + sum(len(p) for p in self._id_parts)
        for j, doc in enumerate(docs):
            out = tantivy.Document()
            out.add_integer("id", doc.id)
            out.add_text("region", doc.region or "")
            out.add_text("title", doc.title.replace("ё", "е"))
            out.add_text("description", (doc.description or "").replace("ё", "е"))
            writer.add_document(out)
            self.by_region[doc.region or ""].append(base + j)
            self.by_side[doc.side].append(base + j)
            for code in doc.okpd2:
                if len(code) >= 5:
                    self.by_subclass[code[:5]].append(base + j)
        writer.commit()
        writer.wait_merging_threads()
        self._parts.append(np.stack([d.vector for d in docs]).astype(np.float32))
        self._id_parts.append(np.fromiter((d.id for d in docs), dtype=np.int64, count=len(docs)))
        self.index.reload()
        self.searcher = self.index.searcher()

    def freeze(self) -> None:
        """Concatenate what was added (call before timing)."""
        if self._parts:
            self.matrix = np.ascontiguousarray(np.concatenate([self.matrix, *self._parts]))
            self.ids = np.concatenate([self.ids, *self._id_parts])
            self._parts, self._id_parts = [], []
        self._rows = {}

    def rows(self, key: str, table: dict[str, list[int]]) -> np.ndarray:
        cached = self._rows.get(key)
        if cached is None:
            cached = self._rows[key] = np.asarray(table.get(key.split(":", 1)[1], ()), dtype=np.int64)
        return cached

    # -- queries

    def text(self, text: str, region: str | None, k: int) -> list[int]:
        stems = dict.fromkeys(self.analyzer.analyze(text.replace("ё", "е").lower()))
        should = [(tantivy.Occur.Should, tantivy.Query.boost_query(tantivy.Query.term_query(self.schema, f, s), b))
                  for s in stems for f, b in (("title", 2.0), ("description", 1.0))]
        if not should:
            return []
        clauses = [(tantivy.Occur.Must, tantivy.Query.boolean_query(should))]
        if region is not None:
            clauses.append((tantivy.Occur.Must, tantivy.Query.const_score_query(
                tantivy.Query.term_query(self.schema, "region", region), 0.0)))
        result = self.searcher.search(tantivy.Query.boolean_query(clauses), k, count=False)
        return self.searcher.fast_field_values("id", [a for _, a in result.hits])

    def vector(self, qvec: np.ndarray, rows: np.ndarray | None, k: int,
               exclude: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-k over the given rows (None: every row, one pass); ``exclude`` drops one id."""
        if rows is None:
            ids, scores = self.ids, self.matrix @ qvec
        else:
            ids, scores = self.ids[rows], self.matrix[rows] @ qvec
        if exclude is not None:
            keep = ids != exclude
            ids, scores = ids[keep], scores[keep]
        return top_k(ids, scores, k)

    def region_rows(self, region: str) -> np.ndarray:
        return self.rows("r:" + region, self.by_region)

    def side_rows(self, side: str) -> np.ndarray:
        return self.rows("d:" + side, self.by_side)

    def subclass_rows(self, subclass: str) -> np.ndarray:
        return self.rows("s:" + subclass, self.by_subclass)

    def hybrid(self, text: str, qvec: np.ndarray, region: str | None, k: int = 10, depth: int = 100) -> list[int]:
        words = self.text(text, region, depth)
        vec_ids, _ = self.vector(qvec, None if region is None else self.region_rows(region), depth)
        return [i for i, _ in rrf([words, vec_ids.tolist()])[:k]]


def stats(samples: list[float]) -> tuple[float, float, float]:
    ms = np.asarray(samples) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95)), float(ms.max())


def same_top(got: list[int], want: list[int], scores: dict[int, float]) -> bool:
    """Equal id lists, or lists that differ only among ids whose exact cosines tie (to 1e-6) at the boundary."""
    if got == want:
        return True
    if len(got) != len(want):
        return False
    return all(a == b or abs(scores.get(a, 9) - scores.get(b, -9)) < 1e-6 for a, b in zip(got, want, strict=True))


def scale_table(table: list[tuple[int, dict[str, tuple[float, float]]]]) -> None:
    modes = ("hybrid", "hybrid ids", "peer hybrid", "vector broad", "peer vector broad", "text", "peer text")
    print(f"\nscale ({load()}): p50 / p95 in ms")
    print(f"{'n':>10}" + "".join(f"{m:>22}" for m in modes) + f"{'hybrid ratio p50/p95':>24}")
    for n, fig in table:
        row = "".join(f"{fig[m][0]:12.2f} /{fig[m][1]:7.2f}" for m in modes)
        print(f"{n:>10,}{row}{fig['hybrid'][0] / fig['peer hybrid'][0]:14.2f}x /"
              f"{fig['hybrid'][1] / fig['peer hybrid'][1]:5.2f}x")
    logn = np.log([n for n, _ in table])
    for mode in modes:
        for i, name in ((0, "p50"), (1, "p95")):
            slope = np.polyfit(logn, np.log([fig[mode][i] for _, fig in table]), 1)[0]
            print(f"fitted exponent: {mode} {name} ~ N^{slope:.2f}")
