"""The embedded backend: what a caller relies on when it indexes, updates, filters and ranks listings."""
from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime

import numpy as np
import pytest

from search import Document, Filters, Query, SearchError, open_backend
from search.base import code_class, code_section, expand_codes
from tests.search.conftest import DIM, unit


def ids_of(result) -> list[int]:
    return [hit.id for hit in result.hits]


# -- lifecycle -------------------------------------------------------------------------------------------------


def test_index_count_get_round_trip(backend, docs):
    assert backend.count() == len(docs)
    got = backend.get(4)
    assert got == docs[3]
    np.testing.assert_allclose(got.vector, docs[3].vector, rtol=1e-6)
    assert backend.get(999) is None


def test_update_replaces_words_vector_and_fields(backend, docs):
    new = replace(docs[0], title="Шлифовальные работы", description="Плоское шлифование", vector=unit(100),
                  region="77")
    assert backend.index([new]) == 1
    assert backend.count() == len(docs)
    assert 1 not in ids_of(backend.search(Query(text="токарные", filters=Filters(side="offer"))))
    assert ids_of(backend.search(Query(text="шлифовка"))) == [1]
    assert backend.get(1).region == "77"
    top = backend.search(Query(vector=unit(100), k=1)).hits[0]
    assert top.id == 1 and top.vector_score == pytest.approx(1.0, abs=1e-5)


def test_update_without_vector_drops_the_old_vector(backend, docs):
    backend.index([replace(docs[0], vector=None)])
    assert backend.get(1).vector is None
    result = backend.search(Query(vector=unit(1), k=20))
    assert 1 not in ids_of(result) and result.total == len(docs) - 1


def test_duplicate_ids_in_one_batch_keep_the_last(tmp_path, docs):
    backend = open_backend(str(tmp_path), dim=DIM)
    backend.index([docs[0], replace(docs[0], title="Болты крепёжные", vector=unit(50))])
    assert backend.count() == 1
    assert backend.get(1).title == "Болты крепёжные"
    assert backend.search(Query(vector=unit(50), k=5)).total == 1


def test_delete_removes_from_words_vectors_and_facets(backend, docs):
    backend.delete([2, 9, 12345])
    assert backend.count() == len(docs) - 2
    assert backend.get(2) is None
    assert 2 not in ids_of(backend.search(Query(text="сварка")))
    assert 2 not in ids_of(backend.search(Query(vector=unit(2), k=20)))
    facets = backend.search(Query(filters=Filters(regions=("27",)), facets=("kind",))).facets
    assert facets["kind"] == {"capability": 1, "surplus": 1}


def test_reopen_sees_everything_and_refuses_another_dimension(tmp_path, docs):
    url = f"embedded://{tmp_path / 'idx'}"
    first = open_backend(url, dim=DIM)
    first.index(docs)
    first.delete([3])
    first.close()
    again = open_backend(url, dim=DIM)
    assert again.count() == len(docs) - 1
    assert ids_of(again.search(Query(text="токарные работы", k=1))) == [1]
    assert again.search(Query(vector=unit(5), k=1)).hits[0].id == 5
    with pytest.raises(SearchError, match="dimensional"):
        open_backend(url, dim=DIM * 2)


def test_ids_report_updated_at_as_indexed(backend, docs):
    assert backend.ids() == {doc.id: doc.updated_at for doc in docs}
    assert backend.ids()[1].tzinfo is UTC and backend.ids()[2].tzinfo is None


def test_clear_empties_the_index(backend):
    backend.clear()
    assert backend.count() == 0 and backend.ids() == {}
    assert backend.search(Query(vector=unit(1))).hits == ()
    backend.index([Document(id=1, side="offer", kind="product", title="Гайки", vector=unit(1))])
    assert backend.count() == 1


def test_wrong_vector_dimension_is_refused(backend):
    with pytest.raises(ValueError, match="dimensions"):
        backend.index([Document(id=50, side="offer", kind="product", title="x", vector=np.ones(3))])
    with pytest.raises(ValueError, match="dimensions"):
        backend.search(Query(vector=np.ones(3)))
    assert backend.count() == 10


