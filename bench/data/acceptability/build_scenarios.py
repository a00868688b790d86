"""Writes scenarios.jsonl: labelled (need, offer, acceptable) pairs grouped by need, for ``cosmos eval acceptability``.

Run ``python bench/data/acceptability/build_scenarios.py`` after editing the scenarios below (parts 1 and 2 in
``_scenarios_a.py`` and ``_scenarios_b.py``); the JSON Lines file is what the harness reads. Regions: 27 is the
Khabarovsk krai (where most needs are delivered); 25, 28, 65, 14, 79, 41, 49 are the Far East (FEFD); the others are
farther tiers.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _scenarios_a import SCENARIOS as PART_A  # noqa: E402
from _scenarios_b import SCENARIOS as PART_B  # noqa: E402


def main() -> None:
    scenarios = [*PART_A, *PART_B]
    ids = [s["id"] for s in scenarios]
    if len(ids) != len(set(ids)):
        raise SystemExit("duplicate scenario ids")
    with open(HERE / "scenarios.jsonl", "w", encoding="utf-8") as fh:
        for s in scenarios:
            fh.write(json.dumps(s, ensure_ascii=False) + "\n")
    pairs = sum(len(s["offers"]) for s in scenarios)
    print(f"{len(scenarios)} scenarios, {pairs} pairs")


if __name__ == "__main__":
    main()
