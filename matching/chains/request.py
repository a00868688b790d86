"""A cooperation chain request: the item, where and when it is needed, and the route of operations as a DAG.

The JSON form (an API body, a template filled in by a buyer, an RQ job argument)::

    {"item": "Насосный агрегат", "quantity": 20, "unit_weight_kg": 180, "delivery_region": "27",
     "deadline_days": 60,
     "stages": [{"id": "casting", "text": "Литьё корпуса из чугуна СЧ20", "okved2": ["24.51"]},
                {"id": "machining", "text": "Механическая обработка корпуса", "okved2": ["25.62"],
                 "after": ["casting"]}]}

:meth:`ChainRequest.from_dict` validates it and raises :class:`ChainRequestError` whose message starts with the
path of the offending field (``stages[2].after: unknown stage "x"``). The delivery region arrives as a two-digit
subject code; turning it into a :class:`~matching.geo.Place` with district and coordinates is the caller's job,
through ``resolve_region`` (a callable or a mapping from code to ``Place``).
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from matching.geo import Place

__all__ = ["ChainRequest", "ChainRequestError", "RegionResolver", "Stage", "stage_graph"]

RegionResolver = Callable[[str], Place | None] | Mapping[str, Place]

_OKVED2 = re.compile(r"^\d{2}(\.\d{1,2}){0,3}$")
_OKPD2 = re.compile(r"^\d{2}(\.\d{1,3}){0,4}$")
_REGION = re.compile(r"^\d{2,3}$")
_STAGE_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")

_REQUEST_KEYS = {"item", "quantity", "unit_weight_kg", "delivery_region", "deadline_days", "stages", "okpd2", "title"}
_OPERATION = re.compile(r"^[a-z0-9_.]{1,80}$")
_STAGE_KEYS = {"id", "text", "okved2", "okpd2", "after", "certifications_required", "min_capacity", "operations"}
_PLACE_KEYS = {"country", "region", "district", "lat", "lon"}


class ChainRequestError(ValueError):
    """A chain request that does not validate; the message starts with the field's path."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}" if path else problem)
        self.path = path
        self.problem = problem


@dataclass(frozen=True)
class Stage:
    """One operation of the route; ``after`` names the stages whose output it takes."""

    id: str
    text: str
    okved2: tuple[str, ...] = ()
    okpd2: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    certifications_required: tuple[str, ...] = ()
    min_capacity: float | None = None
    operations: tuple[str, ...] = ()  # catalogue operation ids (matching.operations); read from the text when empty

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "operations": list(self.operations),
            "okved2": list(self.okved2),
            "okpd2": list(self.okpd2),
            "after": list(self.after),
            "certifications_required": list(self.certifications_required),
            "min_capacity": self.min_capacity,
        }


