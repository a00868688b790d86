"""The word level of operation recognition (:mod:`matching.operations`): words, derived forms, phrase location.

A phrase (an operation's name or synonym) is a tuple of Snowball stems; it is found in a text when each of its
content words occurs in some form, close together. Generic words («работы», «изготовление») are optional; the parts
of a hyphenated word («токарно-фрезерная») must stand together, in order, as one hyphenated word of the text.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from matching.text import _TOKEN_RE, STOP_WORDS, normalize, stem, tokenize

# Words that say nothing about which operation is meant: they may be part of a phrase but never decide it.
_FILLER_WORDS = ("работы работ услуги услуга обработка изготовление производство выполнение выполняем деталей детали "
                 "изделий изделия по на из под для с")
FILLER = frozenset(stem(w) for w in _FILLER_WORDS.split())
# Filler a text may leave out: «сварочные» is «сварочные работы», «металлоконструкции» «изготовление металлоконструкций».
OPTIONAL = frozenset(stem(w) for w in ["работы", "услуги", "изготовление", "производство", "выполнение"])
# Nouns of machines and tools: «токарные станки», «сварочный полуавтомат» name equipment (a product), not the work.
_EQUIPMENT_WORDS = ("станок станки станков станка станкам станочный оборудование инструмент инструмента полуавтомат "
                    "полуавтоматы аппарат аппараты установка установки машина машины агрегат электроды электродов "
                    "проволока листогиб листогибы трубогиб трубогибы пресс прессы вальцы гильотина термопластавтомат "
                    "принтер принтеры патрон патроны резец резцы фреза фрезы сверло сверла")
EQUIPMENT_NOUNS = frozenset(stem(w) for w in _EQUIPMENT_WORDS.split())
ON = frozenset(("на", "в", "с"))  # «на станках», «в камере», «с ЧПУ»: where the work is done
LINKS = frozenset(("для", "по"))  # «станки для резки», «оборудование по гибке»
ABBR_RE = re.compile(r"(?<![0-9A-Za-zА-Яа-яЁё])([A-ZА-ЯЁ][A-ZА-ЯЁ0-9/\-]{0,9})(?![0-9A-Za-zА-Яа-яЁё])")

# Endings that turn one stem into another form of the same word: an adjective, a verbal noun, trade slang
# («фрезер|н» ~ «фрезер|овк» ~ «фрезер|овочн», «токар|н» ~ «токар|к», «закал|к» ~ «закал|очн», «лист» ~ «лист|ов»).
_TAILS = frozenset(["н", "к", "ов", "овк", "ован", "овочн", "овальн", "альн", "ан", "очн", "ичн", "ическ", "ск", "енн",
                    "ен", "ени", "ион", "ионн", "ок"])
# A bare stem and a derived one are the same word only through an adjective ending: «штамп» (a die) is not
# «штамп|овк» (stamping), «цинк» (the metal) is not «цинк|ован» (galvanizing).
_ADJECTIVE_TAILS = frozenset(["н", "ов", "ев", "иев", "ск", "енн", "ичн", "ическ", "ион", "ионн"])
# Adjective endings; the ambiguous ones only after the letters adjectives have there: «горячий», «режущие»,
# «внутренней», «стальной», «механической» are adjectives, «изделий», «деталей», «точение», «сваркой» are nouns.
_ADJECTIVE_RE = re.compile(r"(?:ый|ая|яя|ое|ые|ых|ого|ому|ему|ым|ую|юю|ыми"
                           r"|[кгхжшщч](?:ий|ие|их|им|ими)|нн(?:ий|ие|их|им|ими|ей|ее|его)|[жшщч](?:ей|ее|его)"
                           r"|(?:[нв]|ск|цк)ой)$")


@lru_cache(maxsize=200_000)
def same_word(a: str, b: str) -> bool:
    """Two stems name the same word: equal, or a shared prefix of ≥ 4 letters followed by derivational endings
    only. «фрезерн» ~ «фрезеровк», «токарн» ~ «токарк»; «электрон» is not «электрод», «металл» is not
    «металлообработк», «лист» is not «листогиб»."""
    if a == b:
        return True
    common = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        common += 1
    if common < 4:
        return False
    ta, tb = a[common:], b[common:]
    if not ta or not tb:  # one letter is the stemmer's own inconsistency: «печать» → «печа», «печати» → «печат»
        return (ta or tb) in _ADJECTIVE_TAILS or len(ta or tb) == 1
    return ta in _TAILS and tb in _TAILS


def prefix(key: str) -> str:
    """The part of a stem every form of it shares (:func:`same_word` needs four common letters)."""
    return key[:4]


def is_adjective(word: str) -> bool:
    """An adjective or participle by its ending («токарные», «сварочный»), not a verbal noun («точение»)."""
    return bool(_ADJECTIVE_RE.search(word))


_SEPARATOR_RE = re.compile(r"[,;:/]")
_NUMBER_PREFIXES = {"2": "двух", "3": "трех", "4": "четырех", "5": "пяти", "6": "шести"}
_NUMBER_PREFIX_RE = re.compile(r"([2-6])(?:-х)?-(?=[а-я])")


def split_words(text: str) -> tuple[list[str], frozenset[int]]:
    """Word tokens, hyphenated compounds split into their parts (read by their parts, not by a prefix of the
    first: «токарно-фрезерная» is «токарно», «фрезерная»; «3D-печать» is «3d», «печать»), and the positions i whose
    word i and i + 1 were one hyphenated token."""
    words, joined, _ = _split(text)
    return words, joined


def _split(text: str) -> tuple[list[str], frozenset[int], frozenset[int]]:
    """:func:`split_words` and the positions of the words that follow a comma, a semicolon, a colon or a slash."""
    out: list[str] = []
    joined: set[int] = set()
    after_comma: set[int] = set()
    source, end = normalize(text), 0
    for match in _TOKEN_RE.finditer(source):
        token = match.group(0)
        if match.start() > end and _SEPARATOR_RE.search(source, end, match.start()):
            after_comma.add(len(out))
        end = match.end()
        number = _NUMBER_PREFIX_RE.match(token)
        if number:  # «5-осевая» is «пятиосевая», «2-слойные» «двухслойные»
            token = _NUMBER_PREFIXES[number.group(1)] + token[number.end():]
        parts = [p for p in token.split("-") if p] if "-" in token else [token]
        joined.update(range(len(out), len(out) + len(parts) - 1))
        out.extend(parts)
    return out, frozenset(joined), frozenset(after_comma)


def words_of(text: str) -> list[str]:
    return split_words(text)[0]


@dataclass(frozen=True)
class Phrase:
    operation_id: str
    keys: tuple[str, ...]  # content stems, all present (those in OPTIONAL when the text has them)
    text: str
    is_name: bool
    compounds: tuple[int, ...] = ()  # i: keys[i] and keys[i + 1] are one hyphenated word, adjacent in that order
    nouns: frozenset[str] = frozenset()  # the keys that are nouns in the phrase («сварка» of «сварка труб»)

    @property
    def required(self) -> frozenset[str]:
        """The starts (:func:`prefix`) of the words a text must have for this phrase to be found in it."""
        return frozenset(prefix(k) for k in self.keys if k not in OPTIONAL)

    @classmethod
    def build(cls, operation_id: str, text: str, is_name: bool = False) -> Phrase | None:
        keys: list[str] = []
        compounds: list[int] = []
        nouns: set[str] = set()
        for token in tokenize(text):
            parts = [stem(t) for t in token.split("-") if t and t not in STOP_WORDS and (len(t) > 1 or t.isdigit())]
            if not is_adjective(token) and parts:
                nouns.add(parts[-1])
            for j, key in enumerate(parts):
                if key in keys:
                    continue
                if j > 0 and keys and keys[-1] == parts[j - 1]:
                    compounds.append(len(keys) - 1)
                keys.append(key)
        if not keys or all(k in FILLER for k in keys):
            return None
        return cls(operation_id, tuple(keys), text, is_name, tuple(compounds), frozenset(nouns))


class Positions:
    """A text's stems, and where each phrase word occurs in them (computed once per word and text)."""

    def __init__(self, text: str):
        self.words, self.joined, self.after_comma = _split(text)
        self.keys = [stem(w) for w in self.words]
        self.prefixes = frozenset(prefix(k) for k in self.keys)
        self._distinct = tuple(dict.fromkeys(self.keys))
        self._hits: dict[str, list[int]] = {}

    def hits(self, word: str) -> list[int]:
        out = self._hits.get(word)
        if out is None:
            similar = {k for k in self._distinct if same_word(word, k)}
            out = self._hits[word] = [i for i, k in enumerate(self.keys) if k in similar] if similar else []
        return out

    def described(self, phrase: Phrase, positions: Sequence[int]) -> bool:
        """The phrase's work noun is only an adjective here: «сварных соединений трубопроводов» describes a thing
        («сварка трубопроводов» is not asked for)."""
        return any(is_adjective(self.words[i]) and any(same_word(n, self.keys[i]) for n in phrase.nouns)
                   for i in positions)

    def on_machine(self, positions: Sequence[int]) -> bool:
        """«на токарных станках»: the words qualify a machine the work is done on."""
        lo, hi = min(positions), max(positions)
        return lo > 0 and self.words[lo - 1] in ON and hi + 1 < len(self.keys) and self.keys[hi + 1] in EQUIPMENT_NOUNS

    def modifier(self, i: int) -> bool:
        """Word i qualifies a noun: an adjective, a machine noun itself, or the word after «с» («станки с ЧПУ»)."""
        return is_adjective(self.words[i]) or self.keys[i] in EQUIPMENT_NOUNS or (i > 0 and self.words[i - 1] == "с")

    def coordinated(self, positions: Sequence[int]) -> bool:
        """An «и», «или» or a comma between the words: «лазерная и плазменная резка», «токарные, фрезерные работы»."""
        lo, hi = min(positions), max(positions)
        return any(self.words[i] in ("и", "или") or (i > lo and i in self.after_comma) for i in range(lo, hi + 1))

    def tight(self, chosen: Sequence[int]) -> bool:
        """The words in the phrase's order with nothing but stop and filler words between them."""
        if any(b <= a for a, b in zip(chosen, chosen[1:], strict=False)):
            return False
        taken = set(chosen)
        return all(i in taken or self.words[i] in STOP_WORDS or self.keys[i] in FILLER
                   for i in range(chosen[0], chosen[-1] + 1))


