"""The interface types: code expansion, query defaults, fusion, the backend registry."""
from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime

import numpy as np
import pytest

from search import (
    BackendUnavailable,
    Document,
    Filters,
    Query,
    code_class,
    code_section,
    document_from_source,
    document_source,
    expand_code,
    expand_codes,
    open_backend,
    register_backend,
    rrf_fuse,
)


def test_expand_code_trims_to_every_ancestor_and_the_section():
    assert expand_code("25.62.20.110") == ("25.62.20.110", "25.62.20.11", "25.62.20.1", "25.62.20", "25.62.2",
                                           "25.62", "25.6", "25", "C")
    assert expand_code(" 01.1. ") == ("01.1", "01", "A")
    assert expand_code("c") == ("C",)
    assert expand_code("") == ()
    assert expand_codes(["25.62", "25.61"]) == ("25.62", "25.6", "25", "C", "25.61")


def test_code_section_and_class():
    assert code_section("25.62.20.110") == "C"
    assert code_section("01.11") == "A"
    assert code_section("99") == "U"
    assert code_section("04") is None
    assert code_class("25.62") == "25"
    assert code_class("C") is None


def test_query_mode_defaults_to_what_is_given():
    vector = np.ones(4, dtype=np.float32) / 2
    assert Query(text="сварка").mode == "text"
    assert Query(vector=vector).mode == "vector"
    assert Query(text="сварка", vector=vector).mode == "hybrid"
    assert Query().mode == "text"
    assert Query(text="   ").text is None
    with pytest.raises(ValueError, match="needs a query vector"):
        Query(text="сварка", mode="hybrid")
    with pytest.raises(ValueError, match="unknown facets"):
        Query(text="x", facets=("colour",))
    with pytest.raises(TypeError):
        Filters(regions="27")


def test_filters_normalise_codes_and_compare_by_value():
    assert Filters(okpd2=("25.62.", " c")).okpd2 == ("25.62", "C")
    assert Filters(regions=["27"]) == Filters(regions=("27",))
    assert Filters().empty and not Filters(side="offer").empty
    with pytest.raises(ValueError):
        Filters(side="both")


def test_document_validates_side_and_kind_and_round_trips_its_source():
    with pytest.raises(ValueError):
        Document(id=1, side="sell", kind="product", title="x")
    with pytest.raises(ValueError):
        Document(id=1, side="offer", kind="service", title="x")
    doc = Document(id=5, side="need", kind="tender_lot", title="Лот", okpd2=["25.62"], region="27",
                   quantity=2.5, unit="т", starts_on=date(2026, 3, 1), updated_at=datetime(2026, 3, 1, tzinfo=UTC),
                   vector=np.ones(2, dtype=np.float32))
    assert document_from_source(5, document_source(doc)) == doc
    assert hash(doc) == hash(document_from_source(5, document_source(doc)))


def test_rrf_fuse_rewards_agreement_and_respects_weights():
    fused = rrf_fuse([([1, 2, 3], 1.0), ([3, 1, 4], 1.0)], k=60)
    assert [i for i, _ in fused][:2] == [1, 3]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)
    only_vector = rrf_fuse([([1, 2], 0.0), ([2, 1], 1.0)])
    assert [i for i, _ in only_vector] == [2, 1]


def test_open_backend_picks_by_scheme(tmp_path):
    backend = open_backend(str(tmp_path / "plain"), dim=4)
    assert backend.count() == 0 and (tmp_path / "plain" / "meta.json").exists()
    backend = open_backend(f"embedded://{tmp_path / 'url'}", dim=4)
    assert backend.root == (tmp_path / "url").resolve()
    with pytest.raises(ValueError, match="no search backend"):
        open_backend("gopher://x", dim=4)


def test_missing_optional_dependency_is_reported_clearly():
    register_backend("broken", "search_no_such_module:Backend")
    with pytest.raises(BackendUnavailable, match="missing package"):
        open_backend("broken://x", dim=4)


def test_importing_the_package_loads_no_backend():
    code = "import sys, search; print(sorted(m for m in ('tantivy', 'numpy', 'elasticsearch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(__import__("pathlib").Path(__file__).resolve().parents[2]))
    assert out.stdout.strip() == "[]"
