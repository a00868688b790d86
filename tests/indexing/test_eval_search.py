"""``cosmos eval search`` over the judged queries (bench/data/search/queries.jsonl) meets issue 12's targets."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from marketplace.indexing.eval_search import read_judged, run_eval
from marketplace.operations.catalogue import get_catalogue

DATA = Path(__file__).resolve().parents[2] / "bench/data/search/queries.jsonl"


def test_the_file_is_a_judged_set_of_real_queries():
    judged = read_judged(DATA)
    kinds = [j.type for j in judged]
    assert kinds.count("query") >= 150 and kinds.count("nonsense") >= 20 and kinds.count("latin") >= 5
    catalogue = get_catalogue()
    unknown = {op for j in judged for op in j.operations if op not in catalogue}
    assert not unknown, f"operations not in the catalogue: {sorted(unknown)}"
    assert len({j.q for j in judged}) == len(judged)


@pytest.fixture(scope="module")
def report(app):
    with app.app_context():
        return run_eval(DATA)


def test_search_meets_the_targets(report):
    assert report.judged >= 150 and not report.unjudged
    assert report.p_at_10 >= 0.8, report.worst
    assert report.ndcg_at_10 >= 0.8, report.worst
    assert report.nonsense_empty >= 0.95, report.failed_nonsense
    assert report.latin_empty >= 0.95


def test_the_cli_prints_the_figures(runner, tmp_path):
    sample = tmp_path / "q.jsonl"
    sample.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in (
        {"q": "токарные работы", "operations": ["machining.turning"]},
        {"q": "zzqqxx", "type": "nonsense"}, {"q": "lathe", "type": "latin"})), encoding="utf-8")
    result = runner.invoke(args=["eval", "search", str(sample), "--organizations", "60", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output.strip().splitlines()[-1])
    assert data["judged"] == 1 and data["p_at_10"] >= 0.8 and data["nonsense_empty"] == 1.0