def locate(phrase: Phrase, where: Positions, window: int = 4) -> tuple[list[int], int] | None:
    """Positions of the phrase's words (in the phrase's order; optional filler left out when absent), no more than
    ``window`` apart beyond the phrase's own length, and the span; None when a required word is missing."""
    hits_per_word: list[list[int]] = []
    for p in phrase.keys:
        hits = where.hits(p)
        if not hits and p not in OPTIONAL:
            return None
        hits_per_word.append(hits)
    anchor = next(i for i, h in enumerate(hits_per_word) if h)
    best: tuple[list[int], int] | None = None
    for start in hits_per_word[anchor]:
        chosen: list[int | None] = [min(h, key=lambda i: abs(i - start)) if h else None for h in hits_per_word]
        chosen[anchor] = start
        for c in phrase.compounds:  # «токарно-фрезерная», not «токарные, фрезерные»
            pair = [i for i in hits_per_word[c] if i in where.joined and i + 1 in hits_per_word[c + 1]]
            if not pair:
                break
            chosen[c], chosen[c + 1] = pair[0], pair[0] + 1
        else:
            present = [i for i in chosen if i is not None]
            span = max(present) - min(present) + 1
            if span > len(phrase.keys) + window:  # an optional word far away is left out, not a reason to fail
                present = [i for i, k in zip(chosen, phrase.keys, strict=True)
                           if i is not None and (k not in OPTIONAL or abs(i - start) <= window)]
                span = max(present) - min(present) + 1
            if span <= len(phrase.keys) + window and (best is None or span < best[1]):
                best = (present, span)
    return best
