"""The embedded backend's queries: tantivy queries built from filters and text, and the search itself.

A mixin of :class:`search.embedded.EmbeddedBackend` (which provides ``_schema``, ``_stem_word``, ``_families``,
``_fillers``, ``_vectors`` and ``_searcher``). Queries are built programmatically, never parsed, so user input cannot
inject syntax. ``Query(relevant=True)`` follows :mod:`search.relevance`.
"""
from __future__ import annotations

import itertools
import json
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import tantivy

from search.base import RRF_K, Filters, Hit, Query, SearchResult, check_vector, rrf_fuse
from search.embedded_vectors import day_number
from search.relevance import (
    ANCHOR_DEPTH,
    OPERATION_SCORE,
    PREFIX_SCORE,
    TextPlan,
    plan_text,
    relevant_ranking,
    vector_floor,
)
from search.russian import fold_yo

TITLE_BOOST = 2.0
FAMILY_BOOST = 0.6
PHRASE_BOOST = 1.5
FIELDS = (("title", TITLE_BOOST), ("description", 1.0))
MAX_COMBINATIONS = 64
QUOTED = re.compile(r'"([^"]*)"')
WORD = re.compile(r"[^\W_]+")  # letters and digits: what the simple tokenizer keeps


class QueryMixin:
    _schema: tantivy.Schema

    # -- query building

    def _filter_clauses(self, filters: Filters) -> list[tuple[Any, tantivy.Query]]:
        schema = self._schema
        must, clauses = [], []
        for column, values in (("side", (filters.side,) if filters.side else ()), ("kind", filters.kinds),
                               ("region", filters.regions), ("district", filters.districts),
                               ("country", filters.countries), ("status", filters.statuses),
                               ("okpd2", filters.okpd2), ("okved2", filters.okved2),
                               ("operations", filters.operations)):
            if len(values) == 1:  # one value (a region, a side): a term query skips, a term set builds a bitset
                must.append(tantivy.Query.term_query(schema, column, values[0]))
            elif values:
                must.append(tantivy.Query.term_set_query(schema, column, list(values)))
        if filters.organization_id is not None:
            must.append(tantivy.Query.term_query(schema, "organization_id", int(filters.organization_id)))
        if filters.ids is not None:
            must.append(tantivy.Query.term_set_query(schema, "id", list(filters.ids)))
        clauses = [(tantivy.Occur.Must, tantivy.Query.const_score_query(q, 0.0)) for q in must]
        if filters.exclude_organization_ids:
            clauses.append((tantivy.Occur.MustNot, tantivy.Query.term_set_query(
                schema, "organization_id", [int(i) for i in filters.exclude_organization_ids])))
        if filters.exclude_ids:
            clauses.append((tantivy.Occur.MustNot, tantivy.Query.term_set_query(
                schema, "id", [int(i) for i in filters.exclude_ids])))
        if filters.active_on is not None:  # an open end has no value, and a range never matches a missing value
            day = day_number(filters.active_on)
            clauses.append((tantivy.Occur.MustNot, tantivy.Query.range_query(
                schema, "starts_day", tantivy.FieldType.Integer, lower_bound=day, include_lower=False)))
            clauses.append((tantivy.Occur.MustNot, tantivy.Query.range_query(
                schema, "ends_day", tantivy.FieldType.Integer, upper_bound=day, include_upper=False)))
        return clauses

    def _phrase(self, words: Sequence[str], fields: Sequence[tuple[str, float]],
                within: Sequence[tuple[Any, tantivy.Query]] = ()) -> tantivy.Query | None:
        """Words in this order (stop words keep their place), in any of the fields.

        ``within``: the search's filter clauses (scored 0), put inside each field's phrase. A union of phrase
        scorers checks positions in every document holding all the words, whatever the filters outside it: at 1M
        listings «услуги по производству» took 11.5 ms under a region filter, 0.3 ms with the filter inside.
        """
        terms = [(offset, stem) for offset, stem in ((i, self._stem_word(w)) for i, w in enumerate(words)) if stem]
        if not terms:
            return None
        if len(terms) == 1:
            per_field = [tantivy.Query.boost_query(tantivy.Query.term_query(self._schema, f, terms[0][1]), b)
                         for f, b in fields]
        else:
            first = terms[0][0]
            shifted = [(offset - first, stem) for offset, stem in terms]
            per_field = [tantivy.Query.boost_query(tantivy.Query.phrase_query(self._schema, f, shifted), b)
                         for f, b in fields]
        if within:
            per_field = [tantivy.Query.boolean_query([(tantivy.Occur.Must, q), *within]) for q in per_field]
        return tantivy.Query.disjunction_max_query(per_field)

    def _text_query(self, text: str, prefix: bool,
                    within: Sequence[tuple[Any, tantivy.Query]] = ()) -> tantivy.Query:
        schema = self._schema
        fields = FIELDS
        clauses: list[tuple[Any, tantivy.Query]] = []
        text = fold_yo(text)
        for phrase in QUOTED.findall(text):
            query = self._phrase(WORD.findall(phrase.lower()), fields, within)
            if query is not None:
                clauses.append((tantivy.Occur.Must, query))
        rest = QUOTED.sub(" ", text)
        words = WORD.findall(rest.lower())
        prefix_word = words.pop() if prefix and words and not rest[-1:].isspace() else None
        stems = list(dict.fromkeys(s for s in (self._stem_word(w) for w in words) if s))
        for stem in stems:
            variants = [(stem, 1.0)] + [(other, FAMILY_BOOST) for other in sorted(self._families.get(stem, ()))]
            subqueries = [tantivy.Query.boost_query(tantivy.Query.term_query(schema, f, v), fb * vb)
                          for f, fb in fields for v, vb in variants]
            clauses.append((tantivy.Occur.Should, tantivy.Query.disjunction_max_query(subqueries)))
        if len(stems) > 1:
            phrase = self._phrase(words, (("title", TITLE_BOOST * PHRASE_BOOST), ("description", PHRASE_BOOST)),
                                  within)
            if phrase is not None:
                clauses.append((tantivy.Occur.Should, phrase))
        if prefix_word:
            clauses.append((tantivy.Occur.Must, tantivy.Query.regex_query(schema, "words", f"{prefix_word}.*")))
        if not clauses:
            return tantivy.Query.empty_query()
        return tantivy.Query.boolean_query(clauses)

    def _plan(self, query: Query) -> TextPlan:
        return plan_text(query.text or "", stem=self._stem_word, fillers=self._fillers, expansion=query.expansion,
                         prefix=query.prefix)

    def _word_group(self, group: Any) -> tantivy.Query:
        """One content word: its stem, its family's stems (lower), a derived form through the shared prefix."""
        schema = self._schema
        variants = [(group.stem, 1.0)] + [(o, FAMILY_BOOST) for o in sorted(self._families.get(group.stem, ()))]
        subqueries = [tantivy.Query.boost_query(tantivy.Query.term_query(schema, f, v), fb * vb)
                      for f, fb in FIELDS for v, vb in variants]
        if group.prefix:
            subqueries.extend(tantivy.Query.const_score_query(
                tantivy.Query.regex_query(schema, f, f"{group.prefix}.*"), PREFIX_SCORE * fb) for f, fb in FIELDS)
        if group.compound and self._stem_word(group.compound[1]):
            root, head = group.compound
            subqueries.append(tantivy.Query.boolean_query([
                (tantivy.Occur.Must, tantivy.Query.disjunction_max_query([tantivy.Query.boost_query(
                    tantivy.Query.term_query(schema, f, self._stem_word(head)), PREFIX_SCORE * fb)
                    for f, fb in FIELDS])),
                (tantivy.Occur.Must, tantivy.Query.disjunction_max_query([tantivy.Query.const_score_query(
                    tantivy.Query.regex_query(schema, f, f"{root}.*"), 0.0) for f, _ in FIELDS]))]))
        return tantivy.Query.disjunction_max_query(subqueries)

    def _relevant_text_query(self, plan: TextPlan,
                             within: Sequence[tuple[Any, tantivy.Query]] = ()) -> tantivy.Query:
        """Must: (enough content words) or a named operation or one of its phrases; generic words only rank."""
        schema = self._schema
        if plan.matches_nothing:
            return tantivy.Query.empty_query()
        alternatives: list[tantivy.Query] = []
        groups = [self._word_group(g) for g in plan.groups]
        if groups:
            combos = list(itertools.islice(itertools.combinations(range(len(groups)), plan.required),
                                           MAX_COMBINATIONS))
            for combo in combos:
                chosen = [groups[i] for i in combo]
                alternatives.append(chosen[0] if len(chosen) == 1 else tantivy.Query.boolean_query(
                    [(tantivy.Occur.Must, q) for q in chosen] +
                    [(tantivy.Occur.Should, groups[i]) for i in range(len(groups)) if i not in combo]))
        for words in plan.phrases:
            phrase = self._phrase(words, FIELDS, within)
            if phrase is not None:
                alternatives.append(phrase)
        if plan.operations:
            alternatives.append(tantivy.Query.const_score_query(
                tantivy.Query.term_set_query(schema, "operations", list(plan.operations)), OPERATION_SCORE))
        clauses: list[tuple[Any, tantivy.Query]] = []
        if alternatives:
            clauses.append((tantivy.Occur.Must, tantivy.Query.boolean_query(
                [(tantivy.Occur.Should, q) for q in alternatives])))
        for words in plan.quoted:
            phrase = self._phrase(words, FIELDS, within)
            if phrase is not None:
                clauses.append((tantivy.Occur.Must, phrase))
        for word in plan.fillers:
            stem = self._stem_word(word)
            if stem:
                clauses.append((tantivy.Occur.Should, tantivy.Query.disjunction_max_query(
                    [tantivy.Query.boost_query(tantivy.Query.term_query(schema, f, stem), fb) for f, fb in FIELDS])))
        if len(plan.words) > 1:
            phrase = self._phrase(plan.words, (("title", TITLE_BOOST * PHRASE_BOOST), ("description", PHRASE_BOOST)),
                                  within)
            if phrase is not None:
                clauses.append((tantivy.Occur.Should, phrase))
        if plan.prefix_word:
            clauses.append((tantivy.Occur.Must, tantivy.Query.regex_query(schema, "words", f"{plan.prefix_word}.*")))
        if not any(occur == tantivy.Occur.Must for occur, _ in clauses):
            return tantivy.Query.empty_query()
        return tantivy.Query.boolean_query(clauses)

    @staticmethod
    def _combine(positive: tantivy.Query | None, filters: list[tuple[Any, tantivy.Query]]) -> tantivy.Query:
        clauses = list(filters)
        if positive is not None:
            clauses.insert(0, (tantivy.Occur.Must, positive))
        elif not any(occur == tantivy.Occur.Must for occur, _ in clauses):
            clauses.insert(0, (tantivy.Occur.Must, tantivy.Query.all_query()))
        return tantivy.Query.boolean_query(clauses) if len(clauses) > 1 else clauses[0][1]

    def _allowed_ids(self, searcher: tantivy.Searcher, filters: Filters) -> np.ndarray | None:
        """Ids passing the filters when they include code prefixes, which the vector columns cannot evaluate.

        All the filters go to tantivy, not only the codes, so that the id list stays as short as the match set
        (a region and a class: hundreds, not the whole class). A broad code filter alone costs a pass over its
        matches: section "C" with nothing else, 66k matches of 100k listings, takes ~60 ms.
        """
        if not (filters.okpd2 or filters.okved2 or filters.operations):
            return None
        query = self._combine(None, self._filter_clauses(filters))
        total = searcher.search(query, 1, count=True).count
        if not total:
            return np.empty(0, dtype=np.int64)
        addrs = [addr for _, addr in searcher.search(query, total, count=False).hits]
        return np.asarray(searcher.fast_field_values("id", addrs), dtype=np.int64)

    # -- search

    def search(self, query: Query) -> SearchResult:
        searcher = self._searcher()
        schema = self._schema
        filters = self._filter_clauses(query.filters)
        if query.text and query.relevant:
            text_q = self._relevant_text_query(self._plan(query), filters)
        else:
            text_q = self._text_query(query.text, query.prefix, filters) if query.text else None
        qvec = check_vector(query.vector, self.dim, what="query vector") if query.vector is not None else None
        has_vector = tantivy.Query.term_query(schema, "has_vector", True)
        text_scores: dict[int, float] = {}
        vector_scores: dict[int, float] = {}
        page: list[tuple[int, float]]

        if query.mode == "text":
            match = self._combine(text_q, filters)
            parts = [match]
            if text_q is None:  # browsing: newest first
                result = searcher.search(match, max(query.k, 1), count=query.count, order_by_field="updated_us",
                                         offset=query.offset)
                ids = searcher.fast_field_values("id", [a for _, a in result.hits[: query.k]])
                page = [(i, 0.0) for i in ids]
            else:
                result = searcher.search(match, max(query.k, 1), count=query.count, offset=query.offset)
                hits = result.hits[: query.k]
                ids = searcher.fast_field_values("id", [a for _, a in hits])
                page = [(i, s) for i, (s, _) in zip(ids, hits, strict=True)]
                text_scores = dict(page)
            total = result.count if query.count else None
            if qvec is not None:
                vector_scores = self._vectors.scores_for([i for i, _ in page], qvec)
        elif query.relevant and text_q is not None:
            assert qvec is not None
            page, parts, total, text_scores, vector_scores = self._relevant_hybrid(searcher, query, text_q, filters,
                                                                                   qvec)
        else:
            assert qvec is not None
            depth = query.depth
            # The match set is (filters and has a vector) [or (filters and the words and no vector)]: disjoint
            # parts counted apart, because tantivy cannot skip through a union with a dense term (has_vector) and
            # would walk every document.
            parts = [self._combine(has_vector, filters)]
            if query.mode == "hybrid" and text_q is not None:
                parts.append(self._combine(tantivy.Query.const_score_query(text_q, 1.0),
                                           [*filters, (tantivy.Occur.MustNot, has_vector)]))
            total = sum(searcher.search(part, 1, count=True).count for part in parts) if query.count else None
            vec_ids, vec_scores = self._vectors.search(qvec, query.filters, depth,
                                                       self._allowed_ids(searcher, query.filters))
            vector_scores = dict(zip(vec_ids.tolist(), vec_scores.tolist(), strict=True))
            if query.mode == "vector" or text_q is None:
                ranked = list(vector_scores.items())
            else:
                result = searcher.search(self._combine(text_q, filters), depth, count=False)
                ids = searcher.fast_field_values("id", [a for _, a in result.hits])
                text_scores = {i: s for i, (s, _) in zip(ids, result.hits, strict=True)}
                ranked = rrf_fuse([(list(text_scores), query.text_weight),
                                   (list(vector_scores), query.vector_weight)], k=RRF_K)
            page = ranked[query.offset: query.offset + query.k]
            # the cosine of a text hit beyond the vector depth, for the page's hits only (what the caller reads)
            missing = [i for i, _ in page if i not in vector_scores]
            if missing:
                vector_scores.update(self._vectors.scores_for(missing, qvec))

        if query.fields:
            sources = self._sources(searcher, [i for i, _ in page])
        else:  # ids and scores only; every live vector has its words (writes order the two commits so)
            sources = dict.fromkeys([i for i, _ in page], {})
        hits = tuple(Hit(id=i, score=float(s), text_score=text_scores.get(i), vector_score=vector_scores.get(i),
                         fields=sources[i]) for i, s in page if i in sources)
        facets = self._facets(searcher, parts, query.facets) if query.facets else {}
        return SearchResult(hits=hits, total=None if total is None else int(total), facets=facets)

    def _relevant_hybrid(self, searcher: tantivy.Searcher, query: Query, text_q: tantivy.Query,
                         filters: list[tuple[Any, tantivy.Query]], qvec: np.ndarray) -> tuple[Any, ...]:
        """Lexical matches first, then vector-only listings above the floor (:func:`search.relevance.vector_floor`);
        the match set is the lexical matches plus those, counted as two disjoint parts."""
        depth = query.depth
        lexical = self._combine(text_q, filters)
        result = searcher.search(lexical, depth, count=True)
        ids = searcher.fast_field_values("id", [a for _, a in result.hits])
        text_scores = {i: s for i, (s, _) in zip(ids, result.hits, strict=True)}
        lexical_total = result.count
        cosine = self._vectors.scores_for(ids, qvec)
        anchor_ids = ids[:ANCHOR_DEPTH]
        anchor = max((cosine[i] for i in anchor_ids if i in cosine), default=None)
        floor = vector_floor(anchor)
        vec_ids, vec_scores = self._vectors.search(qvec, query.filters, depth, self._allowed_ids(searcher,
                                                                                                query.filters))
        lexical_set = set(ids)
        extra = [(i, c) for i, c in zip(vec_ids.tolist(), vec_scores.tolist(), strict=True)
                 if c >= floor and i not in lexical_set]
        if extra and lexical_total > len(ids):  # a lexical match ranked below the depth is not vector-only
            check = self._combine(text_q, [*filters, (tantivy.Occur.Must, tantivy.Query.term_set_query(
                self._schema, "id", [i for i, _ in extra]))])
            found = searcher.search(check, len(extra), count=False)
            deeper = set(searcher.fast_field_values("id", [a for _, a in found.hits]))
            extra = [(i, c) for i, c in extra if i not in deeper]
        parts = [lexical]
        if extra:
            parts.append(self._combine(tantivy.Query.term_set_query(self._schema, "id", [i for i, _ in extra]),
                                       filters))
        ranked = relevant_ranking(ids, cosine, extra, text_weight=query.text_weight,
                                  vector_weight=query.vector_weight, k=RRF_K)
        vector_scores = dict(cosine)
        vector_scores.update(extra)
        page = ranked[query.offset: query.offset + query.k]
        return page, parts, lexical_total + len(extra), text_scores, vector_scores

    def _sources(self, searcher: tantivy.Searcher, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        if not ids:
            return {}
        result = searcher.search(tantivy.Query.term_set_query(self._schema, "id", list(ids)), len(ids) * 2,
                                 count=False)
        addrs = [a for _, a in result.hits]
        found = searcher.fast_field_values("id", addrs)
        return {i: json.loads(bytes(searcher.doc(a).get_first("source"))) for i, a in zip(found, addrs,
                                                                                         strict=True)}

    @staticmethod
    def _facets(searcher: tantivy.Searcher, parts: Sequence[tantivy.Query],
                names: Sequence[str]) -> dict[str, dict[str, int]]:
        """Terms counts over the match set, given as disjoint parts whose counts add up."""
        spec = {name: {"terms": {"field": name, "size": 10_000}} for name in names}
        out: dict[str, dict[str, int]] = {name: {} for name in names}
        for part in parts:
            result = searcher.aggregate(part, spec)
            for name in names:
                counts = out[name]
                for bucket in result.get(name, {}).get("buckets", []):
                    counts[bucket["key"]] = counts.get(bucket["key"], 0) + int(bucket["doc_count"])
        return {name: dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))) for name, counts in out.items()}
