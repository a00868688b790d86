"""The search interface: documents in, ranked hits out.

Every backend (the embedded tantivy + numpy index, Elasticsearch) takes :class:`Document` values, answers
:class:`Query` values with a :class:`SearchResult`, and is opened through :func:`open_backend` from a URL, so the
caller never imports a backend module itself. This module imports only the standard library; numpy is imported
lazily where a vector is touched.
"""
from __future__ import annotations

import abc
import importlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from operator import itemgetter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

SIDES = ("offer", "need")
KINDS = ("capability", "product", "surplus", "equipment_rent", "tender_lot", "missing_operation", "purchase_request")
MODES = ("text", "vector", "hybrid")
FACETS = ("side", "kind", "region", "district", "country", "status",
          "okpd2_section", "okpd2_class", "okved2_section", "okved2_class")
RRF_K = 60

# ОКПД2 and ОКВЭД2 share the section letters of NACE/CPA: section -> (first class, last class).
_SECTIONS = (("A", 1, 3), ("B", 5, 9), ("C", 10, 33), ("D", 35, 35), ("E", 36, 39), ("F", 41, 43), ("G", 45, 47),
             ("H", 49, 53), ("I", 55, 56), ("J", 58, 63), ("K", 64, 66), ("L", 68, 68), ("M", 69, 75),
             ("N", 77, 82), ("O", 84, 84), ("P", 85, 85), ("Q", 86, 88), ("R", 90, 93), ("S", 94, 96),
             ("T", 97, 98), ("U", 99, 99))


class SearchError(Exception):
    """A search backend could not do what was asked."""


class BackendUnavailable(SearchError):
    """The backend named by the URL cannot run here (an optional dependency is missing, the server is down)."""


def code_section(code: str) -> str | None:
    """The section letter ("C") of an ОКПД2/ОКВЭД2 code ("25.62.20.110"), or None when the class is unknown."""
    code = code.strip()
    if len(code) == 1 and code.isalpha():
        return code.upper()
    head = code[:2]
    if len(head) == 2 and head.isdigit():
        number = int(head)
        for letter, first, last in _SECTIONS:
            if first <= number <= last:
                return letter
    return None


def code_class(code: str) -> str | None:
    """The two-digit class ("25") of an ОКПД2/ОКВЭД2 code, or None for a section letter or junk."""
    head = code.strip()[:2]
    return head if len(head) == 2 and head.isdigit() else None


def normalize_code(code: str) -> str:
    """Strip blanks and trailing dots: " 25.62. " -> "25.62"; a section letter is upper-cased."""
    code = code.strip().rstrip(".")
    return code.upper() if len(code) == 1 else code


def expand_code(code: str) -> tuple[str, ...]:
    """The code with all its ancestors, so that a filter on any ancestor matches it.

    Ancestors come from trimming the dotted code one character at a time and skipping cuts that end in a dot,
    then the section letter: ``25.62.20.110`` -> ``25.62.20.110, 25.62.20.11, 25.62.20.1, 25.62.20, 25.62.2,
    25.62, 25.6, 25, C``. The intermediate cuts that are not real codes (``25.62.20.11``) are harmless: nobody
    filters on them, and if someone does they still mean "starts with".
    """
    code = normalize_code(code)
    if not code:
        return ()
    out = []
    for end in range(len(code), 1, -1):
        cut = code[:end]
        if not cut.endswith("."):
            out.append(cut)
    if len(code) == 1:
        out.append(code)
    section = code_section(code)
    if section and section not in out:
        out.append(section)
    return tuple(out)


def expand_codes(codes: Iterable[str]) -> tuple[str, ...]:
    """The union of :func:`expand_code` over several codes, in first-seen order."""
    seen: dict[str, None] = {}
    for code in codes:
        for cut in expand_code(code):
            seen.setdefault(cut, None)
    return tuple(seen)


