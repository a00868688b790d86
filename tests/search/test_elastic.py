"""The Elasticsearch backend without a server: the template, the documents and the exact request bodies, and the
fusion and alias logic against a recording stub. The live tests in test_elastic_live.py need ELASTICSEARCH_URL."""
from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import numpy as np
import pytest

from search import Filters, Query, open_backend
from search.elastic import (
    ElasticBackend,
    _word_families,
    alias_actions,
    document_body,
    filter_clauses,
    index_template,
    search_bodies,
    text_query,
)
from tests.search.conftest import DIM, corpus, unit


def test_template_has_russian_analysis_keywords_and_cosine_knn():
    template = index_template("cosmos", 256)
    assert template["index_patterns"] == ["cosmos-listings-*"]
    settings = template["template"]["settings"]
    analysis = settings["analysis"]
    assert analysis["analyzer"]["ru"]["filter"] == ["lowercase", "russian_stop", "russian_stemmer"]
    assert analysis["filter"]["russian_stemmer"] == {"type": "stemmer", "language": "russian"}
    assert analysis["filter"]["russian_stop"] == {"type": "stop", "stopwords": "_russian_"}
    props = template["template"]["mappings"]["properties"]
    assert props["vector"] == {"type": "dense_vector", "dims": 256, "index": True, "similarity": "cosine"}
    for field in ("side", "kind", "region", "district", "country", "status", "okpd2_path", "okpd2_class",
                  "okpd2_section"):
        assert props[field] == {"type": "keyword"}, field
    assert props["title"]["analyzer"] == "ru" and props["description"]["analyzer"] == "ru"
    assert template["template"]["mappings"]["dynamic"] == "strict"


def test_document_body_fits_the_strict_mapping_and_expands_codes():
    doc = corpus()[0]
    body = document_body(doc, DIM)
    props = index_template("cosmos", DIM)["template"]["mappings"]["properties"]
    assert set(body) <= set(props)
    assert body["okpd2"] == ["25.62.20.110"]
    assert "25.62" in body["okpd2_path"] and "C" in body["okpd2_path"]
    assert body["okpd2_class"] == ["25"] and body["okpd2_section"] == ["C"]
    assert body["has_vector"] is True and len(body["vector"]) == DIM
    assert body["updated_at"] == doc.updated_at.isoformat() and body["starts_on"] == "2026-01-01"


def test_filter_clauses_are_exact():
    must, must_not = filter_clauses(Filters(side="offer", kinds=("capability",), regions=("27", "25"),
                                            okpd2=("25.62",), organization_id=3, exclude_organization_ids=(4,),
                                            ids=(1, 2), exclude_ids=(9,)))
    assert must == [{"terms": {"side": ["offer"]}}, {"terms": {"kind": ["capability"]}},
                    {"terms": {"region": ["27", "25"]}}, {"terms": {"okpd2_path": ["25.62"]}},
                    {"term": {"organization_id": 3}}, {"ids": {"values": ["1", "2"]}}]
    assert must_not == [{"terms": {"organization_id": [4]}}, {"ids": {"values": ["9"]}}]
    _, must_not = filter_clauses(Filters(active_on=date(2026, 3, 5)))
    assert must_not == [{"range": {"starts_on": {"gt": "2026-03-05"}}}, {"range": {"ends_on": {"lt": "2026-03-05"}}}]


def test_every_filter_and_facet_targets_a_keyword_field_of_the_template():
    props = index_template("cosmos", DIM)["template"]["mappings"]["properties"]
    must, _ = filter_clauses(Filters(districts=("FEFD",), countries=("RU", "BY"), statuses=("active",),
                                     okved2=("25.62",)))
    assert must == [{"terms": {"district": ["FEFD"]}}, {"terms": {"country": ["RU", "BY"]}},
                    {"terms": {"status": ["active"]}}, {"terms": {"okved2_path": ["25.62"]}}]
    for clause in must:
        (field,) = clause["terms"]
        assert props[field] == {"type": "keyword"}, field
    from search import FACETS

    body = search_bodies(Query(text="сварка", facets=FACETS), DIM)["page"]
    assert set(body["aggs"]) == set(FACETS)
    for name, agg in body["aggs"].items():
        assert props[agg["terms"]["field"]] == {"type": "keyword"}, name


