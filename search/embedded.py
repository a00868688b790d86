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

- Words: a write commits tantivy once per batch. Readers ``stat`` ``text/meta.json`` before each search and call
  ``Index.reload()`` only when it changed, so they see the last commit, never half of one (tantivy's commit is
  atomic: a new ``meta.json`` names the new segments), and reuse one searcher while nothing is written.
- Vectors: segments are immutable. A write adds a new segment for the new and changed rows and new tombstone files
  for segments whose rows were replaced or deleted, every file written under a temporary name and moved into place
  with ``os.replace``; last, it replaces ``manifest.json`` the same way. That replacement is the commit. Readers
  ``stat`` the manifest before each search and re-map the segments when its inode, size or mtime changed. Files no
  longer named by the manifest are unlinked; a reader that already mapped them keeps its mapping (POSIX), and a
  reader that loses the race to open one re-reads the manifest and tries again. Small segments are merged
  (rewritten without their deleted rows) when there are more than ``max_segments``.
- The two halves commit one after the other: words first when listings are added or replaced, vectors first when
  they are deleted or cleared. So every live vector has its listing in the word index at every moment, and a
  vector hit needs no check there (``Query(fields=False)`` reads no stored field at all); in the moment between, a
  reader can see a listing's new words with its old vector, or a listing's words without its vector. A crash in
  between leaves words without a vector, which :meth:`EmbeddedBackend.ids` reports as never updated.

Vector search is exact by default (:mod:`search.vector_scan`): segments are sorted by (side, status), so a filter on
those alone multiplies contiguous slices; other filters compute masks on in-memory category columns, then either
the selected rows are gathered and multiplied (selective filters) or the whole segment is; ``argpartition`` takes
the top. ``approximate=True`` adds an inverted file for large segments. Hybrid ranking fuses the BM25 list and the cosine list by reciprocal rank fusion.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
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
    Document,
    SearchBackend,
    SearchError,
    check_vector,
    code_class,
    code_section,
    document_from_source,
    document_source,
    expand_codes,
)
from search.embedded_query import QueryMixin
from search.embedded_vectors import (  # noqa: F401 - re-exported for callers of the old single module
    CATEGORY_COLUMNS,
    FORMAT,
    Segment,
    VectorState,
    VectorStore,
    atomic_write_bytes,
    day_number,
)
from search.relevance import filler_stems
from search.russian import fold_yo, stem_families

log = logging.getLogger(__name__)

RAW_FIELDS = CATEGORY_COLUMNS + ("okpd2_section", "okpd2_class", "okved2_section", "okved2_class")


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
    builder.add_text_field("operations", tokenizer_name="raw", index_option="basic")
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



def _micros(value: datetime) -> tuple[int, int]:
    """Microseconds since the epoch (naive values are taken as UTC) and whether the value was aware."""
    aware = value.tzinfo is not None
    moment = value if aware else value.replace(tzinfo=UTC)
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds, int(aware)


def _from_micros(micros: int, aware: int) -> datetime:
    moment = datetime.fromtimestamp(micros // 1_000_000, tz=UTC).replace(microsecond=micros % 1_000_000)
    return moment if aware else moment.replace(tzinfo=None)



# ------------------------------------------------------------------------------------------------------ backend


class EmbeddedBackend(QueryMixin, SearchBackend):
    """Listings indexed in a local directory; see the module docstring for the file layout and concurrency.

    Parameters
    ----------
    path : directory of the index, created when missing.
    dim : vector dimension; an existing index with another dimension is refused.
    heap_size, num_threads : tantivy writer memory budget and threads (0 = one per core).
    commit_every : documents per commit when ``index()`` is given a long iterable.
    max_segments : vector segments kept before the smallest are merged.
    approximate : answer broad vector filters (side, status) of segments of ``approximate_min_rows`` rows or more
        from an inverted file probing ``probe`` of its lists (:mod:`search.vector_scan`; needs faiss-cpu, the
        ``ann`` extra). Off by default: vector search is exact.
    """

    def __init__(self, path: str | os.PathLike[str], *, dim: int, heap_size: int = 128_000_000,
                 num_threads: int = 0, commit_every: int = 50_000, max_segments: int = 10,
                 approximate: bool = False, approximate_min_rows: int = 50_000, probe: float = 0.05):
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
                atomic_write_bytes(meta_path, json.dumps({"format": FORMAT, "dim": self.dim}).encode())
            self._schema = _schema()
            self._index = tantivy.Index(self._schema, path=str(self.root / "text"), reuse=True)
        self._stem = _analyzer(stem=True)
        self._lower = _analyzer(stem=False)
        self._index.register_tokenizer("ru_stem", self._stem)
        self._index.register_tokenizer("ru_lower", self._lower)
        self._families = stem_families(self._stem_word)
        self._fillers = filler_stems(self._stem_word)
        if approximate:
            try:
                import faiss  # noqa: F401 - only its k-means, for the inverted lists
            except ImportError as exc:
                from search.base import BackendUnavailable

                raise BackendUnavailable("approximate=True needs faiss-cpu (pip install '.[ann]')") from exc
        self._vectors = VectorStore(self.root / "vectors", self.dim, max_segments=max_segments,
                                    approximate=approximate, approximate_min_rows=approximate_min_rows, probe=probe)
        self._meta_path = self.root / "text" / "meta.json"
        self._reader_lock = threading.Lock()
        self._cached_searcher: tantivy.Searcher | None = None
        self._reader_signature: tuple[int, int, int] | None = None

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
        """The searcher of the last commit. tantivy commits by replacing ``text/meta.json``, so the reader is
        reloaded only when that file changed (inode, size, mtime) since the searcher was taken: every search of a
        request or a match shares one searcher while nothing is written."""
        try:
            st = os.stat(self._meta_path)
            signature: tuple[int, int, int] | None = (st.st_ino, st.st_size, st.st_mtime_ns)
        except FileNotFoundError:
            signature = None
        with self._reader_lock:
            if self._cached_searcher is None or signature is None or signature != self._reader_signature:
                self._index.reload()
                self._cached_searcher = self._index.searcher()
                self._reader_signature = signature
            return self._cached_searcher

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
        for op_id in doc.operations:
            out.add_text("operations", op_id)
        out.add_integer("organization_id", doc.organization_id)
        out.add_text("title", fold_yo(doc.title))
        out.add_text("description", fold_yo(doc.description or ""))
        out.add_text("words", fold_yo(f"{doc.title}\n{doc.description or ''}"))
        out.add_boolean("has_vector", has_vector)
        if doc.starts_on is not None:
            out.add_integer("starts_day", day_number(doc.starts_on))
        if doc.ends_on is not None:
            out.add_integer("ends_day", day_number(doc.ends_on))
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
            self._vectors.write([], ids)  # vectors first: a live vector always has its words (see the docstring)
            writer = self._writer(small=True)
            try:
                for doc_id in ids:
                    writer.delete_documents_by_term("id", doc_id)
                writer.commit()
            except BaseException:
                writer.rollback()
                raise
            finally:
                writer.wait_merging_threads()

    def clear(self) -> None:
        with self._write_lock():
            self._vectors.clear()
            writer = self._writer(small=True)
            try:
                writer.delete_all_documents()
                writer.commit()
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