def test_many_small_writes_merge_vector_segments(tmp_path, docs):
    backend = open_backend(str(tmp_path), dim=DIM, max_segments=3)
    for doc in docs:
        backend.index([doc])
    backend.delete([1, 2, 3, 4])
    backend.index([replace(docs[5], vector=unit(60))])
    manifest = (tmp_path / "vectors" / "manifest.json").read_text()
    assert manifest.count('"name"') <= 3
    result = backend.search(Query(vector=unit(60), k=20))
    assert result.hits[0].id == 6 and sorted(ids_of(result)) == [5, 6, 7, 8, 9, 10]


# -- Russian text ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("токарная обработка", 1),        # inflection: "токарная" ~ "Токарные"
    ("токарных работ", 1),
    ("сварка", 2),                    # family: "сварка" ~ "Сварочные"
    ("сварочный", 2),
    ("фрезеровка", 3),
    ("литье", 4),                     # ё typed as е
    ("подшипник", 8),
    ("листогибочный пресс", 9),
    ("окрашивание", 10),
])
def test_russian_morphology_finds_the_listing(backend, text, expected):
    assert expected in ids_of(backend.search(Query(text=text)))[:2]
    assert expected == ids_of(backend.search(Query(text=text, filters=Filters(side=backend.get(expected).side))))[0]


def test_stop_words_alone_match_nothing(backend):
    assert backend.search(Query(text="и в на")).total == 0


def test_title_outranks_description(backend):
    # "корпусов": in the title of 4, in the description of 3.
    assert ids_of(backend.search(Query(text="корпус"))) == [4, 3]
    # Several words: the listing that has them all, in order, comes first.
    assert ids_of(backend.search(Query(text="токарная обработка валов")))[0] == 7


def test_phrase_must_occur_in_order(backend):
    assert ids_of(backend.search(Query(text='"на станках"'))) == [1, 5]
    assert ids_of(backend.search(Query(text='"обработка деталей на станках"'))) == [1]
    assert backend.search(Query(text='"станках обработка"')).total == 0


def test_prefix_completes_the_last_word_only_when_asked(backend):
    assert ids_of(backend.search(Query(text="свар", prefix=True))) [:1] == [2]
    assert set(ids_of(backend.search(Query(text="свар", prefix=True)))) == {2, 6}
    assert ids_of(backend.search(Query(text="фрез", prefix=True))) == [3]
    assert backend.search(Query(text="фрез")).total == 0
    assert ids_of(backend.search(Query(text="токарная обраб", prefix=True)))[0] == 1
    assert ids_of(backend.search(Query(text="литье", prefix=True))) == [4]
    assert backend.search(Query(text="токарная ", prefix=True)).total == backend.search(
        Query(text="токарная")).total


# -- filters and facets ----------------------------------------------------------------------------------------


def brute(docs, filters: Filters) -> set[int]:
    def ok(doc: Document) -> bool:
        codes = set(expand_codes(doc.okpd2))
        return all((
            filters.side is None or doc.side == filters.side,
            not filters.kinds or doc.kind in filters.kinds,
            not filters.regions or doc.region in filters.regions,
            not filters.districts or doc.district in filters.districts,
            not filters.countries or doc.country in filters.countries,
            not filters.statuses or doc.status in filters.statuses,
            not filters.okpd2 or bool(codes & set(filters.okpd2)),
            not filters.okved2 or bool(set(expand_codes(doc.okved2)) & set(filters.okved2)),
            filters.organization_id is None or doc.organization_id == filters.organization_id,
            doc.organization_id not in filters.exclude_organization_ids,
            filters.ids is None or doc.id in filters.ids,
            doc.id not in filters.exclude_ids,
            filters.active_on is None or ((doc.starts_on is None or doc.starts_on <= filters.active_on)
                                          and (doc.ends_on is None or doc.ends_on >= filters.active_on)),
        ))
    return {doc.id for doc in docs if ok(doc)}