def test_text_query_words_phrases_prefix_and_families():
    family = _word_families()
    assert "сварочный" in family("сварка") and "сварка" not in family("сварка")
    query = text_query('сварка "листового металла" нерж', prefix=True, family=family)
    assert query["bool"]["must"] == [
        {"multi_match": {"query": "листового металла", "type": "phrase", "fields": ["title^2", "description"]}},
        {"prefix": {"words": {"value": "нерж"}}},
    ]
    should = query["bool"]["should"]
    assert should[0] == {"multi_match": {"query": "сварка", "fields": ["title^2", "description"],
                                         "type": "best_fields", "operator": "or"}}
    assert "сварочный" in should[1]["multi_match"]["query"] and should[1]["multi_match"]["boost"] == 0.6
    assert text_query("и в на") == {"bool": {"should": [{"multi_match": {
        "query": "и в на", "fields": ["title^2", "description"], "type": "best_fields", "operator": "or"}},
        {"multi_match": {"query": "и в на", "type": "phrase", "fields": ["title^2", "description"],
                         "boost": 1.5}}], "minimum_should_match": 1}}
    assert text_query("литьё")["bool"]["should"][0]["multi_match"]["query"] == "литье"


def test_search_bodies_per_mode():
    filters = Filters(regions=("27",))
    text = search_bodies(Query(text="сварка", filters=filters, facets=("kind",), k=5, offset=10), DIM)
    assert list(text) == ["page"]
    page = text["page"]
    assert page["from"] == 10 and page["size"] == 5 and page["track_total_hits"] is True
    assert page["query"]["bool"]["filter"] == [{"terms": {"region": ["27"]}}]
    assert page["aggs"] == {"kind": {"terms": {"field": "kind", "size": 1000}}}

    browse = search_bodies(Query(filters=filters), DIM)["page"]
    assert browse["query"]["bool"]["must"] == [{"match_all": {}}]
    assert browse["sort"][0] == {"updated_at": {"order": "desc", "missing": "_last"}}

    hybrid = search_bodies(Query(text="сварка", vector=unit(1), filters=filters, facets=("region",), k=10), DIM)
    assert list(hybrid) == ["knn", "lexical", "count"]
    knn = hybrid["knn"]["knn"]
    assert knn["field"] == "vector" and knn["k"] == 100 and knn["num_candidates"] == 200
    assert knn["filter"] == {"bool": {"filter": [{"terms": {"region": ["27"]}}], "must_not": []}}
    assert knn["query_vector"] == pytest.approx(unit(1).tolist())
    assert hybrid["lexical"]["size"] == 100
    count = hybrid["count"]
    assert count["size"] == 0 and count["aggs"] == {"region": {"terms": {"field": "region", "size": 1000}}}
    assert count["query"]["bool"]["must"][0]["bool"]["should"][0] == {"term": {"has_vector": True}}

    vector = search_bodies(Query(vector=unit(2)), DIM)
    assert list(vector) == ["knn", "count"] and "filter" not in vector["knn"]["knn"]
    assert vector["count"]["query"] == {"bool": {"must": [{"term": {"has_vector": True}}]}}


def test_alias_swap_is_one_atomic_action_list():
    assert alias_actions("c-listings", "c-listings-2", ["c-listings-1"]) == [
        {"remove": {"index": "c-listings-1", "alias": "c-listings"}},
        {"add": {"index": "c-listings-2", "alias": "c-listings", "is_write_index": True}},
    ]


def test_open_backend_by_url_builds_a_client_without_connecting():
    backend = open_backend("http://localhost:9200/?prefix=test", dim=DIM)
    assert isinstance(backend, ElasticBackend) and backend.alias == "test-listings"
    backend.close()


