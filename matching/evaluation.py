"""Ranking metrics and the classifier evaluation (Recall@k, MRR@k, nDCG@k with one relevant item or a set)."""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np


def _relevant(gold: str | Collection[str]) -> Collection[str]:
    return {gold} if isinstance(gold, str) else set(gold)


def recall_at_k(ranked: Sequence[Sequence[str]], gold: Sequence[str | Collection[str]], k: int) -> float:
    """Share of queries with at least one relevant item in the first ``k`` (hit rate)."""
    if not ranked:
        return 0.0
    return sum(bool(_relevant(g) & set(r[:k])) for r, g in zip(ranked, gold, strict=True)) / len(ranked)


def mrr_at_k(ranked: Sequence[Sequence[str]], gold: Sequence[str | Collection[str]], k: int) -> float:
    """Mean reciprocal rank of the first relevant item within ``k`` (0 when none)."""
    total = 0.0
    for r, g in zip(ranked, gold, strict=True):
        rel = _relevant(g)
        total += next((1.0 / i for i, item in enumerate(r[:k], start=1) if item in rel), 0.0)
    return total / len(ranked) if ranked else 0.0


def ndcg_at_k(ranked: Sequence[Sequence[str]], gold: Sequence[str | Collection[str]], k: int) -> float:
    """Binary-relevance nDCG@k."""
    total = 0.0
    for r, g in zip(ranked, gold, strict=True):
        rel = _relevant(g)
        dcg = sum(1.0 / math.log2(i + 1) for i, item in enumerate(r[:k], start=1) if item in rel)
        ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(rel), k) + 1))
        total += dcg / ideal if ideal else 0.0
    return total / len(ranked) if ranked else 0.0


@dataclass(frozen=True)
class Example:
    """A labelled text: the code it belongs to."""

    text: str
    code: str


@dataclass(frozen=True)
class Report:
    """Metrics of one ranking method over a set of examples."""

    method: str
    n: int
    recall_at_1: float
    recall_at_10: float
    mrr_at_10: float
    ndcg_at_10: float
    # Hierarchical reading (classification only): a code inside the labelled one counts too, so a leaf
    # "25.62.20.110" is a hit for a text labelled "25.62.20". ``None`` where it does not apply.
    within_at_1: float | None = None
    within_at_10: float | None = None

    def line(self) -> str:
        out = (f"{self.method:<12} n={self.n:<5} R@1={self.recall_at_1:.3f} R@10={self.recall_at_10:.3f} "
               f"MRR@10={self.mrr_at_10:.3f} nDCG@10={self.ndcg_at_10:.3f}")
        if self.within_at_1 is not None:
            out += f" within: R@1={self.within_at_1:.3f} R@10={self.within_at_10:.3f}"
        return out


def load_examples(jsonl_path: str | Path) -> list[Example]:
    """Read ``{"text": ..., "code": ...}`` lines."""
    with open(jsonl_path, encoding="utf-8") as fh:
        return [Example(row["text"], row["code"]) for row in map(json.loads, filter(str.strip, fh))]


def report(method: str, ranked: Sequence[Sequence[str]], gold: Sequence[str],
           ancestors: Callable[[str], Collection[str]] | None = None) -> Report:
    """The metrics of one method; with ``ancestors`` (code → itself and every code above it) also the
    hierarchical recall, where a code inside the labelled one counts as a hit."""
    within: dict[str, float] = {}
    if ancestors is not None:
        lifted = [[g if g in ancestors(c) else c for c in r] for r, g in zip(ranked, gold, strict=True)]
        within = {"within_at_1": recall_at_k(lifted, gold, 1), "within_at_10": recall_at_k(lifted, gold, 10)}
    return Report(method, len(gold), recall_at_k(ranked, gold, 1), recall_at_k(ranked, gold, 10),
                  mrr_at_k(ranked, gold, 10), ndcg_at_k(ranked, gold, 10), **within)


def ancestry(codes: Sequence[str], parents: Sequence[int]) -> Callable[[str], frozenset[str]]:
    """``code → {code, its parent, …, the top}`` over a classifier's codes and parent indices (-1 at the top);
    an unknown code is only itself."""
    index = {c: i for i, c in enumerate(codes)}
    cache: dict[str, frozenset[str]] = {}

    def ancestors(code: str) -> frozenset[str]:
        if code not in cache:
            chain, i = [code], index.get(code, -1)
            while i >= 0 and parents[i] >= 0:
                i = int(parents[i])
                chain.append(codes[i])
            cache[code] = frozenset(chain)
        return cache[code]
    return ancestors


