"""The Elasticsearch backend (production): BM25 with a Russian analyzer, kNN on a cosine ``dense_vector``.

Indices are named ``<prefix>-listings-<UTC timestamp>`` and always reached through the alias
``<prefix>-listings``; an index template gives every such index the same settings and mapping. :meth:`reindex`
builds a fresh index beside the live one, fills it (from the documents given, or server-side from the live index),
then moves the alias in one ``_aliases`` call, so searches never see an empty or half-built index.

Hybrid retrieval sends the BM25 query and the kNN query in one ``_msearch`` and fuses the two ranked lists here by
reciprocal rank fusion (k=60). Elasticsearch has its own ``rrf`` retriever, but it needs a paid licence; doing it
client-side works on the free basic licence and gives the same ranking as the embedded backend.

Everything that builds a request body is a pure function at module level (:func:`index_template`,
:func:`document_body`, :func:`filter_clauses`, :func:`text_query`, :func:`search_bodies`, :func:`alias_actions`),
so the requests can be checked without a server.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlparse, urlunparse

try:
    import elasticsearch
    from elasticsearch import helpers
except ImportError as exc:  # pragma: no cover - elasticsearch is in install_requires
    from search.base import BackendUnavailable

    raise BackendUnavailable("the Elasticsearch search backend needs the 'elasticsearch' package "
                             "(pip install 'elasticsearch>=8.12,<9')") from exc

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
from search.russian import WORD_FAMILIES, fold_yo

log = logging.getLogger(__name__)

SOURCE_FIELDS = tuple(document_source(Document(id=0, side="offer", kind="product", title="")))
TITLE_BOOST = 2.0
FAMILY_BOOST = 0.6
PHRASE_BOOST = 1.5
FACET_FIELDS = {name: name for name in ("side", "kind", "region", "district", "country", "status",
                                        "okpd2_section", "okpd2_class", "okved2_section", "okved2_class")}


def alias_name(prefix: str) -> str:
    return f"{prefix}-listings"


def index_template(prefix: str, dim: int, *, shards: int = 1, replicas: int = 0) -> dict[str, Any]:
    """The body of ``PUT _index_template/<prefix>-listings``: Russian analysis, keyword filters, a cosine kNN field."""
    keyword = {"type": "keyword"}
    return {
        "index_patterns": [f"{alias_name(prefix)}-*"],
        "priority": 100,
        "template": {
            "settings": {
                "number_of_shards": shards,
                "number_of_replicas": replicas,
                "analysis": {
                    "char_filter": {"yo": {"type": "mapping", "mappings": ["ё => е", "Ё => Е"]}},
                    "filter": {
                        "russian_stop": {"type": "stop", "stopwords": "_russian_"},
                        "russian_stemmer": {"type": "stemmer", "language": "russian"},
                    },
                    "analyzer": {
                        "ru": {"type": "custom", "char_filter": ["yo"], "tokenizer": "standard",
                               "filter": ["lowercase", "russian_stop", "russian_stemmer"]},
                        "ru_words": {"type": "custom", "char_filter": ["yo"], "tokenizer": "standard",
                                     "filter": ["lowercase"]},
                    },
                },
            },
            "mappings": {
                "dynamic": "strict",
                "properties": {
                    "id": {"type": "long"},
                    "side": keyword, "kind": keyword, "region": keyword, "district": keyword, "country": keyword,
                    "status": keyword, "unit": keyword,
                    "okpd2": keyword, "okved2": keyword,            # the listing's own codes
                    "okpd2_path": keyword, "okved2_path": keyword,  # own codes with every ancestor: prefix filters
                    "okpd2_section": keyword, "okpd2_class": keyword,
                    "okved2_section": keyword, "okved2_class": keyword,
                    "organization_id": {"type": "long"},
                    "title": {"type": "text", "analyzer": "ru"},
                    "description": {"type": "text", "analyzer": "ru"},
                    "words": {"type": "text", "analyzer": "ru_words",
                              "index_prefixes": {"min_chars": 1, "max_chars": 10}},
                    "quantity": {"type": "double"}, "price": {"type": "double"},
                    "starts_on": {"type": "date", "format": "strict_date"},
                    "ends_on": {"type": "date", "format": "strict_date"},
                    "updated_at": {"type": "date"},
                    "has_vector": {"type": "boolean"},
                    "vector": {"type": "dense_vector", "dims": dim, "index": True, "similarity": "cosine"},
                },
            },
        },
    }


def document_body(doc: Document, dim: int) -> dict[str, Any]:
    """The ``_source`` indexed for a listing: its stored form plus the derived filter and facet fields."""
    body: dict[str, Any] = {"id": doc.id, **document_source(doc)}
    for scheme in ("okpd2", "okved2"):
        codes = getattr(doc, scheme)
        body[f"{scheme}_path"] = list(expand_codes(codes))
        body[f"{scheme}_section"] = list(dict.fromkeys(s for s in (code_section(c) for c in codes) if s))
        body[f"{scheme}_class"] = list(dict.fromkeys(c for c in (code_class(c) for c in codes) if c))
    body["words"] = f"{doc.title}\n{doc.description or ''}"
    body["has_vector"] = doc.vector is not None
    if doc.vector is not None:
        body["vector"] = check_vector(doc.vector, dim, what=f"vector of listing {doc.id}").tolist()
    return body


def bulk_actions(docs: Iterable[Document], index: str, dim: int) -> Iterator[dict[str, Any]]:
    for doc in docs:
        yield {"_op_type": "index", "_index": index, "_id": str(doc.id), "_source": document_body(doc, dim)}


def filter_clauses(filters: Filters) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(filter, must_not)`` clauses of a bool query for the given filters."""
    must: list[dict[str, Any]] = []
    for field, values in (("side", (filters.side,) if filters.side else ()), ("kind", filters.kinds),
                          ("region", filters.regions), ("district", filters.districts),
                          ("country", filters.countries), ("status", filters.statuses),
                          ("okpd2_path", filters.okpd2), ("okved2_path", filters.okved2)):
        if values:
            must.append({"terms": {field: list(values)}})
    if filters.organization_id is not None:
        must.append({"term": {"organization_id": filters.organization_id}})
    if filters.ids is not None:
        must.append({"ids": {"values": [str(i) for i in filters.ids]}})
    must_not: list[dict[str, Any]] = []
    if filters.exclude_organization_ids:
        must_not.append({"terms": {"organization_id": list(filters.exclude_organization_ids)}})
    if filters.exclude_ids:
        must_not.append({"ids": {"values": [str(i) for i in filters.exclude_ids]}})
    if filters.active_on is not None:  # a missing date is an open end: range queries never match it
        day = filters.active_on.isoformat()
        must_not.extend(({"range": {"starts_on": {"gt": day}}}, {"range": {"ends_on": {"lt": day}}}))
    return must, must_not


