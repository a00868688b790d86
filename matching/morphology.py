"""Russian morphology for reading what a listing is about: lemmas, parts of speech and the head noun of a title.

Built on pymorphy3 (OpenCorpora dictionaries, ``pymorphy3-dicts-ru``): a dictionary analyser, not a stemmer, so
«подшипники», «подшипников» and «подшипник» give one lemma and «роликовые» is known to be an adjective. The head of
«Подшипники роликовые для конвейера» is «подшипник» with the modifier «роликовый»; of «Производство шариковых и
роликовых подшипников» it is also «подшипник» (framing nouns such as «производство», «поставка» are skipped). The
analyser loads in ~0.2 s on first use; results are memoised.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_WORD_RE = re.compile(r"[A-Za-zА-Яа-яЁё][A-Za-zА-Яа-яЁё0-9\-]*")

# Nouns that frame a title rather than name the thing: «Поставка подшипников», «Производство кабелей»,
# «Неликвид: редукторы», «Аренда: экскаватор», «Требуется: …».
_FRAMING = """
поставка закупка приобретение покупка продажа реализация производство изготовление выпуск разработка
неликвид неликвиды остаток остатки аренда прокат услуга услуги работа работы требоваться требуется нужный
предложение заявка лот тендер продукция товар товары изделие изделия комплект партия шт штука
поставщик производитель завод предприятие цех
"""
FRAMING = frozenset(_FRAMING.split())


@dataclass(frozen=True)
class Word:
    text: str
    lemma: str
    pos: str | None
    case: str | None
    number: str | None


@lru_cache(maxsize=1)
def _analyzer():
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


@lru_cache(maxsize=200_000)
def analyze(word: str) -> Word:
    """The most probable parse of one word (lower case, ё→е in the lemma)."""
    w = word.lower().replace("ё", "е")
    if not re.search("[а-я]", w):
        return Word(w, w, "LATN", None, None)
    p = _analyzer().parse(w)[0]
    tag = p.tag
    return Word(w, p.normal_form.replace("ё", "е"), _s(tag.POS), _s(tag.case), _s(tag.number))


def words(text: str) -> list[Word]:
    """Parsed words of ``text``; ``text`` of each keeps its original case («ВВГнг»)."""
    out = []
    for t in _WORD_RE.findall(text):
        w = analyze(t)
        out.append(w if w.text == t else Word(t, w.lemma, w.pos, w.case, w.number))
    return out


def lemmas(text: str) -> set[str]:
    """Lemmas of the content words (nouns, adjectives, participles, Latin tokens) of ``text``."""
    return {w.lemma for w in words(text) if w.pos in ("NOUN", "ADJF", "PRTF", "LATN") and len(w.lemma) > 1}


@dataclass(frozen=True)
class Head:
    """The head noun of a noun phrase and the words that qualify it (adjectives, a genitive noun after it)."""

    lemma: str
    text: str
    modifiers: frozenset[str]
    marks: frozenset[str] = frozenset()  # type marks as written («ВВГнг-LS», «ЗКП»): see :func:`mark_families`

    @property
    def phrase(self) -> str:
        return self.text


def head(text: str) -> Head | None:
    """The thing a title names: the first noun that is not a framing word, with its modifiers.

    The modifiers are the adjectives and participles around it in the same clause (up to a preposition, a
    comma or a conjunction) and the nouns in the genitive right after it («кабели *связи*»).
    """
    clause = re.split(r"[,;:()«»\"]|\s[-–—]\s|\sдля\s|\sпо\s|\sс\s|\sиз\s|\sна\s|\sв\s", " " + text + " ")
    tokens: list[Word] = []
    for part in clause:
        ws = words(part)
        if any(w.pos == "NOUN" and w.lemma not in FRAMING and len(w.lemma) > 2 for w in ws):
            tokens = ws
            break
    if not tokens:
        return None
    index = next(i for i, w in enumerate(tokens) if w.pos == "NOUN" and w.lemma not in FRAMING and len(w.lemma) > 2)
    noun = tokens[index]
    mods = {w.lemma for w in tokens if w.pos in ("ADJF", "PRTF") and w.lemma not in FRAMING}
    for w in tokens[index + 1:]:
        genitive = w.pos == "NOUN" and w.case == "gent" and w.lemma not in FRAMING
        if genitive or w.pos == "LATN" or (w.pos == "NOUN" and w.text[:1].isupper()):
            mods.add(w.lemma)
        elif w.pos not in ("ADJF", "PRTF", "CONJ"):
            break
    marks = set()
    for w in tokens:
        if w.pos == "LATN" or sum(c.isupper() for c in w.text) >= 2:  # a type or brand: «ВВГнг-LS», «ШХ15»
            mods.add(w.lemma)
            marks.add(w.text)
    return Head(noun.lemma, noun.text, frozenset(mods), frozenset(marks))


# Upper-case words that are not a product's type mark: standards, documents, forms of companies, processes.
_NOT_MARKS = frozenset(["ГОСТ", "ОСТ", "ТУ", "СТО", "СНИП", "СП", "ЕСКД", "ЧПУ", "ТВЧ", "ПНР", "ООО", "ОАО", "ЗАО", "АО", "ПАО", "ИП", "РФ", "СНГ", "ЕАЭС", "НДС", "ТК", "ЖД", "РЖД", "ДФО", "КПД", "ТЗ", "КД", "ПО", "ПК", "СМР", "ISO", "DIN", "EN", "ASTM", "AISI", "CNC", "MIG", "MAG", "TIG", "MMA", "SMD", "SMT", "THT", "BGA", "PDF", "DXF", "DWG", "STEP", "CAD", "CAM"])


def mark_families(marks: frozenset[str] | set[str]) -> frozenset[str]:
    """The family of each type mark: its leading Cyrillic capitals («ВВГнг(А)-LS» → «ВВГ», «МКПАБ» → «МКПАБ»,
    «КГ» → «КГ»), leaving out standards and the like (ГОСТ, ЧПУ) and single letters. Russian type marks (of cables,
    wires, steels by ГОСТ) are Cyrillic; Latin capitals are mostly brands and options («SKF», «2RS», «LS»), which
    say nothing against another mark, so they are left out too. Two marks are of one family when one family starts
    with the other («МКП» and «МКПАБ»)."""
    out = set()
    for mark in marks:
        lead = re.match(r"[А-ЯЁ]+", mark.replace("ё", "е"))
        family = lead.group(0) if lead else ""
        if len(family) >= 2 and family.upper() not in _NOT_MARKS:
            out.add(family)
    return frozenset(out)


def _s(value: object) -> str | None:
    return None if value is None else str(value)
