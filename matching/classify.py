"""ОКПД2/ОКВЭД2 classification: free text → ranked codes, using the classifier's own hierarchy.

A code is scored by how well the text matches its own name or the name of any code below it (the best match in
its subtree, discounted a little per level so that a code's own name counts more than a descendant's), plus a
share of how well it matches its parent's whole group (hierarchical smoothing), minus a small prior that prefers
the subcategory level (``25.62.20``) where buyers' texts usually belong, minus a penalty when the text asks for a
service ("услуги", "работы") and the code's name is a product. Text is compared as TF-IDF over Russian Snowball
stems plus character n-grams of the stems, so inflections and compound words meet.

Fitted with an ``encoder`` (a sentence-transformers model, when the platform has one), a code's own score also
gets a semantic part: how far the cosine of the text and the code's name stands above the text's usual cosine to
all names (a z-score past ``semantic_floor``, times ``semantic_weight``), so that synonyms the names do not share
still count. The part is relative to each text because models differ in how their cosines spread.
"""
from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from matching.text import stem_text, stems

# Penalty by code length: 8 = subcategory "25.62.20" (no penalty), 12 = leaf "25.62.20.110", 7 = group "25.62.2".
DEFAULT_LEVEL_PENALTY: Mapping[int, float] = {8: 0.0, 12: 0.25, 7: 0.1}
DEFAULT_OTHER_PENALTY = 0.3
# Stems that mark a text or a code name as a service (ОКПД2 names services "Услуги ..." and "Работы ...").
SERVICE_STEMS = frozenset({"услуг", "работ"})
# ОКПД2 mixes products and services, so a service request should not land on a product; ОКВЭД2 names activities.
DEFAULT_SERVICE_PENALTY: Mapping[str, float] = {"okpd2": 0.3}
# Names encoded per call when fitting with an encoder (a step of the progress shown).
ENCODE_BATCH = 512
# How far below the best code's score another code's likelihood reaches 0 (see ``CodeReading``): about the gap
# between a text's own subclass and a neighbouring one in the decision scores.
LIKELIHOOD_MARGIN = 0.4
# Bumped when the fitted attributes change, so that a cached model of an older layout is refitted, not misused.
FORMAT_VERSION = 3


@dataclass(frozen=True)
class CodeEntry:
    """One line of a classifier: code, name and the nearest existing ancestor ("" at the top)."""

    code: str
    name: str
    parent: str = ""


@dataclass(frozen=True)
class CodeReading:
    """What a classifier read from one text: its ``top`` codes, and how likely any other code is for the text.

    ``likelihood(codes)`` is in [0, 1]: 1 for a code scored like the best one, falling linearly to 0 at
    ``margin`` below it (decision-score units), the best of ``codes``. A person's code on the other side of a match
    is thus weighed by how well the text fits it, not only by whether it shares a class with the top three.
    """

    codes: tuple[str, ...]
    scores: np.ndarray
    index: Mapping[str, int]
    margin: float

    def likelihood(self, codes: Iterable[str]) -> float:
        best = float(self.scores.max(initial=0.0)) if self.scores.size else 0.0
        out = 0.0
        for code in codes:
            i = self.index.get(code)
            if i is not None:
                out = max(out, 1.0 - (best - float(self.scores[i])) / self.margin)
        return max(0.0, min(1.0, out))


@dataclass(frozen=True)
class CodeSuggestion:
    """A ranked guess: the code, its official name and a score (higher is better, not a probability)."""

    code: str
    name: str
    score: float


def encoder_identity(encoder) -> str | None:
    """What a fitted classifier remembers of its encoder, to refuse another one: the class and the model."""
    return None if encoder is None else str(encoder.identity)


def load_code_entries(csv_path: str | Path) -> list[CodeEntry]:
    """Read ``code,name,parent,section`` rows (the format of ``okpd2.csv``/``okved2.csv``)."""
    with open(csv_path, encoding="utf-8", newline="") as fh:
        return [CodeEntry(row["code"].strip(), row["name"].strip(), (row.get("parent") or "").strip())
                for row in csv.DictReader(fh)]