@dataclass(frozen=True)
class Document:
    """One listing as the index sees it: an offer or a need with its codes, place, amounts and an optional vector.

    ``okpd2``/``okved2`` hold the listing's own codes; backends index them with every ancestor
    (:func:`expand_code`). ``vector`` must already be L2-normalised (float32, the backend's ``dim``).
    ``operations`` are catalogue operation ids **with their ancestors** (the caller knows the hierarchy, the
    index does not), so that a filter on ``machining.turning`` finds a listing of ``machining.turning.cnc``.
    """

    id: int
    side: str
    kind: str
    title: str
    description: str = ""
    okpd2: tuple[str, ...] = ()
    okved2: tuple[str, ...] = ()
    region: str | None = None
    district: str | None = None
    country: str = "RU"
    organization_id: int = 0
    quantity: float | None = None
    unit: str | None = None
    price: float | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    status: str = "active"
    updated_at: datetime | None = None
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)
    operations: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.side not in SIDES:
            raise ValueError(f"side must be one of {SIDES}, not {self.side!r}")
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {self.kind!r}")
        object.__setattr__(self, "okpd2", tuple(self.okpd2))
        object.__setattr__(self, "okved2", tuple(self.okved2))
        if isinstance(self.operations, str):
            raise TypeError("Document.operations takes a tuple of operation ids")
        object.__setattr__(self, "operations", tuple(dict.fromkeys(self.operations)))


@dataclass(frozen=True)
class Filters:
    """Restrictions applied before ranking; an empty tuple or None means "any".

    ``okpd2``/``okved2`` are code prefixes in the dotted sense ("25.62" matches "25.62.20.110", "C" matches the
    section). ``ids``/``exclude_ids`` restrict to or drop listings by id (a need excludes itself). ``active_on``
    keeps listings whose ``starts_on``..``ends_on`` (either end open when None) contains that date.
    ``operations`` keeps listings carrying any of these catalogue operation ids (documents carry ancestors).
    """

    side: str | None = None
    kinds: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    okpd2: tuple[str, ...] = ()
    okved2: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    organization_id: int | None = None
    exclude_organization_ids: tuple[int, ...] = ()
    ids: tuple[int, ...] | None = None
    exclude_ids: tuple[int, ...] = ()
    active_on: date | None = None
    operations: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("kinds", "regions", "districts", "countries", "statuses", "exclude_organization_ids",
                     "exclude_ids", "operations"):
            value = getattr(self, name)
            if isinstance(value, str):
                raise TypeError(f"Filters.{name} takes a tuple, not the string {value!r}")
            object.__setattr__(self, name, tuple(value))
        for name in ("okpd2", "okved2"):
            value = getattr(self, name)
            if isinstance(value, str):
                raise TypeError(f"Filters.{name} takes a tuple, not the string {value!r}")
            object.__setattr__(self, name, tuple(c for c in (normalize_code(v) for v in value) if c))
        if self.ids is not None:
            object.__setattr__(self, "ids", tuple(int(i) for i in self.ids))
        if self.side is not None and self.side not in SIDES:
            raise ValueError(f"side must be one of {SIDES}, not {self.side!r}")

    @property
    def empty(self) -> bool:
        return self == Filters()


