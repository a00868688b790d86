"""Elasticsearch request bodies as pure functions (no server needed to check them): the index template, the
documents, filters, the text queries and the ``_msearch`` bodies of a search. :mod:`search.elastic` sends them.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from search.base import Document, Filters, Query, check_vector, code_class, code_section, document_source, expand_codes
from search.elastic_relevant import first_round, relevant_text_query
from search.relevance import filler_stems, plan_text
from search.russian import WORD_FAMILIES, fold_yo

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
                    "operations": keyword,                          # catalogue operations with ancestors
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
                          ("okpd2_path", filters.okpd2), ("okved2_path", filters.okved2),
                          ("operations", filters.operations)):
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


def _russian_stem() -> Callable[[str], str]:
    import Stemmer

    return Stemmer.Stemmer("russian").stemWord


def query_text(query: Query, *, family: Callable[[str], tuple[str, ...]] = lambda word: (),
               stem: Callable[[str], str] | None = None) -> dict[str, Any] | None:
    """The text part of a query: the plain BM25 query, or with ``relevant`` the plan of :mod:`search.relevance`."""
    if not query.text:
        return None
    if not query.relevant:
        return text_query(query.text, prefix=query.prefix, family=family)
    stem = stem or _russian_stem()
    plan = plan_text(query.text, stem=stem, fillers=filler_stems(stem), expansion=query.expansion,
                     prefix=query.prefix)
    return relevant_text_query(plan, family=family)


def search_bodies(query: Query, dim: int, *, family: Callable[[str], tuple[str, ...]] = lambda word: (),
                  stem: Callable[[str], str] | None = None) -> dict[str, dict[str, Any]]:
    """The request bodies one search sends in a single ``_msearch``, by role.

    - ``page``   (text mode): the page itself, with total and facets;
    - ``lexical`` (hybrid): the BM25 candidates;
    - ``knn``     (vector, hybrid): the kNN candidates, filtered inside the kNN search;
    - ``count``   (vector, hybrid): total and facets over the match set (filtered listings that have a vector,
      in hybrid also those that match the words); absent when the query asks for neither (``count=False``).

    ``fields=False`` drops ``_source`` from the text page (the caller reads ids and scores).
    """
    text = query_text(query, family=family, stem=stem)
    aggs = facet_aggs(query.facets) if query.facets else None
    bodies: dict[str, dict[str, Any]] = {}
    if query.mode == "text":
        page: dict[str, Any] = {"query": _bool(text, query.filters), "from": query.offset, "size": query.k,
                                "track_total_hits": query.count}
        if not query.fields:
            page["_source"] = False
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
    if query.relevant and query.mode == "hybrid" and text is not None:  # round one; see search.elastic_relevant
        return first_round(query, dim, text, _bool, bodies["knn"])
    has_vector = {"term": {"has_vector": True}}
    if query.mode == "hybrid" and text is not None:
        bodies["lexical"] = {"query": _bool(text, query.filters), "size": depth, "_source": False,
                             "fields": ["id"]}
        match = {"bool": {"should": [has_vector, text], "minimum_should_match": 1}}
    else:
        match = has_vector
    if query.count or aggs:  # the matcher reads neither: no third search
        count: dict[str, Any] = {"query": _bool(match, query.filters), "size": 0, "track_total_hits": query.count}
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