def _word_families() -> Callable[[str], tuple[str, ...]]:
    """word -> the other words of its families, by snowball stem (PyStemmer, the algorithm ES's stemmer runs)."""
    import Stemmer

    stemmer = Stemmer.Stemmer("russian")
    by_stem: dict[str, set[str]] = {}
    for family in WORD_FAMILIES:
        words = {fold_yo(w) for w in family}
        for word in words:
            by_stem.setdefault(stemmer.stemWord(word), set()).update(words)

    def family(word: str) -> tuple[str, ...]:
        stem = stemmer.stemWord(word)
        return tuple(sorted(w for w in by_stem.get(stem, ()) if stemmer.stemWord(w) != stem))

    return family


def text_query(text: str, *, prefix: bool = False,
               family: Callable[[str], tuple[str, ...]] = lambda word: ()) -> dict[str, Any]:
    """A bool query: words are optional and rank by BM25 (title counts double), "quoted phrases" must occur,
    with ``prefix`` the last unfinished word must start a word of the listing."""
    text = fold_yo(text)
    fields = [f"title^{TITLE_BOOST:g}", "description"]
    must: list[dict[str, Any]] = []
    should: list[dict[str, Any]] = []
    for phrase in re.findall(r'"([^"]*)"', text):
        if phrase.strip():
            must.append({"multi_match": {"query": phrase, "type": "phrase", "fields": fields}})
    rest = re.sub(r'"[^"]*"', " ", text)
    words = re.findall(r"[^\W_]+", rest.lower())
    prefix_word = words.pop() if prefix and words and not rest[-1:].isspace() else None
    if words:
        should.append({"multi_match": {"query": " ".join(words), "fields": fields, "type": "best_fields",
                                       "operator": "or"}})
        related = [w for word in words for w in family(word)]
        if related:
            should.append({"multi_match": {"query": " ".join(dict.fromkeys(related)), "fields": fields,
                                           "boost": FAMILY_BOOST}})
        if len(words) > 1:
            should.append({"multi_match": {"query": " ".join(words), "type": "phrase", "fields": fields,
                                           "boost": PHRASE_BOOST}})
    if prefix_word:
        must.append({"prefix": {"words": {"value": prefix_word}}})
    if not must and not should:
        return {"match_none": {}}
    bool_query: dict[str, Any] = {}
    if must:
        bool_query["must"] = must
    if should:
        bool_query["should"] = should
        if not must:
            bool_query["minimum_should_match"] = 1
    return {"bool": bool_query}