@dataclass(frozen=True)
class ChainRequest:
    """What the buyer needs made by a chain of manufacturers; stages are kept in a topological order."""

    item: str
    quantity: float
    unit_weight_kg: float
    delivery_region: Place
    deadline_days: float
    stages: tuple[Stage, ...]
    okpd2: str | None = None
    title: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        _check_positive("quantity", self.quantity)
        _check_positive("unit_weight_kg", self.unit_weight_kg)
        _check_positive("deadline_days", self.deadline_days)
        if not self.stages:
            raise ChainRequestError("stages", "at least one stage is required")
        graph = _build_stage_graph(self.stages)
        order = list(nx.lexicographical_topological_sort(graph, key=_position_key(self.stages)))
        if [s.id for s in self.stages] != order:
            by_id = {s.id: s for s in self.stages}
            object.__setattr__(self, "stages", tuple(by_id[i] for i in order))

    # ------------------------------------------------------------------ accessors
    @property
    def tonnes(self) -> float:
        """Weight of the whole lot in tonnes, carried on every leg."""
        return self.quantity * self.unit_weight_kg / 1000.0

    def stage(self, stage_id: str) -> Stage:
        for s in self.stages:
            if s.id == stage_id:
                return s
        raise KeyError(stage_id)

    def successors(self, stage_id: str) -> tuple[str, ...]:
        """The stages that take this stage's output (empty for the final stage, which ships to the buyer)."""
        return tuple(s.id for s in self.stages if stage_id in s.after)

    @property
    def final_stages(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.stages if not self.successors(s.id))

    # ------------------------------------------------------------------ (de)serialisation
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, resolve_region: RegionResolver | None = None) -> ChainRequest:
        """Validate the JSON form and build a request.

        Parameters
        ----------
        data : mapping
            ``{"item", "quantity", "unit_weight_kg", "delivery_region", "deadline_days", "stages": [...]}``.
        resolve_region : callable or mapping, optional
            Turns the two-digit subject code into a ``Place`` with district and coordinates. Without it the
            place carries the code only (the builder then refuses it: it needs coordinates for the last leg).
            ``delivery_region`` may also be given as an object ``{"region", "district", "lat", "lon"}``.

        Raises
        ------
        ChainRequestError
            The message starts with the path of the field, e.g. ``stages[2].after: unknown stage "x"``.
        """
        if not isinstance(data, Mapping):
            raise ChainRequestError("", "a chain request must be a JSON object")
        _reject_unknown("", data, _REQUEST_KEYS)
        item = _required_str(data, "item", "item")
        quantity = _required_number(data, "quantity", "quantity", positive=True)
        weight = _required_number(data, "unit_weight_kg", "unit_weight_kg", positive=True)
        deadline = _required_number(data, "deadline_days", "deadline_days", positive=True)
        delivery = _parse_delivery(data.get("delivery_region"), resolve_region)
        okpd2 = data.get("okpd2")
        if okpd2 is not None and (not isinstance(okpd2, str) or not _OKPD2.match(okpd2)):
            raise ChainRequestError("okpd2", f"not an ОКПД2 code: {okpd2!r}")
        title = data.get("title")
        if title is not None and not isinstance(title, str):
            raise ChainRequestError("title", "must be a string")
        raw_stages = data.get("stages")
        if raw_stages is None:
            raise ChainRequestError("stages", "missing")
        if not isinstance(raw_stages, Sequence) or isinstance(raw_stages, str | bytes):
            raise ChainRequestError("stages", "must be a list")
        if not raw_stages:
            raise ChainRequestError("stages", "at least one stage is required")
        stages = tuple(_parse_stage(i, raw) for i, raw in enumerate(raw_stages))
        return cls(item=item, quantity=quantity, unit_weight_kg=weight, delivery_region=delivery,
                   deadline_days=deadline, stages=stages, okpd2=okpd2, title=title)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; the delivery place is written out in full so a job can rebuild it without a resolver."""
        p = self.delivery_region
        out: dict[str, Any] = {
            "item": self.item,
            "quantity": self.quantity,
            "unit_weight_kg": self.unit_weight_kg,
            "delivery_region": {"country": p.country, "region": p.region, "district": p.district,
                                "lat": p.lat, "lon": p.lon},
            "deadline_days": self.deadline_days,
            "stages": [s.to_dict() for s in self.stages],
        }
        if self.okpd2:
            out["okpd2"] = self.okpd2
        if self.title:
            out["title"] = self.title
        return out


def stage_graph(request: ChainRequest) -> nx.DiGraph:
    """The route as a DiGraph: an edge ``u → v`` for each ``v.after`` entry, and ``final → "delivery"``.

    Nodes carry the :class:`Stage` under ``stage``; the ``"delivery"`` node carries the delivery ``place``.
    """
    graph = _build_stage_graph(request.stages)
    for stage in request.final_stages:
        graph.add_edge(stage, "delivery")
    graph.nodes["delivery"]["place"] = request.delivery_region
    return graph


# ---------------------------------------------------------------------- helpers
def _position_key(stages: Sequence[Stage]) -> Callable[[str], str]:
    index = {s.id: i for i, s in enumerate(stages)}
    return lambda node: f"{index[node]:06d}"


def _build_stage_graph(stages: Sequence[Stage]) -> nx.DiGraph:
    graph = nx.DiGraph()
    seen: dict[str, int] = {}
    for i, stage in enumerate(stages):
        if stage.id in seen:
            raise ChainRequestError(f"stages[{i}].id", f'duplicate stage id "{stage.id}" (also stages[{seen[stage.id]}])')
        if stage.id == "delivery":
            raise ChainRequestError(f"stages[{i}].id", '"delivery" is reserved for the last leg')
        seen[stage.id] = i
        graph.add_node(stage.id, stage=stage)
    for i, stage in enumerate(stages):
        for before in stage.after:
            if before not in seen:
                raise ChainRequestError(f"stages[{i}].after", f'unknown stage "{before}"')
            if before == stage.id:
                raise ChainRequestError(f"stages[{i}].after", f'stage "{stage.id}" cannot follow itself')
            graph.add_edge(before, stage.id)
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return graph
    nodes = [u for u, _ in cycle] + [cycle[0][0]]
    raise ChainRequestError("stages", "cycle " + " → ".join(f'"{n}"' for n in nodes))


def _check_positive(path: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ChainRequestError(path, f"must be a positive number, got {value!r}")


def _reject_unknown(prefix: str, data: Mapping[str, Any], allowed: set[str]) -> None:
    for key in data:
        if key not in allowed:
            path = f"{prefix}.{key}" if prefix else str(key)
            raise ChainRequestError(path, "unknown field")


def _required_str(data: Mapping[str, Any], key: str, path: str) -> str:
    if key not in data or data[key] is None:
        raise ChainRequestError(path, "missing")
    value = data[key]
    if not isinstance(value, str) or not value.strip():
        raise ChainRequestError(path, "must be a non-empty string")
    return value.strip()


def _number(value: Any, path: str, *, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ChainRequestError(path, f"must be a number, got {value!r}")
    if value < 0:
        raise ChainRequestError(path, f"must not be negative, got {value!r}")
    if positive and value == 0:
        raise ChainRequestError(path, "must be greater than zero")
    return value


def _required_number(data: Mapping[str, Any], key: str, path: str, *, positive: bool) -> float:
    if key not in data or data[key] is None:
        raise ChainRequestError(path, "missing")
    return _number(data[key], path, positive=positive)


def _str_list(value: Any, path: str, pattern: re.Pattern[str] | None = None, what: str = "") -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        raise ChainRequestError(path, "must be a list of strings")
    out = []
    for j, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise ChainRequestError(f"{path}[{j}]", "must be a non-empty string")
        item = item.strip()
        if pattern is not None and not pattern.match(item):
            raise ChainRequestError(f"{path}[{j}]", f"not an {what} {'id' if what == 'operation' else 'code'}: {item!r}")
        out.append(item)
    return tuple(out)


def _parse_stage(i: int, raw: Any) -> Stage:
    prefix = f"stages[{i}]"
    if not isinstance(raw, Mapping):
        raise ChainRequestError(prefix, "must be an object")
    _reject_unknown(prefix, raw, _STAGE_KEYS)
    stage_id = raw.get("id")
    if stage_id is None:
        raise ChainRequestError(f"{prefix}.id", "missing")
    if not isinstance(stage_id, str) or not _STAGE_ID.match(stage_id):
        raise ChainRequestError(f"{prefix}.id", f"must be 1-64 latin letters, digits, '_', '-', '.', got {stage_id!r}")
    text = _required_str(raw, "text", f"{prefix}.text")
    min_capacity = raw.get("min_capacity")
    if min_capacity is not None:
        min_capacity = _number(min_capacity, f"{prefix}.min_capacity", positive=True)
    after = _str_list(raw.get("after"), f"{prefix}.after")
    if len(set(after)) != len(after):
        raise ChainRequestError(f"{prefix}.after", "lists a stage twice")
    return Stage(
        id=stage_id,
        text=text,
        okved2=_str_list(raw.get("okved2"), f"{prefix}.okved2", _OKVED2, "ОКВЭД2"),
        okpd2=_str_list(raw.get("okpd2"), f"{prefix}.okpd2", _OKPD2, "ОКПД2"),
        after=after,
        certifications_required=_str_list(raw.get("certifications_required"), f"{prefix}.certifications_required"),
        min_capacity=min_capacity,
        operations=_str_list(raw.get("operations"), f"{prefix}.operations", _OPERATION, "operation"),
    )


def _parse_delivery(value: Any, resolve: RegionResolver | None) -> Place:
    path = "delivery_region"
    if value is None:
        raise ChainRequestError(path, "missing")
    if isinstance(value, Place):
        return value
    if isinstance(value, Mapping):
        _reject_unknown(path, value, _PLACE_KEYS)
        code = value.get("region")
        if code is not None and (not isinstance(code, str) or not _REGION.match(code)):
            raise ChainRequestError(f"{path}.region", f"must be a two-digit subject code, got {code!r}")
        coords = {}
        for key in ("lat", "lon"):
            v = value.get(key)
            if v is not None:
                if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                    raise ChainRequestError(f"{path}.{key}", f"must be a number, got {v!r}")
                coords[key] = float(v)
        if code is not None and ("lat" not in coords or "lon" not in coords) and resolve is not None:
            return _resolve(code, resolve, path)
        return Place(country=value.get("country") or "RU", region=code, district=value.get("district"), **coords)
    if isinstance(value, int) and not isinstance(value, bool):
        value = f"{value:02d}"
    if not isinstance(value, str) or not _REGION.match(value.strip()):
        raise ChainRequestError(path, f"must be a two-digit subject code, got {value!r}")
    code = value.strip()
    if resolve is None:
        return Place(region=code)
    return _resolve(code, resolve, path)


def _resolve(code: str, resolve: RegionResolver, path: str) -> Place:
    place = resolve.get(code) if isinstance(resolve, Mapping) else resolve(code)
    if place is None:
        raise ChainRequestError(path, f'unknown subject code "{code}"')
    if not isinstance(place, Place):
        raise TypeError(f"resolve_region returned {type(place).__name__}, expected Place")
    return place
