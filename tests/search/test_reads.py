"""A search pays only for what its caller reads: ``count=False`` and ``fields=False`` give the same hits and scores
without the total and the stored listings, on both backends; the embedded reader is reloaded only after a write."""
from __future__ import annotations

import pytest

from search import Filters, Query, open_backend
from search.elastic import ElasticBackend, document_body, search_bodies
from tests.search.conftest import DIM, corpus, unit
from tests.search.test_elastic import StubClient, hits

QUERIES = (
    Query(text="токарная обработка", k=5),
    Query(vector=unit(1), filters=Filters(side="offer"), k=5),
    Query(text="обработка металла", vector=unit(3), filters=Filters(statuses=("active",)), k=5),
    Query(text="сварка", vector=unit(2), filters=Filters(okpd2=("25.62",)), k=5),
    Query(text="токарные работы", vector=unit(1), relevant=True, k=5),
)


def _same_but(query: Query, **changes) -> Query:
    fields = {name: getattr(query, name) for name in ("text", "vector", "filters", "k", "relevant")}
    return Query(**fields, **changes)


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: f"{q.mode}-{q.text}")
def test_ids_and_scores_alone_are_the_same_hits(backend, query):
    full = backend.search(query)
    bare = backend.search(_same_but(query, count=False, fields=False))
    assert full.hits, "the corpus has hits for every query here"
    assert [(h.id, h.score, h.text_score, h.vector_score) for h in bare.hits] == \
        [(h.id, h.score, h.text_score, h.vector_score) for h in full.hits]
    assert all(h.fields for h in full.hits) and not any(h.fields for h in bare.hits)
    assert isinstance(full.total, int) and full.total >= len(full.hits)
    if not query.relevant:
        assert bare.total is None


def test_facets_are_counted_only_when_named(backend):
    assert backend.search(Query(text="работы", k=3)).facets == {}
    named = backend.search(Query(text="работы", k=3, count=False, facets=("kind",)))
    assert sum(named.facets["kind"].values()) >= len(named.hits) > 0


def test_one_searcher_while_nothing_is_written_and_a_write_is_seen(tmp_path, docs):
    first = open_backend(f"embedded://{tmp_path / 'index'}", dim=DIM)
    other = open_backend(f"embedded://{tmp_path / 'index'}", dim=DIM)  # another worker on the same directory
    first.index(docs[:5])
    assert other._searcher() is other._searcher()
    before = other._searcher()
    assert {h.id for h in other.search(Query(text="покраска порошковая")).hits} == set()
    first.index(docs[5:])
    assert {h.id for h in other.search(Query(text="покраска порошковая")).hits} == {10}
    assert other._searcher() is not before
    first.delete([10])
    assert other.search(Query(text="покраска порошковая", count=False, fields=False)).hits == ()
    first.close()
    other.close()


def test_elastic_bodies_ask_for_no_total_and_no_source():
    text = search_bodies(Query(text="токарные", count=False, fields=False), DIM)
    assert text["page"]["track_total_hits"] is False and text["page"]["_source"] is False
    hybrid = search_bodies(Query(text="токарные", vector=unit(1), count=False, fields=False), DIM)
    assert set(hybrid) == {"knn", "lexical"}  # no third search for a count nobody reads
    faceted = search_bodies(Query(text="токарные", vector=unit(1), count=False, facets=("kind",)), DIM)
    assert faceted["count"]["track_total_hits"] is False and "kind" in faceted["count"]["aggs"]
    assert search_bodies(Query(text="токарные", vector=unit(1)), DIM)["count"]["track_total_hits"] is True


class VectorStub(StubClient):
    """mget as Elasticsearch answers it with ``_source_includes``: only the named fields of each document."""

    def mget(self, index, ids, source_includes=None):
        self.calls.append(("mget", ids, source_includes))
        docs = {str(d.id): d for d in corpus()}
        out = []
        for i in ids:
            source = document_body(docs[i], DIM)
            if source_includes is not None:
                source = {k: v for k, v in source.items() if k in source_includes}
            out.append({"_id": i, "found": True, "_source": source})
        return {"docs": out}


def test_elastic_hybrid_without_fields_fetches_only_missing_vectors():
    client = VectorStub({"msearch": [hits((3, 0.95), (1, 0.9)), hits((1, 7.0), (9, 2.0))]})
    result = ElasticBackend(client, dim=DIM).search(Query(text="пресс", vector=unit(9), k=5, count=False,
                                                          fields=False))
    assert result.total is None and [h.id for h in result.hits] == [1, 3, 9]
    assert all(h.fields == {} for h in result.hits)
    nine = next(h for h in result.hits if h.id == 9)
    assert nine.vector_score == pytest.approx(float(unit(9) @ unit(9)), abs=1e-5)
    assert [c[1:] for c in client.calls if c[0] == "mget"] == [(["9"], ["vector"])]


def test_a_delete_drops_the_vector_before_the_words(tmp_path, docs):
    """Between the two commits of a delete another reader sees the words without the vector, never a vector whose
    listing has left the word index: the ids-only answer needs no check there."""
    writer = open_backend(f"embedded://{tmp_path / 'index'}", dim=DIM)
    reader = open_backend(f"embedded://{tmp_path / 'index'}", dim=DIM)
    writer.index(docs)
    seen = []
    make_writer = writer._writer

    def spying_writer(small=False):
        real = make_writer(small)

        class Spy:
            def __getattr__(self, name):
                return getattr(real, name)

            def commit(self):
                hits = reader.search(Query(vector=unit(4), k=10, count=False, fields=False)).hits
                seen.append(([h.id for h in hits], reader.get(4) is not None))
                return real.commit()
        return Spy()

    writer._writer = spying_writer
    writer.delete([4])
    (vector_hits, words_still_there), = seen
    assert 4 not in vector_hits and words_still_there  # the vector went first, the words were still there
    assert all(reader.get(i) is not None for i in vector_hits)
    assert reader.get(4) is None and 4 not in [h.id for h in reader.search(Query(vector=unit(4), k=10)).hits]
    writer.close()
    reader.close()
