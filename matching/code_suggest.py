"""Code suggestions for a listing's text: both classifiers and the operations catalogue vote together.

A single :class:`~matching.classify.CodeClassifier` matches words of the text against the names of one scheme, so a
word that only a wrong code names wins: «изготовление ферм» meets «разведение зверей на фермах», «ремонт двигателей
судов» meets «ремонт одежды», and ОКВЭД2 has no «токарная» at all. :class:`CodeSuggester` reads a text with more:

* **the head word** — the text's first word after the words that frame it («Производство», «Требуется») — gives a
  bonus to the codes whose name has it in any form, so the thing a text is about outweighs a word that follows
  («Краска порошковая» is a paint, not «металлургия порошковая»); the frame words are dropped for ОКПД2, where
  only its subcontracting codes name them;
* **a text that opens like a service** — with a word that opens the scheme's service names («Услуги по
  <ремонту>», «Работы по <монтажу>»), learnt from the names — is read as asking for a service, as one that says
  «услуги» is (the classifier's product penalty);
* **the other scheme votes on the class**: ОКПД2 and ОКВЭД2 share their first five characters for the same
  activity (ОКПД2 ``25.62.10`` «услуги по токарной обработке» is the product of ОКВЭД2 ``25.62`` «обработка
  металлических изделий механическая»), so each code gets a share of the best score of the other scheme's codes in
  its class: product names vote for the activity that makes them, activity names for its products;
* **operations the catalogue recognises** in the text (``catalogue.recognize``) add their codes, by confidence,
  to every code inside them and to the classes above them; an operation's first code is its own, the later ones
  related to it («монтаж электропроводки»: 43.21 electrical works, then 33.20 machinery installation) and get
  ``secondary_share`` of its confidence;
* **trade codes** (wholesale, retail, «торговля») lose a share unless the text is about selling, since a buyer or
  a maker who names a product almost never means the shop that sells it.
An ОКВЭД2 suggestion is preferred at the class level (``25.62``), where companies register their activities.
``head_weight`` (the first clause scored once more) is off: on the labelled texts it lowered both schemes.
The weights were chosen on the even lines of ``tests/fixtures/codes/suggestions.jsonl`` (``cosmos eval codes
--halves`` prints both halves).
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np

from matching.classify import SERVICE_STEMS, CodeClassifier, CodeSuggestion, _is_service
from matching.text import stems

# Splits off the head of a text: its first clause.
_HEAD = re.compile(r"[,;:(\[—–]|\s-\s|\.\s")
_FIRST_WORD = re.compile(r"\W*(\w+)\W*")
# Words that frame a text (what is wanted of the thing), skipped at its start for ОКПД2 and for its head word.
FRAME_STEMS = frozenset({"производств", "изготовлен", "выпуск", "поставк", "треб", "нужн", "нуж", "закупк",
                         "приобретен", "закуп", "постав"})
# Stems of a text that says the work is done to a customer's order (ОКПД2's «услуги по производству … по заказу»).
ORDER_STEMS = frozenset({"заказчик", "заказ", "давальческ"})
# Stems of a code name that mark trade, and of a text that asks for it.
TRADE_NAME_STEMS = frozenset({"торговл", "оптов", "розничн"})
TRADE_TEXT_STEMS = frozenset({"торговл", "торгов", "продаж", "магазин", "оптов", "розничн", "розниц", "дилер",
                              "дистрибуц", "реализац"})
# The level prior of ОКВЭД2 codes by length (replaces the classifier's, which is ОКПД2's): class first.
OKVED2_LEVEL_PRIOR: Mapping[int, float] = {5: 0.0, 7: -0.05, 8: -0.1, 4: -0.2}
OKVED2_OTHER_PRIOR = -0.3
# How much the other scheme's best code of a class adds to a code of that class, by the scheme asked for.
DEFAULT_CROSS_WEIGHT: Mapping[str, float] = {"okpd2": 0.25, "okved2": 1.0}


def strip_frame(text: str) -> str:
    """``text`` without the words that frame it at its start («Производство», «Требуется», «Поставка»): they say
    what is wanted of the thing, not what it is, and ОКПД2 names them only in its subcontracting codes."""
    rest = text.strip()
    for _ in range(3):
        match = _FIRST_WORD.match(rest)
        if not match or not (stems(match.group(1)) and stems(match.group(1))[0] in FRAME_STEMS):
            break
        rest = rest[match.end():]
    return rest or text


def service_heads(clf: CodeClassifier, *, min_names: int = 3, min_share: float = 0.8) -> frozenset[str]:
    """Stems that open the scheme's service names ("Услуги по <ремонту> ...", "Работы по <монтажу> ...") at least
    ``min_names`` times and stand in a service name in ``min_share`` of the names they occur in."""
    total: Counter[str] = Counter()
    in_service: Counter[str] = Counter()
    opening: Counter[str] = Counter()
    for name, service in zip(clf.names_, clf.is_service_, strict=True):
        words = stems(str(name))
        for stem in set(words):
            total[stem] += 1
            in_service[stem] += bool(service)
        if service:
            rest = [w for w in words if w not in SERVICE_STEMS and len(w) > 2]
            if rest:
                opening[rest[0]] += 1
    return frozenset(s for s, n in opening.items() if n >= min_names and in_service[s] >= min_share * total[s])


def _name_words(clf: CodeClassifier):
    """The stems of the scheme's names and a binary (codes × stems) matrix of which name has which."""
    from sklearn.feature_extraction.text import CountVectorizer

    vectorizer = CountVectorizer(analyzer=stems, binary=True, dtype=np.float32)
    matrix = vectorizer.fit_transform([str(n) for n in clf.names_]).tocsc()
    return np.array(vectorizer.get_feature_names_out(), dtype=str), matrix


