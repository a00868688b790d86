"""Route templates: typical chains of operations a buyer starts from (pump unit, welded structure, …).

A template is a chain request without the buyer's part (quantity, delivery region, deadline); the JSON files
live in ``matching/chains/templates/`` and are read on demand, never at import.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from matching.chains.request import ChainRequest, ChainRequestError, RegionResolver, Stage, _parse_stage

__all__ = ["ChainTemplate", "load_template", "template_names"]

_PACKAGE = "matching.chains"
_FOLDER = "templates"
_TEMPLATE_KEYS = {"id", "title", "item", "okpd2", "unit_weight_kg", "deadline_days", "stages"}


@dataclass(frozen=True)
class ChainTemplate:
    """A reusable route of stages with the item's defaults."""

    id: str
    title: str
    item: str
    okpd2: str | None
    unit_weight_kg: float
    default_deadline_days: float | None
    stages: tuple[Stage, ...]

    def request_dict(self, *, quantity: float, delivery_region: Any, deadline_days: float | None = None,
                     unit_weight_kg: float | None = None, item: str | None = None) -> dict[str, Any]:
        """The JSON form of a request built from this template (validate it with ``ChainRequest.from_dict``)."""
        out: dict[str, Any] = {
            "item": item or self.item,
            "title": self.title,
            "quantity": quantity,
            "unit_weight_kg": self.unit_weight_kg if unit_weight_kg is None else unit_weight_kg,
            "delivery_region": delivery_region,
            "deadline_days": self.default_deadline_days if deadline_days is None else deadline_days,
            "stages": [_stage_json(s) for s in self.stages],
        }
        if self.okpd2:
            out["okpd2"] = self.okpd2
        return out

    def to_request(self, *, quantity: float, delivery_region: Any, deadline_days: float | None = None,
                   unit_weight_kg: float | None = None, resolve_region: RegionResolver | None = None) -> ChainRequest:
        """Fill in the buyer's part and validate."""
        data = self.request_dict(quantity=quantity, delivery_region=delivery_region, deadline_days=deadline_days,
                                 unit_weight_kg=unit_weight_kg)
        return ChainRequest.from_dict(data, resolve_region=resolve_region)


def template_names() -> tuple[str, ...]:
    """Ids of the bundled templates, sorted."""
    folder = resources.files(_PACKAGE).joinpath(_FOLDER)
    return tuple(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json")))


@cache
def load_template(name: str) -> ChainTemplate:
    """Read and validate one bundled template by id (``"pump_unit"``); ``KeyError`` for an unknown one."""
    if name not in template_names():
        raise KeyError(f"no chain template {name!r}; known: {', '.join(template_names())}")
    raw = json.loads(resources.files(_PACKAGE).joinpath(_FOLDER, f"{name}.json").read_text(encoding="utf-8"))
    return template_from_dict(raw)


def template_from_dict(raw: dict[str, Any]) -> ChainTemplate:
    """Validate a template's JSON form; errors are :class:`ChainRequestError` naming the field."""
    for key in raw:
        if key not in _TEMPLATE_KEYS:
            raise ChainRequestError(key, "unknown field")
    for key in ("id", "title", "item", "unit_weight_kg", "stages"):
        if key not in raw:
            raise ChainRequestError(key, "missing")
    stages = tuple(_parse_stage(i, s) for i, s in enumerate(raw["stages"]))
    template = ChainTemplate(id=raw["id"], title=raw["title"], item=raw["item"], okpd2=raw.get("okpd2"),
                             unit_weight_kg=raw["unit_weight_kg"], default_deadline_days=raw.get("deadline_days"),
                             stages=stages)
    # validate the route as a whole (ids, references, cycles) with a placeholder buyer
    template.to_request(quantity=1, delivery_region={"region": "77", "lat": 55.75, "lon": 37.62},
                        deadline_days=template.default_deadline_days or 1)
    return template


def _stage_json(stage: Stage) -> dict[str, Any]:
    out = stage.to_dict()
    if out["min_capacity"] is None:
        del out["min_capacity"]
    return out
