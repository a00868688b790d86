"""``cosmos operations recognize|list|show`` and ``cosmos eval operations`` on the shipped catalogue."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from marketplace.operations.catalogue import OPERATIONS_DIR

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "operations" / "recognition.jsonl"
pytestmark = pytest.mark.skipif(not any(OPERATIONS_DIR.glob("*.yaml")), reason="no operations YAML shipped yet")


def invoke(runner, *args: str):
    result = runner.invoke(args=list(args))
    return result


def test_recognize_prints_operations_with_confidence_and_words(runner):
    result = invoke(runner, "operations", "recognize", "Монтаж SMD компонентов, мелкие серии")
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert "electronics.assembly.smd" in first and "[" in first and "SMD" in first


def test_recognize_json_and_top(runner):
    result = invoke(runner, "operations", "recognize", "Услуги гибки на листогибе 4 м, вальцовка обечаек",
                    "--json", "--top", "1")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert len(data["operations"]) == 1
    assert set(data["operations"][0]) == {"id", "name", "confidence", "matched"}
    assert 0 < data["operations"][0]["confidence"] <= 1


def test_recognize_nothing_and_blank(runner):
    result = invoke(runner, "operations", "recognize", "Поставка офисной бумаги", "--json")
    assert result.exit_code == 0 and json.loads(result.output)["operations"] == []
    result = invoke(runner, "operations", "recognize", "  ")
    assert result.exit_code == 2 and "пустой текст" in result.output


def test_list_and_family(runner):
    result = invoke(runner, "operations", "list", "--family", "forming", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows[0]["id"] == "forming" and all(r["family"] == "forming" for r in rows)
    assert "forming.bending.tube" in {r["id"] for r in rows}
    result = invoke(runner, "operations", "list")
    assert result.exit_code == 0 and "  forming.bending" in result.output
    result = invoke(runner, "operations", "list", "--family", "forming.bending")
    assert result.exit_code == 2 and "нет семейства" in result.output


def test_show(runner):
    result = invoke(runner, "operations", "show", "forming.bending.tube")
    assert result.exit_code == 0, result.output
    assert "Путь: Обработка металлов давлением → Гибка металла → Гибка труб" in result.output
    assert "ОКВЭД2" in result.output
    data = json.loads(invoke(runner, "operations", "show", "forming.bending.tube", "--json").output)
    assert [p["id"] for p in data["path"]] == ["forming", "forming.bending", "forming.bending.tube"]
    assert data["okved2"] and all(set(p) == {"key", "title", "unit"} for p in data["parameters"])
    result = invoke(runner, "operations", "show", "no.such.op")
    assert result.exit_code == 2 and "нет операции" in result.output


def test_eval_operations_reports_figures_and_misses(runner, tmp_path):
    sample = tmp_path / "sample.jsonl"
    sample.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"text": "Гибка труб на трубогибе", "operations": ["forming.bending.tube"]},
        {"text": "Поставка офисной бумаги", "operations": []},
        {"text": "Ремонт судовых дизелей", "operations": ["forming.bending.tube"]},  # mislabelled on purpose
    ]), encoding="utf-8")
    result = invoke(runner, "eval", "operations", str(sample), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["texts"] == 3 and report["labelled"] == 2 and report["negatives"] == 1
    assert report["recall"] == 0.5 and report["negatives_clean"] == 1.0
    assert [m["line"] for m in report["misses"]] == [3]
    text = invoke(runner, "eval", "operations", str(sample)).output
    assert "строка 3: Ремонт судовых дизелей" in text and "Полнота" in text


def test_eval_refuses_unknown_ids(runner, tmp_path):
    sample = tmp_path / "bad.jsonl"
    sample.write_text('{"text": "гибка", "operations": ["bending"]}\n', encoding="utf-8")
    result = invoke(runner, "eval", "operations", str(sample))
    assert result.exit_code == 2 and "строка 1" in result.output and "bending" in result.output


def test_acceptance_recognition_on_the_labelled_set(runner):
    """Issue 11: the recogniser reads the operations of at least 90 % of the labelled texts, precisely."""
    result = invoke(runner, "eval", "operations", str(FIXTURE), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["texts"] >= 200 and report["negatives"] >= 10
    assert report["recall"] >= 0.90, report["misses"]
    assert report["precision"] >= 0.90, report["misses"]
