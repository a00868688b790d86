"""The catalogue of production operations: recognition in a text, search-as-you-type, one node (public, read-only)."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates

from marketplace.api.blueprint import bp
from marketplace.api.openapi import operation
from marketplace.api.problems import Problem, validation_problem
from marketplace.api.schemas import Text

TAG = "Справочники"
MAX_TEXT = 2000


class RecognizeInputSchema(Schema):
    text = Text(required=True, max_length=MAX_TEXT, metadata={
        "example": "Выполним токарную обработку деталей типа вал до Ø400 мм",
        "description": f"Текст предложения, потребности, лота или этапа цепочки, до {MAX_TEXT} знаков."})
    top = fields.Integer(load_default=5, validate=validate.Range(min=1, max=20))

    @validates("text")
    def _text_not_blank(self, value: str, **_: Any) -> None:
        if not value.strip():
            raise ValidationError("пустой текст")


class RecognizedSchema(Schema):
    id = fields.String(required=True, metadata={"example": "machining.turning"})
    name = fields.String(required=True)
    confidence = fields.Float(required=True, metadata={"description": "Уверенность 0..1."})
    matched = fields.String(required=True, metadata={"description": "Слова текста, по которым узнана операция."})


class RecognizeOutputSchema(Schema):
    text = fields.String(required=True)
    operations = fields.List(fields.Nested(RecognizedSchema), required=True)


def _family_ids() -> list[str]:
    """The families (top-level operations) of the shipped catalogue, read from its files' top-level entries
    without loading the catalogue (a second of start-up): the query's enum in the document."""
    import re

    from marketplace.operations.catalogue import OPERATIONS_DIR

    return sorted(match.group(1) for path in sorted(OPERATIONS_DIR.glob("*.yaml"))
                  for match in re.finditer(r"^- id: *([\w.-]+)", path.read_text(encoding="utf-8"), re.M))


class OperationSearchQuery(Schema):
    q = Text(max_length=200, metadata={"description": "Начала слов названия или синонима: «токар», «порошк»."})
    family = fields.String(validate=validate.OneOf(_family_ids()),
                           metadata={"description": "Id семейства (операции верхнего уровня)."})
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class OperationBriefSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    parent_id = fields.String(allow_none=True)
    family = fields.String(required=True)
    depth = fields.Integer(required=True)
    generic = fields.Boolean(required=True)
    path = fields.List(fields.String(), required=True, metadata={"description": "Названия от семейства до операции."})


class OperationListSchema(Schema):
    items = fields.List(fields.Nested(OperationBriefSchema), required=True)
    total = fields.Integer(required=True)


class ParameterSchema(Schema):
    key = fields.String(required=True)
    title = fields.String(required=True)
    unit = fields.String(required=True)


class NodeRefSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)


class OperationDetailSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    parent_id = fields.String(allow_none=True)
    family = fields.String(required=True)
    depth = fields.Integer(required=True)
    generic = fields.Boolean(required=True)
    synonyms = fields.List(fields.String(), required=True)
    abbreviations = fields.List(fields.String(), required=True)
    exclude = fields.List(fields.String(), required=True)
    okved2 = fields.List(fields.String(), required=True)
    okpd2 = fields.List(fields.String(), required=True)
    equipment = fields.List(fields.String(), required=True)
    parameters = fields.List(fields.Nested(ParameterSchema), required=True)
    path = fields.List(fields.Nested(NodeRefSchema), required=True)
    children = fields.List(fields.Nested(NodeRefSchema), required=True)


def _catalogue():
    from marketplace.operations.catalogue import get_catalogue

    return get_catalogue()


@bp.post("/operations/recognize")
@operation("Операции каталога, названные в тексте", TAG, body=RecognizeInputSchema, response=RecognizeOutputSchema,
           description="Как `cosmos operations recognize`: операции с уверенностью и словами текста, по которым "
                       "они узнаны; более конкретная операция вытесняет общую.")
def recognize(body: dict[str, Any]) -> dict[str, Any]:
    found = _catalogue().recognize(body["text"], top=body["top"])
    return {"text": body["text"], "operations": [r.as_dict() for r in found]}


@bp.get("/operations")
@operation("Операции каталога, с поиском по началу слов", TAG, query=OperationSearchQuery,
           response=OperationListSchema)
def operations(query: dict[str, Any]) -> dict[str, Any]:
    catalogue = _catalogue()
    family = (query.get("family") or "").strip() or None
    if family is not None and (catalogue.get(family) is None or catalogue.get(family).parent_id is not None):
        raise validation_problem({"family": ["нет такого семейства операций"]}, status=400,
                                 detail="Неверные параметры запроса.")
    text = (query.get("q") or "").strip()
    if text:
        every = catalogue.search(text, family=family, limit=len(catalogue))
        found, total = every[: query["limit"]], len(every)
    else:
        every = sorted((o for o in catalogue.operations.values() if family is None or o.family == family),
                       key=lambda o: o.position)
        found, total = every[: query["limit"]], len(every)
    return {"items": [{"id": o.id, "name": o.name, "parent_id": o.parent_id, "family": o.family, "depth": o.depth,
                       "generic": o.generic, "path": [p.name for p in catalogue.path(o.id)]} for o in found],
            "total": total}


@bp.get("/operations/<op_id>")
@operation("Операция каталога: коды, параметры, путь", TAG, response=OperationDetailSchema)
def operation_node(op_id: str) -> dict[str, Any]:
    from marketplace.operations.commands import operation_detail

    catalogue = _catalogue()
    if len(op_id) > 80 or catalogue.get(op_id) is None:
        raise Problem(404)
    return operation_detail(catalogue, op_id)