def _word_analyzer(text: str) -> list[str]:
    return stems(text)


def _is_service(text: str) -> bool:
    return not SERVICE_STEMS.isdisjoint(stems(text))


class CodeClassifier:
    """Rank the codes of one scheme for a text.

    Parameters
    ----------
    scheme : "okpd2" or "okved2", recorded for callers.
    parent_weight : weight of the similarity to the parent's whole group (hierarchical smoothing).
    level_penalty : score subtracted by code length; lengths not listed get ``other_penalty``.
    char_ngrams : character n-gram range over stems; ``None`` turns the character part off.
    subtree_discount : factor applied per level to a descendant's score when a code borrows it (1 = plain max).
    service_penalty : subtracted from codes whose name is not a service when the text names a service
        ("услуги", "работы"); ``None`` takes the scheme's default (0.3 for ОКПД2, 0 otherwise).
    semantic_weight, semantic_floor : the semantic part when fitted with an encoder (see the module's note).

    >>> clf = CodeClassifier().fit([CodeEntry("C", "Продукция обрабатывающих производств"),
    ...                             CodeEntry("25", "Изделия металлические готовые", "C")])
    >>> clf.predict("металлические изделия", top=1)[0].code
    '25'
    """

    def __init__(self, scheme: str = "okpd2", *, parent_weight: float = 0.3,
                 level_penalty: Mapping[int, float] | None = None, other_penalty: float = DEFAULT_OTHER_PENALTY,
                 char_ngrams: tuple[int, int] | None = (3, 5), subtree_discount: float = 0.9,
                 service_penalty: float | None = None, semantic_weight: float = 0.1, semantic_floor: float = 2.0,
                 batch_size: int = 256):
        self.scheme = scheme
        self.parent_weight = parent_weight
        self.level_penalty = level_penalty
        self.other_penalty = other_penalty
        self.char_ngrams = char_ngrams
        self.subtree_discount = subtree_discount
        self.service_penalty = service_penalty
        self.semantic_weight = semantic_weight
        self.semantic_floor = semantic_floor
        self.batch_size = batch_size
        self.encoder = None  # attached, never saved: see ``attach_encoder``

    # -- fitting -------------------------------------------------------------------------------------------
    def fit(self, entries: Iterable[CodeEntry], related: Mapping[str, Sequence[str]] | None = None, *,
            encoder=None, progress: Callable[[Iterable, str, int], Iterable] | None = None) -> CodeClassifier:
        """Learn from the classifier entries; ``related`` adds texts to a code's group document (e.g. the ОКВЭД2
        names of the activity with the same code as an ОКПД2 subclass); ``encoder`` (any
        :class:`~matching.encoders.Encoder`) adds the semantic part, its vectors of the names kept in the model.
        ``progress(iterable, label, length)`` wraps the encoding of the names (minutes for a model on a CPU)."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        entries = list(entries)
        codes = [e.code for e in entries]
        index = {c: i for i, c in enumerate(codes)}
        parent = np.array([index.get(e.parent, -1) for e in entries], dtype=np.int64)
        names = [e.name for e in entries]
        # Each code's group document: its own name and every name below it.
        groups = [[n] for n in names]
        depth = np.zeros(len(entries), dtype=np.int64)
        for i in range(len(entries)):
            p, d = parent[i], 0
            while p >= 0:
                groups[p].append(names[i])
                p, d = parent[p], d + 1
            depth[i] = d
        for code, texts in (related or {}).items():
            if code in index:
                groups[index[code]].extend(texts)
        # Only a parent's group is ever compared (the smoothing term of its children), so only those are built,
        # plus an empty one last: the "group" of the codes without a parent, which matches nothing.
        group_owner = np.unique(parent[parent >= 0])
        group_docs = [" ".join(groups[i]) for i in group_owner] + [""]

        self.word_vectorizer_ = TfidfVectorizer(analyzer=_word_analyzer, sublinear_tf=True, dtype=np.float32)
        self.word_vectorizer_.fit(names)
        name_w = self.word_vectorizer_.transform(names)
        group_w = self.word_vectorizer_.transform(group_docs)
        if self.char_ngrams:
            # n-grams of a single name are dropped to keep the big model small; a handful of names keeps them all,
            # or nothing would be left to compare.
            min_df = 2 if len(names) >= 1000 else 1
            self.char_vectorizer_ = TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(self.char_ngrams),
                                                    sublinear_tf=True, min_df=min_df, dtype=np.float32)
            stemmed = [stem_text(n) for n in names]
            self.char_vectorizer_.fit(stemmed)
            name_c = self.char_vectorizer_.transform(stemmed)
            group_c = self.char_vectorizer_.transform([stem_text(d) for d in group_docs])
        else:
            self.char_vectorizer_ = None
            name_c = group_c = None
        self.codes_ = np.array(codes, dtype=object)
        self.names_ = np.array(names, dtype=object)
        self.parent_ = parent
        self.name_matrix_ = self._stack(name_w, name_c).T.tocsr()
        self.group_matrix_ = self._stack(group_w, group_c).T.tocsr()
        # Column of each code's parent in the group matrix; a code without a parent points to the empty group.
        self.parent_group_ = np.searchsorted(group_owner, parent).astype(np.int64)
        self.parent_group_[parent < 0] = len(group_owner)
        penalties = dict(DEFAULT_LEVEL_PENALTY if self.level_penalty is None else self.level_penalty)
        self.prior_ = -np.array([penalties.get(len(c), self.other_penalty) for c in codes], dtype=np.float32)
        self.levels_ = self._levels(parent, depth)
        self.index_ = index
        self.is_service_ = np.array([_is_service(n) for n in names], dtype=bool)
        self.service_penalty_ = float(DEFAULT_SERVICE_PENALTY.get(self.scheme, 0.0) if self.service_penalty is None
                                      else self.service_penalty)
        if encoder is not None:
            starts = range(0, len(names), ENCODE_BATCH)
            track = progress or (lambda items, label, length: items)
            chunks = [encoder.encode_passages(names[i:i + ENCODE_BATCH])
                      for i in track(starts, "Кодирование названий", len(starts))]
            self.name_vectors_ = np.ascontiguousarray(np.vstack(chunks), dtype=np.float32)
            self.encoder_identity_ = encoder_identity(encoder)
            self.encoder = encoder
        else:
            self.name_vectors_ = None
            self.encoder_identity_ = None
        self.format_version_ = FORMAT_VERSION
        return self

    def attach_encoder(self, encoder) -> CodeClassifier:
        """Give a loaded classifier the encoder it was fitted with (the model is not saved with it)."""
        if encoder_identity(encoder) != self.encoder_identity_:
            raise ValueError(f"this classifier was fitted with {self.encoder_identity_!r}, "
                             f"not {encoder_identity(encoder)!r}; fit it again")
        self.encoder = encoder
        return self

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["encoder"] = None  # a model is loaded by its owner, not pickled into the classifier
        return state

    def _stack(self, word, char):
        import scipy.sparse as sp

        if char is None:
            return word.tocsr()
        # Each half is unit-length, so the dot product of two stacked vectors is the mean of the two cosines.
        return (sp.hstack([word, char]) * np.float32(np.sqrt(0.5))).tocsr()

    @staticmethod
    def _levels(parent: np.ndarray, depth: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Children grouped by depth, deepest first, for the subtree max: (child indices sorted by parent, the
        distinct parents, where each parent's run of children starts), the layout ``np.maximum.reduceat`` wants."""
        out = []
        for d in range(int(depth.max(initial=0)), 0, -1):
            child = np.flatnonzero((depth == d) & (parent >= 0))
            if len(child):
                child = child[np.argsort(parent[child], kind="stable")]
                parents, starts = np.unique(parent[child], return_index=True)
                out.append((child, parents, starts))
        return out

    # -- prediction ----------------------------------------------------------------------------------------
    def _vectorize(self, texts: Sequence[str]):
        word = self.word_vectorizer_.transform(texts)
        char = self.char_vectorizer_.transform([stem_text(t) for t in texts]) if self.char_vectorizer_ else None
        return self._stack(word, char)

    def decision_function(self, texts: Sequence[str]) -> np.ndarray:
        """Scores of every code (columns in the order of ``codes_``) for each text: float32 (n_texts, n_codes)."""
        q = self._vectorize(texts)
        own = (q @ self.name_matrix_).toarray()
        group = (q @ self.group_matrix_).toarray()
        scores = own
        if self.name_vectors_ is not None:
            scores += self._semantic(texts)
        discount = np.float32(self.subtree_discount)
        for child, parents, starts in self.levels_:
            # Deepest level first, so a parent keeps the best (discounted) score found anywhere in its subtree.
            below = np.maximum.reduceat(scores[:, child], starts, axis=1)
            below *= discount
            scores[:, parents] = np.maximum(scores[:, parents], below)
        scores += np.float32(self.parent_weight) * group[:, self.parent_group_]
        scores += self.prior_
        if self.service_penalty_:
            asks_service = np.array([_is_service(t) for t in texts], dtype=bool)
            scores[asks_service] -= np.float32(self.service_penalty_) * ~self.is_service_
        return scores.astype(np.float32, copy=False)

    def _semantic(self, texts: Sequence[str]) -> np.ndarray:
        if self.encoder is None:
            raise RuntimeError(f"this classifier was fitted with {self.encoder_identity_!r}: attach_encoder() first")
        cosine = self.encoder.encode_queries(list(texts)) @ self.name_vectors_.T
        spread = cosine.std(axis=1, keepdims=True)
        spread[spread == 0] = 1.0
        z = (cosine - cosine.mean(axis=1, keepdims=True)) / spread
        return (np.float32(self.semantic_weight) * np.maximum(z - np.float32(self.semantic_floor), 0)
                ).astype(np.float32, copy=False)

    def predict_many(self, texts: Sequence[str], top: int = 10) -> list[list[CodeSuggestion]]:
        """``predict`` for many texts at once (vectorised in batches of ``batch_size``)."""
        texts = list(texts)
        out: list[list[CodeSuggestion]] = []
        for start in range(0, len(texts), self.batch_size):
            scores = self.decision_function(texts[start:start + self.batch_size])
            k = min(top, scores.shape[1])
            part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
            for row, cand in zip(scores, part, strict=True):
                order = cand[np.argsort(-row[cand], kind="stable")]
                out.append([CodeSuggestion(str(self.codes_[i]), str(self.names_[i]), float(row[i])) for i in order])
        return out

    def predict(self, text: str, top: int = 10) -> list[CodeSuggestion]:
        """The ``top`` codes for ``text``, best first; an empty text gives the prior order (not useful)."""
        return self.predict_many([text], top)[0]

    def read(self, text: str, top: int = 3, *, margin: float = LIKELIHOOD_MARGIN) -> CodeReading:
        """The ``top`` codes for ``text`` and the scores of all codes (one pass), as a :class:`CodeReading`."""
        row = self.decision_function([text])[0]
        k = min(top, row.shape[0])
        cand = np.argpartition(-row, k - 1)[:k]
        order = cand[np.argsort(-row[cand], kind="stable")]
        return CodeReading(tuple(str(self.codes_[i]) for i in order), row, self.index_, margin)

    def name_of(self, code: str) -> str | None:
        i = self.index_.get(code)
        return None if i is None else str(self.names_[i])

    # -- persistence ---------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write the fitted classifier with joblib (same scikit-learn major version to load)."""
        import joblib

        joblib.dump(self, path, compress=3)

    @classmethod
    def load(cls, path: str | Path) -> CodeClassifier:
        import joblib

        obj = joblib.load(path)
        if not isinstance(obj, cls):
            raise TypeError(f"{path} does not hold a {cls.__name__}")
        if getattr(obj, "format_version_", 1) != FORMAT_VERSION:
            raise ValueError(f"{path} holds a classifier of an older layout; fit it again")
        return obj
