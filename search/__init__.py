"""Listing search behind one interface: the embedded tantivy + numpy index or Elasticsearch.

Import the types from here and open a backend with :func:`open_backend`; backends load their dependencies only
when opened::

    from search import Document, Query, Filters, open_backend
    backend = open_backend("embedded:///srv/cosmos/instance/search", dim=256)
    backend.index([Document(id=1, side="offer", kind="capability", title="Токарные работы", region="27")])
    result = backend.search(Query(text="токарная обработка", filters=Filters(regions=("27",)), facets=("kind",)))
"""
from search.base import (
    FACETS,
    KINDS,
    MODES,
    RRF_K,
    SIDES,
    BackendUnavailable,
    Document,
    Filters,
    Hit,
    Query,
    SearchBackend,
    SearchError,
    SearchResult,
    code_class,
    code_section,
    document_from_source,
    document_source,
    expand_code,
    expand_codes,
    open_backend,
    register_backend,
    rrf_fuse,
)

__all__ = [
    "FACETS", "KINDS", "MODES", "RRF_K", "SIDES", "BackendUnavailable", "Document", "Filters", "Hit", "Query",
    "SearchBackend", "SearchError", "SearchResult", "code_class", "code_section", "document_from_source",
    "document_source", "expand_code", "expand_codes", "open_backend", "register_backend", "rrf_fuse",
]