def _bool(positive: dict[str, Any] | None, filters: Filters) -> dict[str, Any]:
    must, must_not = filter_clauses(filters)
    body: dict[str, Any] = {"must": [positive] if positive else [{"match_all": {}}]}
    if must:
        body["filter"] = must
    if must_not:
        body["must_not"] = must_not
    return {"bool": body}


def facet_aggs(names: Sequence[str]) -> dict[str, Any]:
    return {name: {"terms": {"field": FACET_FIELDS[name], "size": 1000}} for name in names}


def search_bodies(query: Query, dim: int, *, family: Callable[[str], tuple[str, ...]] = lambda word: (),
                  ) -> dict[str, dict[str, Any]]:
    """The request bodies one search sends in a single ``_msearch``, by role.

    - ``page``   (text mode): the page itself, with total and facets;
    - ``lexical`` (hybrid): the BM25 candidates;
    - ``knn``     (vector, hybrid): the kNN candidates, filtered inside the kNN search;
    - ``count``   (vector, hybrid): total and facets over the match set (filtered listings that have a vector,
      in hybrid also those that match the words).
    """
    text = text_query(query.text, prefix=query.prefix, family=family) if query.text else None
    aggs = facet_aggs(query.facets) if query.facets else None
    bodies: dict[str, dict[str, Any]] = {}
    if query.mode == "text":
        page: dict[str, Any] = {"query": _bool(text, query.filters), "from": query.offset, "size": query.k,
                                "track_total_hits": True}
        if text is None:
            page["sort"] = [{"updated_at": {"order": "desc", "missing": "_last"}}, {"id": "desc"}]
        if aggs:
            page["aggs"] = aggs
        bodies["page"] = page
        return bodies
    vector = check_vector(query.vector, dim, what="query vector").tolist()
    depth = query.depth
    must, must_not = filter_clauses(query.filters)
    knn: dict[str, Any] = {"field": "vector", "query_vector": vector, "k": depth,
                           "num_candidates": min(max(2 * depth, 100), 10_000)}
    if must or must_not:
        knn["filter"] = {"bool": {"filter": must, "must_not": must_not}}
    bodies["knn"] = {"knn": knn, "size": depth, "_source": False, "fields": ["id"]}
    has_vector = {"term": {"has_vector": True}}
    if query.mode == "hybrid" and text is not None:
        bodies["lexical"] = {"query": _bool(text, query.filters), "size": depth, "_source": False,
                             "fields": ["id"]}
        match = {"bool": {"should": [has_vector, text], "minimum_should_match": 1}}
    else:
        match = has_vector
    count: dict[str, Any] = {"query": _bool(match, query.filters), "size": 0, "track_total_hits": True}
    if aggs:
        count["aggs"] = aggs
    bodies["count"] = count
    return bodies


def alias_actions(alias: str, new_index: str, old_indices: Iterable[str]) -> list[dict[str, Any]]:
    """One atomic ``_aliases`` update: the alias leaves every old index and points at the new one."""
    actions: list[dict[str, Any]] = [{"remove": {"index": old, "alias": alias}} for old in old_indices]
    actions.append({"add": {"index": new_index, "alias": alias, "is_write_index": True}})
    return actions


