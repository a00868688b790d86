"""Elasticsearch request bodies for ``Query(relevant=True)`` (:mod:`search.relevance`), as pure functions.

The same plan as the embedded backend: content words (stem, word family, shared prefix of the stem) with a
``minimum_should_match`` of :func:`search.relevance.required_words`, or a named operation, or one of its phrases;
generic words only rank. Hybrid search takes two ``_msearch`` rounds:

1. ``lexical`` (the BM25 list, ``depth`` deep, with its exact total), ``anchor`` (the same query rescored by cosine
   over the same window: the cosine of every lexical candidate, so the best one sets the floor) and ``knn``;
2. ``count`` (total and facets over ``lexical ∨ ids(kept vector-only listings)``: a union, counted exactly) and,
   when the lexical matches run deeper than the list, ``overlap`` (which kept listings match the words after all).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from search.base import Filters, Query, check_vector
from search.relevance import OPERATION_SCORE, PREFIX_SCORE, TextPlan

TITLE_BOOST = 2.0
FAMILY_BOOST = 0.6
PHRASE_BOOST = 1.5
FIELDS = [f"title^{TITLE_BOOST:g}", "description"]
# cosine + 1 keeps script scores non-negative; a listing without a vector scores 0 (cosine -1 after mapping back)
COSINE_SCRIPT = "doc['vector'].size() == 0 ? 0.0 : cosineSimilarity(params.v, 'vector') + 1.0"


def word_group(word: str, prefix: str | None, family: Callable[[str], tuple[str, ...]],
               compound: tuple[str, str] | None = None) -> dict[str, Any]:
    queries: list[dict[str, Any]] = [{"multi_match": {"query": word, "fields": FIELDS}}]
    related = family(word)
    if related:
        queries.append({"multi_match": {"query": " ".join(related), "fields": FIELDS, "boost": FAMILY_BOOST}})
    if prefix:  # term-level: matches indexed stems that start with the prefix, constant score
        queries.extend(({"prefix": {"title": {"value": prefix, "boost": PREFIX_SCORE * TITLE_BOOST}}},
                        {"prefix": {"description": {"value": prefix, "boost": PREFIX_SCORE}}}))
    if compound:  # the compound's head as a word and its root as a stem prefix, both somewhere in the listing
        root, head = compound
        queries.append({"bool": {"must": [
            {"multi_match": {"query": head, "fields": FIELDS, "boost": PREFIX_SCORE}},
            {"constant_score": {"filter": {"bool": {"should": [{"prefix": {"title": root}},
                                                              {"prefix": {"description": root}}]}},
                                "boost": 0.0}}]}})
    return {"dis_max": {"queries": queries}}


def relevant_text_query(plan: TextPlan, *, family: Callable[[str], tuple[str, ...]] = lambda word: ()
                        ) -> dict[str, Any]:
    if plan.matches_nothing:
        return {"match_none": {}}
    alternatives: list[dict[str, Any]] = []
    if plan.groups:
        alternatives.append({"bool": {"should": [word_group(g.word, g.prefix, family, g.compound) for g in plan.groups],
                                      "minimum_should_match": plan.required}})
    for words in plan.phrases:
        alternatives.append({"multi_match": {"query": " ".join(words), "type": "phrase", "fields": FIELDS}})
    if plan.operations:
        alternatives.append({"constant_score": {"filter": {"terms": {"operations": list(plan.operations)}},
                                                "boost": OPERATION_SCORE}})
    must: list[dict[str, Any]] = []
    if alternatives:
        must.append({"bool": {"should": alternatives, "minimum_should_match": 1}})
    must.extend({"multi_match": {"query": " ".join(words), "type": "phrase", "fields": FIELDS}}
                for words in plan.quoted)
    if plan.prefix_word:
        must.append({"prefix": {"words": {"value": plan.prefix_word}}})
    if not must:
        return {"match_none": {}}
    should: list[dict[str, Any]] = []
    if plan.fillers:
        should.append({"multi_match": {"query": " ".join(plan.fillers), "fields": FIELDS}})
    if len(plan.words) > 1:
        should.append({"multi_match": {"query": " ".join(plan.words), "type": "phrase", "fields": FIELDS,
                                       "boost": PHRASE_BOOST}})
    body: dict[str, Any] = {"must": must}
    if should:
        body["should"] = should
    return {"bool": body}


def first_round(query: Query, dim: int, text: dict[str, Any], bool_query: Callable[[Any, Filters], dict[str, Any]],
                knn: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``lexical``, ``anchor`` and ``knn`` bodies of a relevant hybrid search."""
    depth = query.depth
    vector = check_vector(query.vector, dim, what="query vector").tolist()
    lexical = bool_query(text, query.filters)
    return {
        "lexical": {"query": lexical, "size": depth, "_source": False, "fields": ["id"], "track_total_hits": True},
        "anchor": {"query": lexical, "size": depth, "_source": False, "fields": ["id"],
                   "rescore": {"window_size": depth, "query": {
                       "query_weight": 0.0, "rescore_query_weight": 1.0,
                       "rescore_query": {"script_score": {"query": {"match_all": {}}, "script": {
                           "source": COSINE_SCRIPT, "params": {"v": vector}}}}}}},
        "knn": knn,
    }


def second_round(query: Query, text: dict[str, Any], bool_query: Callable[[Any, Filters], dict[str, Any]],
                 kept: Sequence[int], aggs: dict[str, Any] | None, *, deeper: bool) -> dict[str, dict[str, Any]]:
    """``count`` over the lexical matches and the kept vector-only listings; ``overlap`` when needed."""
    ids = {"ids": {"values": [str(i) for i in kept]}}
    match = {"bool": {"should": [text, ids], "minimum_should_match": 1}} if kept else text
    count: dict[str, Any] = {"query": bool_query(match, query.filters), "size": 0, "track_total_hits": True}
    if aggs:
        count["aggs"] = aggs
    bodies = {"count": count}
    if kept and deeper:
        overlap = bool_query(text, query.filters)
        overlap["bool"].setdefault("filter", []).append(ids)
        bodies["overlap"] = {"query": overlap, "size": len(kept), "_source": False, "fields": ["id"]}
    return bodies
