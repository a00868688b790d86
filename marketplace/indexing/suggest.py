"""What to offer when a search finds nothing: catalogue operations close to the query.

Three tries, first that gives something wins: operations whose name or synonym holds the query's words as word starts
or derived forms (``OperationCatalogue.search``); operations named by a word spelled close to one of the query's
(«сварк» for «свартка», ``difflib`` ratio ≥ 0.8 over the catalogue's vocabulary); otherwise the catalogue's families,
so the visitor always has somewhere to go. A Latin-only query («lathe») gets a hint to write in Russian.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

_WORD = re.compile(r"[^\W\d_]+")
_LATIN = re.compile(r"^[\sA-Za-z0-9\-.,]+$")
# id(catalogue) -> (the catalogue, kept so the id stays its own; its vocabulary). Catalogues are few and long-lived.
_VOCABULARIES: dict[int, tuple[Any, dict[str, list[str]]]] = {}


@dataclass(frozen=True)
class Suggestion:
    label: str            # what to show: the operation's name
    query: str            # what to search for instead
    operation_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "q": self.query, "operation": self.operation_id}


def is_latin(text: str) -> bool:
    return bool(_LATIN.match(text)) and bool(re.search(r"[A-Za-z]", text))


def _vocabulary(catalogue: Any) -> dict[str, list[str]]:
    """word of a name or synonym → operation ids named with it (kept per catalogue object)."""
    cached = _VOCABULARIES.get(id(catalogue))
    if cached is not None and cached[0] is catalogue:
        return cached[1]
    out: dict[str, list[str]] = {}
    for op in catalogue.operations.values():
        for text in (op.name, *op.synonyms):
            for word in _WORD.findall(text.lower().replace("ё", "е")):
                if len(word) >= 4 and op.id not in out.setdefault(word, []):
                    out[word].append(op.id)
    if len(_VOCABULARIES) >= 8:
        _VOCABULARIES.clear()
    _VOCABULARIES[id(catalogue)] = (catalogue, out)
    return out


def suggestions(text: str, catalogue: Any, *, limit: int = 6) -> list[Suggestion]:
    """Operations to search for instead of ``text``, best first (see the module docstring)."""
    if catalogue is None or not len(catalogue):
        return []

    def of(ops: list[Any]) -> list[Suggestion]:
        return [Suggestion(op.name, op.name.lower(), op.id) for op in ops[:limit]]

    words = [w for w in _WORD.findall(text.lower().replace("ё", "е")) if len(w) >= 3]
    if words and not is_latin(text):
        found = catalogue.search(" ".join(words), limit=limit)
        if found:
            return of(found)
        vocabulary = _vocabulary(catalogue)
        near: list[str] = []
        for word in words:
            for close in difflib.get_close_matches(word, list(vocabulary), n=3, cutoff=0.8):
                near.extend(i for i in vocabulary[close] if i not in near)
        if near:
            return of([catalogue.get(i) for i in near if catalogue.get(i) is not None])
    return of(sorted(catalogue.roots(), key=lambda op: op.position))
