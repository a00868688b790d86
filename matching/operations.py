"""The catalogue of production operations and industrial services: hierarchy, recognition in Russian text.

Plain Python over plain data: the catalogue is built from the reference YAML shipped with the product
(``marketplace/refdata/data/operations/*.yaml``, see its SOURCES.md) or from nodes given directly (tests). An
operation is what a shop does (hot-dip galvanizing, CNC turning, SMD assembly), finer than any ОКВЭД2/ОКПД2 code: two
operations under the same code (hot-dip zinc and powder coating are both ОКВЭД2 25.61) are different operations.

Recognition reads a Russian text (a capability, a missing-operation need, a chain stage, a tender lot, a search
query) and names the operations in it with a confidence. Every name and synonym of an operation is a *phrase*; a
phrase is found when each of its content words occurs in the text in some form (Snowball stems; a shared stem prefix
for derived forms: «фрезерн…» / «фрезеровк…»), close together. When an operation and its ancestor are both found, the
more specific one is kept; ``exclude`` phrases veto an operation («порошковая металлургия» is not powder coating).
Parameters (materials, sizes, tolerance…) live in :mod:`matching.parameters`.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
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
    same_word,
    words_of,
)
from matching.parameters import PARAMETERS, MaterialCatalogue
from matching.text import STOP_WORDS, stem

__all__ = ["CatalogueError", "Operation", "OperationCatalogue", "Recognized", "same_word"]

@dataclass(frozen=True)
class Operation:
    id: str
    name: str
    parent_id: str | None = None
    synonyms: tuple[str, ...] = ()
    abbreviations: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    okved2: tuple[str, ...] = ()
    okpd2: tuple[str, ...] = ()
    equipment: tuple[str, ...] = ()
    parameters: tuple[str, ...] = ()
    generic: bool = False
    depth: int = 0
    family: str = ""
    position: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "parent_id": self.parent_id, "synonyms": list(self.synonyms),
                "abbreviations": list(self.abbreviations), "okved2": list(self.okved2), "okpd2": list(self.okpd2),
                "equipment": list(self.equipment), "parameters": list(self.parameters), "generic": self.generic,
                "depth": self.depth, "family": self.family}


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


class CatalogueError(ValueError):
    """The reference data is inconsistent (duplicate id, unknown parameter key, a cycle)."""


def _tup(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


@dataclass
class OperationCatalogue:
    """Operations by id with their hierarchy, and a recogniser over their names and synonyms."""

    operations: dict[str, Operation]
    materials: MaterialCatalogue = field(default_factory=MaterialCatalogue)
    digest: str = ""

    # -- building ----------------------------------------------------------------------------------------------
    @classmethod
    def from_nodes(cls, nodes: Sequence[Mapping[str, Any]], materials: MaterialCatalogue | None = None,
                   digest: str = "") -> OperationCatalogue:
        """Build from nested nodes (the YAML's shape); children inherit codes, parameters and equipment."""
        ops: dict[str, Operation] = {}
        counter = 0

        def walk(node: Mapping[str, Any], parent: Operation | None, family: str) -> None:
            nonlocal counter
            op_id = str(node.get("id") or "").strip()
            if not op_id or not re.fullmatch(r"[a-z0-9_.]+", op_id):
                raise CatalogueError(f"операция без id или с неверным id: {node.get('name')!r} ({op_id!r})")
            if op_id in ops:
                raise CatalogueError(f"повторяется id операции: {op_id}")
            if not str(node.get("name") or "").strip():
                raise CatalogueError(f"у операции {op_id} нет названия")
            params = _tup(node.get("parameters")) if "parameters" in node else (parent.parameters if parent else ())
            unknown = [p for p in params if p not in PARAMETERS]
            if unknown:
                raise CatalogueError(f"операция {op_id}: неизвестные параметры {unknown}")
            counter += 1
            op = Operation(
                id=op_id, name=str(node["name"]).strip(), parent_id=parent.id if parent else None,
                synonyms=tuple(s.strip().lower() for s in _tup(node.get("synonyms")) if s.strip()),
                abbreviations=tuple(a.strip() for a in _tup(node.get("abbreviations")) if a.strip()),
                exclude=tuple(e.strip().lower() for e in _tup(node.get("exclude")) if e.strip()),
                okved2=_tup(node["okved2"]) if "okved2" in node else (parent.okved2 if parent else ()),
                okpd2=_tup(node["okpd2"]) if "okpd2" in node else (parent.okpd2 if parent else ()),
                equipment=_tup(node["equipment"]) if "equipment" in node else (parent.equipment if parent else ()),
                parameters=params, generic=bool(node.get("generic", False)),
                depth=parent.depth + 1 if parent else 0, family=family or op_id, position=counter)
            ops[op_id] = op
            for child in node.get("children") or ():
                walk(child, op, family or op_id)

        for node in nodes:
            walk(node, None, "")
        return cls(ops, materials or MaterialCatalogue(), digest)

    @classmethod
    def load(cls, operations_dir: Path, materials_path: Path | None = None) -> OperationCatalogue:
        """Read every ``*.yaml`` of ``operations_dir`` (in name order) and the materials file."""
        import yaml

        files = sorted(Path(operations_dir).glob("*.yaml"))
        digest = hashlib.sha256()
        nodes: list[Mapping[str, Any]] = []
        for path in files:
            raw = path.read_bytes()
            digest.update(path.name.encode() + b"\0" + raw)
            data = yaml.safe_load(raw) or []
            if not isinstance(data, list):
                raise CatalogueError(f"{path.name}: ожидается список операций")
            nodes.extend(data)
        materials = MaterialCatalogue()
        if materials_path is not None and Path(materials_path).exists():
            raw = Path(materials_path).read_bytes()
            digest.update(b"materials\0" + raw)
            materials = MaterialCatalogue.from_nodes(yaml.safe_load(raw) or [])
        return cls.from_nodes(nodes, materials, digest.hexdigest())

    # -- hierarchy -----------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.operations)

    def __contains__(self, op_id: object) -> bool:
        return op_id in self.operations

    def get(self, op_id: str) -> Operation | None:
        return self.operations.get(op_id)

    @cached_property
    def _children(self) -> dict[str | None, list[str]]:
        out: dict[str | None, list[str]] = {}
        for op in self.operations.values():
            out.setdefault(op.parent_id, []).append(op.id)
        return out

    def children(self, op_id: str | None) -> list[Operation]:
        return [self.operations[i] for i in self._children.get(op_id, [])]

    def roots(self) -> list[Operation]:
        return self.children(None)

    def ancestors(self, op_id: str) -> list[str]:
        """Parent first, root last."""
        out = []
        op = self.operations.get(op_id)
        while op is not None and op.parent_id is not None:
            out.append(op.parent_id)
            op = self.operations.get(op.parent_id)
        return out

    def descendants(self, op_id: str) -> list[str]:
        out, stack = [], list(self._children.get(op_id, []))
        while stack:
            current = stack.pop()
            out.append(current)
            stack.extend(self._children.get(current, []))
        return out

    def path(self, op_id: str) -> list[Operation]:
        """Root first, the operation last."""
        return [self.operations[i] for i in reversed([op_id, *self.ancestors(op_id)]) if i in self.operations]

    def covers(self, offer_op: str, need_op: str) -> bool:
        """Does a shop offering ``offer_op`` do ``need_op``? The same operation; a more specific one (a CNC turning
        shop does turning); or a generic ancestor (a node the catalogue marks as doing all its children)."""
        if offer_op == need_op:
            return True
        need_line = [need_op, *self.ancestors(need_op)]
        if offer_op in need_line:  # the offer is broader than the need: only through generic nodes
            between = need_line[1: need_line.index(offer_op) + 1]
            return all(self.operations[i].generic for i in between)
        return need_op in self.ancestors(offer_op)  # the offer is a kind of what is asked

    def related(self, a: str, b: str) -> bool:
        """On one line of the hierarchy (one is an ancestor of the other, or the same)."""
        if a in self._lines and b in self._lines:
            return a == b or a in self._lines[b] or b in self._lines[a]
        return a == b or a in self.ancestors(b) or b in self.ancestors(a)

    def codes(self, op_ids: Iterable[str], scheme: str) -> list[str]:
        out: list[str] = []
        for op_id in op_ids:
            op = self.operations.get(op_id)
            for code in (op.okpd2 if scheme == "okpd2" else op.okved2) if op else ():
                if code not in out:
                    out.append(code)
        return out

    # -- search-as-you-type ---------------------------------------------------------------------------------------
    @cached_property
    def _search_texts(self) -> list[tuple[Operation, int, tuple[str, ...], tuple[str, ...]]]:
        """(operation, rank of the text: 0 name, 1 synonym, 2 abbreviation, its words, their stems)."""
        out = []
        for op in self.operations.values():
            texts = [(0, op.name), *((1, s) for s in op.synonyms), *((2, a) for a in op.abbreviations)]
            for rank, text in texts:
                words = tuple(words_of(text))
                out.append((op, rank, words, tuple(stem(w) for w in words)))
        return out

    def search(self, query: str, family: str | None = None, limit: int = 20) -> list[Operation]:
        """Operations whose name, a synonym or an abbreviation holds every word of ``query`` as a word start or in
        another form of it («токар» → токарная обработка, «фрезеровк» → фрезерная, «порошк» → порошковая окраска);
        the name before a synonym, a match at the text's start first, broader operations first."""
        terms = [t for t in words_of(query) if t not in STOP_WORDS or len(words_of(query)) == 1]
        if not terms:
            return []
        term_keys = [stem(t) for t in terms]
        best: dict[str, tuple[int, ...]] = {}
        for op, rank, words, keys in self._search_texts:
            if family is not None and op.family != family:
                continue
            where = []
            for term, tkey in zip(terms, term_keys, strict=True):
                hit = next((i for i, (w, k) in enumerate(zip(words, keys, strict=True))
                            if w.startswith(term) or (len(tkey) >= 4 and same_word(tkey, k))), None)
                if hit is None:
                    break
                where.append(hit)
            else:
                score = (rank, min(where), len(words), op.depth, op.position)
                if op.id not in best or score < best[op.id]:
                    best[op.id] = score
        ranked = sorted(best, key=lambda i: best[i])
        return [self.operations[i] for i in ranked[:limit]]

    # -- recognition ---------------------------------------------------------------------------------------------
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
