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

from matching.operation_recognition import Recognition, Recognized
from matching.operation_words import (
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


class CatalogueError(ValueError):
    """The reference data is inconsistent (duplicate id, unknown parameter key, a cycle)."""


def _tup(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


@dataclass
class OperationCatalogue(Recognition):
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
