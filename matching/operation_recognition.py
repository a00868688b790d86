"""Recognition of catalogue operations in Russian text (a mixin of :class:`matching.operations.OperationCatalogue`).

Every name and synonym of an operation is a *phrase*; a phrase is found when each of its content words occurs in the
text in some form (Snowball stems; a shared stem prefix for derived forms: «фрезерн…» / «фрезеровк…»), close
together. When an operation and its ancestor are both found, the more specific one is kept (a generic ancestor named
apart is kept too: «механическая обработка корпусов, токарные работы»); ``exclude`` phrases veto an operation
(«порошковая металлургия» is not powder coating); a machine named instead of the work («токарные станки») is not the
operation. The mixin needs ``operations`` (id → Operation) and ``ancestors(id)`` from the catalogue.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from matching.operation_words import (
    ABBR_RE,
    EQUIPMENT_NOUNS,
    FILLER,
    LINKS,
    ON,
    Phrase,
    Positions,
    is_adjective,
    locate,
    prefix,
    words_of,
)
from matching.text import stem


@dataclass(frozen=True)
class Recognized:
    """An operation named in a text: how sure (0..1) and by which words."""

    operation_id: str
    name: str
    confidence: float
    matched: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.operation_id, "name": self.name, "confidence": round(self.confidence, 3),
                "matched": self.matched}


@dataclass
class _Found:
    operation_id: str
    positions: frozenset[int]
    phrase: Phrase
    confidence: float
    tight: bool = False
    weak: bool = False  # found without the phrase's generic word: «металлоконструкций» for «изготовление металлоконструкций»


class Recognition:
    """Text → operations, over the catalogue's phrases (see the module)."""

    operations: dict[str, Any]

    @cached_property
    def _phrases(self) -> list[Phrase]:
        phrases = []
        for op in self.operations.values():
            seen: set[tuple[str, ...]] = set()
            for i, text in enumerate((op.name.lower(), *op.synonyms)):
                ph = Phrase.build(op.id, text, is_name=i == 0)
                if ph is not None and ph.keys not in seen:
                    seen.add(ph.keys)
                    phrases.append(ph)
        return phrases

    @cached_property
    def _by_key(self) -> dict[str, list[tuple[Phrase, frozenset[str]]]]:
        """Phrases indexed by the start of their longest content word, with the starts of all the words they need:
        a quick candidate lookup (a derived form shares at least four letters with a word: :func:`same_word`)."""
        out: dict[str, list[tuple[Phrase, frozenset[str]]]] = {}
        for ph in self._phrases:
            anchor = max((k for k in ph.keys if k not in FILLER), key=len)
            out.setdefault(prefix(anchor), []).append((ph, ph.required))
        return out

    @cached_property
    def _abbreviations(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for op in self.operations.values():
            for abbr in op.abbreviations:
                out.setdefault(abbr.upper().replace("Ё", "Е"), []).append(op.id)
        return out

    @cached_property
    def _excludes(self) -> dict[str, list[Phrase]]:
        return {op.id: [ph for ph in (Phrase.build(op.id, e) for e in op.exclude) if ph is not None]
                for op in self.operations.values() if op.exclude}

    def _matches(self, text: str, where: Positions) -> list[_Found]:
        """Every phrase found in the text (its best place), abbreviations, and what the excludes leave."""
        candidates: dict[int, Phrase] = {}
        for start in where.prefixes:
            for ph, required in self._by_key.get(start, ()):
                if required <= where.prefixes:
                    candidates[id(ph)] = ph
        matches = []
        for ph in candidates.values():
            found = locate(ph, where)
            if found is None:
                continue
            positions, span = found
            n = len([k for k in ph.keys if k not in FILLER])
            contiguous = span <= len(ph.keys)
            confidence = min(0.99, 0.6 + 0.12 * min(n, 3) + (0.08 if contiguous else 0.0)
                             + (0.04 if ph.is_name else 0.0))
            if _names_a_machine(ph, positions, where):
                confidence *= 0.5
            # found without its generic word («металлоконструкций»), or its work noun only as an adjective
            weak = len(positions) < len(ph.keys) or where.described(ph, positions)
            if weak and all(where.modifier(i) for i in positions) and not where.on_machine(positions):
                continue  # «сварных швов», «инструментальных сталей»: an adjective without the work it qualifies
            matches.append(_Found(ph.operation_id, frozenset(positions), ph, confidence, where.tight(positions), weak))
        for m in ABBR_RE.finditer(text.replace("ё", "е").replace("Ё", "Е")):
            token = m.group(1).upper()
            for op_id in self._abbreviations.get(token, ()):
                start = len(words_of(text[: m.start()]))
                matches.append(_Found(op_id, frozenset({start}), Phrase(op_id, (token,), token, False), 0.75, True))
        vetoes: dict[str, set[int]] = {}
        for op_id in {f.operation_id for f in matches} & self._excludes.keys():
            for veto in self._excludes[op_id]:
                found = locate(veto, where)
                if found is not None and where.tight(found[0]):
                    vetoes.setdefault(op_id, set()).update(found[0])
        # «порошковая металлургия» vetoes powder coating on those words, not a powder coating named elsewhere
        return [f for f in matches if not f.positions & vetoes.get(f.operation_id, set())]

    def recognize(self, text: str, top: int = 5, min_confidence: float = 0.5) -> list[Recognized]:
        """The operations named in ``text``, most specific and surest first."""
        where = Positions(text)
        matches = self._matches(text, where)
        # The longest tight reading of the same words wins: «токарно-фрезерная обработка» is mill-turning, not
        # milling; «контроль сварных соединений» is inspection, not welding. And an adjective belongs to the noun
        # next to it: in «лазерная резка, гибка, сварка» «лазерная» is the cutting's, not a laser welding's.
        tight = sorted((f for f in matches if f.tight), key=lambda f: -len(f.positions))
        kept = []
        strong_starts = [(min(f.positions), f.operation_id) for f in matches if not f.weak]
        for f in matches:
            start = min(f.positions)
            if (f.weak or (start > 0 and where.words[start - 1] == "для")) and any(
                    s < start and op != f.operation_id for s, op in strong_starts):
                continue  # «окраска … металлоконструкций», «пресс-форм для литья»: the object or purpose of a work

            if any(t.operation_id != f.operation_id and f.positions < t.positions for t in tight):
                continue
            if not f.tight and any(self._taken(f, t, where) for t in tight):
                continue
            kept.append(f)
        found: dict[str, _Found] = {}
        for f in kept:
            current = found.get(f.operation_id)
            if current is None:
                found[f.operation_id] = _Found(f.operation_id, f.positions, f.phrase, f.confidence, f.tight)
                continue
            current.positions |= f.positions
            if f.confidence > current.confidence:
                current.confidence, current.phrase = f.confidence, f.phrase
        # A machine model the catalogue lists for a narrower operation says which one: «токарная обработка на 16К20»
        # is turning on universal lathes.
        models = {d for k in where.keys for d in self._models.get(k, ())}
        for op_id in list(found) if models else ():
            narrower = {d for d in models if op_id in self._lines[d]}
            if len(narrower) == 1:
                (d,) = narrower
                if d not in found:
                    f = found.pop(op_id)
                    found[d] = _Found(d, f.positions, f.phrase, f.confidence, f.tight)
        # A more specific operation replaces its ancestors: «TIG сварка», «сварка полуавтоматом MIG» name the kind
        # of welding, the general word is its head noun; the ancestor's confidence carries over.
        for op_id in sorted(found, key=lambda i: -self.operations[i].depth):
            item = found.get(op_id)
            if item is None:
                continue
            for anc in self.ancestors(op_id):
                other = found.get(anc)
                if other is None:
                    continue
                # words the two share (a head noun read twice) do not make them one phrase
                own, theirs = item.positions - other.positions, other.positions - item.positions
                gap = min((abs(a - b) for a in theirs for b in own), default=0)
                if gap > 3 and self.operations[anc].generic:
                    continue  # «механическая обработка корпусов и валов, токарные работы»: both are offered
                found.pop(anc)
                item.confidence = max(item.confidence, other.confidence)
        # Several operations found on exactly the same words: the text names what they have in common («токарная
        # обработка» read by three kinds of turning is turning). Replace them by their nearest common ancestor
        # when there is one below the family root; otherwise keep them as a tie, less sure.
        by_words: dict[frozenset[int], list[_Found]] = {}
        for f in found.values():
            by_words.setdefault(f.positions, []).append(f)
        for positions, items in by_words.items():
            if len(items) < 2:
                continue
            common = self._common_ancestor([f.operation_id for f in items])
            if common is not None and self.operations[common].parent_id is not None:
                best = max(items, key=lambda f: f.confidence)
                for f in items:
                    found.pop(f.operation_id, None)
                found[common] = _Found(common, positions, best.phrase, best.confidence)
        ranked = sorted(found.values(), key=lambda f: (-f.confidence, -len(f.positions),
                                                        -self.operations[f.operation_id].depth,
                                                        self.operations[f.operation_id].position))
        groups: dict[frozenset[int], int] = {}
        for f in ranked:
            groups[f.positions] = groups.get(f.positions, 0) + 1
        out = []
        words = where.words
        for f in ranked:
            ties = groups[f.positions]
            confidence = f.confidence if ties == 1 else f.confidence * (0.85 if ties == 2 else 0.7)
            if confidence < min_confidence:
                continue
            matched = " ".join(words[i] for i in sorted(f.positions) if i < len(words)) or f.phrase.text
            out.append(Recognized(f.operation_id, self.operations[f.operation_id].name, confidence, matched))
        out.sort(key=lambda r: -r.confidence)
        return out[:top]

    def _taken(self, loose: _Found, tight: _Found, where: Positions) -> bool:
        """A loose reading loses a word a tight reading of another operation holds: an adjective always (it belongs to
        the noun next to it), a noun unless the loose words are coordinated («лазерная и плазменная резка»). In
        «роботизированная сварка серийных узлов» «сварка» is the robot's, not a welded structure's."""
        shared = loose.positions & tight.positions
        if not shared or len(tight.positions) < len(loose.positions) or tight.operation_id == loose.operation_id \
                or self.related(tight.operation_id, loose.operation_id):
            return False  # «фрезеровка мебельных фасадов из МДФ» says more than «фрезеровка»
        return any(is_adjective(where.words[i]) for i in shared) or not where.coordinated(sorted(loose.positions))

    @cached_property
    def _models(self) -> dict[str, set[str]]:
        """Machine models and brands of the equipment lists (a word with a digit or in Latin: «16К20», «Amada»)."""
        out: dict[str, set[str]] = {}
        for op in self.operations.values():
            for item in op.equipment:
                for word in words_of(item):
                    if len(word) >= 3 and (any(c.isdigit() for c in word) or word.isascii()) and not word.isdigit():
                        out.setdefault(stem(word), set()).add(op.id)
        return {k: v for k, v in out.items() if len(v) <= 2}

    @cached_property
    def _lines(self) -> dict[str, frozenset[str]]:
        """Each operation's ancestors."""
        return {i: frozenset(self.ancestors(i)) for i in self.operations}

    def _common_ancestor(self, op_ids: Sequence[str]) -> str | None:
        lines = [[i, *self.ancestors(i)] for i in op_ids]
        for candidate in lines[0]:
            if all(candidate in line for line in lines[1:]):
                return candidate
        return None

def _names_a_machine(ph: Phrase, positions: Sequence[int], where: Positions) -> bool:
    """«токарные станки», «сварочный полуавтомат», «станки для резки металла», «продам листогиб»: a machine or a
    tool, not the work — a machine noun by the phrase's adjectives, or one the work is «for»; but «на токарных
    станках», «гибка на листогибе» is the work done on it."""
    words, keys = where.words, where.keys
    lo, hi = min(positions), max(positions)

    def on_it(i: int) -> bool:
        return (i >= 1 and words[i - 1] in ON) or (i >= 2 and words[i - 2] in ON)

    if lo >= 2 and words[lo - 1] in LINKS and keys[lo - 2] in EQUIPMENT_NOUNS and not on_it(lo - 2):
        return True
    machines = [i for i in (lo - 1, *range(lo, hi + 1), hi + 1)
                if 0 <= i < len(keys) and keys[i] in EQUIPMENT_NOUNS and not on_it(i)]
    if not machines:
        return False
    return all(where.modifier(i) for i in positions)
