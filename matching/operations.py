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
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from matching.parameters import PARAMETERS, MaterialCatalogue
from matching.text import STOP_WORDS, stem, tokenize

# Words that say nothing about which operation is meant: they may be part of a phrase but never decide it.
_FILLER_WORDS = ("работы работ услуги услуга обработка изготовление производство выполнение выполняем деталей детали "
                 "изделий изделия по на из под для с")
FILLER = frozenset(stem(w) for w in _FILLER_WORDS.split())
# Nouns of machines and tools: «токарные станки», «сварочный полуавтомат» name equipment (a product), not the work.
_EQUIPMENT_WORDS = ("станок станки станков станка станкам станочный оборудование инструмент инструмента полуавтомат "
                    "полуавтоматы аппарат аппараты установка установки машина машины агрегат электроды проволока "
                    "листогиб листогибы трубогиб трубогибы пресс прессы вальцы гильотина термопластавтомат принтер "
                    "принтеры патрон патроны резец резцы фреза фрезы сверло сверла")
EQUIPMENT_NOUNS = frozenset(stem(w) for w in _EQUIPMENT_WORDS.split())
_ON = frozenset(("на", "в", "с"))  # «на станках», «в камере», «с ЧПУ»: where the work is done
_LINKS = frozenset(("для", "по"))  # «станки для резки», «оборудование по гибке»
_ABBR_RE = re.compile(r"(?<![0-9A-Za-zА-Яа-яЁё])([A-ZА-ЯЁ][A-ZА-ЯЁ0-9/\-]{0,9})(?![0-9A-Za-zА-Яа-яЁё])")


def _key(word: str) -> str:
    return stem(word)


def words_of(text: str) -> list[str]:
    """Word tokens with hyphenated compounds split into their parts: «токарно-фрезерная» is «токарно» and
    «фрезерная» (the compound is read by its parts, not by a prefix of its first part), «3D-печать» is «3d», «печать»."""
    return _split(text)[0]


def _split(text: str) -> tuple[list[str], frozenset[int]]:
    """The words and the positions i whose word i and i + 1 were one hyphenated token."""
    out: list[str] = []
    joined: set[int] = set()
    for token in tokenize(text):
        parts = [p for p in token.split("-") if p] if "-" in token else [token]
        joined.update(range(len(out), len(out) + len(parts) - 1))
        out.extend(parts)
    return out, frozenset(joined)


# Endings that turn one stem into another form of the same word: an adjective, a verbal noun, trade slang
# («фрезер|н» ~ «фрезер|овк» ~ «фрезер|овочн», «токар|н» ~ «токар|к», «закал|к» ~ «закал|очн», «лист» ~ «лист|ов»).
_TAILS = frozenset(["н", "к", "ов", "овк", "ован", "овочн", "овальн", "альн", "ан", "очн", "ичн", "ическ", "ск", "енн", "ен", "ени", "ион", "ионн", "ок"])
# A bare stem and a derived one are the same word only through an adjective ending: «штамп» (a die) is not
# «штамп|овк» (stamping), «цинк» (the metal) is not «цинк|ован» (galvanizing).
_ADJECTIVE_TAILS = frozenset(["н", "ов", "ск", "енн", "ичн", "ическ", "ион", "ионн"])


@lru_cache(maxsize=200_000)
def same_word(a: str, b: str) -> bool:
    """Two stems name the same word: equal, or a shared prefix of ≥ 4 letters followed by derivational endings
    only (:data:`_TAILS`). «электрон» is not «электрод», «металл» is not «металлообработк», «лист» not «листогиб»."""
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
    if not ta or not tb:
        return (ta or tb) in _ADJECTIVE_TAILS
    return ta in _TAILS and tb in _TAILS


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


@dataclass(frozen=True)
class _Phrase:
    operation_id: str
    keys: tuple[str, ...]  # content stems that must all be present
    text: str
    is_name: bool
    compounds: tuple[int, ...] = ()  # i: keys[i] and keys[i + 1] are one hyphenated word, adjacent in that order