@dataclass(frozen=True)
class Query:
    """What to look for, how to filter, which facets to count and which page to return.

    ``mode`` defaults to "hybrid" when both ``text`` and ``vector`` are given, else to whichever is given; with
    neither, the filtered listings come newest first. ``prefix`` treats the last word of ``text`` as unfinished
    (search-as-you-type). Text in double quotes is a phrase that must occur. ``candidates`` is how deep each list
    goes before fusion (default ``max(100, 2 * (offset + k))``).

    ``count`` and ``fields`` say what the caller reads: ``count=False`` leaves ``SearchResult.total`` None (no
    second pass over the match set), ``fields=False`` returns hits without their stored listing (``Hit.fields`` is
    empty: ids and scores, what the matcher reads). Facets are counted only when named in ``facets``.

    ``relevant=True`` asks for the search page's semantics (:mod:`search.relevance`): a listing matches when it
    has the query's content words (inflections, word families, derived forms sharing a prefix) or one of the
    operations/synonym phrases of ``expansion``; generic words («работы», «услуги») only rank; in hybrid mode a
    listing found only by meaning is kept when its cosine clears a floor set by the best lexical hit, and
    ``total`` counts exactly the kept listings. Without it, text and hybrid rank every listing sharing a word
    (what the matcher wants from a long listing text).
    """

    text: str | None = None
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)
    mode: str | None = None
    filters: Filters = field(default_factory=Filters)
    facets: tuple[str, ...] = ()
    k: int = 10
    offset: int = 0
    prefix: bool = False
    text_weight: float = 1.0
    vector_weight: float = 1.0
    candidates: int | None = None
    count: bool = True
    fields: bool = True
    relevant: bool = False
    expansion: Any = None  # a search.relevance.Expansion (operations and synonym phrases named in the text)

    def __post_init__(self) -> None:
        text = self.text.strip() if self.text else None
        object.__setattr__(self, "text", text or None)
        mode = self.mode
        if mode is None:
            if self.text and self.vector is not None:
                mode = "hybrid"
            elif self.vector is not None:
                mode = "vector"
            else:
                mode = "text"
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        if mode in ("vector", "hybrid") and self.vector is None:
            raise ValueError(f"mode {mode!r} needs a query vector")
        object.__setattr__(self, "mode", mode)
        if isinstance(self.facets, str):
            raise TypeError("Query.facets takes a tuple of names")
        object.__setattr__(self, "facets", tuple(self.facets))
        unknown = set(self.facets) - set(FACETS)
        if unknown:
            raise ValueError(f"unknown facets {sorted(unknown)}; known: {FACETS}")
        if self.k < 0 or self.offset < 0:
            raise ValueError("k and offset must not be negative")

    @property
    def depth(self) -> int:
        """How many candidates each ranked list contributes before fusion."""
        return max(self.candidates or 0, 100, 2 * (self.offset + self.k))


@dataclass(frozen=True)
class Hit:
    """One ranked listing. ``score`` orders the hits (BM25, cosine or the fused RRF score, by mode);
    ``text_score``/``vector_score`` are the parts, None where the listing was not scored that way.
    ``fields`` is the stored listing as JSON-able data (dates as ISO strings); :meth:`document` decodes it."""

    id: int
    score: float
    text_score: float | None = None
    vector_score: float | None = None
    fields: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def document(self) -> Document:
        return document_from_source(self.id, self.fields)


@dataclass(frozen=True)
class SearchResult:
    """A page of hits, the size of the whole match set (None when the query said ``count=False``) and the facet
    counts over that match set."""

    hits: tuple[Hit, ...]
    total: int | None
    facets: Mapping[str, Mapping[str, int]] = field(default_factory=dict)


def document_source(doc: Document) -> dict[str, Any]:
    """The JSON-able stored form of a document (without id and vector)."""
    return {
        "side": doc.side, "kind": doc.kind, "title": doc.title, "description": doc.description,
        "okpd2": list(doc.okpd2), "okved2": list(doc.okved2), "region": doc.region, "district": doc.district,
        "country": doc.country, "organization_id": doc.organization_id, "quantity": doc.quantity, "unit": doc.unit,
        "price": doc.price, "starts_on": doc.starts_on.isoformat() if doc.starts_on else None,
        "ends_on": doc.ends_on.isoformat() if doc.ends_on else None, "status": doc.status,
        "updated_at": doc.updated_at.isoformat() if doc.updated_at else None,
        "operations": list(doc.operations),
    }


def document_from_source(doc_id: int, source: Mapping[str, Any], vector: Any = None) -> Document:
    """Rebuild a :class:`Document` from :func:`document_source` output."""
    def _date(value: str | None) -> date | None:
        return date.fromisoformat(value) if value else None

    return Document(
        id=int(doc_id), side=source["side"], kind=source["kind"], title=source.get("title", ""),
        description=source.get("description", ""), okpd2=tuple(source.get("okpd2") or ()),
        okved2=tuple(source.get("okved2") or ()), region=source.get("region"), district=source.get("district"),
        country=source.get("country") or "RU", organization_id=int(source.get("organization_id") or 0),
        quantity=source.get("quantity"), unit=source.get("unit"), price=source.get("price"),
        starts_on=_date(source.get("starts_on")), ends_on=_date(source.get("ends_on")),
        status=source.get("status") or "active",
        updated_at=datetime.fromisoformat(source["updated_at"]) if source.get("updated_at") else None,
        vector=vector, operations=tuple(source.get("operations") or ()),
    )


