"""Relevant search (``Query(relevant=True)``): derivations, compounds, generic words, nonsense, on the embedded
backend, and the same plan in the Elasticsearch body."""
from __future__ import annotations

import numpy as np
import pytest

from search import Document, Filters, Query, open_backend
from search.elastic_relevant import relevant_text_query
from search.relevance import VECTOR_FLOOR_ALONE, compound_parts, filler_stems, plan_text, shared_prefix

from .conftest import DIM, unit

ROWS = [
    (1, "Фрезерные работы на станках с ЧПУ", "Корпусные детали"),
    (2, "Фрезерование пазов и плоскостей", ""),
    (3, "Кабель силовой ВВГнг 3×2,5", "Кабели на напряжение 1 кВ"),
    (4, "Металлоконструкции каркасов зданий", "Металлические каркасы складов"),
    (5, "Каркас кровати деревянный", "Мебельные каркасы"),
    (6, "Лист стальной 09Г2С", "Прокат листовой из нелегированной стали"),
    (7, "Насосы центробежные", "Насосы для воды"),
    (8, "Ремонт оборудования котельных", "Котлы и горелки"),
    (9, "Мыло туалетное", "Мыло твёрдое"),
    (10, "Электродвигатели асинхронные АИР", "Двигатели переменного тока"),
]


@pytest.fixture
def index(tmp_path):
    backend = open_backend(f"embedded://{tmp_path / 'index'}", dim=DIM)
    backend.index([Document(id=i, side="offer", kind="capability", title=t, description=d, vector=unit(i))
                   for i, t, d in ROWS])
    yield backend
    backend.close()


def found(index, text: str, vector=None) -> list[int]:
    return [h.id for h in index.search(Query(text=text, relevant=True, vector=vector, filters=Filters(), k=20)).hits]


@pytest.mark.parametrize("text", ["фрезеровка", "фрезерование", "фрезерные", "фрезерный"])
def test_derived_forms_find_each_other(index, text):
    assert set(found(index, text)) == {1, 2}


def test_a_soft_sign_does_not_break_the_shared_prefix(index):
    assert shared_prefix("кабельн") == "кабел" and shared_prefix("стальн") == "стал"
    assert found(index, "кабельная продукция") == [3]  # «продукция» is generic: it never matches alone
    assert found(index, "стальной лист") == [6]


def test_a_compound_matches_its_parts_only_together(index):
    assert compound_parts("металлокаркас") == ("металл", "каркас")
    assert compound_parts("электро") is None and compound_parts("автор") is None
    assert found(index, "металлокаркас") == [4]  # not the wooden bed frame: it has a «каркас» but no «металл…»
    assert found(index, "электромотор") == [10]  # the family: электромотор ~ электродвигатель


def test_equipment_is_a_generic_word(index):
    plan = plan_text("насосное оборудование", stem=lambda w: w[:6], fillers=filler_stems(lambda w: w[:6]))
    assert [g.word for g in plan.groups] == ["насосное"] and plan.fillers == ("оборудование",)
    assert found(index, "насосное оборудование") == [7]


def near(doc_id: int, other: int = 50) -> np.ndarray:
    """A query vector whose nearest listing is ``doc_id``, at a cosine of about 0.7 (close, not a paraphrase)."""
    vector = unit(doc_id) + unit(other)
    return vector / np.linalg.norm(vector)


@pytest.mark.parametrize("text", ["zzqqxx", "йцукен", "ывлаоыдлвоа", "qwerty asdf", "lathe"])
def test_nonsense_finds_nothing_even_with_a_vector(index, text):
    vector = near(9)
    assert 0.5 < float(vector @ unit(9)) < VECTOR_FLOOR_ALONE
    result = index.search(Query(text=text, relevant=True, vector=vector, filters=Filters(), k=20))
    assert result.total == 0 and not result.hits  # no nearest-by-meaning fallback over the whole catalogue
    # only a near paraphrase stands without a word in common
    assert found(index, text, vector=unit(9)) == [9]


def test_elasticsearch_body_carries_the_compound_and_the_trimmed_prefix():
    stem = lambda w: w[:-2] if len(w) > 6 else w  # noqa: E731 - a stand-in stemmer
    body = relevant_text_query(plan_text("металлокаркас", stem=stem, fillers=frozenset()))
    group = body["bool"]["must"][0]["bool"]["should"][0]["bool"]["should"][0]["dis_max"]["queries"]
    compound = [q for q in group if "bool" in q]
    assert compound and compound[0]["bool"]["must"][0]["multi_match"]["query"] == "каркас"
    assert {"prefix": {"title": "металл"}} in compound[0]["bool"]["must"][1]["constant_score"]["filter"]["bool"][
        "should"]
    assert relevant_text_query(plan_text("zzqqxx оборудование", stem=stem, fillers=frozenset({"оборудован"}))
                               ) != {"match_none": {}}  # a real word of a query still counts; nonsense then ranks
