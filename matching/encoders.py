"""Text encoders: one interface, a built-in TF-IDF + SVD encoder that needs no download, and any
sentence-transformers model (``EMBEDDING_MODEL``). Every output is float32 and L2-normalised."""
from __future__ import annotations

import abc
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from matching.text import stem_text, stems

FEW_TEXTS = 8  # up to this many texts are encoded one by one (BuiltinEncoder._encode_one), more through sklearn


def _l2(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(x / norms, dtype=np.float32)


class Encoder(abc.ABC):
    """Turns texts into unit vectors of length ``dim``; queries and passages may be encoded differently."""

    dim: int

    @property
    def identity(self) -> str:
        """Names the vector space: vectors of two encoders with the same identity are comparable."""
        return type(self).__name__

    @abc.abstractmethod
    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) float32, rows L2-normalised."""

    @abc.abstractmethod
    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) float32, rows L2-normalised."""


def _word_analyzer(text: str) -> list[str]:
    return stems(text)


class BuiltinEncoder(Encoder):
    """TF-IDF over Russian stems and character n-grams, reduced by TruncatedSVD (latent semantic analysis).

    Fit it on the classifier names and the marketplace's own listing texts; it needs no download.
    A vector that the SVD maps to zero (no known word) becomes a fixed unit vector so that it stays valid.
    """

    def __init__(self, n_components: int = 256, *, char_ngrams: tuple[int, int] = (3, 5), min_df: int = 2,
                 random_state: int = 0):
        self.n_components = n_components
        self.char_ngrams = char_ngrams
        self.min_df = min_df
        self.random_state = random_state

    @property
    def dim(self) -> int:  # type: ignore[override]
        return int(self.svd_.n_components) if hasattr(self, "svd_") else self.n_components

    @property
    def identity(self) -> str:
        """What a model built on these vectors remembers of them: the built-in encoder and its corpus size."""
        return f"builtin:{getattr(self, 'n_documents_', 0)}:{self.dim}"

    def fit(self, corpus: Iterable[str]) -> BuiltinEncoder:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        corpus = [t for t in corpus if t and t.strip()]
        self.word_vectorizer_ = TfidfVectorizer(analyzer=_word_analyzer, sublinear_tf=True, dtype=np.float32)
        self.char_vectorizer_ = TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(self.char_ngrams),
                                                sublinear_tf=True, min_df=self.min_df, dtype=np.float32)
        self.word_vectorizer_.fit(corpus)
        self.char_vectorizer_.fit([stem_text(t) for t in corpus])
        x = self._sparse(corpus)
        k = max(1, min(self.n_components, x.shape[0] - 1, x.shape[1] - 1))
        self.svd_ = TruncatedSVD(n_components=k, random_state=self.random_state).fit(x)
        self.n_documents_ = len(corpus)  # what a refit compares the grown corpus with
        return self

    def _sparse(self, texts: Sequence[str]):
        import scipy.sparse as sp

        return sp.hstack([self.word_vectorizer_.transform(texts),
                          self.char_vectorizer_.transform([stem_text(t) for t in texts])]).tocsr()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if len(texts) <= FEW_TEXTS:
            z = np.stack([self._encode_one(t) for t in texts])
        else:
            # ``svd_.transform`` multiplies by ``components_.T``, a Fortran-ordered view that scipy copies on every
            # call (hundreds of MB for a large vocabulary); a C-ordered copy made once makes a query cost
            # microseconds.
            z = np.asarray(self._sparse(texts) @ self._projection(), dtype=np.float32)
        empty = np.linalg.norm(z, axis=1) == 0
        z[empty, 0] = 1.0
        return _l2(z)

    def _encode_one(self, text: str) -> np.ndarray:
        """One text without sklearn's per-call validation (≈1.5 ms of a 1.8 ms query): the same arithmetic as
        ``TfidfVectorizer.transform`` (counts, ``1 + log`` for ``sublinear_tf``, times idf, L2 per vectorizer) on
        the text's few features, then one product with their rows of the projection."""
        projection = self._projection()
        analyzers = self.__dict__.get("_analyzers")
        if analyzers is None:
            analyzers = self.__dict__["_analyzers"] = (self.word_vectorizer_.build_analyzer(),
                                                        self.char_vectorizer_.build_analyzer())
        z = np.zeros(projection.shape[1], dtype=np.float32)
        offset = 0
        for vectorizer, analyze, doc in ((self.word_vectorizer_, analyzers[0], text),
                                         (self.char_vectorizer_, analyzers[1], stem_text(text))):
            vocabulary = vectorizer.vocabulary_
            counts = Counter(i for i in (vocabulary.get(token) for token in analyze(doc)) if i is not None)
            if counts:
                columns = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
                values = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))
                values = (values * vectorizer.idf_[columns]).astype(np.float32)
                values /= np.float32(np.sqrt(np.dot(values, values)))
                z += values @ projection[offset + columns]
            offset += len(vocabulary)
        return z

    def _projection(self) -> np.ndarray:
        projection = self.__dict__.get("_projection_cache")
        if projection is None:
            projection = np.ascontiguousarray(self.svd_.components_.T, dtype=np.float32)
            self.__dict__["_projection_cache"] = projection
        return projection

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_projection_cache", None)  # derived from ``svd_``: not saved twice
        state.pop("_analyzers", None)
        return state

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(texts)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(texts)

    def save(self, path: str | Path) -> None:
        import joblib

        joblib.dump(self, path, compress=3)

    @classmethod
    def load(cls, path: str | Path) -> BuiltinEncoder:
        import joblib

        obj = joblib.load(path)
        if not isinstance(obj, cls):
            raise TypeError(f"{path} does not hold a {cls.__name__}")
        return obj


_DEFAULT = object()


class SentenceTransformerEncoder(Encoder):
    """Any sentence-transformers model by name or path; the model loads on first use.

    e5 models expect "query: "/"passage: " prefixes; by default the prefixes are used only when the name contains
    "e5". Pass strings (or "") to override.
    """

    def __init__(self, model_name_or_path: str, query_prefix: str | None = None, passage_prefix: str | None = None,
                 device: str | None = None, batch_size: int = 64):
        self.model_name_or_path = str(model_name_or_path)
        e5 = "e5" in self.model_name_or_path.lower()
        self.query_prefix = query_prefix if query_prefix is not None else ("query: " if e5 else "")
        self.passage_prefix = passage_prefix if passage_prefix is not None else ("passage: " if e5 else "")
        self.device = device
        self.batch_size = batch_size
        self._model = None

    @property
    def identity(self) -> str:
        """The model and the prefixes: vectors of another model or prefix are not comparable."""
        return f"sentence-transformers:{self.model_name_or_path}|{self.query_prefix}|{self.passage_prefix}"

    @property
    def model(self):
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(self.model_name_or_path, device=self.device)
        return self._model

    @property
    def dim(self) -> int:  # type: ignore[override]
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(getter())

    def _encode(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        texts = [prefix + t for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                convert_to_numpy=True, show_progress_bar=False)
        return _l2(out)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(list(texts), self.query_prefix)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(list(texts), self.passage_prefix)


def make_encoder(name: str, **kwargs) -> Encoder:
    """"builtin" → an unfitted :class:`BuiltinEncoder` (call ``fit`` or ``BuiltinEncoder.load``);
    anything else → :class:`SentenceTransformerEncoder` for that model name or path."""
    if name.strip().lower() == "builtin":
        return BuiltinEncoder(**kwargs)
    return SentenceTransformerEncoder(name, **kwargs)
