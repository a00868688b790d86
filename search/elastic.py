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
from collections.abc import Callable, Iterable, Mapping
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
    Hit,
    Query,
    SearchBackend,
    SearchError,
    SearchResult,
    check_vector,
    document_from_source,
    rrf_fuse,
)
from search.elastic_bodies import (  # noqa: F401 - the request bodies are part of this module's interface
    FACET_FIELDS,
    SOURCE_FIELDS,
    _bool,
    _facets,
    _russian_stem,
    _source_fields,
    _word_families,
    alias_actions,
    alias_name,
    bulk_actions,
    document_body,
    facet_aggs,
    filter_clauses,
    index_template,
    query_text,
    search_bodies,
    text_query,
)
from search.elastic_relevant import second_round
from search.relevance import ANCHOR_DEPTH, relevant_ranking, vector_floor

log = logging.getLogger(__name__)
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
        self._stem: Callable[[str], str] | None = None
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
        if self._stem is None:
            self._stem = _russian_stem()
        bodies = search_bodies(query, self.dim, family=self._families(), stem=self._stem)
        responses = self._msearch(bodies)
        if "anchor" in responses:
            return self._relevant_hybrid(query, responses)
        if query.mode == "text":
            page = responses["page"]
            hits = tuple(Hit(id=int(h["_id"]), score=float(h["_score"] or 0.0),
                             text_score=float(h["_score"]) if query.text and h["_score"] is not None else None,
                             fields=_source_fields(h["_source"]) if query.fields else {})
                         for h in page["hits"]["hits"])
            return SearchResult(hits=hits, total=int(page["hits"]["total"]["value"]) if query.count else None,
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
        return self._page(query, ranked, text_scores, vector_scores, responses.get("count"))

    def _msearch(self, bodies: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
        roles = list(bodies)
        searches: list[dict[str, Any]] = []
        for role in roles:
            searches.extend(({"index": self.alias}, bodies[role]))
        responses = dict(zip(roles, self.client.msearch(searches=searches)["responses"], strict=True))
        for role, response in responses.items():
            if "error" in response:
                raise SearchError(f"{role} search failed: {response['error']}")
        return responses

    def _relevant_hybrid(self, query: Query, responses: Mapping[str, Any]) -> SearchResult:
        """Round two of a relevant hybrid search (:mod:`search.elastic_relevant`): the floor, the count, the page."""
        lexical_hits = responses["lexical"]["hits"]
        ids = [int(h["_id"]) for h in lexical_hits["hits"]]
        text_scores = {int(h["_id"]): float(h["_score"]) for h in lexical_hits["hits"]}
        cosine = {int(h["_id"]): float(h["_score"]) - 1.0 for h in responses["anchor"]["hits"]["hits"]
                  if float(h["_score"]) > 0.0}
        anchor = max((cosine[i] for i in ids[:ANCHOR_DEPTH] if i in cosine), default=None)
        floor = vector_floor(anchor)
        lexical_set = set(ids)
        knn = [(int(h["_id"]), 2.0 * float(h["_score"]) - 1.0) for h in responses["knn"]["hits"]["hits"]]
        extra = [(i, c) for i, c in knn if c >= floor and i not in lexical_set]
        deeper = int(lexical_hits["total"]["value"]) > len(ids)
        text = query_text(query, family=self._families(), stem=self._stem)
        aggs = facet_aggs(query.facets) if query.facets else None
        second = self._msearch(second_round(query, text or {"match_none": {}}, _bool, [i for i, _ in extra], aggs,
                                            deeper=deeper))
        if "overlap" in second:
            matched = {int(h["_id"]) for h in second["overlap"]["hits"]["hits"]}
            extra = [(i, c) for i, c in extra if i not in matched]
        ranked = relevant_ranking(ids, cosine, extra, text_weight=query.text_weight,
                                  vector_weight=query.vector_weight, k=RRF_K)
        vector_scores = {**cosine, **dict(extra)}
        return self._page(query, ranked, text_scores, vector_scores, second["count"])

    def _page(self, query: Query, ranked: list[tuple[int, float]], text_scores: Mapping[int, float],
              vector_scores: Mapping[int, float], count: Mapping[str, Any] | None) -> SearchResult:
        """The page's hits with their stored fields (``fields=False``: only the vectors of the hits the kNN list
        did not score, and only the ids of the others) and the total and facets of ``count`` (None: not asked)."""
        page_ids = ranked[query.offset: query.offset + query.k]
        sources: dict[int, Mapping[str, Any]] = {}
        if page_ids:
            if query.fields:
                found = self.client.mget(index=self.alias, ids=[str(i) for i, _ in page_ids])["docs"]
            else:  # the hits came from this index's own lists: only a lexical hit needs its vector read
                sources = {i: {} for i, _ in page_ids}
                missing = [str(i) for i, _ in page_ids if vector_scores.get(i) is None]
                found = self.client.mget(index=self.alias, ids=missing, source_includes=["vector"])["docs"] \
                    if missing else []
            sources.update({int(d["_id"]): d.get("_source") or {} for d in found if d.get("found")})
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
                            fields=_source_fields(source) if query.fields else {}))
        total = int(count["hits"]["total"]["value"]) if count is not None and query.count else None
        return SearchResult(hits=tuple(hits), total=total, facets=_facets(count or {}, query.facets))