def _facets(response: Mapping[str, Any], names: Sequence[str]) -> dict[str, dict[str, int]]:
    aggs = response.get("aggregations", {})
    return {name: {str(b["key"]): int(b["doc_count"]) for b in aggs.get(name, {}).get("buckets", [])}
            for name in names}


def _source_fields(source: Mapping[str, Any]) -> dict[str, Any]:
    return {name: source.get(name) for name in SOURCE_FIELDS}


class ElasticBackend(SearchBackend):
    """Listings in Elasticsearch behind the alias ``<index_prefix>-listings``.

    Parameters
    ----------
    client : an ``elasticsearch.Elasticsearch`` (or ``hosts=``/``**client_opts`` to build one).
    dim : vector dimension of the ``dense_vector`` field.
    index_prefix : names the alias, the template and the indices.
    shards, replicas : index settings for new indices.
    """

    def __init__(self, client: Any = None, *, dim: int, hosts: str | None = None, index_prefix: str = "cosmos",
                 shards: int = 1, replicas: int = 0, **client_opts: Any):
        if client is None:
            if hosts is None:
                raise ValueError("ElasticBackend needs a client or hosts=")
            client = elasticsearch.Elasticsearch(hosts, **client_opts)
        self.client = client
        self.dim = int(dim)
        self.prefix = index_prefix
        self.alias = alias_name(index_prefix)
        self.shards = shards
        self.replicas = replicas
        self._family = None
        self._ready = False

    @classmethod
    def from_url(cls, url: str, *, dim: int, **opts: Any) -> ElasticBackend:
        """``http(s)://[user:pass@]host:9200[/?prefix=cosmos]``."""
        parsed = urlparse(url)
        params = parse_qs(parsed.query)
        if "prefix" in params and "index_prefix" not in opts:
            opts["index_prefix"] = params["prefix"][0]
        hosts = urlunparse(parsed._replace(path="", query="", params="", fragment=""))
        return cls(dim=dim, hosts=hosts, **opts)

    def __repr__(self) -> str:
        return f"ElasticBackend(alias={self.alias!r}, dim={self.dim})"

    # -- set-up

    def _families(self) -> Callable[[str], tuple[str, ...]]:
        if self._family is None:
            self._family = _word_families()
        return self._family

    def new_index_name(self) -> str:
        return f"{self.alias}-{datetime.now(UTC).strftime('%Y%m%d%H%M%S%f')}"

    def ensure(self) -> None:
        """Install the template and, when the alias is missing, a first index behind it."""
        if self._ready:
            return
        self.client.indices.put_index_template(name=self.alias, **index_template(
            self.prefix, self.dim, shards=self.shards, replicas=self.replicas))
        if not self.client.indices.exists_alias(name=self.alias):
            index = self.new_index_name()
            self.client.indices.create(index=index, aliases={self.alias: {"is_write_index": True}})
        self._ready = True

    def current_indices(self) -> list[str]:
        try:
            return sorted(self.client.indices.get_alias(name=self.alias).body)
        except elasticsearch.NotFoundError:
            return []

    def reindex(self, docs: Iterable[Document] | None = None) -> str:
        """Build a new index (from ``docs``, or copied server-side from the live one when None), then swap the
        alias to it atomically and drop the old indices. Returns the new index name."""
        self.ensure()
        old = self.current_indices()
        new = self.new_index_name()
        self.client.indices.create(index=new)
        try:
            if docs is None:
                if old:
                    self.client.reindex(source={"index": self.alias}, dest={"index": new}, wait_for_completion=True,
                                        refresh=True)
            else:
                helpers.bulk(self.client, bulk_actions(docs, new, self.dim), chunk_size=500)
                self.client.indices.refresh(index=new)
            self.client.indices.update_aliases(actions=alias_actions(self.alias, new, old))
        except BaseException:
            self.client.indices.delete(index=new, ignore_unavailable=True)
            raise
        for index in old:
            self.client.indices.delete(index=index, ignore_unavailable=True)
        log.info("reindexed %s into %s (was %s)", self.alias, new, old)
        return new

    # -- writing

    def index(self, docs: Iterable[Document]) -> int:
        self.ensure()
        ok, _ = helpers.bulk(self.client, bulk_actions(docs, self.alias, self.dim), chunk_size=500,
                             refresh="wait_for")
        return int(ok)

    def delete(self, ids: Iterable[int]) -> None:
        self.ensure()
        actions = ({"_op_type": "delete", "_index": self.alias, "_id": str(int(i))} for i in ids)
        _, errors = helpers.bulk(self.client, actions, raise_on_error=False, refresh="wait_for")
        real = [e for e in errors or () if e.get("delete", {}).get("status") != 404]
        if real:
            raise SearchError(f"deleting listings failed: {real[:3]}")

    def clear(self) -> None:
        self.ensure()
        self.client.delete_by_query(index=self.alias, query={"match_all": {}}, refresh=True, conflicts="proceed")

    def close(self) -> None:
        self.client.close()

    # -- reading

    def count(self) -> int:
        self.ensure()
        return int(self.client.count(index=self.alias)["count"])

    def get(self, doc_id: int) -> Document | None:
        self.ensure()
        try:
            response = self.client.get(index=self.alias, id=str(int(doc_id)))
        except elasticsearch.NotFoundError:
            return None
        source = response["_source"]
        vector = None
        if source.get("vector") is not None:
            import numpy as np

            vector = np.asarray(source["vector"], dtype=np.float32)
        return document_from_source(doc_id, source, vector)

    def ids(self) -> dict[int, datetime | None]:
        self.ensure()
        out: dict[int, datetime | None] = {}
        for row in helpers.scan(self.client, index=self.alias,
                                query={"query": {"match_all": {}}, "_source": ["updated_at"]}):
            stamp = row["_source"].get("updated_at")
            out[int(row["_id"])] = datetime.fromisoformat(stamp) if stamp else None
        return out

    def search(self, query: Query) -> SearchResult:
        self.ensure()
        bodies = search_bodies(query, self.dim, family=self._families())
        roles = list(bodies)
        searches: list[dict[str, Any]] = []
        for role in roles:
            searches.extend(({"index": self.alias}, bodies[role]))
        responses = dict(zip(roles, self.client.msearch(searches=searches)["responses"], strict=True))
        for role, response in responses.items():
            if "error" in response:
                raise SearchError(f"{role} search failed: {response['error']}")
        if query.mode == "text":
            page = responses["page"]
            hits = tuple(Hit(id=int(h["_id"]), score=float(h["_score"] or 0.0),
                             text_score=float(h["_score"]) if query.text and h["_score"] is not None else None,
                             fields=_source_fields(h["_source"])) for h in page["hits"]["hits"])
            return SearchResult(hits=hits, total=int(page["hits"]["total"]["value"]),
                                facets=_facets(page, query.facets))
        # Cosine similarity in ES scores as (1 + cos) / 2: map it back so scores match the embedded backend.
        vector_scores = {int(h["_id"]): 2.0 * float(h["_score"]) - 1.0 for h in responses["knn"]["hits"]["hits"]}
        text_scores = {int(h["_id"]): float(h["_score"]) for h in responses.get("lexical", {}).get(
            "hits", {}).get("hits", [])}
        if "lexical" in responses:
            ranked = rrf_fuse([(list(text_scores), query.text_weight), (list(vector_scores), query.vector_weight)],
                              k=RRF_K)
        else:
            ranked = list(vector_scores.items())
        page_ids = ranked[query.offset: query.offset + query.k]
        sources = {}
        if page_ids:
            found = self.client.mget(index=self.alias, ids=[str(i) for i, _ in page_ids])["docs"]
            sources = {int(d["_id"]): d["_source"] for d in found if d.get("found")}
        hits = []
        for doc_id, score in page_ids:
            if doc_id not in sources:
                continue
            source = sources[doc_id]
            vscore = vector_scores.get(doc_id)
            if vscore is None and source.get("vector") is not None:
                import numpy as np

                vscore = float(np.asarray(source["vector"], dtype=np.float32) @ check_vector(query.vector, self.dim))
            hits.append(Hit(id=doc_id, score=float(score), text_score=text_scores.get(doc_id), vector_score=vscore,
                            fields=_source_fields(source)))
        count = responses["count"]
        return SearchResult(hits=tuple(hits), total=int(count["hits"]["total"]["value"]),
                            facets=_facets(count, query.facets))
