"""The chain request form: a route template or stages as JSON, the lot, where and by when.

The form's text (numbers in the Russian format, the stages' JSON) becomes the request's JSON form here; the
service validates it. Errors come back by field: the engine's paths (``stages[2].after``) are shown under the
stages' field with the path in the message, the others under their own field.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from marketplace.core.validation import FieldError, ValidationFailed

FIELDS = ("template", "item", "quantity", "unit_weight_kg", "delivery_region", "deadline_days", "stages")


def form_field(path: str) -> str:
    """The form field that shows an error of the request's ``path``."""
    head = path.split("[", 1)[0].split(".", 1)[0]
    return head if head in FIELDS else "stages" if path.startswith("stages") else "item"


def errors_by_field(exc: ValidationFailed) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for error in exc.errors:
        name = form_field(error.field)
        message = error.message if error.field == name else f"{error.field}: {error.message}"
        out.setdefault(name, []).append(message)
    return out


def _number(value: str, field: str, errors: list[FieldError], *, required: bool) -> float | None:
    text = (value or "").strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    if not text:
        if required:
            errors.append(FieldError(field, "обязательное поле"))
        return None
    try:
        number = float(text)
    except ValueError:
        errors.append(FieldError(field, "введите число"))
        return None
    if number <= 0:
        errors.append(FieldError(field, "должно быть больше нуля"))
        return None
    return number


def request_data(form: Mapping[str, str]) -> tuple[dict[str, Any], str | None]:
    """The JSON form of a chain request from the page's fields, and the template used; ``ValidationFailed``
    names the form fields. With a template, blank item/weight/deadline/stages take the template's values."""
    from matching.chains import load_template, template_names

    errors: list[FieldError] = []
    name = (form.get("template") or "").strip() or None
    template = None
    if name is not None:
        if name not in template_names():
            errors.append(FieldError("template", "нет такого шаблона"))
        else:
            template = load_template(name)
    quantity = _number(form.get("quantity", ""), "quantity", errors, required=True)
    weight = _number(form.get("unit_weight_kg", ""), "unit_weight_kg", errors, required=template is None)
    deadline = _number(form.get("deadline_days", ""), "deadline_days", errors,
                       required=template is None or template.default_deadline_days is None)
    region = (form.get("delivery_region") or "").strip()
    if not region:
        errors.append(FieldError("delivery_region", "выберите регион поставки"))
    item = (form.get("item") or "").strip()
    if not item and template is None:
        errors.append(FieldError("item", "обязательное поле"))
    stages_text = (form.get("stages") or "").strip()
    stages: Any = None
    if stages_text:
        try:
            stages = json.loads(stages_text)
        except json.JSONDecodeError as exc:
            errors.append(FieldError("stages", f"не JSON: строка {exc.lineno}, позиция {exc.colno}: {exc.msg}"))
    elif template is None:
        errors.append(FieldError("stages", "опишите этапы или выберите шаблон"))
    if errors:
        raise ValidationFailed(errors)
    if template is not None:
        data = template.request_dict(quantity=quantity, delivery_region=region, deadline_days=deadline,
                                     unit_weight_kg=weight, item=item or None)
    else:
        data = {"item": item, "quantity": quantity, "unit_weight_kg": weight, "delivery_region": region,
                "deadline_days": deadline}
    if stages is not None:
        data["stages"] = stages
    return data, name


def template_stages_json(name: str) -> str:
    """A template's stages as indented JSON, to start editing from."""
    from matching.chains import load_template

    tpl = load_template(name)
    data = tpl.request_dict(quantity=1, delivery_region="27")
    return json.dumps(data["stages"], ensure_ascii=False, indent=2)