def text_head(text: str) -> str:
    """The first clause of ``text`` (the whole text when it has one)."""
    return _HEAD.split(text.strip(), maxsplit=1)[0].strip()


class CodeSuggester:
    """Suggest ОКПД2 and ОКВЭД2 codes for a text from both classifiers and, optionally, an operations catalogue.

    ``classifiers``: fitted :class:`CodeClassifier` by scheme ("okpd2", "okved2"); a missing scheme neither
    votes nor can be asked for. ``catalogue``: any object with ``recognize(text, top)`` → items with
    ``operation_id`` and ``confidence``, and ``get(id)`` → an object with ``okpd2`` and ``okved2`` code tuples
    (a :class:`matching.operations.OperationCatalogue`); ``None`` leaves the catalogue out.
    """

    def __init__(self, classifiers: Mapping[str, CodeClassifier], catalogue=None, *, head_weight: float = 0.0,
                 cross_weight: Mapping[str, float] | None = None, catalogue_weight: float = 1.0,
                 trade_penalty: float = 0.3, head_word_weight: float = 0.1, secondary_share: float = 0.6,
                 product_penalty: float = 0.2, goods=None, goods_weight: float = 1.0):
        self.classifiers = dict(classifiers)
        self.catalogue = catalogue
        self.head_weight = head_weight
        self.cross_weight = dict(DEFAULT_CROSS_WEIGHT if cross_weight is None else cross_weight)
        self.catalogue_weight = catalogue_weight
        self.trade_penalty = trade_penalty
        self.head_word_weight = head_word_weight
        self.secondary_share = secondary_share
        self.product_penalty = product_penalty
        # The catalogue reads a text once per suggestion, not once per scheme and use (a product's text and the
        # catalogue boost of both schemes ask the same).
        self._recognize = lru_cache(maxsize=4096)(lambda text: catalogue.recognize(text, top=3)) \
            if catalogue is not None else None
        self.goods = goods
        self.goods_weight = goods_weight
        self._classes: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._trade: dict[str, np.ndarray] = {}
        self._prior: dict[str, np.ndarray] = {}
        self._service_heads: frozenset[str] = frozenset()
        self._vocab: dict[str, tuple[np.ndarray, object]] = {}
        for scheme, clf in self.classifiers.items():
            codes = [str(c) for c in clf.codes_]
            keys = sorted({c[:5] for c in codes if len(c) >= 5})
            position = {k: i for i, k in enumerate(keys)}
            # Column of each code's class among the scheme's classes (-1: a code above the class level).
            self._classes[scheme] = (np.array(keys, dtype=object),
                                     np.array([position[c[:5]] if len(c) >= 5 else -1 for c in codes]))
            self._trade[scheme] = np.array([not TRADE_NAME_STEMS.isdisjoint(stems(str(n))) for n in clf.names_])
            if clf.service_penalty_:
                self._service_heads = service_heads(clf)
            if head_word_weight:
                self._vocab[scheme] = _name_words(clf)
            if scheme == "okved2":
                wanted = np.array([OKVED2_LEVEL_PRIOR.get(len(c), OKVED2_OTHER_PRIOR) for c in codes],
                                  dtype=np.float32)
                self._prior[scheme] = wanted - clf.prior_
            else:
                self._prior[scheme] = np.zeros(len(codes), dtype=np.float32)

    def _head_word(self, scheme: str, texts: Sequence[str]) -> np.ndarray:
        """1 for the codes whose own name has a word of the text's first (head) word — the same stem or one
        that extends it («консерв» → «консервированные») — 0 for the others."""
        vocab, matrix = self._vocab[scheme]
        out = np.zeros((len(texts), matrix.shape[0]), dtype=np.float32)
        for row, text in enumerate(texts):
            first = [w for w in stems(strip_frame(text)) if w not in FRAME_STEMS][:1]
            if not first or len(first[0]) < 3:
                continue
            ids = np.flatnonzero(np.char.startswith(vocab, first[0]))
            if len(ids):
                out[row] = (matrix[:, ids].sum(axis=1).A1 > 0)
        return out

    def _names_product(self, head: str, text: str) -> bool:
        words = stems(text)
        if not SERVICE_STEMS.isdisjoint(words) or not ORDER_STEMS.isdisjoint(words) or \
                self._starts_with_service(head):
            return False
        return not self._operations_read(text)

    def _starts_with_service(self, head: str) -> bool:
        first = stems(head)[:1]
        return bool(first) and first[0] in self._service_heads

    # -- scoring ---------------------------------------------------------------------------------------------------
    def _own(self, scheme: str, texts: Sequence[str], heads: Sequence[str]) -> np.ndarray:
        clf = self.classifiers[scheme]
        if clf.service_penalty_:  # a products-and-services scheme (ОКПД2): the frame words only mislead
            texts = [strip_frame(t) for t in texts]
            heads = [strip_frame(h) for h in heads]
        scores = clf.decision_function(texts)
        if self.head_word_weight:
            scores += np.float32(self.head_word_weight) * self._head_word(scheme, texts)
        if self.head_weight:
            differs = np.array([h != t for h, t in zip(heads, texts, strict=True)])
            head = clf.decision_function(heads)
            # A text that is all head gets the same share, so that texts of one clause are not put behind.
            scores += np.float32(self.head_weight) * np.where(differs[:, None], head, scores)
        scores += self._prior[scheme]
        if clf.service_penalty_ and self._service_heads:
            # The classifier penalises products when a text says "услуги"/"работы"; a text that starts with what
            # the scheme's service names start with ("ремонт", "монтаж", "перевозка") asks for a service too.
            extra = np.array([self._starts_with_service(h) and not _is_service(t)
                              for h, t in zip(heads, texts, strict=True)])
            scores[extra] -= np.float32(clf.service_penalty_) * ~clf.is_service_
        if clf.service_penalty_ and self.product_penalty:
            # The converse: a text that names a thing and asks for no work on it (no service word or opening, no
            # order of a customer, no operation the catalogue knows) is a product, not «Услуги по производству …».
            product = np.array([self._names_product(h, t) for h, t in zip(heads, texts, strict=True)])
            scores[product] -= np.float32(self.product_penalty) * clf.is_service_
        if self.trade_penalty:
            sells = np.array([not TRADE_TEXT_STEMS.isdisjoint(stems(t)) for t in texts])
            scores[~sells] -= np.float32(self.trade_penalty) * self._trade[scheme]
        return scores

    def _class_best(self, scheme: str, scores: np.ndarray) -> dict[str, np.ndarray]:
        """``class → best score of its codes`` per text, as one array (texts × classes) with the class keys."""
        keys, column = self._classes[scheme]
        inside = column >= 0
        order = np.argsort(column[inside], kind="stable")
        cols = column[inside][order]
        starts = np.flatnonzero(np.r_[True, cols[1:] != cols[:-1]])
        best = np.maximum.reduceat(scores[:, inside][:, order], starts, axis=1)
        return {"keys": keys[cols[starts]], "best": best}

    def _operations_read(self, text: str) -> tuple:
        """The catalogue's operations in ``text`` (top 3), read once per text for the whole suggestion."""
        return tuple(self._recognize(text)) if self.catalogue is not None else ()

    def _catalogue_boost(self, scheme: str, texts: Sequence[str]) -> np.ndarray | None:
        if self.catalogue is None or not self.catalogue_weight:
            return None

        def weighted(text: str):
            for found in self._operations_read(text):
                op = self.catalogue.get(found.operation_id)
                for rank, code in enumerate(getattr(op, scheme, ()) if op is not None else ()):
                    # An operation's first code is its own, the later ones related («монтаж электропроводки»:
                    # 43.21 electrical works before 33.20 machinery installation): they get a share of it.
                    yield code, found.confidence * (1.0 if rank == 0 else self.secondary_share)

        return self._spread(scheme, [weighted(t) for t in texts], self.catalogue_weight)

    def _goods_boost(self, scheme: str, texts: Sequence[str]) -> np.ndarray | None:
        """Product types the goods vocabulary recognises («Плиты ДСП», «Гипсокартон») add their ОКПД2 codes, by
        confidence, like an operation's codes, unless the text asks for a service; ОКВЭД2 hears of them through the
        class vote."""
        if self.goods is None or not self.goods_weight or scheme != "okpd2":
            return None

        def weighted(text: str):
            if _is_service(text) or self._starts_with_service(text_head(text) or text):
                return  # «услуги буксирных судов» asks for towing, not for a tug
            for kind, confidence in self.goods.recognize(text, top=3):
                for code in kind.okpd2:
                    yield code, confidence

        return self._spread(scheme, [weighted(t) for t in texts], self.goods_weight)

    def _spread(self, scheme: str, per_text, weight: float) -> np.ndarray | None:
        """``(code, confidence)`` pairs per text as scores: each code's confidence goes to the code itself, every
        code inside it and the codes above it down to its class (the best confidence where several reach one)."""
        codes = self.classifiers[scheme].codes_.astype(str)
        out = np.zeros((len(per_text), len(codes)), dtype=np.float32)
        hit = False
        for row, pairs in enumerate(per_text):
            for code, confidence in pairs:
                mask = np.char.startswith(codes, code) | np.isin(codes, [code[:n] for n in range(5, len(code))])
                out[row, mask] = np.maximum(out[row, mask], np.float32(confidence))
                hit = True
        return out * np.float32(weight) if hit else None

    def decision_function(self, texts: Sequence[str], scheme: str) -> np.ndarray:
        """Scores of every code of ``scheme`` (columns in the order of its classifier's ``codes_``)."""
        if scheme not in self.classifiers:
            raise ValueError(f"no classifier for {scheme!r}")
        texts = list(texts)
        heads = [text_head(t) or t for t in texts]
        scores = self._base(scheme, texts, heads)
        weight = self.cross_weight.get(scheme, 0.0)
        for other in self.classifiers if weight else ():
            if other == scheme:
                continue
            voted = self._class_best(other, self._base(other, texts, heads))
            keys, column = self._classes[scheme]
            lookup = {k: i for i, k in enumerate(voted["keys"])}
            take = np.array([lookup.get(k, -1) for k in keys])
            per_class = np.where(take >= 0, voted["best"][:, np.maximum(take, 0)], 0.0)
            vote = np.where(column >= 0, per_class[:, np.maximum(column, 0)], 0.0)
            scores += np.float32(weight) * np.maximum(vote, 0).astype(np.float32)
        return scores

    def _base(self, scheme: str, texts: Sequence[str], heads: Sequence[str]) -> np.ndarray:
        scores = self._own(scheme, texts, heads)
        for boost in (self._catalogue_boost(scheme, texts), self._goods_boost(scheme, texts)):
            if boost is not None:
                scores = scores + boost
        return scores

    def predict_many(self, texts: Sequence[str], scheme: str, top: int = 10) -> list[list[CodeSuggestion]]:
        if scheme not in self.classifiers:
            raise ValueError(f"no classifier for {scheme!r}")
        clf = self.classifiers[scheme]
        texts = list(texts)
        out: list[list[CodeSuggestion]] = []
        for start in range(0, len(texts), clf.batch_size):
            scores = self.decision_function(texts[start:start + clf.batch_size], scheme)
            k = min(top, scores.shape[1])
            part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
            for row, cand in zip(scores, part, strict=True):
                order = cand[np.argsort(-row[cand], kind="stable")]
                out.append([CodeSuggestion(str(clf.codes_[i]), str(clf.names_[i]), float(row[i])) for i in order])
        return out

    def predict(self, text: str, scheme: str, top: int = 10) -> list[CodeSuggestion]:
        """The ``top`` codes of ``scheme`` for ``text``, best first."""
        return self.predict_many([text], scheme, top)[0]