FILTERS = [
    Filters(side="offer"),
    Filters(kinds=("capability", "tender_lot")),
    Filters(regions=("27",)),
    Filters(districts=("CFD",), side="need"),
    Filters(countries=("RU",), statuses=("active",)),
    Filters(okpd2=("25.62",)),                 # matches 25.62.20.110, 25.62.20.120, 25.62.10, 25.62.20
    Filters(okpd2=("25.62.2",)),
    Filters(okpd2=("C",), regions=("27",)),
    Filters(okpd2=("25.63",)),
    Filters(okved2=("25",)),
    Filters(organization_id=10),
    Filters(exclude_organization_ids=(10, 11)),
    Filters(ids=(1, 2, 3, 8), exclude_ids=(2,)),
    Filters(regions=("99",)),
    Filters(active_on=date(2026, 1, 5)),       # started by then: 1..5
    Filters(active_on=date(2026, 3, 5)),       # even ids end on 3 March + id: 2 and 4 are over
    Filters(active_on=date(2026, 3, 6), side="offer"),
]


@pytest.mark.parametrize("filters", FILTERS)
def test_filters_select_the_same_listings_in_every_mode(backend, docs, filters):
    expected = brute(docs, filters)
    browse = backend.search(Query(filters=filters, k=100))
    assert set(ids_of(browse)) == expected and browse.total == len(expected)
    vector = backend.search(Query(vector=unit(3), filters=filters, k=100))
    assert set(ids_of(vector)) == expected and vector.total == len(expected)
    text = backend.search(Query(text="работы обработка металл", filters=filters, k=100))
    assert set(ids_of(text)) <= expected
    hybrid = backend.search(Query(text="работы", vector=unit(3), filters=filters, k=100))
    assert set(ids_of(hybrid)) == expected and hybrid.total == len(expected)


def expected_facets(docs, ids):
    chosen = [d for d in docs if d.id in ids]
    out = {name: Counter(getattr(d, name) for d in chosen if getattr(d, name) is not None)
           for name in ("kind", "region", "district", "status", "side")}
    out["okpd2_class"] = Counter(c for d in chosen for c in {code_class(x) for x in d.okpd2})
    out["okpd2_section"] = Counter(c for d in chosen for c in {code_section(x) for x in d.okpd2})
    return {name: dict(counter) for name, counter in out.items()}


@pytest.mark.parametrize("filters", [Filters(), Filters(districts=("FEFD",)), Filters(okpd2=("25",), side="offer")])
def test_facets_count_the_filtered_match_set(backend, docs, filters):
    names = ("kind", "region", "district", "status", "side", "okpd2_class", "okpd2_section")
    text = backend.search(Query(text="работы обработка", filters=filters, facets=names, k=1))
    matched = set(ids_of(backend.search(Query(text="работы обработка", filters=filters, k=100))))
    assert text.total == len(matched) and len(text.hits) == min(1, len(matched))
    assert text.facets == expected_facets(docs, matched)
    browse = backend.search(Query(filters=filters, facets=names, k=0))
    assert browse.hits == () and browse.facets == expected_facets(docs, brute(docs, filters))


def test_hybrid_facets_count_the_union_of_words_and_vectors(backend, docs):
    # Listings 1, 3 and 5 lose their vectors: the hybrid match set is then "has a vector" or "matches the words".
    backend.index([replace(d, vector=None) for d in docs if d.id in (1, 3, 5)])
    names = ("kind", "region", "okpd2_class")
    query = Query(text="работы", vector=unit(3), filters=Filters(side="offer"), facets=names, k=100)
    result = backend.search(query)
    text_only = {h.id for h in backend.search(Query(text="работы", filters=Filters(side="offer"), k=100)).hits}
    with_vector = brute(docs, Filters(side="offer")) - {1, 3, 5}
    matched = text_only | with_vector
    assert text_only & {1, 3, 5} and not {1, 3, 5} <= matched  # the case is not trivial
    assert result.total == len(matched) and {h.id for h in result.hits} == matched
    assert result.facets == {name: expected_facets(docs, matched)[name] for name in names}


def test_browse_lists_newest_first(backend):
    assert ids_of(backend.search(Query(k=3))) == [10, 9, 8]
    assert ids_of(backend.search(Query(k=3, offset=3))) == [7, 6, 5]


