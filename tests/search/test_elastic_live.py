"""The Elasticsearch backend against a real server (ELASTICSEARCH_URL); skipped without one."""
from __future__ import annotations

import os
import uuid
from dataclasses import replace

import pytest

from search import Filters, Query, open_backend
from tests.search.conftest import DIM, unit

pytestmark = pytest.mark.elasticsearch
ELASTICSEARCH_URL = os.environ.get("ELASTICSEARCH_URL") or ""


@pytest.fixture
def es(docs):
    if not ELASTICSEARCH_URL:
        # Elasticsearch cannot run on every CI machine: unlike PostgreSQL and Redis, its absence is a skip even when
        # COSMOS_REQUIRE_SERVICES=1. A server that is configured but does not answer still fails the run.
        pytest.skip("ELASTICSEARCH_URL is not set: no Elasticsearch server to test against")
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    backend = open_backend(ELASTICSEARCH_URL, dim=DIM, index_prefix=prefix)
    backend.index(docs)
    yield backend
    for index in backend.current_indices():
        backend.client.indices.delete(index=index, ignore_unavailable=True)
    backend.client.indices.delete_index_template(name=backend.alias)
    backend.close()


def ids_of(result):
    return [h.id for h in result.hits]


def test_round_trip_and_count(es, docs):
    assert es.count() == len(docs)
    assert es.get(4) == docs[3]
    assert es.ids() == {d.id: d.updated_at for d in docs}


def test_russian_inflection_family_and_prefix(es):
    assert 1 in ids_of(es.search(Query(text="токарная обработка")))[:2]
    assert ids_of(es.search(Query(text="сварка", filters=Filters(side="offer"))))[0] == 2
    assert ids_of(es.search(Query(text="фрез", prefix=True))) == [3]
    assert ids_of(es.search(Query(text='"обработка деталей на станках"'))) == [1]


def test_filters_facets_and_hybrid(es):
    result = es.search(Query(text="работы", vector=unit(3), filters=Filters(okpd2=("25.62",)), facets=("region",),
                             k=20))
    assert set(ids_of(result)) == {1, 2, 3, 7} and result.total == 4
    assert result.facets["region"] == {"27": 2, "77": 2}
    assert es.search(Query(vector=unit(5), k=1)).hits[0].id == 5


def test_update_delete_and_reindex_keep_serving(es, docs):
    es.index([replace(docs[0], title="Шлифовальные работы")])
    es.delete([2])
    assert es.get(2) is None and es.count() == len(docs) - 1
    old = es.current_indices()
    new = es.reindex()
    assert es.current_indices() == [new] and new not in old
    assert es.count() == len(docs) - 1
    assert ids_of(es.search(Query(text="шлифовка")))[0] == 1


@pytest.mark.parametrize("query", [Query(text="обработка"), Query(vector=unit(1), filters=Filters(side="offer")),
                                   Query(text="работы", vector=unit(3))], ids=["text", "vector", "hybrid"])
def test_ids_and_scores_alone_match_the_full_answer(es, query):
    full = es.search(query)
    bare = es.search(Query(text=query.text, vector=query.vector, filters=query.filters, count=False, fields=False))
    assert [(h.id, h.score, h.vector_score) for h in bare.hits] == [(h.id, h.score, h.vector_score)
                                                                     for h in full.hits]
    assert full.hits and full.total >= len(full.hits) and bare.total is None
    assert all(h.fields == {} for h in bare.hits)
