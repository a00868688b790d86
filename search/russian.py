"""Russian text helpers shared by the backends: word families that the snowball stemmer keeps apart.

Snowball reduces inflection ("токарные", "токарная" -> "токарн") but not derivation: "сварка" gives "сварк",
"сварочные" gives "сварочн". For the few trades where buyers and suppliers say it differently we expand a query
stem to its family at query time (so the index needs no rebuild when the list grows). Families are written as
words and stemmed by the backend's own stemmer, so the stems always agree with what was indexed.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

# Each line: one production operation or trade, as the words people use for it.
WORD_FAMILIES: tuple[tuple[str, ...], ...] = (
    ("сварка", "сварочный", "сварной", "сварщик", "сварить", "сваривание"),
    ("фрезеровка", "фрезерование", "фрезерный", "фрезеровщик"),
    ("токарный", "токарь", "точение"),
    ("литьё", "литейный", "отливка"),
    ("штамповка", "штампование", "штамповочный", "штамп"),
    ("гибка", "гибочный", "листогибочный"),
    ("резка", "резание", "раскрой"),
    ("покраска", "окраска", "окрашивание", "окрасочный", "покрасочный"),
    ("шлифовка", "шлифование", "шлифовальный"),
    ("ковка", "кованый", "кузнечный"),
    ("термообработка", "термический", "закалка"),
    ("гальваника", "гальванический", "гальванизация", "цинкование", "оцинковка"),
    ("сверление", "сверлильный", "сверловка"),
    ("механообработка", "металлообработка"),
    ("прокат", "прокатный", "металлопрокат"),
    ("упаковка", "упаковочный"),
    ("печать", "печатный", "полиграфия", "полиграфический"),
    ("монтаж", "монтажный"),
    ("сборка", "сборочный"),
    ("ремонт", "ремонтный"),
    ("аренда", "арендный"),
    # products and materials named two ways in procurement
    ("электродвигатель", "электромотор"),
    ("резервуар", "ёмкость"),
    ("пластик", "пластиковый", "пластмасса", "пластмассовый"),
    ("метиз", "метизный", "крепёж", "крепёжный"),
)


def stem_families(stem: Callable[[str], str], families: Iterable[Iterable[str]] = WORD_FAMILIES,
                  ) -> dict[str, frozenset[str]]:
    """Map every stem of every family to the other stems of its families (a stem may sit in two families)."""
    out: dict[str, set[str]] = {}
    for family in families:
        stems = {s for s in (stem(word.replace("ё", "е")) for word in family) if s}
        for s in stems:
            out.setdefault(s, set()).update(stems - {s})
    return {s: frozenset(others) for s, others in out.items() if others}


def fold_yo(text: str) -> str:
    """ё -> е, the way Russian is usually typed."""
    return text.replace("ё", "е").replace("Ё", "Е")
