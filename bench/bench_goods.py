"""How fast the goods vocabulary loads and reads a text (on demand; prints figures, asserts nothing).

    .venv/bin/python bench/bench_goods.py [--rounds 200]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from matching.goods import load_goods

TEXTS = ["Плиты ДСП 16 мм", "Ящики пластиковые для овощей", "Кабель ВВГнг-LS 3х2,5", "Автокран 25 тонн",
         "Электросчётчики трёхфазные", "Поставка запорной арматуры Ду50", "Гипсокартон влагостойкий",
         "Кран-манипулятор на шасси КАМАЗ", "Щебень гранитный 20-40", "Перчатки х/б с ПВХ"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    start = time.perf_counter()
    vocabulary = load_goods(Path(__file__).resolve().parents[1] / "marketplace" / "refdata" / "data" / "goods")
    loaded = time.perf_counter() - start
    for text in TEXTS:  # the analyser is memoised: the first reading of a word pays pymorphy once
        vocabulary.recognize(text)
    per_text = []
    for _ in range(args.rounds):
        for text in TEXTS:
            t0 = time.perf_counter()
            vocabulary.recognize(text)
            per_text.append(time.perf_counter() - t0)
    per_text.sort()
    print(f"load: {loaded:.2f} s for {len(vocabulary)} types; load average {os.getloadavg()[0]:.2f}")
    print(f"recognize: p50 {statistics.median(per_text) * 1e3:.3f} ms, "
          f"p95 {per_text[int(0.95 * len(per_text))] * 1e3:.3f} ms over {len(per_text)} readings")


if __name__ == "__main__":
    main()
