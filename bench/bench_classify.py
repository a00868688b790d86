"""Fit the ОКПД2 classifier, report dev-set quality and classification throughput.

    python bench/bench_classify.py [--data /work/shared/data] [--threads 2] [--no-baselines] [--halves]

``--halves`` also prints the classifier on the even and the odd lines of the dev set: choose a weight on one half,
check it on the other (docs/matching.md, "Classifier").
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=os.environ.get("COSMOS_SHARED_DATA", "/work/shared/data"))
    parser.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP threads (the target is 2 cores)")
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--halves", action="store_true", help="also score the even and the odd lines apart")
    args = parser.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    from matching.classify import CodeClassifier, load_code_entries
    from matching.evaluation import evaluate_classifier, load_examples

    data = Path(args.data)
    start = time.perf_counter()
    clf = CodeClassifier().fit(load_code_entries(data / "okpd2.csv"))
    print(f"fit: {time.perf_counter() - start:.1f} s, {len(clf.codes_)} codes")
    examples = load_examples(data / "eval-dev" / "okpd2_phrases.jsonl")
    evaluate_classifier(clf, examples, baselines=not args.no_baselines)
    if args.halves:
        for name, half in (("even lines", examples[0::2]), ("odd lines", examples[1::2])):
            print(name)
            evaluate_classifier(clf, half, baselines=False)
    texts = [e.text for e in examples] * 3
    start = time.perf_counter()
    clf.predict_many(texts, top=10)
    elapsed = time.perf_counter() - start
    print(f"throughput: {len(texts) / elapsed:.0f} texts/s ({args.threads} threads, batch {clf.batch_size})")


if __name__ == "__main__":
    main()