def rrf_fuse(ranked: Iterable[tuple[Iterable[int], float]], *, k: int = RRF_K) -> list[tuple[int, float]]:
    """Reciprocal rank fusion: ``sum(weight / (k + rank))`` over the lists where an id appears (rank from 1).

    ``ranked`` holds ``(ids in rank order, weight)`` pairs. Ties keep the order of first appearance.
    """
    scores: dict[int, float] = {}
    for ids, weight in ranked:
        for rank, doc_id in enumerate(ids, start=1):
            scores[doc_id] = scores.get(doc_id, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=itemgetter(1), reverse=True)  # a stable sort: ties keep their order


def check_vector(vector: Any, dim: int, *, what: str = "vector") -> np.ndarray:
    """The vector as a float32 array of length ``dim``; raises ValueError otherwise. Normalises a non-unit vector."""
    import numpy as np

    array = np.asarray(vector, dtype=np.float32).reshape(-1)
    if array.shape[0] != dim:
        raise ValueError(f"{what} has {array.shape[0]} dimensions, the index has {dim}")
    norm = float(np.linalg.norm(array))
    if not math.isfinite(norm) or norm == 0.0:
        raise ValueError(f"{what} is zero or not finite")
    if abs(norm - 1.0) > 1e-3:
        array = array / norm
    return np.ascontiguousarray(array, dtype=np.float32)


class SearchBackend(abc.ABC):
    """An index of listings. Safe to use from several processes at once (one writes at a time)."""

    dim: int

    @abc.abstractmethod
    def index(self, docs: Iterable[Document]) -> int:
        """Add or replace documents by id; returns how many were written. Visible to searches on return."""

    @abc.abstractmethod
    def delete(self, ids: Iterable[int]) -> None:
        """Remove documents by id; unknown ids are ignored."""

    @abc.abstractmethod
    def search(self, query: Query) -> SearchResult:
        """Rank, filter, page and count facets."""

    @abc.abstractmethod
    def get(self, doc_id: int) -> Document | None:
        """The stored document (with its vector) or None."""

    @abc.abstractmethod
    def ids(self) -> dict[int, datetime | None]:
        """Every indexed id with its ``updated_at``, for a consistency check against the database."""

    @abc.abstractmethod
    def count(self) -> int:
        """How many documents are indexed."""

    @abc.abstractmethod
    def clear(self) -> None:
        """Remove every document (the index itself stays)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release files and connections."""

    def __enter__(self) -> SearchBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# URL scheme -> "module:factory". Backends import their dependencies only when opened.
_REGISTRY: dict[str, str] = {
    "embedded": "search.embedded:EmbeddedBackend.from_url",
    "file": "search.embedded:EmbeddedBackend.from_url",
    "http": "search.elastic:ElasticBackend.from_url",
    "https": "search.elastic:ElasticBackend.from_url",
}


def register_backend(scheme: str, target: str) -> None:
    """Map a URL scheme to ``"module:callable"``; the callable takes ``(url, *, dim, **opts)``."""
    _REGISTRY[scheme] = target


def open_backend(url: str, *, dim: int, **opts: Any) -> SearchBackend:
    """Open the backend a URL names.

    ``embedded:///abs/dir`` or a plain path opens the embedded index in that directory (created if missing);
    ``http(s)://host:9200`` opens Elasticsearch (``index_prefix=`` names the alias, default "cosmos").
    """
    scheme = url.split("://", 1)[0].lower() if "://" in url else "embedded"
    target = _REGISTRY.get(scheme)
    if target is None:
        raise ValueError(f"no search backend for {url!r}; known schemes: {sorted(_REGISTRY)}")
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise BackendUnavailable(f"search backend for {scheme!r} needs a missing package: {exc}") from exc
    factory: Any = module
    for part in attr.split("."):
        factory = getattr(factory, part)
    return factory(url, dim=dim, **opts)
