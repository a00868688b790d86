"""Russian text normalisation for matching: lower case, ё→е, word tokens, stop words, Snowball stems.

Everything here is cheap and deterministic so that the same function can serve indexing, classification and
query time. The stemmer (PyStemmer's Russian Snowball) is created on first use and its results are memoised.
"""
from __future__ import annotations

import re
from functools import lru_cache

_TOKEN_RE = re.compile(r"[0-9a-zа-я]+(?:[-.][0-9a-zа-я]+)*")

# Function words and the bureaucratic filler of classifier names ("прочие", "не включенные в другие группировки")
# that carry no meaning for matching. Kept small on purpose: domain words stay.
_STOP_WORDS_TEXT = """
а без более бы был была были было быть в вам вас весь во вот все всего всех вы где да даже для до его ее если есть
еще же за здесь и из или им их к как ко когда кто ли либо между мне мы на над не него нее нет ни них но ну о об
однако он она они оно от по под при про с со так также такие такой там те тем то того тоже той только том ты у уже
чем что чтобы эта эти это этот я
прочие прочих прочий прочее прочая включенные включенных включенный другие других группировки группировку
кроме исключая том числе т.е т.ч др пр
"""
STOP_WORDS: frozenset[str] = frozenset(_STOP_WORDS_TEXT.split())


def normalize(text: str) -> str:
    """Lower-case, replace ё with е and collapse whitespace."""
    return " ".join(text.lower().replace("ё", "е").split())


def tokenize(text: str) -> list[str]:
    """Word tokens of the normalised text (letters and digits; inner hyphens and dots kept: "т.е", "из-за")."""
    return _TOKEN_RE.findall(normalize(text))


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer  # PyStemmer: C Snowball, ~1M words/s

    return Stemmer.Stemmer("russian")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """The Russian Snowball stem of one lower-case word; Latin words and numbers pass through."""
    if not word or not ("а" <= word[0] <= "я"):
        return word
    return _stemmer().stemWord(word)


def stems(text: str, *, stop_words: frozenset[str] = STOP_WORDS) -> list[str]:
    """Stems of the content words of ``text``: the analyzer of every lexical model in :mod:`matching`.

    >>> stems("Услуги по ремонту металлических изделий")
    ['услуг', 'ремонт', 'металлическ', 'издел']
    """
    return [stem(t) for t in tokenize(text) if t not in stop_words and len(t) > 1]


def stem_text(text: str) -> str:
    """``stems(text)`` joined by spaces, for analyzers that want a string (character n-grams over stems)."""
    return " ".join(stems(text))


def ru_number(value: float | int) -> str:
    """A number as a Russian sentence writes it: «1,6», «1000», «1 200 000» (a decimal comma, no exponent;
    no-break spaces between thousands from five digits on, as Russian typesetting does)."""
    number = float(value)
    if number.is_integer() and abs(number) < 1e15:
        return f"{int(number):,}".replace(",", "\u00a0") if abs(number) >= 10_000 else str(int(number))
    return f"{number:.6g}".replace(".", ",")
