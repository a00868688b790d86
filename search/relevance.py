"""What makes a listing relevant to a search-page query, shared by both backends (``Query(relevant=True)``).

The old page ranked every listing sharing any word of the query and, when none did, showed the nearest listings by
meaning: «сварка» answered «Найдено: 2242» with soap on top, «токарные работы» matched every «работы». Here:

- **Content words decide, generic words only rank.** «работы», «услуги», «обработка», «изготовление»… (FILLER)
  never make a listing match on their own. Each content word matches by its snowball stem, by its word family
  (:mod:`search.russian`) or by a *shared prefix* of its stem (:func:`shared_prefix`: «фрезеровк» → «фрезеро…»,
  «фрезерн» → «фрезер…» finds «фрезеровка», «фрезерование», «фрезерные»). One or two content words must all
  match; from three on, all but one (:func:`required_words`).
- **Operations.** The caller (the marketplace, which owns the catalogue) passes an :class:`Expansion`: the catalogue
  operations named in the query and their names and synonyms. A listing carrying one of those operations (documents
  carry ancestors), or containing one of the phrases, matches as well, whatever the words.
- **Vectors only above a floor.** In hybrid mode a listing found only by meaning is kept when its cosine is at
  least ``best lexical cosine - VECTOR_MARGIN`` and at least ``VECTOR_FLOOR``; with no lexical hit at all the
  floor is ``VECTOR_FLOOR_ALONE``. The numbers were chosen on the demo marketplace with ``cosmos eval search``
  (docs/search.md, "Relevance"). ``total`` counts the lexical matches plus the kept vector-only listings.

Plain Python: the backends pass their own stemmer so the stems agree with their index.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from search.russian import fold_yo

FILLER_WORDS = ("работа работы работ работам услуга услуги услуг обработка обработки обработке изготовление "
                "изготовления изготовим изготавливаем производство производства производим выполнение выполняем "
                "выполнения заказ заказу заказа под деталь детали деталей изделие изделия изделий продукция "
                "продукции прочий прочие прочих прочая прочее вид виды оборудование оборудования")
# Combining forms of Russian compounds: «металлокаркас» is a «каркас» of «металл», «электромотор» a «мотор» (the
# root is matched as a stem prefix, the head as a word; see :func:`compound_parts`).
COMBINING_FORMS = (("металло", "металл"), ("электро", "электр"), ("гидро", "гидр"), ("пневмо", "пневм"),
                   ("термо", "терм"), ("тепло", "тепл"), ("водо", "вод"), ("газо", "газ"), ("нефте", "нефт"),
                   ("энерго", "энерг"), ("вибро", "вибр"), ("авто", "авто"), ("мото", "мото"))
_STOP = "и в во на по с со к ко из для от до о об при под над а или же не ни что как"
STOP_WORDS = frozenset(_STOP.split())
VECTOR_FLOOR = 0.45        # never keep a vector-only listing below this cosine
VECTOR_MARGIN = 0.10       # ... nor more than this below the best lexical hit's cosine
VECTOR_FLOOR_ALONE = 0.80  # with no lexical hit: only a near paraphrase counts
ANCHOR_DEPTH = 100         # the best lexical cosine is taken over this many top lexical hits
OPERATION_SCORE = 8.0      # a listing tagged with a named operation ranks with a strong title hit
PREFIX_SCORE = 0.5         # a derived form found through the shared prefix ranks below the exact stem
_QUOTED = re.compile(r'"([^"]*)"')
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Expansion:
    """Operations named in a query (catalogue ids) and the phrases that name them (names, synonyms)."""

    operations: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.operations or self.phrases)


@dataclass(frozen=True)
class WordGroup:
    """One content word of the query: it matches by its stem, its family (backend's own) or the shared prefix."""

    word: str
    stem: str
    prefix: str | None
    compound: tuple[str, str] | None = None  # (root prefix, head word): the parts of a compound, both must occur


@dataclass(frozen=True)
class TextPlan:
    groups: tuple[WordGroup, ...]
    required: int
    fillers: tuple[str, ...]            # generic words: they rank, never match alone
    words: tuple[str, ...]              # every unquoted word, for the whole-phrase bonus
    phrases: tuple[tuple[str, ...], ...]  # expansion phrases as word lists
    operations: tuple[str, ...]
    quoted: tuple[tuple[str, ...], ...]   # "quoted phrases" that must occur
    prefix_word: str | None

    @property
    def matches_nothing(self) -> bool:
        return not (self.groups or self.phrases or self.operations or self.quoted or self.prefix_word)


def shared_prefix(stem: str) -> str | None:
    """The prefix a derived form must share with ``stem``: ≥ 5 letters and ≥ ¾ of the stem (the rule of
    ``matching.operations.same_word``); None for a stem too short to risk it. A soft sign that ends the cut is
    dropped: the stemmer drops it from the base word («стальн» → «сталь…» would miss «стал», the stem of «сталь»;
    «кабельн» → «кабел», the stem of «кабель»)."""
    if len(stem) < 5 or not stem.isalpha():
        return None
    return stem[: max(5, math.ceil(0.75 * len(stem)))].rstrip("ьъ")


def compound_parts(word: str) -> tuple[str, str] | None:
    """(root prefix, head word) of a compound with a combining form («металлокаркас» → («металл», «каркас»)), or
    None. The head must be a word of four letters or more; a listing that names both parts apart («металлические
    конструкции каркаса») matches the compound."""
    for form, root in COMBINING_FORMS:
        head = word[len(form):]
        if word.startswith(form) and len(head) >= 4 and head.isalpha():
            return root, head
    return None


def required_words(n: int) -> int:
    """How many of ``n`` content words must match: all of one or two, all but one from three on."""
    return n if n <= 2 else n - 1


def filler_stems(stem: Callable[[str], str]) -> frozenset[str]:
    return frozenset(s for s in (stem(w) for w in FILLER_WORDS.split()) if s)


def plan_text(text: str, *, stem: Callable[[str], str], fillers: frozenset[str], expansion: Expansion | None = None,
              prefix: bool = False) -> TextPlan:
    """Split a query into content word groups, generic words, phrases that must occur and expansion terms."""
    text = fold_yo(text)
    quoted = tuple(tuple(_WORD.findall(p.lower())) for p in _QUOTED.findall(text) if _WORD.findall(p))
    rest = _QUOTED.sub(" ", text)
    words = _WORD.findall(rest.lower())
    prefix_word = words.pop() if prefix and words and not rest[-1:].isspace() else None
    groups: dict[str, WordGroup] = {}
    generic: dict[str, None] = {}
    for word in words:
        if word in STOP_WORDS:
            continue
        s = stem(word)
        if not s:
            continue
        if s in fillers:
            generic.setdefault(word, None)
        elif s not in groups and len(word) > 1:
            groups[s] = WordGroup(word, s, shared_prefix(s), compound_parts(word))
    expansion = expansion or Expansion()
    phrases = tuple(dict.fromkeys(tuple(w for w in _WORD.findall(fold_yo(p).lower())) for p in expansion.phrases
                                  if _WORD.findall(p)))
    if not groups and not phrases and not expansion.operations and not quoted and not prefix_word and generic:
        # Only generic words («услуги»): they are all the query has, so they decide.
        groups = {stem(w): WordGroup(w, stem(w), None) for w in generic}
        generic = {}
    return TextPlan(groups=tuple(groups.values()), required=required_words(len(groups)), fillers=tuple(generic),
                    words=tuple(words), phrases=phrases, operations=tuple(expansion.operations), quoted=quoted,
                    prefix_word=prefix_word)


def vector_floor(anchor: float | None) -> float:
    """The least cosine a vector-only listing needs, given the best lexical hit's cosine (None: no lexical hit)."""
    if anchor is None:
        return VECTOR_FLOOR_ALONE
    return max(VECTOR_FLOOR, anchor - VECTOR_MARGIN)


def relevant_ranking(lexical: Sequence[int], lexical_cosine: Mapping[int, float],
                     vector_only: Sequence[tuple[int, float]], *, text_weight: float = 1.0,
                     vector_weight: float = 1.0, k: int = 60) -> list[tuple[int, float]]:
    """Lexical hits first, ordered by reciprocal rank fusion of their BM25 rank and their cosine rank; then the
    kept vector-only hits by cosine. Scores are the fused score (lexical) and the cosine scaled under the last
    lexical score (vector-only), so ``score`` stays descending."""
    by_cosine = sorted((i for i in lexical if i in lexical_cosine), key=lambda i: -lexical_cosine[i])
    scores: dict[int, float] = {}
    for ids, weight in ((lexical, text_weight), (by_cosine, vector_weight)):
        for rank, doc_id in enumerate(ids, start=1):
            scores[doc_id] = scores.get(doc_id, 0.0) + weight / (k + rank)
    ranked = sorted(((i, scores.get(i, 0.0)) for i in lexical), key=lambda item: -item[1])
    floor = ranked[-1][1] if ranked else 1.0
    tail = sorted(vector_only, key=lambda item: -item[1])
    ranked.extend((i, floor * 0.5 * max(c, 0.0)) for i, c in tail)
    return ranked


def catalogue_expansion(catalogue: Any, text: str, *, min_confidence: float = 0.6, top: int = 3,
                        max_phrases: int = 16) -> Expansion:
    """The operations a catalogue (``matching.operations.OperationCatalogue`` or anything with ``recognize`` and
    ``get``) recognises in ``text``, with their names and synonyms as phrases."""
    found = [r for r in catalogue.recognize(text, top=top) if r.confidence >= min_confidence]
    ops: list[str] = []
    phrases: list[str] = []
    for rec in found:
        op = catalogue.get(rec.operation_id)
        if op is None:
            continue
        ops.append(op.id)
        phrases.extend([op.name.lower(), *op.synonyms])
    return Expansion(tuple(dict.fromkeys(ops)), tuple(dict.fromkeys(phrases))[:max_phrases])


def with_ancestors(op_ids: Iterable[str], ancestors: Callable[[str], Iterable[str]]) -> tuple[str, ...]:
    """Operation ids with every ancestor, in first-seen order (what a Document carries)."""
    out: dict[str, None] = {}
    for op_id in op_ids:
        out.setdefault(op_id, None)
        for anc in ancestors(op_id):
            out.setdefault(anc, None)
    return tuple(out)