class StubClient:
    """Records calls and answers the few the backend makes, as Elasticsearch would."""

    def __init__(self, responses=None):
        self.calls = []
        self.aliases = {"cosmos-listings-old": {"aliases": {"cosmos-listings": {}}}}
        self.responses = responses or {}
        self.indices = SimpleNamespace(
            put_index_template=lambda **kw: self.calls.append(("put_index_template", kw)),
            exists_alias=lambda **kw: True,
            create=lambda **kw: self.calls.append(("create", kw)),
            get_alias=lambda **kw: SimpleNamespace(body=self.aliases),
            update_aliases=lambda **kw: self.calls.append(("update_aliases", kw)),
            delete=lambda **kw: self.calls.append(("delete", kw)),
            refresh=lambda **kw: None,
        )

    def reindex(self, **kw):
        self.calls.append(("reindex", kw))

    def msearch(self, searches):
        self.calls.append(("msearch", searches))
        return {"responses": self.responses["msearch"]}

    def mget(self, index, ids):
        self.calls.append(("mget", ids))
        docs = {str(d.id): d for d in corpus()}
        return {"docs": [{"_id": i, "found": True, "_source": document_body(docs[i], DIM)} for i in ids]}

    def close(self):
        pass


def hits(*pairs):
    return {"hits": {"total": {"value": len(pairs), "relation": "eq"},
                     "hits": [{"_id": str(i), "_score": s} for i, s in pairs]}}


def test_hybrid_search_fuses_client_side_and_maps_cosine_back():
    count = {"hits": {"total": {"value": 7, "relation": "eq"}, "hits": []},
             "aggregations": {"kind": {"buckets": [{"key": "capability", "doc_count": 5},
                                                   {"key": "product", "doc_count": 2}]}}}
    knn = hits((3, 0.95), (1, 0.9), (2, 0.6))      # ES cosine score is (1 + cos) / 2
    lexical = hits((1, 7.0), (2, 3.0), (5, 1.0))
    client = StubClient({"msearch": [knn, lexical, count]})
    backend = ElasticBackend(client, dim=DIM)
    result = backend.search(Query(text="токарные", vector=unit(1), facets=("kind",), k=3))
    assert [h.id for h in result.hits] == [1, 2, 3]  # 2 is in both lists, 3 only tops the kNN one
    first = result.hits[0]
    assert first.score == pytest.approx(1 / 62 + 1 / 61)
    assert first.text_score == 7.0 and first.vector_score == pytest.approx(0.8)
    assert result.total == 7 and result.facets == {"kind": {"capability": 5, "product": 2}}
    assert result.hits[0].document() == corpus()[0]
    searches = next(args for name, args in client.calls if name == "msearch")
    assert searches[0] == {"index": "cosmos-listings"} and "knn" in searches[1] and "query" in searches[3]


def test_vector_only_hits_fill_in_the_exact_cosine():
    count = {"hits": {"total": {"value": 2, "relation": "eq"}, "hits": []}}
    client = StubClient({"msearch": [hits((4, 0.7)), hits((9, 2.0)), count]})
    result = ElasticBackend(client, dim=DIM).search(Query(text="пресс", vector=unit(9), k=5))
    nine = next(h for h in result.hits if h.id == 9)
    assert nine.vector_score == pytest.approx(float(unit(9) @ unit(9)), abs=1e-5)


def test_reindex_builds_beside_and_swaps_the_alias():
    client = StubClient()
    backend = ElasticBackend(client, dim=DIM)
    new = backend.reindex()
    names = [name for name, _ in client.calls]
    assert names == ["put_index_template", "create", "reindex", "update_aliases", "delete"]
    assert new.startswith("cosmos-listings-") and new != "cosmos-listings-old"
    assert dict(client.calls)["reindex"]["dest"] == {"index": new}
    assert dict(client.calls)["update_aliases"]["actions"] == alias_actions("cosmos-listings", new,
                                                                            ["cosmos-listings-old"])
    assert dict(client.calls)["delete"] == {"index": "cosmos-listings-old", "ignore_unavailable": True}


def test_wrong_query_vector_is_refused_before_any_request():
    client = StubClient({"msearch": []})
    with pytest.raises(ValueError, match="dimensions"):
        ElasticBackend(client, dim=DIM).search(Query(vector=np.ones(3)))
    assert not any(name == "msearch" for name, _ in client.calls)