@dataclass
class _Found:
    operation_id: str
    positions: frozenset[int]
    phrase: _Phrase
    confidence: float


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
                out.append((op, rank, words, tuple(_key(w) for w in words)))
        return out

    def search(self, query: str, family: str | None = None, limit: int = 20) -> list[Operation]:
        """Operations whose name, a synonym or an abbreviation holds every word of ``query`` as a word start or in
        another form of it («токар» → токарная обработка, «фрезеровк» → фрезерная, «порошк» → порошковая окраска);
        the name before a synonym, a match at the text's start first, broader operations first."""
        terms = [t for t in words_of(query) if t not in STOP_WORDS or len(words_of(query)) == 1]
        if not terms:
            return []
        term_keys = [_key(t) for t in terms]
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
    def _phrases(self) -> list[_Phrase]:
        phrases = []
        for op in self.operations.values():
            seen: set[tuple[str, ...]] = set()
            for i, text in enumerate((op.name.lower(), *op.synonyms)):
                keys: list[str] = []
                compounds: list[int] = []
                for token in tokenize(text):
                    parts = [_key(t) for t in token.split("-") if t and t not in STOP_WORDS
                             and (len(t) > 1 or t.isdigit())]
                    for j, key in enumerate(parts):
                        if key in keys:
                            continue
                        if j > 0 and keys and keys[-1] == parts[j - 1]:
                            compounds.append(len(keys) - 1)
                        keys.append(key)
                if not keys or all(k in FILLER for k in keys) or tuple(keys) in seen:
                    continue
                seen.add(tuple(keys))
                phrases.append(_Phrase(op.id, tuple(keys), text, i == 0, tuple(compounds)))
        return phrases

    @cached_property
    def _by_key(self) -> dict[str, list[_Phrase]]:
        """Phrases indexed by their rarest-looking (longest) non-filler key, for a quick candidate lookup."""
        out: dict[str, list[_Phrase]] = {}
        for ph in self._phrases:
            anchor = max((k for k in ph.keys if k not in FILLER), key=len)
            out.setdefault(anchor[:4] if len(anchor) >= 4 else anchor, []).append(ph)
        return out

    @cached_property
    def _abbreviations(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for op in self.operations.values():
            for abbr in op.abbreviations:
                out.setdefault(abbr.upper().replace("Ё", "Е"), []).append(op.id)
        return out

    @cached_property
    def _excludes(self) -> dict[str, list[tuple[str, ...]]]:
        return {op.id: [tuple(_key(t) for t in words_of(e) if t not in STOP_WORDS) for e in op.exclude]
                for op in self.operations.values() if op.exclude}

    def recognize(self, text: str, top: int = 5, min_confidence: float = 0.5) -> list[Recognized]:
        """The operations named in ``text``, most specific and surest first."""
        words, joined = _split(text)
        keys = [_key(t) for t in words]
        found: dict[str, _Found] = {}
        candidates: dict[int, _Phrase] = {}
        for k in set(keys):
            for ph in self._by_key.get(k[:4] if len(k) >= 4 else k, ()):
                candidates[id(ph)] = ph
        where = _Positions(keys, joined)
        for ph in candidates.values():
            match = _locate(ph, where)
            if match is None:
                continue
            positions, span = match
            n = len([k for k in ph.keys if k not in FILLER])
            contiguous = span <= len(ph.keys)
            confidence = min(0.99, 0.6 + 0.12 * min(n, 3) + (0.08 if contiguous else 0.0)
                             + (0.04 if ph.is_name else 0.0))
            if self._names_a_machine(ph, positions, words, keys):
                confidence *= 0.55
            self._keep(found, _Found(ph.operation_id, frozenset(positions), ph, confidence))
        for m in _ABBR_RE.finditer(text.replace("ё", "е").replace("Ё", "Е")):
            token = m.group(1).upper()
            for op_id in self._abbreviations.get(token, ()):
                start = len(words_of(text[: m.start()]))
                self._keep(found, _Found(op_id, frozenset({start}), _Phrase(op_id, (token,), token, False), 0.75))
        for op_id in list(found):
            for veto in self._excludes.get(op_id, ()):
                if veto and _locate(_Phrase(op_id, veto, "", False), where) is not None:
                    del found[op_id]
                    break
        # The longest reading of the same words wins: «токарно-фрезерная обработка» is mill-turning, not milling;
        # «прошивка отверстий электроэрозией» is EDM hole drilling, not EDM sinking on two of its words. Only a
        # tight match (nothing but stop and filler words between its words) takes the words of another.
        for f in sorted(found.values(), key=lambda f: -len(f.positions)):
            if f.operation_id not in found or not self._tight(f.positions, keys, words):
                continue
            for other in list(found.values()):
                if other is not f and other.positions < f.positions:
                    found.pop(other.operation_id, None)
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
                gap = min(abs(a - b) for a in other.positions for b in item.positions)
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
        for f in ranked:
            ties = groups[f.positions]
            confidence = f.confidence if ties == 1 else f.confidence * (0.85 if ties == 2 else 0.7)
            if confidence < min_confidence:
                continue
            matched = " ".join(words[i] for i in sorted(f.positions) if i < len(words)) or f.phrase.text
            out.append(Recognized(f.operation_id, self.operations[f.operation_id].name, confidence, matched))
        out.sort(key=lambda r: -r.confidence)
        return out[:top]

    @staticmethod
    def _names_a_machine(ph: _Phrase, positions: Sequence[int], words: Sequence[str], keys: Sequence[str]) -> bool:
        """«токарные станки», «станки для резки металла», «продам листогиб»: a machine or a tool, not the work; but
        «на токарных станках», «на листогибе» is the work done on it."""
        lo, hi = min(positions), max(positions)
        if all(k in EQUIPMENT_NOUNS for k in ph.keys):
            machines = [lo]
        else:
            near = [lo - 1, hi + 1, *range(lo + 1, hi)]
            if lo >= 2 and words[lo - 1] in _LINKS:
                near.append(lo - 2)
            machines = [i for i in near if 0 <= i < len(keys) and keys[i] in EQUIPMENT_NOUNS]
        return any(not (words[i - 1] in _ON or (i >= 2 and words[i - 2] in _ON)) if i >= 1 else True
                   for i in machines)

    @staticmethod
    def _tight(positions: frozenset[int], keys: Sequence[str], words: Sequence[str]) -> bool:
        return all(i in positions or words[i] in STOP_WORDS or keys[i] in FILLER
                   for i in range(min(positions), max(positions) + 1))

    def _common_ancestor(self, op_ids: Sequence[str]) -> str | None:
        lines = [[i, *self.ancestors(i)] for i in op_ids]
        for candidate in lines[0]:
            if all(candidate in line for line in lines[1:]):
                return candidate
        return None

    @staticmethod
    def _keep(found: dict[str, _Found], item: _Found) -> None:
        current = found.get(item.operation_id)
        if current is None or (item.confidence, len(item.positions)) > (current.confidence, len(current.positions)):
            found[item.operation_id] = item


class _Positions:
    """Where each phrase word occurs in a text's stems, computed once per (phrase word, text)."""

    def __init__(self, keys: Sequence[str], joined: frozenset[int] = frozenset()):
        self.keys = keys
        self.joined = joined
        self.distinct = tuple(dict.fromkeys(keys))
        self._hits: dict[str, list[int]] = {}

    def hits(self, word: str) -> list[int]:
        out = self._hits.get(word)
        if out is None:
            similar = {k for k in self.distinct if same_word(word, k)}
            out = self._hits[word] = [i for i, k in enumerate(self.keys) if k in similar] if similar else []
        return out


def _locate(phrase: _Phrase, where: _Positions, window: int = 4) -> tuple[list[int], int] | None:
    """Positions of every word of ``phrase`` (any order, a hyphenated word's parts adjacent and in order), the
    words no more than ``window`` apart beyond the phrase's own length; None when some word is missing."""
    hits_per_word: list[list[int]] = []
    for p in phrase.keys:
        hits = where.hits(p)
        if not hits:
            return None
        hits_per_word.append(hits)
    best: tuple[list[int], int] | None = None
    for start in hits_per_word[0]:
        chosen = [start]
        for hits in hits_per_word[1:]:
            chosen.append(min(hits, key=lambda i: abs(i - start)))
        for c in phrase.compounds:  # «токарно-фрезерная», not «токарные, фрезерные»
            pair = [i for i in hits_per_word[c] if i in where.joined and i + 1 in hits_per_word[c + 1]]
            if not pair:
                break
            chosen[c], chosen[c + 1] = pair[0], pair[0] + 1
        else:
            span = max(chosen) - min(chosen) + 1
            if span <= len(phrase.keys) + window and (best is None or span < best[1]):
                best = (chosen, span)
    return best
