"""A vocabulary of industrial product types: what a buyer calls a thing → the ОКПД2 codes it belongs to.

Plain Python over plain data (``marketplace/refdata/data/goods/*.yaml``, see its SOURCES.md). The official ОКПД2
names rarely use the words of the trade: «Плиты ДСП» are «Плиты древесно-стружечные», «Гипсокартон» is «Изделия из
гипса строительные», «Электросчётчики» are «Счетчики … электроэнергии». Each product type has a stable ``id``, a
Russian ``name`` as a buyer writes it, its ``okpd2`` subcategory codes and ``terms``: trade names, abbreviations,
colloquial and ГОСТ forms.

Recognition (:meth:`GoodsVocabulary.recognize`) reads Russian lemmas (:mod:`matching.morphology`). A term matches a
text when

* all its content lemmas are in the text and its head noun is the text's head noun (the first noun that is not a
  framing word such as «поставка») — so «Ящики пластиковые для овощей» are boxes, not vegetables, «Овощи в
  пластиковых ящиках» are vegetables, and «Пластиковые окна» are not plastic boxes; an adjective alone names nothing;
* or the term is an abbreviation («ДСП», «ГКЛ», «ЖБИ», «А500С»: one token with two capitals) found as a token of
  the text («лдсп» in lower case too, when the token has almost no vowels). Beside a recognised head noun, an
  abbreviation outside the head's own phrase is a qualifier and ranks below it («Кран-манипулятор на шасси КАМАЗ»).

Longer terms win; a type whose best term's words are a strict part of another match's is dropped («Запорная
арматура» is valves, not rebar). Candidates come from an index head lemma → terms, so one text takes a few hundredths
of a millisecond after load (pymorphy's analysis of a word is memoised by :mod:`matching.morphology`).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matching.morphology import FRAMING, Head, Word, head, words

__all__ = ["GoodsError", "GoodsType", "GoodsVocabulary", "load_goods"]

KEYS = frozenset({"id", "name", "okpd2", "terms"})
_ID_RE = re.compile(r"[a-z][a-z0-9_]*")
_CODE_RE = re.compile(r"\d{2}\.\d{2}\.\d{2}(\.\d{3})?")
_CONTENT_POS = frozenset({"NOUN", "ADJF", "PRTF", "LATN", None})
_GUESSED_POS = frozenset({"VERB", "INFN", "GRND", "PRTS", "ADVB", "ADJS"})
# Words that never carry a product type's meaning alone (measures, framing).
_WEAK = frozenset({"для", "из", "и", "или", "с", "на", "в", "по", "мм", "см", "кг", "шт", "тонна", "метр", "штука"})


class GoodsError(ValueError):
    """The goods reference data is malformed: the message names the file, the entry and the field."""


@dataclass(frozen=True)
class GoodsType:
    id: str
    name: str
    okpd2: tuple[str, ...]
    terms: tuple[str, ...] = ()
    file: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "okpd2": list(self.okpd2), "terms": list(self.terms)}


@dataclass(frozen=True)
class _Term:
    goods: str
    text: str
    lemmas: frozenset[str]
    abbreviation: bool


def is_abbreviation(term: str) -> bool:
    """One token with two or more upper-case letters: «ДСП», «ЛДСП», «ВВГнг», «А500С», «OSB»."""
    return " " not in term.strip() and sum(c.isupper() for c in term) >= 2


def _lemma(w: Word) -> str | None:
    """The content lemma of a word, or None. A trade word pymorphy does not know is guessed as a verb
    («керамогранит» → «керамогранить», «стекложгут»): in a goods name it is a noun, kept as written."""
    if w.pos in _GUESSED_POS:
        lemma = w.text.lower().replace("ё", "е")
    elif w.pos in _CONTENT_POS:
        lemma = w.lemma
    else:
        return None
    return lemma if len(lemma) > 1 and lemma not in _WEAK else None


def _lower_abbreviation(token: str) -> bool:
    """«дсп», «лдсп», «пвх» written in lower case still read as abbreviations: three letters or more and (almost) no
    vowels, so that a word («дом», «кран») is never taken for one."""
    vowels = sum(c in "аеёиоуыэюяaeiouy" for c in token.lower())
    return len(token) >= 3 and vowels * 4 <= len(token)


def content_lemmas(text: str) -> frozenset[str]:
    """Lemmas of the content words, abbreviations included (pymorphy gives «ДСП» no part of speech)."""
    return frozenset(lem for lem in map(_lemma, words(text)) if lem)


class GoodsVocabulary:
    """Product types by id with an index lemma → terms for recognition."""

    def __init__(self, types: Iterable[GoodsType]) -> None:
        self.types: dict[str, GoodsType] = {}
        self._by_head: dict[str, list[_Term]] = {}   # a term's head noun lemma → the terms
        self._words: set[str] = set()                 # every content lemma of every term
        self._abbr: dict[str, list[_Term]] = {}
        for t in types:
            if t.id in self.types:
                raise GoodsError(f"{t.file}: повторяется id {t.id!r}")
            self.types[t.id] = t
            seen: set[frozenset[str] | str] = set()
            for text in (t.name, *t.terms):
                if is_abbreviation(text):
                    key: frozenset[str] | str = text.upper()
                    if key not in seen:
                        seen.add(key)
                        self._abbr.setdefault(text.upper(), []).append(_Term(t.id, text, frozenset({text.lower()}),
                                                                             True))
                    continue
                lem = content_lemmas(text)
                if not lem or lem in seen:
                    continue
                seen.add(lem)
                ws = words(text)
                key_lemma = _head_lemma(ws, head(text), None)
                if key_lemma not in lem:  # no noun in the term: its first content word
                    key_lemma = next(x for x in map(_lemma, ws) if x)
                self._by_head.setdefault(key_lemma, []).append(_Term(t.id, text, lem, False))
                self._words |= lem

    # -- building ----------------------------------------------------------------------------------------------
    @classmethod
    def from_entries(cls, entries: Sequence[Mapping[str, Any]], file: str = "<entries>",
                     known_codes: set[str] | None = None) -> GoodsVocabulary:
        return cls(_parse(entries, file, known_codes, set()))

    @classmethod
    def from_dir(cls, path: str | Path, known_codes: set[str] | None = None) -> GoodsVocabulary:
        """Read every ``*.yaml`` of ``path`` in name order; ``known_codes`` (ОКПД2 codes) checks each code exists."""
        import yaml

        types: list[GoodsType] = []
        ids: set[str] = set()
        files = sorted(Path(path).glob("*.yaml"))
        if not files:
            raise GoodsError(f"{path}: нет файлов *.yaml")
        for file in files:
            try:
                data = yaml.safe_load(file.read_text(encoding="utf-8")) or []
            except yaml.YAMLError as exc:
                raise GoodsError(f"{file.name}: не читается как YAML: {exc}") from exc
            types.extend(_parse(data, file.name, known_codes, ids))
        return cls(types)

    # -- reading -----------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.types)

    def __contains__(self, goods_id: object) -> bool:
        return goods_id in self.types

    def get(self, goods_id: str) -> GoodsType | None:
        return self.types.get(goods_id)

    def recognize(self, text: str, top: int = 3) -> list[tuple[GoodsType, float]]:
        """The product types ``text`` names, best first, with a confidence in (0, 1]."""
        if not text or not text.strip():
            return []
        ws = words(text)
        text_lemmas: set[str] = set()
        for w in ws:
            lem = _lemma(w)
            if lem and (w.pos not in _GUESSED_POS or lem in self._words):  # a real verb («куплю») is no content
                text_lemmas.add(lem)
        best: dict[str, tuple[float, float, frozenset[str]]] = {}

        def consider(term: _Term, size: float, conf: float, covered: frozenset[str]) -> None:
            old = best.get(term.goods)
            if old is None or (size, conf) > old[:2]:
                best[term.goods] = (size, conf, covered)

        h = head(text)
        head_lemma = _head_lemma(ws, h, self._words)
        if head_lemma is not None:
            n_text = max(len(text_lemmas), 1)
            for term in self._by_head.get(head_lemma, ()):
                if term.lemmas <= text_lemmas:
                    size = len(term.lemmas)
                    conf = (0.7 + 0.1 * (min(size, 4) - 1)) * (0.8 + 0.2 * min(1.0, size / n_text))
                    consider(term, size, conf, term.lemmas)
        # An abbreviation names the thing when nothing names the head («ЖБИ», «ВВГнг 3×2,5») or when it qualifies
        # the head noun itself («Плиты ДСП», «Сапоги ЭВА»); in another part of the text, beside a recognised head, it
        # is a qualifier of something else («Кран-манипулятор на шасси КАМАЗ») and ranks below the head's types.
        recognised = bool(best)
        modifiers = h.modifiers if h is not None else frozenset()
        for w in ws:
            token = w.text
            if not is_abbreviation(token) and not (_lower_abbreviation(token) and token.upper() in self._abbr):
                continue
            qualifier = recognised and token.lower() not in modifiers
            for term in self._abbr.get(token.upper(), ()):
                consider(term, 0.5 if qualifier else 1.5, 0.5 if qualifier else 0.85, frozenset({token.lower()}))
        if not best:
            return []
        # A type whose words are a strict part of another's match is not what the text names.
        kept = {gid: v for gid, v in best.items()
                if not any(v[2] < other[2] for og, other in best.items() if og != gid)}
        ranked = sorted(kept.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))
        return [(self.types[gid], round(v[1], 3)) for gid, v in ranked[:top]]

    def codes(self, text: str, top: int = 3) -> list[str]:
        """The ОКПД2 codes of the recognised types, in order, without repeats."""
        out: list[str] = []
        for t, _ in self.recognize(text, top):
            out.extend(c for c in t.okpd2 if c not in out)
        return out


def _head_lemma(ws: list[Word], h: Head | None, known: set[str] | None) -> str | None:
    """The head noun's lemma (:func:`matching.morphology.head`), or an earlier trade word pymorphy guessed as a verb
    form that is a noun here («Керамогранит 60×60», «Куплю стекложгут»; in a text, only a word the vocabulary knows)."""
    for w in ws:
        if w.pos in _GUESSED_POS:
            lem = _lemma(w)
            if lem and (known is None or lem in known) and lem not in FRAMING:
                return lem
        elif h is not None and w.pos == "NOUN" and w.lemma == h.lemma:
            break
    return h.lemma if h is not None else None


def load_goods(path: str | Path, known_codes: set[str] | None = None) -> GoodsVocabulary:
    return GoodsVocabulary.from_dir(path, known_codes)


def _parse(data: Any, file: str, known_codes: set[str] | None, ids: set[str]) -> list[GoodsType]:
    if not isinstance(data, list):
        raise GoodsError(f"{file}: ожидается список типов продукции")
    out = []
    for i, entry in enumerate(data, 1):
        where = f"{file}: запись {i}"
        if not isinstance(entry, Mapping):
            raise GoodsError(f"{where}: ожидается словарь с полями {sorted(KEYS)}")
        gid = entry.get("id")
        if isinstance(gid, str):
            where = f"{file}: {gid}"
        unknown = sorted(set(map(str, entry)) - KEYS)
        if unknown:
            raise GoodsError(f"{where}: неизвестные поля {unknown}")
        missing = sorted(k for k in ("id", "name", "okpd2") if not entry.get(k))
        if missing:
            raise GoodsError(f"{where}: нет поля {', '.join(missing)}")
        if not isinstance(gid, str) or not _ID_RE.fullmatch(gid):
            raise GoodsError(f"{where}: поле id {gid!r} — латиница, цифры и «_», с буквы")
        if gid in ids:
            raise GoodsError(f"{where}: поле id повторяется ({gid})")
        ids.add(gid)
        name = entry["name"]
        if not isinstance(name, str) or not name.strip():
            raise GoodsError(f"{where}: поле name — непустая строка")
        codes = entry["okpd2"]
        if isinstance(codes, str) or not isinstance(codes, list):
            raise GoodsError(f"{where}: поле okpd2 — список кодов")
        for code in codes:
            if not isinstance(code, str) or not _CODE_RE.fullmatch(code):
                raise GoodsError(f"{where}: поле okpd2: неверный код {code!r} (нужно 25.11.23 или 25.11.23.110)")
            if known_codes is not None and code not in known_codes:
                raise GoodsError(f"{where}: поле okpd2: кода {code} нет в ОКПД2")
        terms = entry.get("terms") or []
        if isinstance(terms, str) or not isinstance(terms, list):
            raise GoodsError(f"{where}: поле terms — список строк")
        for term in terms:
            if not isinstance(term, str) or not term.strip():
                raise GoodsError(f"{where}: поле terms: {term!r} — не строка (число берут в кавычки; запятая внутри термина делит его в YAML)")
        out.append(GoodsType(gid, name.strip(), tuple(codes), tuple(t.strip() for t in terms), file))
    return out
