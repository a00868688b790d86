"""A listing's catalogue operations and engineering parameters: the ONE parser the forms, the API and the import share.

Field names (docs/import-format.md, docs/api.md): ``operations`` — catalogue operation ids (a list, or one text with
the ids separated by «;»); ``material_ids`` — materials of the list, each an id, a name or a grade (a list, or «;»);
and one field per parameter key of :data:`matching.parameters.PARAMETERS` (``max_length_mm``, ``tolerance_it`` …),
a number or a text holding one («6 000», «0,8», «IT7»). The parameters are stored in ``Listing.parameters`` under
their keys (the materials under ``materials``); an operation fills in the listing's codes when it names none.

Every problem is reported on the ``FieldParser`` under the field's name, with the same Russian message whichever way
the value came in, so a bad value is refused alike by the form, the API and the import.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from marketplace.core.validation import FieldParser
from marketplace.listings.models import ListingKind, Side
from matching.operations import OperationCatalogue
from matching.parameters import PARAMETERS, validate_parameters

# The flat parameter fields (the materials come as ``material_ids``), in the order the forms show them.
PARAMETER_FIELDS = tuple(k for k in PARAMETERS if k != "materials")
OPERATION_FIELDS = frozenset({"operations", "material_ids", *PARAMETER_FIELDS})
# Kinds whose listings name catalogue operations (surplus stock and equipment rent do not).
OPERATION_KINDS = frozenset({ListingKind.CAPABILITY, ListingKind.MISSING_OPERATION, ListingKind.PRODUCT,
                             ListingKind.PURCHASE_REQUEST, ListingKind.TENDER_LOT})
# A need gives the job's thickness as max_thickness_mm and its batch as the quantity.
OFFER_ONLY = frozenset({"min_thickness_mm", "batch_min", "batch_max"})
MAX_OPERATIONS = 20
MAX_MATERIALS = 50


def field_of(key: str) -> str:
    """The field a parameter key is entered in (``materials`` → ``material_ids``)."""
    return "material_ids" if key == "materials" else key


def current_catalogue() -> OperationCatalogue:
    """The catalogue listings are checked against: the shipped one, or the files the app's ``OPERATIONS_DIR`` and
    ``MATERIALS_FILE`` settings name (a deployment with its own edition, a test with a small one)."""
    from flask import current_app, has_app_context

    from marketplace.operations.catalogue import MATERIALS_FILE, OPERATIONS_DIR, get_catalogue

    if has_app_context() and current_app.config.get("OPERATIONS_DIR"):
        materials = current_app.config.get("MATERIALS_FILE") or MATERIALS_FILE
        return get_catalogue(Path(current_app.config["OPERATIONS_DIR"]), Path(materials))
    return get_catalogue(OPERATIONS_DIR, MATERIALS_FILE)


def _items(value: Any, separators: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        parts = [str(v) for v in value if v is not None]
    else:
        parts = re.split(separators, str(value))
    return [s.strip() for s in parts if s and s.strip()]


def _number(p: FieldParser, field: str, value: Any) -> Any:
    """A number from a JSON number or a text («6 000», «0,8», «IT7»); a value that is not one is returned as it is
    for :func:`validate_parameters` to name (booleans, lists), a text that is not one is reported here."""
    spec = PARAMETERS[field]
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return value
    if isinstance(value, str):
        text = value.replace("\u00a0", "").replace(" ", "").replace(",", ".")
        if field == "tolerance_it":
            text = re.sub(r"^(?i:it)", "", text)
        elif field == "roughness_ra_um":
            text = re.sub(r"^(?i:ra)", "", text)
        try:
            value = float(text)
        except ValueError:
            p.error(field, f"{spec.title_ru}: ожидается число")
            return None
    if not math.isfinite(value):
        p.error(field, f"{spec.title_ru}: ожидается число")
        return None
    if spec.kind == "integer" and float(value) == int(value):
        return int(value)
    return float(value) if spec.kind == "number" else value


def parse_operation_fields(p: FieldParser, kind: ListingKind | None, record: Mapping[str, Any],
                           catalogue: OperationCatalogue | None = None,
                           known: Any = None) -> tuple[list[str], dict[str, Any]]:
    """Read ``operations``, ``material_ids`` and the parameter fields of ``record``.

    Returns (operation ids in order, parameters to store). ``known(op_id) -> bool`` also asks whether the database
    holds the operation (it must, for the listing to refer to it). Nothing is returned for a field with an error.
    ``catalogue`` defaults to :func:`current_catalogue`, read only when the record gives one of the fields.
    """
    given = {f for f in OPERATION_FIELDS if record.get(f) not in (None, "", [])}
    if not given:
        return [], {}
    if kind is not None and kind not in OPERATION_KINDS:
        for name in sorted(given):
            p.error(name, f"поле не относится к виду {kind.value}")
        return [], {}
    catalogue = catalogue or current_catalogue()
    op_ids: list[str] = []
    for op_id in _items(record.get("operations"), r"[;,\s]+"):
        if op_id not in catalogue:
            p.error("operations", f"неизвестная операция «{op_id}»: такой нет в каталоге операций")
        elif known is not None and not known(op_id):
            p.error("operations", f"операция «{op_id}» не загружена в базу (cosmos refdata load)")
        elif op_id not in op_ids:
            op_ids.append(op_id)
    if len(op_ids) > MAX_OPERATIONS:
        p.error("operations", f"не больше {MAX_OPERATIONS} операций")
    params: dict[str, Any] = {}
    materials = _items(record.get("material_ids"), r";")
    if materials:
        found: list[str] = []
        unknown = []
        for item in materials:
            ids = catalogue.materials.resolve(item)
            if not ids:
                unknown.append(f"«{item}»")
            found.extend(i for i in ids if i not in found)
        if unknown:
            p.error("material_ids", "нет в списке материалов: " + ", ".join(unknown))
        elif len(found) > MAX_MATERIALS:
            p.error("material_ids", f"не больше {MAX_MATERIALS} материалов")
        else:
            params["materials"] = found
    for key in PARAMETER_FIELDS:
        value = record.get(key)
        if value is None or value == "":
            continue
        number = _number(p, key, value)
        if number is not None:
            params[key] = number
    for key, message in validate_parameters(params, catalogue.materials).items():
        p.error(field_of(key), message)
        params.pop(key, None)
    # A parameter must belong to one of the chosen operations (and, for a need, describe a job). When the
    # operations themselves are wrong, that error is the one to fix first.
    operations_bad = any(e.field == "operations" for e in p.errors)
    allowed = {k for op_id in op_ids for k in catalogue.get(op_id).parameters}  # type: ignore[union-attr]
    names = ", ".join(f"«{catalogue.get(i).name}»" for i in op_ids)  # type: ignore[union-attr]
    for key in list(params):
        field = field_of(key)
        if kind is not None and kind.side == Side.NEED and key in OFFER_ONLY:
            p.error(field, "в потребности не указывается: "
                    + ("партия — это количество" if key.startswith("batch") else "укажите толщину в max_thickness_mm"))
        elif operations_bad:
            continue
        elif not op_ids:
            p.error(field, "параметр относится к операции: выберите операцию в поле operations")
        elif key not in allowed:
            p.error(field, f"не относится ни к одной из выбранных операций ({names})")
        else:
            continue
        del params[key]
    return op_ids, params


def fill_codes(op_ids: list[str], catalogue: OperationCatalogue, has_code: Any) -> list[tuple[str, str]]:
    """The codes the operations fall under (ОКПД2 first, then ОКВЭД2), for a listing that names none."""
    return [(scheme, code) for scheme in ("okpd2", "okved2") for code in catalogue.codes(op_ids, scheme)
            if has_code(scheme, code)]


def parameters_record(parameters: Mapping[str, Any] | None) -> dict[str, str]:
    """Stored parameters as form values (the inverse of :func:`parse_operation_fields`)."""
    params = parameters or {}
    out = {"material_ids": "; ".join(params.get("materials") or [])}
    for key in PARAMETER_FIELDS:
        out[key] = number_text(params.get(key))
    return out


def number_text(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _n(value: Any) -> str:
    """A number as Russian text writes it: «0,8», «6000»."""
    return number_text(value).replace(".", ",")


def parameters_in_words(params: Mapping[str, Any] | None, side: Side, catalogue: OperationCatalogue) -> str:
    """«Материалы: сталь углеродистая, алюминий; наибольшая деталь 6000×2000×2000 мм; IT7; Ra 0,8» (an offer), or
    «Материал: …; деталь …; IT7» (a need): what the listing's parameters say, for its page."""
    p = dict(params or {})
    offer = side == Side.OFFER
    parts: list[str] = []
    mats = p.get("materials") or []
    if mats:
        names = [catalogue.materials.title(m) for m in mats]
        names = [n[:1].lower() + n[1:] if n[1:2].islower() or len(n) < 2 else n for n in names]
        parts.append(("Материалы: " if offer or len(mats) > 1 else "Материал: ") + ", ".join(names))
    dims = [p.get(k) for k in ("max_length_mm", "max_width_mm", "max_height_mm")]
    if all(d is not None for d in dims):
        parts.append(("наибольшая деталь " if offer else "деталь ") + "×".join(_n(d) for d in dims) + " мм")
    else:
        for key, offer_title, need_title in (("max_length_mm", "наибольшая длина", "длина"),
                                             ("max_width_mm", "наибольшая ширина", "ширина"),
                                             ("max_height_mm", "наибольшая высота", "высота")):
            if p.get(key) is not None:
                parts.append(f"{offer_title if offer else need_title} {_n(p[key])} мм")
    if p.get("max_diameter_mm") is not None:
        parts.append(f"{'диаметр до' if offer else 'диаметр'} {_n(p['max_diameter_mm'])} мм")
    if p.get("max_mass_kg") is not None:
        parts.append(f"{'масса до' if offer else 'масса'} {_n(p['max_mass_kg'])} кг")
    lo, hi = p.get("min_thickness_mm"), p.get("max_thickness_mm")
    if lo is not None and hi is not None:
        parts.append(f"толщина {_n(lo)}–{_n(hi)} мм")
    elif hi is not None:
        parts.append(f"{'толщина до' if offer else 'толщина'} {_n(hi)} мм")
    elif lo is not None:
        parts.append(f"толщина от {_n(lo)} мм")
    if p.get("tolerance_it") is not None:
        parts.append(f"IT{_n(p['tolerance_it'])}")
    if p.get("roughness_ra_um") is not None:
        parts.append(f"Ra {_n(p['roughness_ra_um'])}")
    lo, hi = p.get("batch_min"), p.get("batch_max")
    if lo is not None or hi is not None:
        rng = f"{_n(lo)}–{_n(hi)}" if lo is not None and hi is not None else (
            f"от {_n(lo)}" if lo is not None else f"до {_n(hi)}")
        parts.append(f"партия {rng} шт")
    return "; ".join(parts)