def _cosine_ranker(codes: Sequence[str], doc_vectors: np.ndarray,
                   encode: Callable[[Sequence[str]], np.ndarray]) -> Callable[[Sequence[str]], list[list[str]]]:
    def rank(texts: Sequence[str]) -> list[list[str]]:
        out = []
        for start in range(0, len(texts), 256):
            scores = encode(texts[start:start + 256]) @ doc_vectors.T
            scores = np.asarray(scores.todense() if hasattr(scores, "todense") else scores)
            top = np.argsort(-scores, axis=1, kind="stable")[:, :10]
            out.extend([[codes[i] for i in row] for row in top])
        return out
    return rank


def evaluate_classifier(classifier, examples: Iterable[Example], *, encoder=None, baselines: bool = True,
                        echo: bool = True) -> list[Report]:
    """Score ``classifier`` (a fitted :class:`~matching.classify.CodeClassifier`) next to two baselines.

    ``lexical``: TF-IDF over stems of the code names alone, cosine. ``vector``: ``encoder`` (any
    :class:`~matching.encoders.Encoder`; default a :class:`~matching.encoders.BuiltinEncoder` fitted on the names)
    over the names, cosine. Prints one line per method when ``echo``.

    Every report carries two readings: exact (the labelled code itself, the target's) and hierarchical
    (``within_at_*``: a more precise code inside the labelled one counts too, as a leaf "25.62.20.110" for a text
    labelled "25.62.20").
    """
    examples = list(examples)
    texts = [e.text for e in examples]
    gold = [e.code for e in examples]
    codes = [str(c) for c in classifier.codes_]
    ancestors = ancestry(codes, classifier.parent_)
    reports = [report("classifier", [[s.code for s in p] for p in classifier.predict_many(texts, 10)], gold,
                      ancestors)]
    if baselines:
        from sklearn.feature_extraction.text import TfidfVectorizer

        from matching.encoders import BuiltinEncoder
        from matching.text import stems

        names = [str(n) for n in classifier.names_]
        tfidf = TfidfVectorizer(analyzer=stems, sublinear_tf=True).fit(names)
        lexical = _cosine_ranker(codes, tfidf.transform(names), lambda t: tfidf.transform(t))
        reports.append(report("lexical", lexical(texts), gold, ancestors))
        encoder = encoder or BuiltinEncoder().fit(names)
        vector = _cosine_ranker(codes, encoder.encode_passages(names), encoder.encode_queries)
        reports.append(report("vector", vector(texts), gold, ancestors))
    if echo:
        for r in reports:
            print(r.line())
    return reports


# -- code suggestions over a labelled set of listing texts ------------------------------------------------------------

@dataclass(frozen=True)
class CodeExample:
    """A listing's text with the codes a specialist gives it (``okved2`` only for activities and services)."""

    text: str
    okpd2: str | None
    okved2: str | None
    kind: str = ""


@dataclass(frozen=True)
class CodeReport:
    """One scheme, one method: the share with the right class (first five characters, ``25.62``) first, and the
    recall of the exact code at 1 and 10."""

    method: str
    scheme: str
    n: int
    class_at_1: float
    recall_at_1: float
    recall_at_10: float

    def line(self) -> str:
        return (f"{self.scheme:<7} {self.method:<12} n={self.n:<4} класс@1={self.class_at_1:.3f} "
                f"R@1={self.recall_at_1:.3f} R@10={self.recall_at_10:.3f}")


def load_code_examples(jsonl_path: str | Path) -> list[CodeExample]:
    """Read ``{"text", "okpd2", "okved2"?, "kind"?}`` lines."""
    with open(jsonl_path, encoding="utf-8") as fh:
        return [CodeExample(row["text"], row.get("okpd2"), row.get("okved2"), row.get("kind", ""))
                for row in map(json.loads, filter(str.strip, fh))]


def code_class(code: str) -> str:
    """The class of a code: its first five characters (``25.62.10`` → ``25.62``)."""
    return code[:5]


def evaluate_codes(method: str, scheme: str, examples: Sequence[CodeExample],
                   rank: Callable[[Sequence[str]], Sequence[Sequence[str]]]) -> CodeReport:
    """Score ``rank(texts) → ranked codes per text`` on the examples that carry a code of ``scheme``."""
    labelled = [(e.text, getattr(e, scheme)) for e in examples if getattr(e, scheme)]
    if not labelled:
        return CodeReport(method, scheme, 0, 0.0, 0.0, 0.0)
    ranked = [list(r) for r in rank([t for t, _ in labelled])]
    gold = [g for _, g in labelled]
    first = sum(bool(r) and code_class(r[0]) == code_class(g) for r, g in zip(ranked, gold, strict=True))
    return CodeReport(method, scheme, len(gold), first / len(gold), recall_at_k(ranked, gold, 1),
                      recall_at_k(ranked, gold, 10))
