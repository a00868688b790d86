"""The acceptability harness (issue 12): exact counts on a hand-made set, and the CLI over the labelled file."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from matching.acceptability_eval import (
    evaluate_acceptability,
    fit_encoder,
    parse_scenarios,
    region_places,
)

ROOT = Path(__file__).resolve().parents[2]
REGIONS = region_places(ROOT / "marketplace/refdata/data/regions.csv")
DATA = ROOT / "bench/data/acceptability/scenarios.jsonl"
TURN = {"okpd2": ["25.62.10"], "okved2": ["25.62"]}
TEXT = {"title": "Токарная обработка валов", "description": "Токарные работы по стали, валы и втулки"}
CORPUS = ["фрезерные работы", "литьё чугуна", "порошковая окраска", "лазерная резка листа", "сварка алюминия",
          "подшипники шариковые", "кабель силовой", "ремонт судовых двигателей", "печатные платы"]


def offer(region: str, capacity: int, acceptable: bool) -> dict:
    return {"kind": "capability", "region": region, **TEXT, **TURN, "capacity": capacity, "unit": "шт",
            "acceptable": acceptable, "reason": "тест"}


def tiny(first_local_is_right: bool) -> list[dict]:
    # Same text and codes everywhere: the engine accepts exactly the offers whose capacity covers the need.
    right, wrong = ("27", "66") if first_local_is_right else ("66", "27")
    return [
        {"id": "a", "family": "turning", "need": {"kind": "missing_operation", **TEXT, **TURN, "region": "27",
                                                    "quantity": 10, "unit": "шт"},
         "offers": [offer(right, 100, True),    # shown, right: tp
                    offer(wrong, 100, False),   # shown, labelled wrong: fp
                    offer("27", 5, True),       # hidden by capacity, labelled right: fn
                    offer("25", 5, False)]},    # hidden, wrong: tn
        {"id": "b", "family": "other", "need": {"kind": "missing_operation", **TEXT, **TURN, "region": "27",
                                                  "quantity": 10, "unit": "шт"},
         "offers": [offer("28", 3, False), offer("77", 2, False)]},  # none right, none shown
    ]


@pytest.mark.parametrize("first_local_is_right", [True, False])
def test_exact_precision_recall_and_first_shown(first_local_is_right):
    scenarios = parse_scenarios(tiny(first_local_is_right), REGIONS)
    report = evaluate_acceptability(scenarios, fit_encoder(scenarios, CORPUS, n_components=8))
    c = report.overall
    assert (c.tp, c.fp, c.fn, c.tn) == (1, 1, 1, 3)
    assert c.precision == 0.5 and c.recall == 0.5
    assert (c.scenarios_with_right, c.scenarios_without_right, c.nothing_shown) == (1, 1, 1)
    assert c.first_shown_right == (1 if first_local_is_right else 0)
    assert c.first_shown_right_rate == (1.0 if first_local_is_right else 0.5)
    assert c.violations == 0
    assert report.families["other"].to_dict()["pairs"] == 2 and report.families["other"].precision is None
    assert sorted(d.label for d in report.wrong) == [False, True]
    assert all("constraints" in d.explanation for d in report.wrong)


def test_bad_scenario_names_the_field():
    bad = tiny(True)
    bad[0]["offers"][1]["acceptable"] = "yes"
    with pytest.raises(ValueError, match=r"a\.offers\[1\].*acceptable"):
        parse_scenarios(bad, REGIONS)
    bad = tiny(True)
    bad[1]["need"]["region"] = "99x"
    with pytest.raises(ValueError, match="b.need.*99x"):
        parse_scenarios(bad, REGIONS)


def test_labelled_set_shape():
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    scenarios = parse_scenarios(rows, REGIONS)
    assert sum(len(s.offers) for s in scenarios) >= 500
    assert all(4 <= len(s.offers) <= 12 for s in scenarios)
    families = {s.family for s in scenarios}
    assert {"turning", "bearings", "cable", "powder_coating", "die_casting", "laser_cutting", "zinc_coating",
            "welding", "heat_treatment", "electronics", "injection_moulding", "ship_repair"} <= families
    assert any(not any(o.acceptable for o in s.offers) for s in scenarios)


def test_cli_runs_over_the_labelled_file_with_the_baseline(app, runner):
    from marketplace.matches.commands import eval_group

    result = runner.invoke(eval_group, ["acceptability", str(DATA), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["current"]["pairs"] >= 500 and out["baseline"]["pairs"] == out["current"]["pairs"]
    assert len(out["baseline"]["commit"]) == 40
    assert out["targets"] == {"precision": 0.97, "recall": 0.90, "first_shown_right": 0.95}
    c = out["current"]
    # issue 12's targets, on the engine the marketplace builds (the operations catalogue's rule)
    assert c["precision"] >= 0.97 and c["recall"] >= 0.90, (c["precision"], c["recall"])
    assert c["first_shown_right"] >= 0.95 and c["tier_violations"] == 0
    assert c["precision"] > out["baseline"]["precision"] + 0.5
    assert c["tp"] + c["fn"] == sum(f["tp"] + f["fn"] for f in c["families"].values())
    assert len(c["wrong"]) == c["fp"] + c["fn"]
    table = runner.invoke(eval_group, ["acceptability", str(DATA), "--wrong", "3"]).output
    assert "точность (precision)" in table and "до задачи 12" in table and "≥0.970" in table