# -- ranking ---------------------------------------------------------------------------------------------------


def test_vector_search_is_exact(backend, docs):
    query = unit(777)
    result = backend.search(Query(vector=query, k=5))
    matrix = np.stack([d.vector for d in docs])
    expected = [docs[i].id for i in np.argsort(-(matrix @ query))[:5]]
    assert ids_of(result) == expected
    assert [h.score for h in result.hits] == pytest.approx(sorted((matrix @ query).tolist(), reverse=True)[:5],
                                                            abs=1e-5)


def test_paging_walks_one_order(backend):
    everything = ids_of(backend.search(Query(vector=unit(4), k=10)))
    pages = [ids_of(backend.search(Query(vector=unit(4), k=3, offset=o))) for o in (0, 3, 6, 9)]
    assert sum(pages, []) == everything


def test_hybrid_puts_agreement_first_and_weights_steer_it(backend):
    # Listing 7 is a text match for "токарная обработка валов"; its own vector makes it the vector top as well.
    result = backend.search(Query(text="токарная обработка валов", vector=unit(7), k=5))
    assert result.hits[0].id == 7
    top = result.hits[0]
    assert top.text_score > 0 and top.vector_score == pytest.approx(1.0, abs=1e-5)
    assert top.score == pytest.approx(2 / 61)
    # Text says 1 or 7, the vector says 3: the weights decide.
    text_led = backend.search(Query(text="токарные работы", vector=unit(3), vector_weight=0.0, k=3))
    vector_led = backend.search(Query(text="токарные работы", vector=unit(3), text_weight=0.0, k=3))
    assert text_led.hits[0].id == ids_of(backend.search(Query(text="токарные работы")))[0]
    assert vector_led.hits[0].id == 3
    # Every hit carries the vector score, text-only hits too.
    assert all(h.vector_score is not None for h in result.hits)


def test_hits_carry_the_stored_listing(backend, docs):
    hit = backend.search(Query(text="подшипники")).hits[0]
    assert hit.fields["title"] == "Закупка подшипников" and hit.fields["status"] == "closed"
    assert hit.document() == docs[7]


def test_text_mode_with_a_vector_reports_both_scores(backend):
    hit = backend.search(Query(text="сварка", vector=unit(2), mode="text")).hits[0]
    assert hit.id == 2 and hit.score == hit.text_score and hit.vector_score == pytest.approx(1.0, abs=1e-5)


def test_naive_and_aware_updated_at_survive(tmp_path):
    backend = open_backend(str(tmp_path), dim=DIM)
    stamp = datetime(1999, 12, 31, 23, 59, 59, 123456)
    backend.index([Document(id=1, side="offer", kind="product", title="x", updated_at=stamp)])
    assert backend.ids() == {1: stamp}


def test_ids_flag_a_listing_whose_vector_write_was_lost(backend, docs):
    # Simulate a crash between the word commit and the vector commit: drop listing 3's vector behind its back.
    backend._vectors.write([], [3])
    assert backend.ids()[3] is None
    assert backend.ids()[4] == docs[3].updated_at
    backend.index([docs[2]])
    assert backend.ids()[3] == docs[2].updated_at


@pytest.mark.parametrize("text", ['AISI-304 (сталь) [x] "незакрытая', "*?+{}|\\^$", "___", "a_b", '""', "ё"])
def test_any_user_text_is_safe(backend, text):
    for prefix in (False, True):
        result = backend.search(Query(text=text, prefix=prefix, facets=("kind",)))
        assert result.total >= len(result.hits)


def test_grades_and_codes_in_text_are_words(tmp_path):
    backend = open_backend(str(tmp_path), dim=DIM)
    backend.index([Document(id=1, side="offer", kind="product", title="Лист 12Х18Н10Т, AISI-304"),
                   Document(id=2, side="offer", kind="product", title="Лист 09Г2С")])
    assert ids_of(backend.search(Query(text="12х18н10т"))) == [1]
    assert ids_of(backend.search(Query(text="aisi 304"))) == [1]
    assert ids_of(backend.search(Query(text="09г", prefix=True))) == [2]
